"""From one `data.source` string to a batched, normalised `tf.data` pipeline.

`load_source` dispatches the string to its source and returns `SourceData`
(uint8 images at the training size); `make_dataset` adds the training
pipeline on top. Arguments are validated before any source is touched, so a
typo in a config fails in milliseconds, not after a download.
"""

import collections
import numbers

import tensorflow as tf

from keras_attngan.core.choices import SOURCES, parse_source
from keras_attngan.data.digits import load_colored_digits, load_digits
from keras_attngan.data.folder import load_folder
from keras_attngan.data.npz import load_npz
from keras_attngan.data.photos import load_photo_folder, load_photos
from keras_attngan.data.symbols import load_symbols
from keras_attngan.data.tfds_source import load_tfds

_MAX_SHUFFLE_BUFFER = 10_000

_Options = collections.namedtuple(
    "_Options",
    ["image_size", "seed", "num_examples", "split", "data_dir", "skip_bad_files", "download"],
)

# kind -> loader(argument, options); `keras_attngan.core.choices.SOURCES` has the
# templates shown to users.
_LOADERS = {
    "symbols": lambda _, o: load_symbols(
        image_size=o.image_size, seed=o.seed, num_examples=o.num_examples
    ),
    "digits": lambda _, o: load_digits(
        image_size=o.image_size, seed=o.seed, num_examples=o.num_examples
    ),
    "colored_digits": lambda _, o: load_colored_digits(
        image_size=o.image_size, seed=o.seed, num_examples=o.num_examples
    ),
    "photos": lambda _, o: load_photos(
        image_size=o.image_size, seed=o.seed, num_examples=o.num_examples, split=o.split
    ),
    "photo_folder": lambda path, o: load_photo_folder(
        path, image_size=o.image_size, seed=o.seed, num_examples=o.num_examples, split=o.split
    ),
    "tfds": lambda name, o: load_tfds(
        name,
        image_size=o.image_size,
        split=o.split,
        num_examples=o.num_examples,
        data_dir=o.data_dir,
        download=o.download,
    ),
    "folder": lambda path, o: load_folder(
        path,
        image_size=o.image_size,
        seed=o.seed,
        num_examples=o.num_examples,
        skip_bad_files=o.skip_bad_files,
    ),
    "npz": lambda path, o: load_npz(
        path, image_size=o.image_size, seed=o.seed, num_examples=o.num_examples
    ),
}

SOURCE_CHOICES = tuple(SOURCES.values())


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _validate(source, image_size, num_examples):
    parsed = parse_source(source)
    if not _is_int(image_size) or image_size < 1:
        raise ValueError(
            "`data.image_size` should be a positive integer. "
            f"Received: data.image_size={image_size!r}"
        )
    if num_examples is not None and (not _is_int(num_examples) or num_examples < 1):
        raise ValueError(
            "`data.num_examples` should be None (all examples) or an integer >= 1. "
            f"Received: data.num_examples={num_examples!r}"
        )
    return parsed


def _check_batch_size(batch_size, num_examples):
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(
            "`data.batch_size` should be an integer >= 1. "
            f"Received: data.batch_size={batch_size!r}"
        )
    # Batches drop their remainder, so a batch larger than the data never comes.
    if num_examples is not None and batch_size > num_examples:
        raise ValueError(
            f"`data.batch_size` should be at most the number of examples ({num_examples}). "
            f"Received: data.batch_size={batch_size} for {num_examples} examples"
        )


def load_source(
    source,
    *,
    image_size,
    seed=0,
    num_examples=None,
    split="train",
    data_dir=None,
    skip_bad_files=False,
    download=True,
):
    """Loads one source as unbatched uint8 images at `image_size`.

    Args:
        source: one of `SOURCE_CHOICES`: ``"symbols"`` (procedural marks with
            known factors), ``"digits"``, ``"colored_digits"``,
            ``"photos"`` (crops of scikit-learn's sample photographs, the
            super-resolution targets), ``"tfds:NAME"``, ``"folder:PATH"`` or
            ``"npz:PATH"``.
        image_size: height and width of the returned images.
        seed: seed for procedural data and for subsets.
        num_examples: None for the source's default (all of it; 20,000 for
            `symbols`), else how many examples to use.
        split: TFDS split (``tfds:``), or ``train`` / ``test`` (``photos``).
        data_dir: TFDS data directory (``tfds:`` only).
        skip_bad_files: skip unreadable files instead of raising
            (``folder:`` only).
        download: allow TFDS to download an unprepared dataset (``tfds:``
            only).

    Returns:
        SourceData.

    Raises:
        ValueError: invalid arguments (before any loading) or bad data.
        RuntimeError: a TFDS dataset that is not prepared and cannot be.
        FileNotFoundError: a missing folder or npz file.
    """
    kind, argument = _validate(source, image_size, num_examples)
    options = _Options(image_size, seed, num_examples, split, data_dir, skip_bad_files, download)
    return _LOADERS[kind](argument, options)


