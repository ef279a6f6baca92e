"""Improved precision and recall with k-nearest-neighbour manifolds.

Kynkäänniemi, Karras, Laine, Lehtinen & Aila, 2019, "Improved Precision and
Recall Metric for Assessing Generative Models", NeurIPS. Each feature set
approximates its manifold by the union of balls centred on its samples, each
ball's radius being the distance to the sample's k-th nearest neighbour in
the same set (k = 3 in the paper). Then

- precision: the fraction of fake samples inside the real manifold (how
  many generated images look real: fidelity);
- recall: the fraction of real samples inside the fake manifold (how much
  of the real data the generator covers: diversity).

A point is inside when its distance to some centre is at most that centre's
radius (``<=``, as in the reference code). Distances are squared Euclidean in
float64, computed in row blocks of `batch_size` so memory stays
``O(batch_size * N)``.
"""

import numpy as np

from keras_attngan.metrics._validation import as_features, check_same_dim

DEFAULT_K = 3


def _squared_distances(a, b):
    """``[len(a), len(b)]`` squared Euclidean distances, clipped at 0 against rounding."""
    d = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.maximum(d, 0.0)


def knn_radii(features, k=DEFAULT_K, batch_size=1024):
    """Squared distance of each sample to its k-th nearest other sample ``[N]``."""
    radii = np.empty(len(features))
    for start in range(0, len(features), batch_size):
        block = _squared_distances(features[start : start + batch_size], features)
        # Column k of the sorted row: the sample itself is at distance 0.
        radii[start : start + batch_size] = np.partition(block, k, axis=1)[:, k]
    return radii


def inside_manifold(queries, centres, radii, batch_size=1024):
    """Whether each query lies in some ball ``||q - c||^2 <= radius_c``; bool ``[len(queries)]``."""
    inside = np.empty(len(queries), dtype=bool)
    for start in range(0, len(queries), batch_size):
        block = _squared_distances(queries[start : start + batch_size], centres)
        inside[start : start + batch_size] = (block <= radii[None, :]).any(axis=1)
    return inside


def improved_precision_recall(real_features, fake_features, k=DEFAULT_K, batch_size=1024):
    """Improved precision and recall.

    Args:
        real_features: ``[N, D]``, N > k.
        fake_features: ``[M, D]``, M > k.
        k: neighbourhood size of the manifold radii.
        batch_size: rows of the distance matrix computed at once.

    Returns:
        dict: ``precision``, ``recall`` (in [0, 1]) and ``k``.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` should be an integer >= 1. Received: k={k!r}")
    why = f"a k-th nearest neighbour with k={k} needs k + 1 samples"
    real = as_features(real_features, "real_features", k + 1, why)
    fake = as_features(fake_features, "fake_features", k + 1, why)
    check_same_dim(real, fake, ("real_features", "fake_features"))
    precision = inside_manifold(fake, real, knn_radii(real, k, batch_size), batch_size).mean()
    recall = inside_manifold(real, fake, knn_radii(fake, k, batch_size), batch_size).mean()
    return {"precision": float(precision), "recall": float(recall), "k": int(k)}
