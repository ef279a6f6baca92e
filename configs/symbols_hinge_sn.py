"""`symbols_attn` as SN-GAN (Miyato et al., 2018): hinge loss, spectrally normalized SN-DCGAN D.

    attngan train --config configs/symbols_hinge_sn.py --workdir runs/symbols_hinge_sn
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.architecture = "sndcgan"
    config.model.d_normalization = "spectral"
    config.train.loss = "hinge"
    return smoke(config) if arg == "smoke" else config
