"""`photos`: random crops of the photographs the installed packages ship (no download).

`sklearn.datasets.load_sample_images` holds two 427x640 RGB photographs,
``china.jpg`` and ``flower.jpg``; scikit-image adds its RGB photographs
(astronaut, chelsea, coffee, rocket), all read from files inside the
packages. They are cut into seeded random crops at the training size: the
high-res targets of super-resolution (`keras_attngan.data.paired` adds
their low-res versions).

The splits share no photograph: whole images are held out for ``test``
(`TEST_PHOTOS`), as super-resolution benchmarks hold out whole images
(Set5, Set14, BSD100), so a model is never scored on a scene it trained
on.

`photo_folder:PATH` does the same with your own photographs: every image
file under PATH at full resolution, every `HELD_OUT_EVERY`-th (sorted by
path) held out for ``test``.
"""

import os

import numpy as np
from skimage import data as skimage_data
from sklearn import datasets

from keras_attngan.data.base import from_arrays

# Crops per split when `data.num_examples` is None.
DEFAULT_CROPS = {"train": 4096, "test": 256}
# scikit-image's RGB photographs (files in the package: they load offline).
_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
# Whole photographs held out for `test`.
TEST_PHOTOS = ("chelsea", "coffee")
# `photo_folder:`: files 0, 5, 10, ... (sorted) are the test split.
HELD_OUT_EVERY = 5


def named_photographs():
    """Every available photograph, ``{name: uint8 [H, W, 3]}`` (sizes differ)."""
    sample = datasets.load_sample_images()
    photos = {
        name.rsplit("/", 1)[-1].split(".")[0]: image for name, image in zip(sample.filenames, sample.images)
    }
    photos.update((name, getattr(skimage_data, name)()) for name in _SKIMAGE_PHOTOS)
    return photos


def split_photographs(split):
    """``{name: image}`` of one split: the held-out photographs for ``test``, the others for ``train``.

    Raises:
        ValueError: a split other than ``train`` or ``test``.
    """
    if split not in DEFAULT_CROPS:
        raise ValueError(f"`data.split` should be one of {list(DEFAULT_CROPS)} for `photos`. Received: data.split={split!r}")
    return {
        name: image
        for name, image in named_photographs().items()
        if (name in TEST_PHOTOS) == (split == "test")
    }


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


def folder_photographs(path, split):
    """``{file: uint8 [H, W, 3]}`` of one split of the photographs under `path`, at full size.

    Raises:
        FileNotFoundError: `path` is not a directory.
        ValueError: a bad split, no image files, an undecodable one, or a
            `test` split of a folder with fewer than two images.
    """
    import tensorflow as tf

    from keras_attngan.data.folder import IMAGE_EXTENSIONS, _files_under

    if split not in DEFAULT_CROPS:
        raise ValueError(f"`data.split` should be one of {list(DEFAULT_CROPS)} for `photo_folder:`. Received: data.split={split!r}")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"`data.source` should name a directory of photographs. Received: photo_folder:{path}")
    files = [f for f in _files_under(path) if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not files:
        raise ValueError(f"`data.source` should name a folder with image files ({', '.join(IMAGE_EXTENSIONS)}). Received: photo_folder:{path}")
    if split == "test" and len(files) < 2:
        raise ValueError(f"`data.split=test` needs at least 2 photographs under photo_folder:{path} (one is held out). Received: {len(files)}")
    held_out = set(files[::HELD_OUT_EVERY]) if len(files) > 1 else set()
    chosen = [f for f in files if (f in held_out) == (split == "test")]
    photos = {}
    for name in chosen:
        try:
            image = tf.io.decode_image(tf.io.read_file(name), channels=3, expand_animations=False)
        except tf.errors.OpError as error:
            raise ValueError(f"`data.source` photo_folder:{path} has a file that does not decode: {name!r} ({error.message})") from None
        photos[name] = image.numpy()
    return photos


def load_photo_folder(path, *, image_size, seed, num_examples, split):
    """The `photo_folder:PATH` source: `load_photos` on your own photographs (see `folder_photographs`)."""
    photos = list(folder_photographs(path, split).values())
    count = DEFAULT_CROPS[split] if num_examples is None else num_examples
    crops = random_crops(photos, image_size, count, seed, augment=split == "train")
    return from_arrays(crops, np.zeros(count, np.int32), num_classes=0)
