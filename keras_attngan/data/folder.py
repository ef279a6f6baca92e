"""`folder:PATH`: a directory tree of image files.

Every file is decoded and resized when the source is loaded, not lazily in
the input pipeline: a corrupt file then stops the run before the first
training step, with its path in the message, instead of killing a long run
hours later from inside `tf.data`.
"""

import os

import numpy as np
import tensorflow as tf
from absl import logging

from keras_attngan.data.base import (
    from_arrays,
    resize_to_uint8,
    strip_alpha,
    subset_indices,
)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# How many bad paths an error message lists before summarising the rest.
_MAX_LISTED = 10


def _is_image_name(path):
    return path.lower().endswith(IMAGE_EXTENSIONS)


def _files_under(directory):
    """All files under `directory`, sorted, hidden files and folders excluded.

    Hidden entries (``.DS_Store``, ``.git``) are operating-system or tool
    clutter, not data, so they are neither images nor bad files.
    """
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
    return found


def _labelled_files(path):
    """Returns ([(file, label)], num_classes) for every file under `path`.

    Immediate sub-folders that hold image files are the classes, in sorted
    order; without such sub-folders every file is label 0 and there are no
    classes. Non-image files are returned too, so that they are reported.
    """
    files = _files_under(path)
    top_dirs = [os.path.relpath(f, path).split(os.sep)[:-1] for f in files]
    class_names = sorted(
        {dirs[0] for f, dirs in zip(files, top_dirs) if dirs and _is_image_name(f)}
    )
    if not class_names:
        return [(f, 0) for f in files], 0
    top_level_images = [f for f, dirs in zip(files, top_dirs) if not dirs and _is_image_name(f)]
    if top_level_images:
        raise ValueError(
            f"Folder {path!r} has class sub-folders {class_names} but also images at its "
            f"top level, which belong to no class, e.g. {top_level_images[0]!r}. "
            "Move them into a class sub-folder."
        )
    label_of = {name: label for label, name in enumerate(class_names)}
    # Files outside the class folders are all non-images; label 0 is a
    # placeholder for files that will be reported as bad.
    return [
        (f, label_of.get(dirs[0], 0) if dirs else 0) for f, dirs in zip(files, top_dirs)
    ], len(class_names)


def _decode(path, image_size):
    """Decoded, alpha-free image resized to ``[S, S, C]``, or an error string."""
    if not _is_image_name(path):
        return f"not an image file; image files end in {', '.join(IMAGE_EXTENSIONS)}"
    try:
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except tf.errors.OpError as error:
        return f"could not decode it: {error.message}"
    return resize_to_uint8(strip_alpha(image), image_size).numpy()


def load_folder(path, *, image_size, seed, num_examples, skip_bad_files):
    """The `folder:PATH` source.

    Files ending in .png, .jpg, .jpeg, .bmp or .gif (any case) are images; a
    GIF contributes its first frame. If all images are grayscale the source
    has 1 channel, otherwise grayscale images are converted to RGB; alpha is
    always dropped.

    Args:
        path: the folder. Its immediate sub-folders holding images are the
            classes (sorted names -> labels 0..n-1); without any, the source
            is unlabelled.
        image_size: height and width in pixels.
        seed: seed for the subset when `num_examples` is given.
        num_examples: None for all images, else a seeded subset of that size.
        skip_bad_files: if True, files that are not decodable images are
            skipped (and logged) instead of raising.

    Returns:
        SourceData; `skipped_files` lists the paths skipped.

    Raises:
        FileNotFoundError: `path` is not a directory.
        ValueError: a bad file and ``skip_bad_files=False``, or no images.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"data.source='folder:{path}': {path!r} does not exist or is not a directory."
        )
    labelled, num_classes = _labelled_files(path)
    images, labels, bad = [], [], []
    for file, label in labelled:
        decoded = _decode(file, image_size)
        if isinstance(decoded, str):
            bad.append((file, decoded))
        else:
            images.append(decoded)
            labels.append(label)
    if bad and not skip_bad_files:
        listed = "\n".join(f"  {file}: {reason}" for file, reason in bad[:_MAX_LISTED])
        more = f"\n  ... and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise ValueError(
            f"{len(bad)} file(s) in folder {path!r} are not readable images:\n{listed}{more}\n"
            "Remove or fix them, or set data.skip_bad_files=True to skip such files."
        )
    if bad:
        logging.warning(
            "Skipped %d unreadable file(s) in folder %r: %s",
            len(bad),
            path,
            ", ".join(file for file, _ in bad),
        )
    if not images:
        raise ValueError(
            f"Folder {path!r} contains no readable images (files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)})."
        )
    if any(image.shape[-1] == 3 for image in images):
        images = [
            image if image.shape[-1] == 3 else np.repeat(image, 3, axis=-1) for image in images
        ]
    images, labels = np.stack(images), np.array(labels, dtype=np.int32)
    indices = subset_indices(len(images), num_examples, seed, f"folder:{path}")
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return from_arrays(images, labels, num_classes, skipped_files=[file for file, _ in bad])
