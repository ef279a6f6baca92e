"""What every source returns, and the conversions the sources share.

A source turns its raw data into `SourceData`: an unbatched `tf.data.Dataset`
of uint8 images already at the training resolution, plus the facts the rest of
the library needs before it sees a single batch (channels, count, classes).
Resizing, alpha stripping and seeded subsetting live here so that every source
does them the same way.
"""

import dataclasses
from typing import Optional

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class SourceData:
    """One loaded source, before batching.

    Attributes:
        dataset: unbatched elements ``{"images": uint8 [S, S, C], "labels":
            int32 []}``, images already resized to ``image_size``.
        num_examples: the exact number of elements in `dataset`.
        channels: 1 or 3.
        num_classes: number of label values, or 0 if the source is unlabelled
            (then every label is 0).
        factors: ground-truth generative factors, name -> array ``[N]``
            aligned with `dataset` order; None when the source has none.
        skipped_files: paths of unreadable files that were skipped (folder
            source with ``skip_bad_files=True``).
    """

    dataset: tf.data.Dataset
    num_examples: int
    channels: int
    num_classes: int
    factors: Optional[dict] = None
    skipped_files: tuple = ()


def resize_to_uint8(images, image_size):
    """Resizes ``[..., H, W, C]`` images to ``image_size`` and returns uint8.

    Bilinear with antialiasing: antialiasing only acts when downsampling, so
    this one function serves both 8x8 digits (upsampled) and large photos.

    Args:
        images: uint8 (or any numeric 0..255) tensor or array ``[H, W, C]`` or
            ``[N, H, W, C]``.
        image_size: output height and width.

    Returns:
        uint8 tensor with the same rank and channels.
    """
    images = tf.convert_to_tensor(images)
    if images.shape[-3] == image_size and images.shape[-2] == image_size:
        return tf.cast(images, tf.uint8)
    resized = tf.image.resize(
        tf.cast(images, tf.float32), (image_size, image_size), method="bilinear", antialias=True
    )
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def strip_alpha(images):
    """Drops a trailing alpha channel (2 -> 1, 4 -> 3 channels).

    GAN images are composited on nothing, so alpha carries no usable signal;
    dropping it keeps every source at 1 or 3 channels.

    Args:
        images: array or tensor ``[..., C]`` with a static channel count.

    Returns:
        The images without alpha; unchanged when C is 1 or 3.
    """
    if images.shape[-1] in (2, 4):
        return images[..., :-1]
    return images


def check_num_examples(available, num_examples, source):
    """Raises ValueError if `num_examples` (None = all) exceeds `available`."""
    if num_examples is not None and num_examples > available:
        raise ValueError(
            f"`data.num_examples` should be at most {available}, the number of "
            f"examples in data.source={source!r}. Received: data.num_examples={num_examples}"
        )


def subset_indices(available, num_examples, seed, source):
    """Seeded choice of which examples to keep.

    Args:
        available: how many examples the source has.
        num_examples: how many were asked for, or None for all.
        seed: seed for the choice.
        source: the `data.source` string, for the error message.

    Returns:
        Sorted int array of indices, or None to keep everything in order.

    Raises:
        ValueError: more examples asked for than the source has.
    """
    check_num_examples(available, num_examples, source)
    if num_examples is None or num_examples == available:
        return None
    rng = np.random.default_rng(seed)
    # Sorted so that the subset keeps the source's own order.
    return np.sort(rng.choice(available, size=num_examples, replace=False))


def from_arrays(images, labels, num_classes, factors=None, skipped_files=()):
    """Wraps in-memory arrays as `SourceData`.

    Args:
        images: uint8 ``[N, S, S, C]`` with C in (1, 3).
        labels: integer ``[N]``.
        num_classes: number of classes, 0 if unlabelled.
        factors: optional name -> ``[N]`` array, aligned with `images`.
        skipped_files: paths that were skipped while reading.

    Returns:
        SourceData.
    """
    images = np.asarray(images, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.int32)
    dataset = tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels})
    return SourceData(
        dataset=dataset,
        num_examples=int(images.shape[0]),
        channels=int(images.shape[-1]),
        num_classes=int(num_classes),
        factors=factors,
        skipped_files=tuple(skipped_files),
    )
