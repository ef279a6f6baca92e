"""Fréchet distance between feature distributions (FID), streaming and intra-class.

FID (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", NeurIPS) fits a Gaussian to the
features of real and of generated images and reports the Fréchet (2-Wasserstein)
distance between the two Gaussians:

    FID = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)).

The statistics are accumulated batch by batch in float64 (`FeatureStatistics`),
so features never have to be held in memory all at once. Intra-class FID
(Miyato & Koyama, 2018, "cGANs with Projection Discriminator", ICLR) is the
mean of the per-class FIDs.
"""

import warnings

import numpy as np
from scipy import linalg

from keras_attngan.metrics._validation import as_features, check_same_dim

# A covariance needs two samples; below one more sample than dimensions it is
# singular, and FID is then strongly biased (and its square root unstable).
MIN_SAMPLES = 2


class FeatureStatistics:
    """Streaming mean and covariance of feature vectors, in float64.

    Batches are merged with the pairwise update of Chan, Golub & LeVeque
    (1979, "Updating formulae and a pairwise algorithm for computing sample
    variances"): the running mean and the running scatter matrix
    ``M = sum (x - mean)(x - mean)^T`` are updated from each batch's own mean
    and scatter. This is what accumulating the raw sums ``sum x`` and
    ``sum x x^T`` computes, without their cancellation error when the mean is
    large against the spread. The result equals ``np.mean`` and ``np.cov`` of
    the concatenated batches.

    Example:

    >>> stats = FeatureStatistics()
    >>> for batch in batches:
    ...     stats.update(extractor.features(batch))
    >>> stats.mean, stats.covariance
    """

    def __init__(self):
        self.count = 0
        self._mean = None
        self._scatter = None

    @property
    def dim(self):
        """Feature dimension, or None before the first batch."""
        return None if self._mean is None else self._mean.shape[0]

    def update(self, features):
        """Adds a batch of features ``[B, D]`` (B may be 0)."""
        batch = as_features(features, "features", min_samples=0)
        if self._mean is not None and batch.shape[1] != self.dim:
            raise ValueError(
                f"`features` should have the dimension of the earlier batches ({self.dim}). "
                f"Received: features.shape={batch.shape}"
            )
        size = batch.shape[0]
        if size == 0:
            return self
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        batch_scatter = centred.T @ centred
        if self._mean is None:
            self.count, self._mean, self._scatter = size, batch_mean, batch_scatter
            return self
        total = self.count + size
        delta = batch_mean - self._mean
        self._scatter = (
            self._scatter + batch_scatter + np.outer(delta, delta) * (self.count * size / total)
        )
        self._mean = self._mean + delta * (size / total)
        self.count = total
        return self

    @property
    def mean(self):
        """float64 ``[D]``."""
        self._check(1)
        return self._mean

    @property
    def covariance(self):
        """Unbiased covariance (``ddof=1``, as ``np.cov``), float64 ``[D, D]``."""
        self._check(MIN_SAMPLES)
        return self._scatter / (self.count - 1)

    def _check(self, needed):
        if self.count < needed:
            raise ValueError(
                f"A feature covariance needs at least {needed} samples (and more samples "
                f"than feature dimensions to be full rank). Received: {self.count} samples"
            )

    @classmethod
    def from_features(cls, features):
        """Statistics of a whole ``[N, D]`` array at once."""
        return cls().update(features)

    @classmethod
    def from_moments(cls, mean, covariance, count):
        """Rebuilds statistics from a stored mean, covariance and count."""
        stats = cls()
        stats.count = int(count)
        stats._mean = np.asarray(mean, np.float64)
        stats._scatter = np.asarray(covariance, np.float64) * (stats.count - 1)
        return stats


def frechet_distance(mean1, cov1, mean2, cov2, eps=1e-6):
    """Fréchet distance between N(mean1, cov1) and N(mean2, cov2).

    ``||mean1 - mean2||^2 + Tr(cov1 + cov2 - 2 sqrtm(cov1 cov2))``, with
    ``scipy.linalg.sqrtm``. As in the reference implementation (TTUR's
    ``fid.py``, and ``pytorch-fid``): if the square root is not finite (a
    singular product), ``eps * I`` is added to both covariances and it is
    recomputed; small imaginary parts from numerical error are dropped, and an
    imaginary part above 1e-3 on the diagonal is an error.

    Args:
        mean1: ``[D]``.
        cov1: ``[D, D]``.
        mean2: ``[D]``.
        cov2: ``[D, D]``.
        eps: the diagonal offset for singular products.

    Returns:
        float. Rounding can make it slightly negative (about -1e-10) for
        identical statistics; it is returned as computed.
    """
    mean1, mean2 = np.atleast_1d(mean1).astype(np.float64), np.atleast_1d(mean2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape or cov1.shape != mean1.shape * 2:
        raise ValueError(
            "The two Gaussians should have the same dimension D (means [D], covariances "
            f"[D, D]). Received: mean shapes {mean1.shape}, {mean2.shape}; covariance "
            f"shapes {cov1.shape}, {cov2.shape}"
        )
    diff = mean1 - mean2
    covmean = linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(covmean).all():
        offset = np.eye(cov1.shape[0]) * eps
        covmean = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        largest = np.max(np.abs(np.diagonal(covmean).imag))
        if largest > 1e-3:
            raise ValueError(
                f"The square root of the covariance product has an imaginary component of "
                f"{largest:.3g}: the statistics are ill-conditioned (too few samples for "
                "the feature dimension?)."
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))


