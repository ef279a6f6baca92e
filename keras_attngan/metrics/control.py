"""Control metrics for latent codes: does a code control what it should?

InfoGAN-style codes (Chen et al., 2016, "InfoGAN", NeurIPS) are learned
without labels, so a categorical code's values come in an arbitrary order.
`categorical_code_accuracy` finds the best one-to-one assignment of code
values to classes with the Hungarian algorithm (Kuhn, 1955) before counting,
as in unsupervised clustering accuracy. `continuous_code_correlation`
measures how strongly a continuous code tracks a known factor (e.g. the
rotation of `symbols`, from `keras_attngan.data.render_symbols`), and
`correlation_ratio` how strongly it decides a categorical factor (the colour).

All are pure functions over arrays.
"""

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment

CORRELATIONS = ("spearman", "pearson")


def _as_labels(values, name):
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"`{name}` should be a 1-D array of integers. Received: shape {values.shape}, "
            f"dtype {values.dtype}"
        )
    return values


def categorical_code_accuracy(codes, labels):
    """Accuracy of a categorical code after the best matching of code values to labels.

    Args:
        codes: int ``[N]``, the code value of each sample (e.g. the argmax of
            the categorical code that generated it, or Q's prediction).
        labels: int ``[N]``, the ground-truth classes.

    Returns:
        dict: ``accuracy`` in [0, 1] (a code value matched to no label counts
        as wrong), ``mapping`` (code value -> label).
    """
    codes, labels = _as_labels(codes, "codes"), _as_labels(labels, "labels")
    if codes.shape != labels.shape or len(codes) == 0:
        raise ValueError(
            "`codes` and `labels` should be non-empty and of the same length. "
            f"Received: codes.shape={codes.shape}, labels.shape={labels.shape}"
        )
    code_values, code_index = np.unique(codes, return_inverse=True)
    label_values, label_index = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(code_values), len(label_values)), dtype=np.int64)
    np.add.at(counts, (code_index, label_index), 1)
    rows, columns = linear_sum_assignment(counts, maximize=True)
    return {
        "accuracy": float(counts[rows, columns].sum() / len(codes)),
        "mapping": {
            int(code_values[r]): int(label_values[c]) for r, c in zip(rows, columns, strict=True)
        },
    }


def continuous_code_correlation(code, factor, method="spearman"):
    """|correlation| between a continuous code and a ground-truth factor.

    Args:
        code: ``[N]`` code values.
        factor: ``[N]`` factor values of the same samples.
        method: ``"spearman"`` (rank: any monotonic relation scores 1) or
            ``"pearson"`` (linear).

    Returns:
        float in [0, 1]; the sign is dropped, since a code may encode its
        factor either way round.
    """
    if method not in CORRELATIONS:
        raise ValueError(
            f"`method` should be one of {list(CORRELATIONS)}. Received: method={method!r}"
        )
    code, factor = np.asarray(code, np.float64), np.asarray(factor, np.float64)
    if code.ndim != 1 or code.shape != factor.shape or len(code) < 3:
        raise ValueError(
            "`code` and `factor` should be 1-D arrays of the same length (at least 3). "
            f"Received: code.shape={code.shape}, factor.shape={factor.shape}"
        )
    if np.ptp(code) == 0 or np.ptp(factor) == 0:
        raise ValueError(
            "`code` and `factor` should vary: a correlation with a constant is undefined."
        )
    function = stats.spearmanr if method == "spearman" else stats.pearsonr
    return float(abs(function(code, factor)[0]))


def correlation_ratio(code, groups):
    """Pearson's correlation ratio eta of a continuous code across the classes of a factor.

    eta^2 is the share of the code's variance that lies between the classes
    (the between-class sum of squares over the total): 1 when the class
    fixes the code's value, about 0 when the code is spread alike in every
    class. Unlike a correlation it needs no order of the classes (a colour)
    and sees a code that maps to them non-monotonically.

    Args:
        code: ``[N]`` code values.
        groups: int ``[N]``, the factor's class of each sample.

    Returns:
        float eta in [0, 1], on the same scale as |correlation|.
    """
    code = np.asarray(code, np.float64)
    groups = _as_labels(groups, "groups")
    if code.ndim != 1 or code.shape != groups.shape or len(code) < 3:
        raise ValueError(
            "`code` and `groups` should be 1-D arrays of the same length (at least 3). "
            f"Received: code.shape={code.shape}, groups.shape={groups.shape}"
        )
    if np.ptp(code) == 0:
        raise ValueError("`code` should vary: the correlation ratio of a constant is undefined.")
    _, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    means = np.bincount(index, weights=code) / counts
    between = float(np.sum(counts * (means - code.mean()) ** 2))
    return float(np.sqrt(between / np.sum((code - code.mean()) ** 2)))
