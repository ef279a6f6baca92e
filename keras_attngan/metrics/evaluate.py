"""Evaluating a trained model: an export or a workdir -> metrics that say what they computed.

`evaluate` is what `attngan evaluate` runs: it checks the request before any
heavy work, loads the model, the real data, the extractors and the (cached)
reference statistics, generates `num` images from seeded noise, computes the
requested metrics and returns a JSON-able dict that records exactly what was
computed: extractor names and held-out accuracy, numbers of real and fake
images, split, image size, seeds and versions. `compute_metrics` is the part
the training callback `keras_attngan.callbacks.Evaluation` shares.

Fake images are drawn as `attngan synthesize` draws them (z from
``numpy.random.default_rng(seed).standard_normal``, so ``attngan synthesize
--seed S --num N`` writes the very images evaluated) and rounded to uint8,
like the real images and like images saved to disk.
"""

import dataclasses
import os
import platform
import time
from typing import Callable, Optional

import keras
import numpy as np
import scipy
import tensorflow as tf

import keras_attngan
from keras_attngan import experiment, finite, serving, synthesis
from keras_attngan import images as images_lib
from keras_attngan.metrics import real_data
from keras_attngan.metrics._validation import check_images_compatible
from keras_attngan.metrics.domain_classifier import get_domain_classifier
from keras_attngan.metrics.extractors import InceptionExtractor, KerasExtractor, embed
from keras_attngan.metrics.faithfulness import DEFAULT_STEPS, as_explainer, mask_faithfulness
from keras_attngan.metrics.fid import MIN_SAMPLES, fid_from_statistics, intra_class_fid
from keras_attngan.metrics.inception_score import DEFAULT_SPLITS, inception_score_from_probabilities
from keras_attngan.metrics.mask_usage import mask_usage
from keras_attngan.metrics.kid import (
    DEFAULT_SUBSET_SIZE,
    DEFAULT_SUBSETS,
    check_subsets,
    kid_from_features,
)
from keras_attngan.metrics.precision_recall import DEFAULT_K, improved_precision_recall
from keras_attngan.metrics.reference import reference_statistics

