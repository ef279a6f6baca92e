"""`digits` and `colored_digits`: scikit-learn's 8x8 handwritten digits.

The 1,797 digits of `sklearn.datasets.load_digits` ship inside scikit-learn,
so these sources work offline and load in milliseconds. `colored_digits`
paints each digit in a random hue on black, adding one known
continuous factor (the hue) to the discrete digit class.
"""

import numpy as np
from sklearn import datasets

from keras_attngan.data.base import from_arrays, resize_to_uint8, subset_indices

NUM_DIGITS = 1797
NUM_CLASSES = 10
# Saturation and value of the `colored_digits` foreground: vivid, so that the
# hue is easy to see (and to recover) at small sizes.
_SATURATION = 1.0
_VALUE = 1.0


def _digit_arrays(image_size):
    """All digits as uint8 ``[1797, S, S, 1]`` intensities and int32 labels."""
    digits = datasets.load_digits()
    # Pixel values are counts 0..16 of set pixels in 4x4 blocks.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return resize_to_uint8(images, image_size).numpy(), digits.target.astype(np.int32)


def _hsv_to_rgb(hue, saturation, value):
    """Vectorised HSV -> RGB.

    Args:
        hue: array ``[N]`` in [0, 1).
        saturation: scalar or ``[N]`` in [0, 1].
        value: scalar or ``[N]`` in [0, 1].

    Returns:
        float32 ``[N, 3]`` in [0, 1].
    """
    hue = np.asarray(hue, dtype=np.float32)
    # Standard hexcone formula: each channel is a clipped triangle wave of hue.
    k = (np.array([5.0, 3.0, 1.0], dtype=np.float32) + hue[:, None] * 6.0) % 6.0
    ramp = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    saturation = np.asarray(saturation, dtype=np.float32)[..., None]
    value = np.asarray(value, dtype=np.float32)[..., None]
    return (value - value * saturation * ramp).astype(np.float32)


def load_digits(*, image_size, seed, num_examples):
    """The `digits` source: grayscale digits, labels 0-9.

    Args:
        image_size: height and width in pixels (bilinear upsampling from 8x8).
        seed: seed for the subset when `num_examples` is given.
        num_examples: None for all 1,797 digits, else a seeded subset of that
            size (at most 1,797).

    Returns:
        SourceData with 1 channel and 10 classes.
    """
    indices = subset_indices(NUM_DIGITS, num_examples, seed, "digits")
    images, labels = _digit_arrays(image_size)
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return from_arrays(images, labels, NUM_CLASSES)


def load_colored_digits(*, image_size, seed, num_examples):
    """The `colored_digits` source: digits in a random hue on black.

    Each digit gets a hue drawn uniformly from [0, 1) at full saturation and
    value; the pixel is ``intensity * colour``, so the background stays black
    and strokes keep their anti-aliased edges. Hues are drawn for all 1,797
    digits before subsetting, so a digit's colour does not depend on
    `num_examples`.

    Args:
        image_size: height and width in pixels.
        seed: seed for the hues and the subset.
        num_examples: None for all digits, else a seeded subset (at most 1,797).

    Returns:
        SourceData with 3 channels, 10 classes and ``factors={"hue": float32
        [N]}``.
    """
    indices = subset_indices(NUM_DIGITS, num_examples, seed, "colored_digits")
    intensity, labels = _digit_arrays(image_size)
    hue = np.random.default_rng(seed).uniform(0.0, 1.0, NUM_DIGITS).astype(np.float32)
    colour = _hsv_to_rgb(hue, _SATURATION, _VALUE)
    images = np.round(intensity.astype(np.float32) * colour[:, None, None, :]).astype(np.uint8)
    if indices is not None:
        images, labels, hue = images[indices], labels[indices], hue[indices]
    return from_arrays(images, labels, NUM_CLASSES, factors={"hue": hue})
