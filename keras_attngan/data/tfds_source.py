"""`tfds:NAME`: any TensorFlow Datasets image dataset.

Everything that can go wrong with TFDS (a misspelt name, a dataset that was
never prepared, no network to prepare it, a split or feature that does not
exist) is turned into one ValueError or RuntimeError that says what to do,
instead of a traceback from deep inside `tensorflow_datasets`.
"""

import difflib
import re

import tensorflow as tf
import tensorflow_datasets as tfds

from keras_attngan.data.base import (
    SourceData,
    check_num_examples,
    resize_to_uint8,
    strip_alpha,
)


def _builder(name, data_dir):
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        base_name = name.split("/")[0]
        # The error from TFDS lists all ~450 datasets; a few near-misses help more.
        similar = difflib.get_close_matches(
            base_name, tfds.list_builders(with_community_datasets=False), n=5
        )
        hint = f" Similar names: {similar}." if similar else ""
        raise ValueError(
            f"Unknown TFDS dataset {name!r} in data.source='tfds:{name}'.{hint} "
            "List all names with `python -c 'import tensorflow_datasets as tfds; "
            "print(tfds.list_builders())'`."
        ) from None
    except ValueError as error:
        raise ValueError(f"Invalid TFDS dataset name {name!r}: {error}") from error


def _prepare(builder, name, download):
    if builder.is_prepared():
        return
    if not download:
        raise RuntimeError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir!r} and "
            "data.download=False. Run with download enabled on a machine with network, "
            "or point data.data_dir at a prepared copy."
        )
    try:
        builder.download_and_prepare()
    except Exception as error:  # Any failure here means the same thing to the user.
        raise RuntimeError(
            f"Downloading and preparing TFDS dataset {name!r} failed "
            f"({type(error).__name__}: {error}). This machine probably has no network "
            f"access. Prepare the dataset on a machine with network (`tfds build {name} "
            "--data_dir=DIR`), copy DIR here and set data.data_dir=DIR (with "
            "data.download=False)."
        ) from error


def _check_split(info, name, split):
    available = sorted(info.splits.keys())
    # TFDS only knows the split names once the dataset is prepared; before that
    # (or under `tfds.testing.mock_data`) `as_dataset` is the judge.
    if not available:
        return
    # A split spec may slice and combine splits: "train[:10%]+test".
    requested = re.sub(r"\[.*?\]|\(.*?\)", "", split).split("+")
    unknown = [s.strip() for s in requested if s.strip() not in available]
    if unknown:
        raise ValueError(
            f"`data.split` should name splits of TFDS dataset {name!r}, one of "
            f"{available}. Received: data.split={split!r}"
        )


def _image_feature_key(features, name):
    if "image" in features and isinstance(features["image"], tfds.features.Image):
        return "image"
    for key, feature in features.items():
        if isinstance(feature, tfds.features.Image):
            return key
    raise ValueError(
        f"TFDS dataset {name!r} has no image feature; its features are "
        f"{sorted(features.keys())}. `data.source='tfds:NAME'` needs an image dataset."
    )


def load_tfds(name, *, image_size, split, num_examples, data_dir, download):
    """The `tfds:NAME` source.

    Args:
        name: TFDS name, optionally with config and version (``"mnist"``,
            ``"cifar10/3.0.2"``).
        image_size: height and width in pixels; images are resized with
            antialiasing, keeping their channels (alpha is dropped).
        split: TFDS split spec, e.g. ``"train"`` or ``"train[:10%]"``.
        num_examples: None for the whole split, else its first
            `num_examples` elements.
        data_dir: TFDS data directory, None for the TFDS default.
        download: whether an unprepared dataset may be downloaded.

    Returns:
        SourceData; labels come from a ``"label"`` ClassLabel feature if there
        is one, else they are all 0 and ``num_classes`` is 0.

    Raises:
        ValueError: unknown dataset, split, or no image feature; too many
            examples asked for.
        RuntimeError: the dataset is not prepared and cannot be downloaded.
    """
    builder = _builder(name, data_dir)
    features = builder.info.features
    image_key = _image_feature_key(features, name)
    label_feature = features["label"] if "label" in features else None
    has_labels = isinstance(label_feature, tfds.features.ClassLabel)
    _prepare(builder, name, download)
    _check_split(builder.info, name, split)
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except (ValueError, KeyError) as error:
        raise ValueError(
            f"Could not read split {split!r} of TFDS dataset {name!r}: {error}"
        ) from error

    cardinality = int(dataset.cardinality())
    available = cardinality if cardinality >= 0 else builder.info.splits[split].num_examples
    check_num_examples(available, num_examples, f"tfds:{name}")
    if num_examples is not None:
        dataset = dataset.take(num_examples)

    def convert(example):
        labels = tf.cast(example["label"], tf.int32) if has_labels else tf.constant(0, tf.int32)
        images = resize_to_uint8(strip_alpha(example[image_key]), image_size)
        return {"images": images, "labels": labels}

    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return SourceData(
        dataset=dataset,
        num_examples=available if num_examples is None else num_examples,
        channels=int(dataset.element_spec["images"].shape[-1]),
        num_classes=label_feature.num_classes if has_labels else 0,
    )
