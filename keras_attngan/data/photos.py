"""`photos`: random crops of the photographs the installed packages ship (no download).

`sklearn.datasets.load_sample_images` holds two 427x640 RGB photographs,
``china.jpg`` and ``flower.jpg``; scikit-image, when installed, adds its
RGB photographs (astronaut, chelsea, coffee, rocket), all read from files
inside the package. They are cut into seeded random crops at the training
size: the high-res targets of super-resolution (seed 001, claims 15-20;
`keras_attngan.data.paired` adds their low-res versions).

The splits share no photograph: whole images are held out for ``test``
(`TEST_PHOTOS`), as super-resolution benchmarks hold out whole images
(Set5, Set14, BSD100), so a model is never scored on a scene it trained
on. Without scikit-image, ``flower`` is the held-out image.
"""

import numpy as np
from sklearn import datasets

from keras_attngan.data.base import from_arrays

# Crops per split when `data.num_examples` is None.
DEFAULT_CROPS = {"train": 4096, "test": 256}
# scikit-image's RGB photographs (files in the package: they load offline).
_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
# Whole photographs held out for `test`, by the packages available.
TEST_PHOTOS = ("chelsea", "coffee")
TEST_PHOTOS_WITHOUT_SKIMAGE = ("flower",)


def named_photographs():
    """Every available photograph, ``{name: uint8 [H, W, 3]}`` (sizes differ)."""
    sample = datasets.load_sample_images()
    photos = {
        name.rsplit("/", 1)[-1].split(".")[0]: image for name, image in zip(sample.filenames, sample.images)
    }
    try:
        from skimage import data as skimage_data
    except ImportError:
        return photos
    photos.update((name, getattr(skimage_data, name)()) for name in _SKIMAGE_PHOTOS)
    return photos


def split_photographs(split):
    """``{name: image}`` of one split: the held-out photographs for ``test``, the others for ``train``.

    Raises:
        ValueError: a split other than ``train`` or ``test``.
    """
    if split not in DEFAULT_CROPS:
        raise ValueError(f"`data.split` should be one of {list(DEFAULT_CROPS)} for `photos`. Received: data.split={split!r}")
    photos = named_photographs()
    held_out = TEST_PHOTOS if all(name in photos for name in TEST_PHOTOS) else TEST_PHOTOS_WITHOUT_SKIMAGE
    return {name: image for name, image in photos.items() if (name in held_out) == (split == "test")}


def photographs():
    """The available photographs, uint8 ``[H, W, 3]`` each (sizes differ)."""
    return list(named_photographs().values())


def random_crops(images, size, count, seed, augment=False):
    """`count` seeded random ``size`` x ``size`` crops, spread evenly over `images`.

    With `augment`, each crop is also flipped and rotated by a random element
    of the 8 symmetries of the square (flips and 90-degree rotations, as
    EDSR and ESRGAN augment their training patches).

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
                f"(the smallest photograph). Received: data.image_size={size}"
            )
        top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
        crop = image[top : top + size, left : left + size]
        if augment:
            crop = np.rot90(crop, rng.integers(4))
            if rng.integers(2):
                crop = crop[:, ::-1]
        crops.append(crop)
    return np.stack(crops)


def load_photos(*, image_size, seed, num_examples, split):
    """The `photos` source: unlabelled RGB crops of the sample photographs.

    Args:
        image_size: side of each crop (the high-res patch).
        seed: seeds the crop positions (and the training crops' symmetries).
        num_examples: crops to cut; None for `DEFAULT_CROPS` of the split.
        split: ``train`` or ``test`` (disjoint sets of whole photographs).

    Returns:
        SourceData with 3 channels and no classes.
    """
    photos = list(split_photographs(split).values())
    count = DEFAULT_CROPS[split] if num_examples is None else num_examples
    crops = random_crops(photos, image_size, count, seed, augment=split == "train")
    return from_arrays(crops, np.zeros(count, np.int32), num_classes=0)
