"""Computing metrics for a model under evaluation, given as a `Subject`.

`compute_metrics` generates images from seeded noise and computes the
requested metrics against real reference statistics; `attngan evaluate`
(`keras_attngan.apps.evaluation.evaluate`, which loads the model, the real data
and the extractors) and the training callback
`keras_attngan.training.callbacks.Evaluation` both run it. A `Subject` is a few
functions and facts, so this package imports nothing of the trainer.

Fake images are drawn as `attngan synthesize` draws them (G's latent inputs
from `keras_attngan.core.latent.LatentSpec.inputs_numpy`: z, and InfoGAN codes and
class labels where the model has them, so ``attngan synthesize --seed S --num
N`` writes the very images evaluated) and rounded to uint8, like the real
images and like images saved to disk.
"""

import dataclasses
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from keras_attngan.core import images as images_lib
from keras_attngan.core.latent import generator_inputs
from keras_attngan.metrics import real_data
from keras_attngan.metrics._validation import check_images_compatible
from keras_attngan.metrics.extractors import embed
from keras_attngan.metrics.faithfulness import (
    DEFAULT_STEPS,
    as_explainer,
    mask_faithfulness,
)
from keras_attngan.metrics.fid import MIN_SAMPLES, fid_from_statistics, intra_class_fid
from keras_attngan.metrics.inception_score import (
    DEFAULT_SPLITS,
    inception_score_from_probabilities,
)
from keras_attngan.metrics.kid import (
    DEFAULT_SUBSET_SIZE,
    DEFAULT_SUBSETS,
    check_subsets,
    kid_from_features,
)
from keras_attngan.metrics.mask_usage import mask_usage
from keras_attngan.metrics.precision_recall import DEFAULT_K, improved_precision_recall


