"""Kernel Inception Distance (KID): an unbiased MMD^2 between feature distributions.

Bińkowski, Sutherland, Arbel & Gretton, 2018, "Demystifying MMD GANs", ICLR.
KID is the squared maximum mean discrepancy between real and generated
features under the cubic polynomial kernel ``k(x, y) = (x . y / d + 1)^3``
(d = feature dimension), estimated with the unbiased U-statistic (Gretton et
al., 2012, "A Kernel Two-Sample Test", JMLR, eq. 3). Unlike FID it has an
unbiased estimator, so values from different sample sizes can be compared,
and it can be (slightly) negative when the two distributions are equal. As
in the reference code, it is averaged over random subsets; the spread over
subsets is reported too.
"""

import numpy as np

from keras_attngan.metrics._validation import as_features, check_same_dim

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000


def polynomial_kernel(x, y):
    """The KID kernel ``(x . y / d + 1)^3`` between the rows of x ``[N, d]`` and y ``[M, d]``."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 estimate between samples x ``[m, d]`` and y ``[n, d]`` (m, n >= 2).

    ``sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (n (n-1))
    - 2 sum_{i, j} k(x_i, y_j) / (m n)``: the diagonal terms k(x_i, x_i),
    which make the plain (V-statistic) estimate positive even for one
    distribution, are left out.
    """
    x = as_features(x, "x", 2, "for the unbiased estimator")
    y = as_features(y, "y", 2, "for the unbiased estimator")
    check_same_dim(x, y, ("x", "y"))
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float(
        (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
        - 2.0 * k_xy.mean()
    )


def kid_from_features(
    real_features,
    fake_features,
    num_subsets=DEFAULT_SUBSETS,
    subset_size=DEFAULT_SUBSET_SIZE,
    seed=0,
):
    """KID: the unbiased MMD^2 averaged over random subsets.

    Each of `num_subsets` subsets draws `subset_size` real and `subset_size`
    fake features without replacement (independently per subset), as the
    reference implementation does.

    Args:
        real_features: ``[N, D]``.
        fake_features: ``[M, D]``.
        num_subsets: number of subsets (>= 1).
        subset_size: samples per side in each subset; at least 2 and at most
            ``min(N, M)``.
        seed: seed of the subset draws.

    Returns:
        dict: ``mean`` and ``std`` (over subsets) of MMD^2, ``num_subsets``,
        ``subset_size``.

    Raises:
        ValueError: a subset size the samples cannot fill.
    """
    real = as_features(real_features, "real_features")
    fake = as_features(fake_features, "fake_features")
    check_same_dim(real, fake, ("real_features", "fake_features"))
    check_subsets(num_subsets, subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    estimates = [
        mmd2_unbiased(
            real[rng.choice(len(real), subset_size, replace=False)],
            fake[rng.choice(len(fake), subset_size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return {
        "mean": float(np.mean(estimates)),
        "std": float(np.std(estimates)),
        "num_subsets": int(num_subsets),
        "subset_size": int(subset_size),
    }


def check_subsets(num_subsets, subset_size, num_real, num_fake):
    """Raises ValueError unless the subsets can be drawn from the samples."""
    if not isinstance(num_subsets, (int, np.integer)) or num_subsets < 1:
        raise ValueError(
            f"`num_subsets` should be an integer >= 1. Received: num_subsets={num_subsets!r}"
        )
    if not isinstance(subset_size, (int, np.integer)) or subset_size < 2:
        raise ValueError(
            "`subset_size` should be an integer >= 2 (the unbiased estimator needs two "
            f"samples per side). Received: subset_size={subset_size!r}"
        )
    if subset_size > min(num_real, num_fake):
        raise ValueError(
            f"`subset_size` should be at most the number of real ({num_real}) and fake "
            f"({num_fake}) samples: KID draws subsets without replacement. Use more "
            f"samples or a smaller subset. Received: subset_size={subset_size}"
        )
