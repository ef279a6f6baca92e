"""`tfds:NAME`: any TensorFlow Datasets image dataset.

Everything that can go wrong with TFDS (a misspelt name, a dataset that was
never prepared, no network to prepare it, a split or feature that does not
exist) is turned into one ValueError or RuntimeError that says what to do,
instead of a traceback from deep inside `tensorflow_datasets`.

Without a network, TFDS's downloader retries every file with back-off for
minutes (206 s for mnist, measured) and leaves partial files behind. So the
hosts a dataset downloads from are probed first, and a failed download
removes what it wrote.
"""

import difflib
import os
import re
import shutil
import socket
import threading
import time
import urllib.parse

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


# Seconds to wait for all download hosts to accept a connection; name
# resolution has no timeout of its own, so the probes run in threads.
_PROBE_TIMEOUT_S = 10
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")


def _offline_hint(name):
    return (
        f"Prepare it on a machine with network (`tfds build {name} --data_dir=DIR`), copy DIR "
        "here and set data.data_dir=DIR and data.download=False."
    )


def _unreachable_hosts(urls, timeout=_PROBE_TIMEOUT_S):
    """The hosts among `urls` that accept no connection within `timeout` seconds.

    Empty when a proxy is configured: then the proxy, not this machine,
    reaches the hosts, and a direct probe would say nothing.
    """
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
        return []
    addresses = {}
    for url in urls:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme in ("http", "https") and parsed.hostname:
            addresses[parsed.hostname] = parsed.port or (443 if parsed.scheme == "https" else 80)
    reached = set()

    def probe(host, port):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            reached.add(host)
        except OSError:
            pass

    threads = [threading.Thread(target=probe, args=item, daemon=True) for item in addresses.items()]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return sorted(set(addresses) - reached)


def _listing(root, dataset_dir):
    """Every path TFDS may write while preparing: downloads and the dataset's directory."""
    found = {root} if os.path.exists(root) else set()
    for top in (os.path.join(root, "downloads"), os.path.join(root, dataset_dir)):
        for directory, subdirectories, files in os.walk(top):
            found.add(directory)
            found.update(os.path.join(directory, n) for n in subdirectories + files)
    return found


def _remove_new(before, after):
    for path in sorted(after - before):  # a new directory sorts before what it holds
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)


def _prepare(builder, name, download):
    if builder.is_prepared():
        return
    if not download:
        raise RuntimeError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir!r} and "
            f"data.download=False. {_offline_hint(name)}"
        )
    # `tfds.testing.mock_data` swaps download_and_prepare for a no-op that
    # needs no network: then there is nothing to probe.
    prepare = type(builder).download_and_prepare
    mocked = getattr(prepare, "__module__", "").startswith("tensorflow_datasets.testing")
    unreachable = [] if mocked else _unreachable_hosts(builder.url_infos or {})
    if unreachable:
        raise RuntimeError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir!r} and cannot be "
            f"downloaded: no connection to {', '.join(unreachable)}. {_offline_hint(name)}"
        )
    # data_dir/NAME[/CONFIG]/VERSION -> data_dir
    root = builder.data_dir
    for _ in builder.info.full_name.split("/"):
        root = os.path.dirname(root)
    dataset_dir = builder.info.full_name.split("/")[0]
    before = _listing(root, dataset_dir)
    try:
        builder.download_and_prepare()
    except Exception as error:  # Any failure here means the same thing to the user.
        _remove_new(before, _listing(root, dataset_dir))
        raise RuntimeError(
            f"Downloading and preparing TFDS dataset {name!r} failed "
            f"({type(error).__name__}: {error}). This machine probably has no network "
            f"access. {_offline_hint(name)}"
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
