"""Reference statistics of real data: computed once per setting, cached as npz.

Every evaluation against the same real data with the same extractor would
otherwise embed the same real images again. The cache key is everything that
determines the numbers: data source, split, image size, extractor name (which
names the weights), number of examples and the data seed. The npz holds the
float64 mean and covariance, the count, the labels and, when a metric needs
them (KID, precision / recall), the features; an entry without features is
recomputed (and rewritten) the first time they are needed.

Limits: ``folder:`` and ``npz:`` sources are keyed by path, not content;
delete ``CACHE/reference/`` after changing their files.
"""

import dataclasses
import json
import os
from typing import Optional

import numpy as np

from keras_attngan.metrics import real_data
from keras_attngan.metrics.cache import cache_root, entry_name
from keras_attngan.metrics.extractors import embed
from keras_attngan.metrics.fid import FeatureStatistics

DEFAULT_BATCH_SIZE = 256


@dataclasses.dataclass
class Reference:
    """Real-data statistics for one extractor.

    Attributes:
        statistics: `FeatureStatistics` (mean, covariance, count).
        labels: int ``[N]`` (zeros for unlabelled sources).
        features: ``[N, D]`` float32, or None when not kept.
        image_shape: ``[S, S, C]`` of the real images.
        key: what the statistics were computed from (see `reference_key`).
        path: the cache file, or None.
        from_cache: whether they were read from the cache.
    """

    statistics: FeatureStatistics
    labels: np.ndarray
    features: Optional[np.ndarray]
    image_shape: tuple
    key: dict = dataclasses.field(default_factory=dict)
    path: Optional[str] = None
    from_cache: bool = False

    def describe(self):
        """What the reference is, for results."""
        return {
            **self.key,
            "count": self.statistics.count,
            "cache_file": self.path,
            "from_cache": self.from_cache,
        }


def reference_key(source, split, image_size, extractor_name, num_examples, seed):
    """The cache key: everything that determines the statistics."""
    return {
        "source": source,
        "split": split,
        "image_size": image_size,
        "extractor": extractor_name,
        "num_examples": "all" if num_examples is None else int(num_examples),
        "seed": seed,
    }


def reference_from_images(
    extractor, images, labels=None, keep_features=False, batch_size=DEFAULT_BATCH_SIZE
):
    """A `Reference` from in-memory real images ``[N, S, S, C]`` in [-1, 1] (not cached)."""
    images = np.asarray(images, np.float32)
    labels = np.zeros(len(images), np.int32) if labels is None else np.asarray(labels)
    batches = (
        (images[i : i + batch_size], labels[i : i + batch_size])
        for i in range(0, len(images), batch_size)
    )
    embedded = embed(extractor, batches, keep_features=keep_features)
    return Reference(
        embedded.statistics,
        embedded.labels,
        embedded.features,
        tuple(images.shape[1:]),
        key={
            "source": "in-memory images",
            "extractor": extractor.name,
            "num_examples": len(images),
        },
    )


def _load(path, key, keep_features):
    if not os.path.exists(path):
        return None
    with np.load(path) as archive:
        if json.loads(str(archive["key"])) != key or (
            keep_features and "features" not in archive.files
        ):
            return None
        statistics = FeatureStatistics.from_moments(
            archive["mean"], archive["covariance"], archive["count"]
        )
        features = archive["features"] if "features" in archive.files else None
        return Reference(
            statistics,
            archive["labels"],
            features,
            tuple(archive["image_shape"]),
            key,
            path,
            from_cache=True,
        )


def _save(path, reference):
    arrays = {
        "key": np.array(json.dumps(reference.key, sort_keys=True)),
        "mean": reference.statistics.mean,
        "covariance": reference.statistics.covariance,
        "count": np.array(reference.statistics.count),
        "labels": reference.labels,
        "image_shape": np.array(reference.image_shape),
    }
    if reference.features is not None:
        arrays["features"] = reference.features
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}.npz"
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


def reference_statistics(
    extractor,
    source,
    *,
    image_size,
    num_examples=None,
    split="train",
    seed=0,
    keep_features=False,
    cache_dir=None,
    use_cache=True,
    data=None,
    data_dir=None,
    download=True,
    batch_size=DEFAULT_BATCH_SIZE,
):
    """Reference statistics of `source`, from the cache or computed and cached.

    Args:
        extractor: a `KerasExtractor` (its `name` is part of the key).
        source: a `data.source` string.
        image_size: image height and width.
        num_examples: how many images (`load_source`'s ``num_examples``:
            rendered from `seed`, or a seeded subset); None for all.
        split: TFDS split.
        seed: the data seed (symbols rendering, subsets).
        keep_features: also keep (and cache) the features.
        cache_dir: see `keras_attngan.metrics.cache.cache_root`.
        use_cache: read and write the cache.
        data: the `SourceData` of these arguments if already loaded.
        data_dir: TFDS data directory.
        download: allow TFDS downloads.
        batch_size: images per extractor call.

    Returns:
        Reference.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    key = reference_key(source, split, image_size, extractor.name, num_examples, seed)
    path = (
        os.path.join(cache_root(cache_dir), "reference", entry_name(key) + ".npz")
        if use_cache
        else None
    )
    cached = _load(path, key, keep_features) if use_cache else None
    if cached is not None:
        return cached
    if data is None:
        data = real_data.load_real(
            source,
            image_size=image_size,
            num_examples=num_examples,
            seed=seed,
            split=split,
            data_dir=data_dir,
            download=download,
        )
    embedded = embed(extractor, real_data.batches(data, batch_size), keep_features=keep_features)
    reference = Reference(
        embedded.statistics,
        embedded.labels,
        embedded.features,
        (image_size, image_size, data.channels),
        key,
        path,
    )
    if use_cache:
        _save(path, reference)
    return reference
