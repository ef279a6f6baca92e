"""The attention-guided GAN (seed 000) on built-in `symbols`: the default experiment.

    attngan train --config configs/symbols_attn.py --workdir runs/symbols_attn
    attngan train --config configs/symbols_attn.py:smoke --workdir /tmp/smoke

The mask is D's Grad-CAM map, not its learned attention head: on `symbols` the
learned head's masks hardly differ between images (diversity 0.03-0.07) and G
learns nothing from them, while Grad-CAM masks meet the three mask-usage goals
(`benchmarks/README.md`, the quality study).
"""

from keras_attngan.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.mask_source = "gradcam"
    return smoke(config) if arg == "smoke" else config
