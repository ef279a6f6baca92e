"""InfoGAN (Chen et al., 2016) on scikit-learn's digits.

One categorical code of 10 values and two continuous codes (uniform in [-1, 1]),
unsupervised: the `info` term's Q head on D's trunk recovers them from the fakes and
G is trained to make them recoverable. Without the attention mask (see below); a mask
source set on the command line combines both methods in one model. The code grids (`category_digit.png`,
`traversal_c1_c2.png`) sweep the continuous codes over [-2, 2]. The argument `supervised`
(`configs/digits_infogan.py:supervised`, also `supervised,smoke`) lets the labels supervise
the categorical code, so `--category C` draws digit C. The argument `iic` finds the
classes without labels by invariant information clustering (Ji et al., 2019) on the
real digits: Q's categories of each digit and of a randomly rotated, scaled and
shifted copy share as much information as they can, through five sub-heads and a
50-way overclustering head, while the continuous codes keep a Q layer of their own.

    attngan train --config configs/digits_infogan.py --workdir runs/digits_infogan
    attngan train --config configs/digits_infogan.py:iic --workdir runs/digits_iic
    attngan train --config configs/digits_infogan.py:supervised --workdir runs/digits_sup
    attngan synthesize --model runs/digits_infogan/export --num 16 --out /tmp/d3 \\
        --category 3 --code c1=1.5
"""

from keras_attngan.training.config import default_config, smoke

ARGS = ("supervised", "iic", "smoke")


def get_config(arg=None):
    args = [a for a in (arg or "").split(",") if a]
    unknown = sorted(set(args) - set(ARGS))
    if unknown:
        raise ValueError(f"configs/digits_infogan.py takes arguments from {list(ARGS)}; unknown: {unknown}")
    config = default_config()
    config.data.source = "digits"
    config.data.batch_size = 32
    config.model.categorical_codes = "digit:10"
    config.model.continuous_codes = "c1,c2"
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
    if "supervised" in args and "iic" in args:
        raise ValueError("configs/digits_infogan.py: `supervised` and `iic` are two ways to find the classes; pick one")
    if "iic" in args:
        # IIC's own settings (overclustering, sub-heads) and Q layers of their own
        # for the continuous codes; what each did on digits is in
        # benchmarks/README.md, InfoGAN control.
        config.train.info_weight_invariant = 1.0
        config.train.info_overclusters = 50
        config.train.info_subheads = 5
        config.train.info_separate_heads = True
        # IIC's joint assignment matrix is estimated from the batch.
        config.data.batch_size = 64
    if "supervised" in args:
        config.train.info_supervised_code = "digit"
        # Twice the categorical weight matched the categories better than 1 or 5
        # (benchmarks/README.md, InfoGAN).
        config.train.info_weight_categorical = 2.0
        # G's weight average (from step 1000, decay 0.999) is what is judged and
        # exported: it draws the asked-for digit more often (benchmarks/README.md,
        # InfoGAN).
        config.train.ema_decay = 0.999
        config.train.ema_start = 1000
    return smoke(config) if "smoke" in args else config
