"""`symbols_attn` with SS-GAN's rotation loss (Chen et al., 2019) and a generator EMA.

D also predicts the rotation (0/90/180/270) of real images (weight 1.0 in D's loss) and G
is rewarded when D recognises its fakes' rotations (weight 0.2), compare_gan's defaults;
samples, evaluation and the export use the moving average of G's weights (decay 0.999).

    attngan train --config configs/symbols_ssgan.py --workdir runs/symbols_ssgan
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.train.terms = "rotation"
    config.train.ema_decay = 0.999
    return smoke(config) if arg == "smoke" else config
