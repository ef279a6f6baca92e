"""`photos`: random crops of the photographs scikit-learn ships (no download).

`sklearn.datasets.load_sample_images` holds two 427x640 RGB photographs,
``china.jpg`` and ``flower.jpg``; scikit-image's sample photographs join them
when scikit-image is installed. They are cut into seeded random crops at the
training size: the high-res targets of super-resolution (seed 001, claims
15-20; `keras_attngan.data.paired` adds their low-res versions).

The splits never share a pixel: ``train`` crops come from the left 75% of
each photograph's columns, ``test`` crops (the held-out patches of the
benchmark) from the right 25%.
"""

import numpy as np
from sklearn import datasets

from keras_attngan.data.base import from_arrays

# Crops per split when `data.num_examples` is None.
DEFAULT_CROPS = {"train": 2048, "test": 256}
_TRAIN_FRACTION = 0.75
# scikit-image's RGB photographs, when it is installed.
_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def photographs():
    """The available photographs, uint8 ``[H, W, 3]`` each (sizes differ)."""
    images = list(datasets.load_sample_images().images)
    try:
        from skimage import data as skimage_data
    except ImportError:
        return images
    return images + [getattr(skimage_data, name)() for name in _SKIMAGE_PHOTOS]


def _region(image, split):
    cut = int(image.shape[1] * _TRAIN_FRACTION)
    return image[:, :cut] if split == "train" else image[:, cut:]


def random_crops(images, size, count, seed):
    """`count` seeded random ``size`` x ``size`` crops, spread evenly over `images`.

    Raises:
        ValueError: a crop larger than an image.
    """
    rng = np.random.default_rng(seed)
    crops = []
    for index in range(count):
        image = images[index % len(images)]
        height, width = image.shape[:2]
        if size > min(height, width):
            raise ValueError(
                f"`data.image_size` should be at most {min(height, width)} for `photos` "
                f"(the smallest photograph region). Received: data.image_size={size}"
            )
        top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
        crops.append(image[top : top + size, left : left + size])
    return np.stack(crops)


def load_photos(*, image_size, seed, num_examples, split):
    """The `photos` source: unlabelled RGB crops of the sample photographs.

    Args:
        image_size: side of each crop (the high-res patch).
        seed: seeds the crop positions.
        num_examples: crops to cut; None for `DEFAULT_CROPS` of the split.
        split: ``train`` or ``test`` (disjoint regions of every photograph).

    Returns:
        SourceData with 3 channels and no classes.
    """
    if split not in DEFAULT_CROPS:
        raise ValueError(f"`data.split` should be one of {list(DEFAULT_CROPS)} for `photos`. Received: data.split={split!r}")
    count = DEFAULT_CROPS[split] if num_examples is None else num_examples
    regions = [_region(image, split) for image in photographs()]
    crops = random_crops(regions, image_size, count, seed)
    return from_arrays(crops, np.zeros(count, np.int32), num_classes=0)