def fid_from_statistics(real, fake):
    """FID between two `FeatureStatistics`.

    Raises:
        ValueError: fewer than 2 samples on either side, or different dimensions.

    Warns:
        UserWarning: when either side has no more samples than dimensions (the
            covariance is then singular and FID biased upwards).
    """
    for name, stats in (("real", real), ("fake", fake)):
        if stats.count < MIN_SAMPLES:
            raise ValueError(
                f"FID needs at least {MIN_SAMPLES} {name} samples for a covariance. "
                f"Received: {stats.count} {name} samples"
            )
        if stats.count <= stats.dim:
            warnings.warn(
                f"FID with {stats.count} {name} samples for {stats.dim}-dimensional "
                "features: the covariance is singular (it needs more samples than "
                "dimensions) and FID is biased upwards. Use more samples or a smaller "
                "extractor.",
                stacklevel=2,
            )
    if real.dim != fake.dim:
        raise ValueError(
            "Real and fake statistics should come from the same extractor. "
            f"Received: dimensions {real.dim} and {fake.dim}"
        )
    return frechet_distance(real.mean, real.covariance, fake.mean, fake.covariance)


def fid_from_features(real_features, fake_features):
    """FID between two feature arrays ``[N, D]`` and ``[M, D]``."""
    real = as_features(real_features, "real_features", MIN_SAMPLES, "for a covariance")
    fake = as_features(fake_features, "fake_features", MIN_SAMPLES, "for a covariance")
    check_same_dim(real, fake, ("real_features", "fake_features"))
    return fid_from_statistics(
        FeatureStatistics.from_features(real), FeatureStatistics.from_features(fake)
    )


def intra_class_fid(real_features, real_labels, fake_features, fake_labels):
    """Mean over classes of the FID between the real and fake features of each class.

    For an unconditional generator the fake labels are a classifier's
    predictions (`keras_attngan.apps.evaluation.evaluate` uses the domain classifier's),
    which makes this "classifier-assigned" intra-class FID.

    Args:
        real_features: ``[N, D]``.
        real_labels: int ``[N]``.
        fake_features: ``[M, D]``.
        fake_labels: int ``[M]``.

    Returns:
        dict: ``mean`` (over the classes with at least 2 real and 2 fake
        samples), ``per_class`` (label -> FID), ``counts`` (label ->
        [real, fake]) and ``skipped_classes``: real classes with fewer than 2
        fake (or real) samples, e.g. modes the generator dropped. The mean
        does not see them; read it with ``skipped_classes``.
    """
    real = as_features(real_features, "real_features")
    fake = as_features(fake_features, "fake_features")
    check_same_dim(real, fake, ("real_features", "fake_features"))
    real_labels, fake_labels = np.asarray(real_labels), np.asarray(fake_labels)
    for name, features, labels in (("real", real, real_labels), ("fake", fake, fake_labels)):
        if labels.shape != (features.shape[0],):
            raise ValueError(
                f"`{name}_labels` should have one label per {name} sample. "
                f"Received: {name}_labels.shape={labels.shape} for {features.shape[0]} samples"
            )
    per_class, counts, skipped = {}, {}, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for label in np.unique(real_labels):
            real_class, fake_class = real[real_labels == label], fake[fake_labels == label]
            counts[int(label)] = [len(real_class), len(fake_class)]
            if min(len(real_class), len(fake_class)) < MIN_SAMPLES:
                skipped.append(int(label))
                continue
            per_class[int(label)] = fid_from_features(real_class, fake_class)
    if caught:
        warnings.warn(
            "Intra-class FID: some classes have no more samples than feature dimensions, "
            "so their FID is biased upwards. Use more samples.",
            stacklevel=2,
        )
    if not per_class:
        raise ValueError(
            f"Intra-class FID needs at least {MIN_SAMPLES} real and {MIN_SAMPLES} fake "
            f"samples in some class. Received counts (real, fake) per class: {counts}"
        )
    return {
        "mean": float(np.mean(list(per_class.values()))),
        "per_class": per_class,
        "counts": counts,
        "skipped_classes": skipped,
    }
