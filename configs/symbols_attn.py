"""The attention-guided GAN (seed 000) on built-in `symbols`: the default experiment.

    attngan train --config configs/symbols_attn.py --workdir runs/symbols_attn
    attngan train --config configs/symbols_attn.py:smoke --workdir /tmp/smoke
"""

from keras_attngan.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    return smoke(config) if arg == "smoke" else config
