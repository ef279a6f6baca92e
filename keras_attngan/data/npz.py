"""`npz:PATH`: images (and optional labels) saved with `numpy.savez`.

The quickest way to train on one's own arrays: no image files, no TFDS
builder. Float arrays are accepted in either common convention, [0, 1] or
[-1, 1], and converted to the uint8 every other source produces.
"""

import os

import numpy as np

from keras_attngan.data.base import (
    from_arrays,
    resize_to_uint8,
    strip_alpha,
    subset_indices,
)

IMAGE_KEYS = ("images", "x")
LABEL_KEYS = ("labels", "y")


def _first_key(arrays, keys):
    return next((key for key in keys if key in arrays), None)


def _to_uint8(images, path):
    """uint8 0..255 from uint8, integer 0..255, or float [0, 1] / [-1, 1] arrays."""
    if images.dtype == np.uint8:
        return images
    low, high = float(images.min()), float(images.max())
    if np.issubdtype(images.dtype, np.integer) and 0 <= low and high <= 255:
        return images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.floating) and -1.0 <= low and high <= 1.0:
        # Any negative value means the [-1, 1] convention; otherwise [0, 1].
        unit = (images + 1.0) / 2.0 if low < 0 else images
        return np.round(unit * 255.0).astype(np.uint8)
    raise ValueError(
        f"Images in {path!r} should be uint8, integers in [0, 255], or floats in [0, 1] "
        f"or [-1, 1]. Received: dtype {images.dtype} with values in [{low}, {high}]"
    )


def load_npz(path, *, image_size, seed, num_examples):
    """The `npz:PATH` source.

    Args:
        path: a ``.npz`` file with images under ``"images"`` or ``"x"``
            (``[N, H, W]`` or ``[N, H, W, C]``, C in 1, 2, 3, 4; alpha is
            dropped) and optional integer labels ``[N]`` under ``"labels"`` or
            ``"y"``.
        image_size: height and width in pixels.
        seed: seed for the subset when `num_examples` is given.
        num_examples: None for all images, else a seeded subset of that size.

    Returns:
        SourceData; ``num_classes`` is ``max(label) + 1``, or 0 without labels.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: no image array, or arrays of the wrong shape or range.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data.source='npz:{path}': file {path!r} does not exist.")
    with np.load(path, allow_pickle=False) as arrays:
        image_key, label_key = _first_key(arrays, IMAGE_KEYS), _first_key(arrays, LABEL_KEYS)
        if image_key is None:
            raise ValueError(
                f"{path!r} has no image array: expected a key in {list(IMAGE_KEYS)}, "
                f"found keys {sorted(arrays.keys())}."
            )
        images = arrays[image_key]
        labels = arrays[label_key] if label_key else None
    received_shape = images.shape
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 2, 3, 4) or len(images) == 0:
        raise ValueError(
            f"{path!r}[{image_key!r}] should be [N, H, W] or [N, H, W, C] with N >= 1 and "
            f"C in (1, 2, 3, 4). Received shape {received_shape}"
        )
    if labels is None:
        labels, num_classes = np.zeros(len(images), np.int32), 0
    else:
        if (
            labels.shape != (len(images),)
            or not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0
        ):
            raise ValueError(
                f"{path!r}[{label_key!r}] should be non-negative integers of shape "
                f"({len(images)},). Received dtype {labels.dtype}, shape {labels.shape}"
            )
        num_classes = int(labels.max()) + 1
    indices = subset_indices(len(images), num_examples, seed, f"npz:{path}")
    if indices is not None:
        images, labels = images[indices], labels[indices]
    images = resize_to_uint8(strip_alpha(_to_uint8(images, path)), image_size).numpy()
    return from_arrays(images, labels, num_classes)
