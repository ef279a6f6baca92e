"""Control metrics for latent codes: does a code control what it should?

InfoGAN-style codes (Chen et al., 2016, "InfoGAN", NeurIPS) are learned
without labels, so a categorical code's values come in an arbitrary order.
`categorical_code_accuracy` finds the best one-to-one assignment of code
values to classes with the Hungarian algorithm (Kuhn, 1955) before counting,
as in unsupervised clustering accuracy. `continuous_code_correlation`
measures how strongly a continuous code tracks a known factor (e.g. the
rotation of `symbols`, from `keras_attngan.data.render_symbols`), and
`correlation_ratio` how strongly it decides a categorical factor (the colour),
and `traversal_control` how consistently a factor follows a code when only
the code changes, as InfoGAN's figures vary one code with the rest fixed.
Data without known factors can still be measured on the images themselves:
`digit_factors` reads the stroke thickness and slant of digits, in the
manner of Morpho-MNIST (Castro et al., 2019, "Morpho-MNIST", JMLR).

All are pure functions over arrays.
"""

import numpy as np
from scipy import ndimage, stats
from scipy.optimize import linear_sum_assignment

CORRELATIONS = ("spearman", "pearson")
# Brightness below this share of full intensity counts as background: a generator's faint
# haze over the whole image would otherwise join the strokes, pull the second moments
# towards the image's corners and add to the ink that erosion removes.
INK_FLOOR = 0.1
# The 4-neighbourhood: eroding by it takes exactly one pixel off each side of a stroke.
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=bool)


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


def traversal_control(code_values, factors):
    """How consistently a factor follows a code along traversals, in [0, 1].

    Each row of `factors` is one traversal: the factor measured on images
    drawn with the noise and every other code fixed while the code takes
    `code_values` in turn. Spearman's correlation of code and factor is
    taken within each traversal and the signed correlations are averaged
    before the sign is dropped: 1 when the factor rises (or falls)
    monotonically with the code in every traversal, about 0 when the code
    moves it in no consistent direction. Unlike
    `continuous_code_correlation` over independent samples, the variation
    the other codes and the noise bring is held fixed, so it reads what
    moving the code does.

    Args:
        code_values: ``[S]`` the code's values along each traversal (S >= 3,
            not all equal).
        factors: ``[T, S]`` the factor in each traversal; a traversal where
            it is undefined (NaN) anywhere or constant is left out.

    Returns:
        float in [0, 1], or None when no traversal is left.
    """
    code_values, factors = np.asarray(code_values, np.float64), np.asarray(factors, np.float64)
    if code_values.ndim != 1 or len(code_values) < 3 or np.ptp(code_values) == 0:
        raise ValueError(
            "`code_values` should be a 1-D array of at least 3 values that vary. "
            f"Received: {code_values.tolist()}"
        )
    if factors.ndim != 2 or factors.shape[1] != len(code_values):
        raise ValueError(
            f"`factors` should be [traversals, {len(code_values)}]. Received: shape {factors.shape}"
        )
    kept = [row for row in factors if np.all(np.isfinite(row)) and np.ptp(row) > 0]
    if not kept:
        return None
    return float(abs(np.mean([stats.spearmanr(code_values, row)[0] for row in kept])))


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


def _ink(images):
    """Ink in [0, 1] of images ``[N, H, W, C]`` in [-1, 1]: the brightest channel above `INK_FLOOR`."""
    images = np.asarray(images, np.float64)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(
            f"`images` should be a non-empty batch [N, H, W, C]. Received: shape {images.shape}"
        )
    brightness = (images.max(axis=-1) + 1.0) / 2.0
    return np.clip((brightness - INK_FLOOR) / (1.0 - INK_FLOOR), 0.0, 1.0)


def digit_factors(images):
    """Stroke thickness and slant of each digit, measured on the image itself.

    Ink is bright on a dark background (as `digits` and `colored_digits`
    are drawn); in colour, the brightest channel is the ink, so a digit's hue
    does not change its factors. Both factors weigh each pixel by its ink
    ``w`` (brightness rescaled from [`INK_FLOOR`, 1] to [0, 1]), with no
    threshold, so anti-aliased and blurred strokes are measured smoothly.

    - thickness ``2 M / (M - E)``, in pixels: ``M`` is the ink mass
      (``sum w``), ``E`` the mass left after a grey-level erosion by the
      4-neighbourhood (one pixel off every side of every stroke), so
      ``M - E`` is the mass of the strokes' one-pixel rim, about twice their
      length. For a long stroke of width ``t >= 2`` pixels this is about
      ``t``; the stroke ends make it grow a little less than in proportion,
      and strokes of 2 pixels or less all read 2 (the erosion removes them
      whole), so upscaled 8x8 digits should be measured at 16 pixels or
      more. Chosen over area divided by skeleton length, and twice the
      distance transform along the skeleton (Morpho-MNIST's), which both
      threshold the image: on upscaled digits it ranks them most alike at
      different image sizes and under pixel noise.
    - slant ``mu11 / mu02``: the shear of the ink's second central moments,
      with x to the right and y upwards. It is the ``s`` of the least-squares
      line ``x = s y + c`` through the ink, so a stroke drawn as
      ``x = x0 + s y`` reads ``s``; positive leans right (``/``), as
      handwriting does. Morpho-MNIST reports ``arctan`` of the same shear.

    Args:
        images: float ``[N, H, W, C]`` in [-1, 1], C = 1 or 3.

    Returns:
        dict: ``thickness`` and ``slant``, float64 ``[N]`` each; NaN for an
        image without ink.
    """
    ink = _ink(images)
    _, height, width = ink.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        mass = ink.sum(axis=(1, 2))
        eroded = ndimage.grey_erosion(ink, footprint=_CROSS[None], mode="constant", cval=0.0)
        thickness = 2.0 * mass / (mass - eroded.sum(axis=(1, 2)))
        x = np.arange(width, dtype=np.float64)[None, None, :]
        y = -np.arange(height, dtype=np.float64)[None, :, None]  # rows run downwards
        dx = x - ((ink * x).sum(axis=(1, 2)) / mass)[:, None, None]
        dy = y - ((ink * y).sum(axis=(1, 2)) / mass)[:, None, None]
        slant = (ink * dx * dy).sum(axis=(1, 2)) / (ink * dy * dy).sum(axis=(1, 2))
    return {"thickness": thickness, "slant": slant}
