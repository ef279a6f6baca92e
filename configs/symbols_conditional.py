"""The class-conditional attention GAN on `symbols` (3 classes): projection D, conditional-BN G.

Miyato and Koyama (2018), "cGANs with projection discriminator", with
spectral normalization in D. The export's signatures take the class
(``label``); `attngan synthesize --label C` draws one, and `attngan evaluate`
measures intra-class FID with the classes G was asked for.

    attngan train --config configs/symbols_conditional.py --workdir runs/symbols_conditional
    attngan train --config configs/symbols_conditional.py:smoke --workdir /tmp/smoke
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.num_classes = 3
    config.model.g_normalization = "conditional_batch"
    config.model.d_normalization = "spectral"
    return smoke(config) if arg == "smoke" else config
