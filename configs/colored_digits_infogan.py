"""InfoGAN on `colored_digits`: RGB digits, 3 continuous codes and one of K = 10.

`colored_digits` (keras_attngan/data/digits.py) paints each of scikit-learn's digits in a
random hue on black, so colour is a continuous factor besides the digit's shape: three
continuous codes uniform in [-1, 1] and one categorical code of 10 values, unsupervised,
as InfoGAN is trained on coloured digits. Without the attention mask, as `digits_infogan`.

    attngan train --config configs/colored_digits_infogan.py --workdir runs/colored_digits_infogan
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.data.source = "colored_digits"
    config.data.batch_size = 32
    config.model.categorical_codes = "digit:10"
    config.model.continuous_codes = "c1,c2,c3"
    config.train.terms = "info"
    # Without a mask: a mask made Q much worse at recovering the fakes' category
    # (benchmarks/README.md, InfoGAN). `--config.model.mask_source=gradcam`
    # trains both methods in one model.
    config.model.mask_source = "none"
    config.train.steps = 4000
    # InfoGAN's MNIST settings (Chen et al., 2016, appendix C): uniform noise, G's
    # learning rate 1e-3 against D's 2e-4. On digits each raised the matched
    # category accuracy (benchmarks/README.md, InfoGAN).
    config.model.noise_distribution = "uniform"
    config.train.g_learning_rate = 1e-3
    return smoke(config) if arg == "smoke" else config