METRICS = ("fid", "kid", "is", "pr", "intra_fid", "faithfulness", "mask_usage")
EXTRACTORS = ("domain", "inception")
# Metrics that need the features themselves (not only their mean and
# covariance), and metrics that need class probabilities.
NEEDS_FEATURES = frozenset({"kid", "pr", "intra_fid"})
NEEDS_CLASSIFIER = frozenset({"is", "intra_fid"})


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
        generate: float32 z ``[B, latent_dim]`` -> images ``[B, S, S, C]`` in [-1, 1].
        discriminator: D, for `keras_attngan.metrics.faithfulness.as_explainer`.
        generate_with_mask: ``(z, mask) -> images`` (one G pass, no inner
            loop), or None for a model without a mask source.
        latent_dim: size of z.
        image_shape: ``(S, S, C)``.
        info: facts for results (path, train step, mask source, K, config).
    """

    generate: Callable
    discriminator: object
    latent_dim: int
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
    if "kid" in metrics:
        check_subsets(options.kid_subsets, options.subset_size(num_real, num), num_real, num)
    if "pr" in metrics and min(num, num_real) <= options.pr_k:
        raise ValueError(
            f"Precision / recall with k={options.pr_k} needs more than {options.pr_k} real and "
            "fake "
            f"images. Received: num={num}, num_real={num_real}"
        )
    if "is" in metrics and not 1 <= options.is_splits <= num:
        raise ValueError(
            f"The Inception Score with {options.is_splits} splits needs at least as many fake "
            f"images. Received: num={num}"
        )
    if "faithfulness" in metrics and options.faithfulness_num < 1:
        raise ValueError(
            "`faithfulness_num` should be >= 1. "
            f"Received: faithfulness_num={options.faithfulness_num}"
        )


def subject_from_model(model, info=None):
    """A `Subject` for an in-memory `AttnGAN`."""
    d = model.discriminator
    return Subject(
        generate=lambda z: np.asarray(model.synthesize({"z": tf.constant(z)})["images"]),
        discriminator=d,
        latent_dim=model.latent.noise_dim,
        image_shape=(d.image_size, d.image_size, d.channels),
        generate_with_mask=(
            (lambda z, mask: np.asarray(model.generator({"z": z, "mask": mask})))
            if model.uses_mask
            else None
        ),
        info={
            "train_steps": int(model.train_steps.numpy()),
            "mask_source": d.attention,
            "inner_steps": model.inner_steps,
            **(info or {}),
        },
    )


def load_subject(path):
    """Loads an export (version directory or TF Serving base) or a workdir.

    A workdir (it holds ``config.json``) is evaluated through its newest
    export, or, without one, through its latest checkpoint.

    Raises:
        FileNotFoundError: nothing to evaluate at `path`.
        keras_attngan.finite.NonFiniteError: the model's weights are not
            all finite (its training diverged).
    """
    workdir = experiment.Workdir(path)
    if os.path.exists(workdir.config_file):
        try:
            return load_subject(serving.resolve_export(workdir.export))
        except FileNotFoundError:
            config = experiment.load_config(workdir)
            model, manager, step = experiment.restore_trainer(config, workdir)
            if not manager.latest_checkpoint:
                raise FileNotFoundError(
                    f"Workdir {path!r} has neither an export nor a checkpoint: train first."
                ) from None
            finite.check_variables(model.weights, f"Checkpoint {manager.latest_checkpoint!r}")
            info = {"path": os.path.abspath(path), "kind": "checkpoint", "config": config.to_dict()}
            return subject_from_model(model, info)
    saved_model = serving.resolve_export(path)
    finite.check_saved_model(saved_model)
    metadata = serving.load_metadata(saved_model)
    loaded = tf.saved_model.load(saved_model)
    serve = loaded.signatures["serving_default"]
    generate = loaded.signatures["generate"]
    has_mask = metadata.get("mask_source", "none") != "none"
    return Subject(
        generate=lambda z: np.asarray(serve(z=tf.constant(z))["images"]),
        generate_with_mask=(
            (
                lambda z, mask: np.asarray(
                    generate(z=tf.constant(z), mask=tf.constant(mask, tf.float32))["images"]
                )
            )
            if has_mask
            else None
        ),
        discriminator=loaded,
        latent_dim=metadata["latent_dim"],
        image_shape=(metadata["image_size"], metadata["image_size"], metadata["channels"]),
        info={
            "path": os.path.abspath(saved_model),
            "kind": "export",
            "train_steps": metadata.get("train_steps"),
            "mask_source": metadata.get("mask_source"),
            "inner_steps": metadata.get("inner_steps"),
            "config": metadata.get("config"),
        },
    )


def _fake_batches(subject, z, batch_size, real_shape):
    for start in range(0, len(z), batch_size):
        images = subject.generate(z[start : start + batch_size])
        check_images_compatible(real_shape, images.shape)
        # Rounded to uint8 like the real images (and any saved sample).
        yield real_data.to_unit_range(images_lib.to_uint8(images))


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
        subject: the model (`load_subject`, `subject_from_model`).
        reference: real `Reference` statistics from `extractor` (with
            features when KID, precision / recall or intra-class FID are asked).
        extractor: the feature extractor.
        metrics: names from `METRICS`.
        num: number of generated images.
        seed: seed of the noise, the KID subsets and the faithfulness orders.
        options: `MetricOptions`.
        classifier: class probabilities for ``is`` and ``intra_fid``.
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
    fake = embed(
        extractor,
        _fake_batches(
            subject,
            synthesis.noise(num, subject.latent_dim, seed),
            options.batch_size,
            reference.image_shape,
        ),
        keep_features=bool(NEEDS_FEATURES & set(metrics)),
        classifier=classifier if NEEDS_CLASSIFIER & set(metrics) else None,
        keep_images=options.faithfulness_num if "faithfulness" in metrics else 0,
    )
    values = {}
    if "fid" in metrics:
        values["fid"] = fid_from_statistics(reference.statistics, fake.statistics)
    if "kid" in metrics:
        size = options.subset_size(len(reference.features), num)
        values["kid"] = kid_from_features(
            reference.features, fake.features, options.kid_subsets, size, seed
        )
    if "is" in metrics:
        values["is"] = inception_score_from_probabilities(fake.probabilities, options.is_splits)
    if "pr" in metrics:
        values["pr"] = improved_precision_recall(reference.features, fake.features, options.pr_k)
    if "intra_fid" in metrics:
        predicted = np.argmax(fake.probabilities, axis=1)
        values["intra_fid"] = intra_class_fid(
            reference.features, reference.labels, fake.features, predicted
        )
    if "mask_usage" in metrics:
        values["mask_usage"] = _mask_usage(subject, seed, options)
    if "faithfulness" in metrics:
        sets = {"fake": fake.images}
        if real_images is not None:
            sets["real"] = np.asarray(real_images, np.float32)[: options.faithfulness_num]
        values["faithfulness"] = {
            "mask_source": subject.info.get("mask_source"),
            **{
                name: mask_faithfulness(
                    subject.discriminator,
                    images,
                    options.faithfulness_steps,
                    options.faithfulness_baseline,
                    seed,
                    options.batch_size,
                )
                for name, images in sets.items()
            },
        }
    return values


def _mask_usage(subject, seed, options):
    check_mask_usage(subject)
    explain = as_explainer(subject.discriminator)
    return mask_usage(
        subject.generate_with_mask,
        lambda images: np.asarray(explain(tf.constant(images, tf.float32))["attention"]),
        synthesis.noise(options.mask_usage_num, subject.latent_dim, seed),
        subject.image_shape[0],
        cell_size=options.mask_usage_cell_size,
        group_size=min(64, options.mask_usage_num),
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
        if name == "fid":
            flat["fid"] = value
        elif name in ("kid", "is"):
            flat[name], flat[f"{name}_std"] = value["mean"], value["std"]
        elif name == "pr":
            flat["precision"], flat["recall"] = value["precision"], value["recall"]
        elif name == "intra_fid":
            flat["intra_fid"] = value["mean"]
        elif name == "mask_usage":
            flat.update({f"mask_usage/{key}": number for key, number in value.items()})
        elif name == "faithfulness":
            for image_set, orders in value.items():
                if image_set == "mask_source":
                    continue
                for order, curves in orders.items():
                    if order != "settings":
                        for area in ("deletion_auc", "insertion_auc"):
                            flat[f"faithfulness/{image_set}/{order}/{area}"] = curves[area]
    return flat


def _versions():
    return {
        "keras_attngan": keras_attngan.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def _extractor(kind, inception_weights, allow_download, batch_size):
    """The extractor for `kind`, built now so missing weights fail early; None for domain."""
    if isinstance(kind, KerasExtractor):
        return kind
    if kind not in EXTRACTORS:
        raise ValueError(
            f"`extractor` should be one of {list(EXTRACTORS)} or a KerasExtractor. "
            f"Received: extractor={kind!r}"
        )
    if kind == "inception":
        return InceptionExtractor(
            inception_weights, allow_download=allow_download, batch_size=batch_size
        )
    return None


def evaluate(
    model,
    data_source=None,
    metrics=("fid", "kid", "is", "pr"),
    num=1000,
    *,
    extractor="domain",
    inception_weights=None,
    allow_download=True,
    num_real=None,
    image_size=None,
    split=None,
    seed=0,
    data_seed=None,
    cache_dir=None,
    options=None,
):
    """Evaluates an export or a workdir against real data.

    Args:
        model: an export (version directory or TF Serving base) or a workdir.
        data_source: a `data.source` string; default: the one the model was
            trained on (from its stored config).
        metrics: names from `METRICS` (list or comma-separated string).
        num: generated images.
        extractor: ``"domain"`` (the domain classifier of `data_source`),
            ``"inception"`` (Inception-v3 pool features), or a
            `KerasExtractor`.
        inception_weights: path of the Inception-v3 weights file.
        allow_download: let Keras download the Inception weights.
        num_real: real images (default `num`).
        image_size: the model's image size (checked; default: from the model).
        split: TFDS split (default: the training config's, else ``"train"``).
        seed: seed of the noise, KID subsets and faithfulness orders.
        data_seed: seed of the real data (symbols rendering, subsets);
            default: the training config's seed, i.e. the training data.
        cache_dir: see `keras_attngan.metrics.cache.cache_root`.
        options: `MetricOptions`.

    Returns:
        A JSON-able dict: ``metrics`` (values), ``model``, ``data``,
        ``fake``, ``extractor``, ``classifier``, ``reference``, ``options``,
        ``versions``, ``seconds``.

    Raises:
        ValueError: unknown metrics or extractor, too few samples, an image
            size or channels that do not match the data, an unlabelled
            source where labels are needed.
        FileNotFoundError: no model at `model`, or Inception weights not at
            hand (the message says how to provide them).
    """
    start = time.perf_counter()
    options = options or MetricOptions()
    metrics = parse_metrics(metrics)
    num_real = num if num_real is None else num_real
    check_request(metrics, num, num_real, options)
    chosen = _extractor(extractor, inception_weights, allow_download, options.batch_size)

    subject = load_subject(model)
    if "mask_usage" in metrics:
        check_mask_usage(subject)
    config = subject.info.get("config") or {}
    size, _, channels = subject.image_shape
    if image_size is not None and image_size != size:
        raise ValueError(
            f"`image_size` should be the model's ({size}). Received: image_size={image_size}"
        )
    data_source = data_source or config.get("data", {}).get("source")
    if not data_source:
        raise ValueError("`data_source` is required: the model does not record its training data.")
    split = split or config.get("data", {}).get("split") or "train"
    data_seed = config.get("seed", 0) if data_seed is None else data_seed
    # TFDS sources are read from the training run's data directory.
    data_dir = config.get("data", {}).get("data_dir")
    data = real_data.load_real(
        data_source,
        image_size=size,
        num_examples=num_real,
        seed=data_seed,
        split=split,
        data_dir=data_dir,
    )
    check_images_compatible((size, size, data.channels), subject.image_shape)
    num_real = data.num_examples
    needs_classifier = chosen is None or bool(NEEDS_CLASSIFIER & set(metrics))
    if needs_classifier and data.num_classes < 2:
        raise ValueError(
            f"{data_source!r} has no class labels, which the domain classifier and the metrics "
            f"{sorted(NEEDS_CLASSIFIER)} need. Use --extractor inception and drop those metrics."
        )

    classifier = (
        get_domain_classifier(
            data_source, size, cache_dir=cache_dir, split=split, data_dir=data_dir
        )
        if needs_classifier
        else None
    )
    chosen = chosen or classifier
    reference = reference_statistics(
        chosen,
        data_source,
        image_size=size,
        num_examples=num_real,
        split=split,
        seed=data_seed,
        keep_features=bool(NEEDS_FEATURES & set(metrics)),
        cache_dir=cache_dir,
        data=data,
        batch_size=max(options.batch_size, 256),
    )
    real_images = None
    if "faithfulness" in metrics:
        real_images = next(real_data.batches(data, options.faithfulness_num))[0]
    values = compute_metrics(
        subject,
        reference,
        chosen,
        metrics,
        num,
        seed,
        options,
        classifier=classifier if NEEDS_CLASSIFIER & set(metrics) else None,
        real_images=real_images,
    )
    info = {key: value for key, value in subject.info.items() if key != "config"}
    return {
        "metrics": values,
        "model": info,
        "data": {
            "source": data_source,
            "split": split,
            "image_size": size,
            "channels": channels,
            "num_real": num_real,
            "seed": data_seed,
            "loaded_as": "keras_attngan.data.load_source(source, num_examples=num_real, "
            "seed=seed), "
            "uint8, no augmentation",
        },
        "fake": {
            "num": num,
            "seed": seed,
            "noise": "z ~ N(0, I) from numpy default_rng(seed), as `attngan synthesize --seed`",
            "quantized": "rounded to uint8, like the real images",
        },
        "extractor": chosen.describe(),
        "classifier": classifier.describe() if classifier is not None else None,
        "reference": reference.describe(),
        "options": dataclasses.asdict(options),
        "versions": _versions(),
        "seconds": round(time.perf_counter() - start, 2),
    }


def format_table(result):
    """A readable summary of an `evaluate` result."""
    model, data, extractor = result["model"], result["data"], result["extractor"]
    lines = [
        f"Model:     {model.get('path')} ({model.get('kind')}, "
        f"train step {model.get('train_steps')}, "
        f"mask source {model.get('mask_source')}, K={model.get('inner_steps')})",
        f"Data:      {data['source']} (split {data['split']}, seed {data['seed']}), "
        f"{data['image_size']}x{data['image_size']}x{data['channels']}",
        f"Samples:   {data['num_real']} real, {result['fake']['num']} fake "
        f"(noise seed {result['fake']['seed']})",
        f"Extractor: {extractor['name']} ({extractor.get('dim')}-d)" + _accuracy(extractor),
    ]
    classifier = result.get("classifier")
    if classifier and classifier["name"] != extractor["name"]:
        lines.append(
            f"Classifier (IS, intra-FID labels): {classifier['name']}" + _accuracy(classifier)
        )
    lines += ["", f"{'metric':<44} value"]
    for name, value in scalars(result["metrics"]).items():
        lines.append(f"{name:<44} {value:.6g}")
    lines.append("")
    lines.append(
        "Faithfulness: lower deletion AUC and higher insertion AUC than `random` = faithful mask."
    )
    return "\n".join(lines if "faithfulness" in result["metrics"] else lines[:-1])


def _accuracy(description):
    accuracy = description.get("held_out_accuracy")
    return "" if accuracy is None else f", held-out accuracy {accuracy:.2%}"
