"""The plain GAN baseline: `symbols_attn` with the attention method off (mask `none`).

Everything else is identical, so differences in results are the method's.
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.mask_source = "none"
    # Read only with a mask; set as in symbols_attn, so that the two configs
    # differ in the mask source alone.
    config.model.mask_temperature = 0.5
    config.train.mi_pairs = 16
    config.model.first_mask = "blobs"
    config.train.dtype_policy = "auto"
    return smoke(config) if arg == "smoke" else config
