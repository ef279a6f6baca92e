"""The attention-guided GAN on the 1,797 handwritten digits scikit-learn ships."""

from keras_attngan.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.data.source = "digits"
    config.data.batch_size = 32
    config.train.steps = 4000
    return smoke(config) if arg == "smoke" else config