@dataclasses.dataclass(frozen=True)
class MetricOptions:
    """Settings of the metrics (defaults are the papers' / reference code's).

    Attributes:
        kid_subsets: KID subsets.
        kid_subset_size: KID subset size; None: 1000 (the reference), or half
            the smaller sample when that is less, so that subsets differ and
            their spread means something (a subset of all the samples is
            the same every time).
        pr_k: neighbourhood size of precision / recall.
        is_splits: Inception Score splits.
        faithfulness_num: real and fake images of the deletion / insertion curves.
        faithfulness_steps: steps of those curves.
        faithfulness_baseline: ``"mean"`` or ``"zeros"``.
        mask_usage_num: latent vectors of the mask-usage metrics.
        mask_usage_cell_size: cell side of their MI bound.
        batch_size: images per generator / extractor call.
    """

    kid_subsets: int = DEFAULT_SUBSETS
    kid_subset_size: Optional[int] = None
    pr_k: int = DEFAULT_K
    is_splits: int = DEFAULT_SPLITS
    faithfulness_num: int = 64
    faithfulness_steps: int = DEFAULT_STEPS
    faithfulness_baseline: str = "mean"
    mask_usage_num: int = 256
    mask_usage_cell_size: int = 8
    batch_size: int = 64

    def subset_size(self, num_real, num_fake):
        """The KID subset size for these sample counts."""
        if self.kid_subset_size is not None:
            return self.kid_subset_size
        return min(DEFAULT_SUBSET_SIZE, max(2, min(num_real, num_fake) // 2))


@dataclasses.dataclass
class Subject:
    """The model under evaluation, whether exported or in memory.

    Attributes:
        generate: G's latent inputs (a dict of NumPy arrays, ``{"z"}`` plus
            ``"codes"`` and ``"label"`` where the model has them) -> images
            ``[B, S, S, C]`` in [-1, 1], after the inner loop.
        discriminator: D, for `keras_attngan.metrics.faithfulness.as_explainer`.
        generate_with_mask: ``(latent inputs, mask) -> images`` (one G pass,
            no inner loop), or None for a model without a mask source.
        latent: the model's `keras_attngan.core.latent.LatentSpec`, which draws
            the latent inputs.
        image_shape: ``(S, S, C)``.
        info: facts for results (path, train step, mask source, K, config).
    """

    generate: Callable
    discriminator: object
    latent: object
    image_shape: tuple
    info: dict
    generate_with_mask: Optional[Callable] = None


def parse_metrics(metrics):
    """``"fid,kid"`` or a list -> a tuple of metric names, or ValueError listing the valid ones."""
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    names = [name for name in names if name]
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ValueError(
            f"`metrics` should be a non-empty list of {', '.join(METRICS)}. "
            f"Received: metrics={metrics!r}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return tuple(dict.fromkeys(names))


def check_request(metrics, num, num_real, options):
    """Checks sample counts against what the metrics need, before any heavy work.

    Raises:
        ValueError: naming the metric and what it needs.
    """
    for name, value in (("num", num), ("num_real", num_real)):
        if not isinstance(value, (int, np.integer)) or value < MIN_SAMPLES:
            raise ValueError(
                f"`{name}` should be an integer >= {MIN_SAMPLES} (a covariance needs two samples; "
                f"reliable FID needs thousands). Received: {name}={value!r}"
            )
    for name in metrics:
        METRICS[name].check(num, num_real, options)


def _rows(latent, start, stop):
    return {name: value[start:stop] for name, value in latent.items()}


def _fake_batches(subject, latent, batch_size, real_shape):
    for start in range(0, len(latent["z"]), batch_size):
        images = subject.generate(_rows(latent, start, start + batch_size))
        check_images_compatible(real_shape, images.shape)
        # Rounded to uint8 like the real images (and any saved sample).
        yield real_data.to_unit_range(images_lib.to_uint8(images))


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What a metric computes from: the subject, the real reference, the embedded fakes."""

    subject: Subject
    reference: object
    fake: object  # the generated images' `keras_attngan.metrics.extractors.Embedding`
    latent: dict
    num: int
    seed: int
    options: MetricOptions
    real_images: Optional[np.ndarray] = None


class Metric:
    """One entry of `METRICS`: what it needs, how it computes, how it is flattened.

    Attributes:
        needs_features: it needs the fakes' and the reference's features,
            not only their mean and covariance.
        needs_classifier: it needs the fakes' class probabilities.
    """

    needs_features = False
    needs_classifier = False

    def check(self, num, num_real, options):
        """Raises ValueError when the sample counts or `options` cannot give this metric."""

    def check_subject(self, subject):
        """Raises ValueError when `subject` cannot be measured by this metric."""

    def images_kept(self, options):
        """How many generated images (in [0, 1]) the metric needs kept after embedding."""
        return 0

    def compute(self, inputs):
        """The metric's value (a float or a dict of details) on `Inputs`."""
        raise NotImplementedError

    def flatten(self, name, value):
        """``{scalar name: float}`` of a value, for TensorBoard and tables."""
        return {name: value}


class _Fid(Metric):
    def compute(self, inputs):
        return fid_from_statistics(inputs.reference.statistics, inputs.fake.statistics)


class _MeanAndStd(Metric):
    """A metric whose value is a mean and standard deviation over subsets or splits."""

    def flatten(self, name, value):
        return {name: value["mean"], f"{name}_std": value["std"]}


class _Kid(_MeanAndStd):
    needs_features = True

    def check(self, num, num_real, options):
        check_subsets(options.kid_subsets, options.subset_size(num_real, num), num_real, num)

    def compute(self, inputs):
        size = inputs.options.subset_size(len(inputs.reference.features), inputs.num)
        return kid_from_features(
            inputs.reference.features, inputs.fake.features, inputs.options.kid_subsets, size, inputs.seed
        )


class _InceptionScore(_MeanAndStd):
    needs_classifier = True

    def check(self, num, num_real, options):
        if not 1 <= options.is_splits <= num:
            raise ValueError(
                f"The Inception Score with {options.is_splits} splits needs at least as many fake "
                f"images. Received: num={num}"
            )

    def compute(self, inputs):
        return inception_score_from_probabilities(inputs.fake.probabilities, inputs.options.is_splits)


class _PrecisionRecall(Metric):
    needs_features = True

    def check(self, num, num_real, options):
        if min(num, num_real) <= options.pr_k:
            raise ValueError(
                f"Precision / recall with k={options.pr_k} needs more than {options.pr_k} real and "
                f"fake images. Received: num={num}, num_real={num_real}"
            )

    def compute(self, inputs):
        return improved_precision_recall(inputs.reference.features, inputs.fake.features, inputs.options.pr_k)

    def flatten(self, name, value):
        return {"precision": value["precision"], "recall": value["recall"]}


class _IntraFid(Metric):
    needs_features = True
    needs_classifier = True

    def compute(self, inputs):
        # A class-conditional G's images are of the classes it was asked for
        # (Miyato and Koyama's intra-FID); an unconditional G's, of the
        # classes the classifier sees in them.
        fake_labels = inputs.latent.get("label", np.argmax(inputs.fake.probabilities, axis=1))
        return intra_class_fid(
            inputs.reference.features, inputs.reference.labels, inputs.fake.features, fake_labels
        )

    def flatten(self, name, value):
        return {name: value["mean"]}


class _Coverage(Metric):
    """Each class's share of the fakes, by the classifier, against its share of the real data.

    A GAN that drops or over-draws a class can still score a fair FID; the
    per-class ratio shows it (mode coverage, as VEEGAN, Srivastava et al.,
    2017, counts the modes a GAN draws). ``within`` is the fraction of
    classes whose ratio lies in [0.5, 1.5].
    """

    needs_classifier = True
    BAND = (0.5, 1.5)

    def compute(self, inputs):
        real_labels = np.asarray(inputs.reference.labels)
        if len(np.unique(real_labels)) < 2:
            raise ValueError(
                "`coverage` needs labelled real data (a source with classes); this reference "
                "has a single label. Drop coverage from `metrics`."
            )
        classes = inputs.fake.probabilities.shape[1]
        fake = np.bincount(np.argmax(inputs.fake.probabilities, axis=1), minlength=classes) / inputs.num
        real = np.bincount(real_labels, minlength=classes)[:classes] / len(real_labels)
        present = real > 0
        ratios = fake[present] / real[present]
        low, high = self.BAND
        return {
            "fake_shares": fake.tolist(),
            "real_shares": real.tolist(),
            "min_ratio": float(ratios.min()),
            "max_ratio": float(ratios.max()),
            "within": float(np.mean((ratios >= low) & (ratios <= high))),
        }

    def flatten(self, name, value):
        return {f"{name}/{key}": value[key] for key in ("min_ratio", "max_ratio", "within")}


class _MaskUsage(Metric):
    def check_subject(self, subject):
        check_mask_usage(subject)

    def compute(self, inputs):
        return mask_usage_of(inputs.subject, inputs.seed, inputs.options)

    def flatten(self, name, value):
        return {f"{name}/{key}": number for key, number in value.items()}


class _Faithfulness(Metric):
    def check(self, num, num_real, options):
        if options.faithfulness_num < 1:
            raise ValueError(
                "`faithfulness_num` should be >= 1. "
                f"Received: faithfulness_num={options.faithfulness_num}"
            )

    def check_subject(self, subject):
        check_faithfulness(subject)

    def images_kept(self, options):
        return options.faithfulness_num

    def compute(self, inputs):
        options = inputs.options
        sets = {"fake": inputs.fake.images}
        if inputs.real_images is not None:
            sets["real"] = np.asarray(inputs.real_images, np.float32)[: options.faithfulness_num]
        return {
            "mask_source": inputs.subject.info.get("mask_source"),
            **{
                image_set: mask_faithfulness(
                    inputs.subject.discriminator,
                    images,
                    options.faithfulness_steps,
                    options.faithfulness_baseline,
                    inputs.seed,
                    options.batch_size,
                )
                for image_set, images in sets.items()
            },
        }

    def flatten(self, name, value):
        return {
            f"{name}/{image_set}/{order}/{area}": curves[area]
            for image_set, orders in value.items()
            if image_set != "mask_source"
            for order, curves in orders.items()
            if order != "settings"
            for area in ("deletion_auc", "insertion_auc")
        }


METRICS = {
    "fid": _Fid(),
    "kid": _Kid(),
    "is": _InceptionScore(),
    "pr": _PrecisionRecall(),
    "intra_fid": _IntraFid(),
    "coverage": _Coverage(),
    "faithfulness": _Faithfulness(),
    "mask_usage": _MaskUsage(),
}
# The metrics that need the features themselves (not only their mean and
# covariance), and those that need class probabilities.
NEEDS_FEATURES = frozenset(name for name, metric in METRICS.items() if metric.needs_features)
NEEDS_CLASSIFIER = frozenset(name for name, metric in METRICS.items() if metric.needs_classifier)


def compute_metrics(
    subject,
    reference,
    extractor,
    metrics,
    num,
    seed=0,
    options=None,
    classifier=None,
    real_images=None,
):
    """Generates `num` images and computes `metrics` against `reference`.

    Args:
        subject: the model, a `Subject` (see `keras_attngan.apps.evaluation`).
        reference: real `Reference` statistics from `extractor` (with
            features when a metric of `NEEDS_FEATURES` is asked).
        extractor: the feature extractor.
        metrics: names from `METRICS`.
        num: number of generated images.
        seed: seed of the noise, the KID subsets and the faithfulness orders.
        options: `MetricOptions`.
        classifier: class probabilities, for the metrics of `NEEDS_CLASSIFIER`.
        real_images: real images for the faithfulness curves (optional).

    Returns:
        dict: metric name -> value (a float or a dict of details).
    """
    options = options or MetricOptions()
    metrics = parse_metrics(metrics)
    check_request(metrics, num, reference.statistics.count, options)
    check_images_compatible(reference.image_shape, subject.image_shape)
    if NEEDS_CLASSIFIER & set(metrics) and classifier is None:
        raise ValueError(f"{sorted(NEEDS_CLASSIFIER & set(metrics))} need a `classifier`.")
    if NEEDS_FEATURES & set(metrics) and reference.features is None:
        raise ValueError(f"{sorted(NEEDS_FEATURES & set(metrics))} need reference features.")
    for name in metrics:
        METRICS[name].check_subject(subject)
    latent = subject.latent.inputs_numpy(num, seed)
    fake = embed(
        extractor,
        _fake_batches(subject, latent, options.batch_size, reference.image_shape),
        keep_features=bool(NEEDS_FEATURES & set(metrics)),
        classifier=classifier if NEEDS_CLASSIFIER & set(metrics) else None,
        keep_images=max((METRICS[name].images_kept(options) for name in metrics), default=0),
    )
    inputs = Inputs(subject, reference, fake, latent, num, seed, options, real_images)
    return {name: METRICS[name].compute(inputs) for name in metrics}


def mask_usage_of(subject, seed=0, options=None):
    """`keras_attngan.metrics.mask_usage.mask_usage` of a subject on seeded latent inputs.

    The latent inputs are `compute_metrics`'s (``options.mask_usage_num`` of
    them from `seed`); a class-conditional D explains each image as one of
    the class G drew it for.
    """
    options = options or MetricOptions()
    check_mask_usage(subject)
    explain = as_explainer(subject.discriminator)
    latent = subject.latent.inputs_numpy(options.mask_usage_num, seed)
    labels = latent.get("label")
    # The mask is given, so a first-mask prior's numbers have nothing to draw.
    latent = generator_inputs(latent)
    return mask_usage(
        lambda mask: subject.generate_with_mask(latent, mask),
        lambda images: np.asarray(explain(tf.constant(images, tf.float32), labels)["attention"]),
        options.mask_usage_num,
        subject.image_shape[0],
        cell_size=options.mask_usage_cell_size,
        group_size=min(64, options.mask_usage_num),
    )


def check_faithfulness(subject):
    """Raises ValueError for a class-conditional subject: its D's verdict needs labels.

    The deletion / insertion curves perturb images in batches of their own;
    a projection D would need each image's label carried along (not built).
    """
    if subject.latent.num_classes:
        raise ValueError(
            "`faithfulness` supports unconditional models only: a class-conditional D "
            f"(num_classes={subject.latent.num_classes}) judges each image with its label, "
            "which the deletion / insertion curves do not carry. Drop faithfulness from "
            "`metrics`."
        )


def check_mask_usage(subject):
    """Raises ValueError when the subject has no mask input to measure."""
    if subject.generate_with_mask is None:
        raise ValueError(
            "`mask_usage` needs a model with a mask source; this one was trained with "
            f"mask source {subject.info.get('mask_source')!r}."
        )


def scalars(values):
    """Flattens `compute_metrics` values to ``{name: float}`` (TensorBoard, tables)."""
    flat = {}
    for name, value in values.items():
        flat.update(METRICS[name].flatten(name, value))
    return flat
