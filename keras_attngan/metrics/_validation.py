"""Input checks shared by the metrics: clear errors before any heavy work."""

import numpy as np


def as_features(features, name, min_samples=1, why=None):
    """Returns `features` as a float64 ``[N, D]`` array, or raises ValueError.

    Args:
        features: array-like ``[N, D]``.
        name: the argument's name, for the message.
        min_samples: the smallest N accepted.
        why: what needs `min_samples` samples, for the message.

    Returns:
        float64 ndarray ``[N, D]``.
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(
            f"`{name}` should be a 2-D array of features [num_samples, dim]. "
            f"Received: {name}.shape={array.shape}"
        )
    if array.shape[0] < min_samples:
        reason = f" ({why})" if why else ""
        raise ValueError(
            f"`{name}` should hold at least {min_samples} samples{reason}. "
            f"Received: {array.shape[0]} samples"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"`{name}` should be finite. Received: NaN or infinite values")
    return array


def check_same_dim(first, second, names):
    """Raises ValueError when two feature arrays have different widths."""
    if first.shape[1] != second.shape[1]:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` should come from the same extractor (same "
            f"feature dimension). Received: {names[0]}.shape={first.shape}, "
            f"{names[1]}.shape={second.shape}"
        )


def check_images_compatible(real_shape, fake_shape):
    """Raises ValueError when real and fake images differ in size or channels.

    Args:
        real_shape: shape of one real image or batch, ``[..., H, W, C]``.
        fake_shape: the same for the fakes.
    """
    real, fake = tuple(real_shape)[-3:], tuple(fake_shape)[-3:]
    if real != fake:
        raise ValueError(
            "Real and fake images should have the same size and channels "
            "[height, width, channels]; evaluate with the data the model was trained on "
            "(or its image size). "
            f"Received: real images {list(real)}, fake images {list(fake)}"
        )
