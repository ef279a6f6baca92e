"""`symbols_attn` on SN-DCGAN (Miyato et al., 2018): the standard CNN D with spectral norm.

    attngan train --config configs/symbols_sndcgan.py --workdir runs/symbols_sndcgan
    attngan train --config configs/symbols_sndcgan.py:smoke --workdir /tmp/smoke
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.architecture = "sndcgan"
    config.model.d_normalization = "spectral"
    return smoke(config) if arg == "smoke" else config