def _normalize(batch):
    return {
        "images": tf.cast(batch["images"], tf.float32) / 127.5 - 1.0,
        "labels": batch["labels"],
    }


def make_dataset(
    source,
    *,
    image_size,
    batch_size,
    seed=0,
    num_examples=None,
    split="train",
    data_dir=None,
    skip_bad_files=False,
    download=True,
    shuffle=True,
    repeat=True,
    skip_batches=0,
):
    """The training input pipeline for one source.

    The stream of examples is a function of the seeds alone (`seed` and TF's
    global seed, which `attngan train` sets from it): the shuffle reshuffles
    each epoch from its seeded generator and batches run across epoch
    boundaries. A run resumed at step ``n`` asks for ``skip_batches=n`` and
    sees the batches an uninterrupted run sees from its step ``n``. We skip
    rather than checkpoint the tf.data iterator: Keras owns the iterator
    inside `fit`, and its checkpoint would hold the shuffle buffer (up to
    10,000 images) in every checkpoint. Skipping runs the examples through
    the cached, shuffled stream without decoding them: about 2 us per example
    on a quiet 2-core CPU, 12 s for a resume at step 100,000 of batch 64.

    Args:
        source: see `load_source`.
        image_size: see `load_source`.
        batch_size: examples per batch, at most the number of examples.
        seed: see `load_source`; also seeds the shuffle.
        num_examples: see `load_source`.
        split: see `load_source`.
        data_dir: see `load_source`.
        skip_bad_files: see `load_source`.
        download: see `load_source`.
        shuffle: reshuffle the examples every epoch.
        repeat: repeat forever (else one pass).
        skip_batches: batches to skip (the step a resumed run starts at).

    Returns:
        ``(dataset, source_data)``: `dataset` yields ``{"images": float32 [B,
        S, S, C] in [-1, 1], "labels": int32 [B]}`` with a static batch size
        B (the last partial batch is dropped, so compiled steps never see a
        new shape); `source_data` is the `SourceData` it was built from.

    Raises:
        ValueError: invalid arguments, including a batch size larger than
            the number of examples.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    _validate(source, image_size, num_examples)
    _check_batch_size(batch_size, num_examples)
    data = load_source(
        source,
        image_size=image_size,
        seed=seed,
        num_examples=num_examples,
        split=split,
        data_dir=data_dir,
        skip_bad_files=skip_bad_files,
        download=download,
    )
    return batch_source(
        data, batch_size, seed=seed, shuffle=shuffle, repeat=repeat, skip_batches=skip_batches
    ), data


def batch_source(data, batch_size, *, seed=0, shuffle=True, repeat=True, skip_batches=0):
    """The batched training stream of a loaded source (see `make_dataset`).

    Args:
        data: a `SourceData`.
        batch_size: examples per batch, at most ``data.num_examples``.
        seed: seeds the shuffle.
        shuffle: reshuffle the examples every epoch.
        repeat: repeat forever (else one pass).
        skip_batches: batches to skip (the step a resumed run starts at).

    Returns:
        The dataset `make_dataset` describes.
    """
    _check_batch_size(batch_size, data.num_examples)
    if not _is_int(skip_batches) or skip_batches < 0:
        raise ValueError(f"`skip_batches` should be an integer >= 0. Received: {skip_batches!r}")
    # Cache the uint8 images, 4x smaller than float32, and normalise whole
    # batches afterwards, which is one vectorised op per step.
    cached = data.dataset.cache()

    def stream(_):
        dataset = cached
        if shuffle:
            dataset = dataset.shuffle(
                min(data.num_examples, _MAX_SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True
            )
        return (dataset.repeat() if repeat else dataset).skip(skip_batches * batch_size)

    # Built inside flat_map, the shuffle's seed generator is created afresh
    # for each iterator, so every iterator (Keras makes one per `fit` call,
    # and tf.distribute may make its own) starts the same seeded stream; one
    # built outside would be shared and go on to its next order.
    dataset = tf.data.Dataset.range(1).flat_map(stream)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(_normalize, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
