"""Supervised InfoGAN on `symbols`: the class is a code, the rest is learned.

The categorical code `shape` (K = 3) is supervised by the data's labels: Q also learns to
classify real symbols, so `--category C` draws class C. Three continuous codes (uniform in
[-1, 1]) are free to capture rotation, thickness, scale or position; benchmarks/infogan.py
measures which. `train.info_label_fraction` < 1 uses only part of the labels
(semi-supervised). Without the attention mask, as `digits_infogan` (where the codes
became recoverable much more slowly with it).

    attngan train --config configs/symbols_infogan.py --workdir runs/symbols_infogan
    attngan synthesize --model runs/symbols_infogan/export --num 16 --out /tmp/c1 \\
        --category 1 --code c1=-2
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.mask_source = "none"
    config.model.categorical_codes = "shape:3"
    config.model.continuous_codes = "c1,c2,c3"
    config.train.terms = "info"
    config.train.info_supervised_code = "shape"
    # InfoGAN's MNIST settings (Chen et al., 2016, appendix C): uniform noise, G's
    # learning rate 1e-3 against D's 2e-4. On digits each raised the matched
    # category accuracy (benchmarks/README.md, InfoGAN).
    config.model.noise_distribution = "uniform"
    config.train.g_learning_rate = 1e-3
    return smoke(config) if arg == "smoke" else config
