"""Real images for evaluation: a data source as float batches in [-1, 1].

Evaluation reads the same sources as training (`keras_attngan.data`), at the
model's image size, without shuffling, augmentation or dropped remainders:
`load_source(source, num_examples=N, seed=S)`, i.e. N symbols rendered from
seed S, or a seeded subset of N images of a fixed dataset.
"""

import numpy as np

from keras_attngan import data as data_lib


def to_unit_range(images):
    """uint8 images -> float32 in [-1, 1] (the training pipeline's normalisation)."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def load_real(
    source, *, image_size, num_examples=None, seed=0, split="train", data_dir=None, download=True
):
    """Loads `source` as `SourceData` (see `keras_attngan.data.load_source`).

    Raises:
        ValueError: an unknown source, or more examples asked for than it has
            (the message names `num_examples`).
    """
    try:
        return data_lib.load_source(
            source,
            image_size=image_size,
            seed=seed,
            num_examples=num_examples,
            split=split,
            data_dir=data_dir,
            download=download,
        )
    except ValueError as error:
        if "num_examples" not in str(error):
            raise
        raise ValueError(
            f"The real data {source!r} has fewer images than the {num_examples} asked for; "
            f"ask for fewer real images (`num_real` / --num_real). ({error})"
        ) from error


def batches(source_data, batch_size):
    """Yields ``(images float32 [B, S, S, C] in [-1, 1], labels int32 [B])``.

    The last batch may be smaller.
    """
    for batch in source_data.dataset.batch(batch_size).as_numpy_iterator():
        yield to_unit_range(batch["images"]), batch["labels"]


def arrays(source_data):
    """All of a source as ``(images float32 in [-1, 1], labels int32)``."""
    parts = list(batches(source_data, 1024))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
