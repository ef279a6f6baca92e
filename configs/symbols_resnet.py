"""`symbols_attn` on the ResNet GAN (Miyato et al., 2018; compare_gan), 32x32.

D is spectrally normalized, as in the paper; G keeps batch norm.

    attngan train --config configs/symbols_resnet.py --workdir runs/symbols_resnet
    attngan train --config configs/symbols_resnet.py:smoke --workdir /tmp/smoke
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.architecture = "resnet"
    config.model.d_normalization = "spectral"
    return smoke(config) if arg == "smoke" else config
