"""Evaluating a trained model: an export or a workdir -> metrics that say what they computed.

`evaluate` is what `attngan evaluate` runs: it checks the request before any
heavy work, loads the model (`load_subject`: an export, or a workdir through
its export or `keras_attngan.training.experiment.restore_trainer`), the real data, the
extractors and the (cached) reference statistics, and runs
`keras_attngan.metrics.suite.compute_metrics`. It returns a JSON-able dict
that records exactly what was computed: extractor names and held-out
accuracy, numbers of real and fake images, split, image size, seeds and
versions.

This is the wiring between the trainer and `keras_attngan.metrics`, kept out
of that package so that the metrics import nothing of the trainer.
"""

import dataclasses
import os
import platform
import time

import keras
import numpy as np
import scipy
import tensorflow as tf

import keras_attngan
from keras_attngan.core.mask_sources import MASK_SOURCES
from keras_attngan.export import loading
from keras_attngan.metrics import real_data
from keras_attngan.metrics._validation import check_images_compatible
from keras_attngan.metrics.domain_classifier import get_domain_classifier
from keras_attngan.metrics.extractors import InceptionExtractor, KerasExtractor
from keras_attngan.metrics.reference import reference_statistics
from keras_attngan.metrics.suite import (
    METRICS,
    NEEDS_CLASSIFIER,
    NEEDS_FEATURES,
    MetricOptions,
    Subject,
    check_request,
    compute_metrics,
    parse_metrics,
    scalars,
)
from keras_attngan.training import experiment, finite
from keras_attngan.training.subject import subject_from_model, tensors

EXTRACTORS = ("domain", "inception")


def load_subject(path):
    """Loads an export (version directory or TF Serving base) or a workdir.

    A workdir (it holds ``config.json``) is evaluated through its newest
    export, or, without one, through its latest checkpoint.

    Raises:
        FileNotFoundError: nothing to evaluate at `path`.
        keras_attngan.training.finite.NonFiniteError: the model's weights are not
            all finite (its training diverged).
    """
    # Over 60 lines only for its docstring, which documents every argument.
    workdir = experiment.Workdir(path)
    if os.path.exists(workdir.config_file) or os.path.isdir(workdir.checkpoints):
        workdir = experiment.open_workdir(path)
        try:
            return load_subject(loading.resolve_export(workdir.export))
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
    saved_model = loading.resolve_export(path)
    finite.check_saved_model(saved_model)
    metadata = loading.load_metadata(saved_model)
    if metadata.get("scale"):
        raise ValueError(
            f"`--model` should generate from noise; {saved_model!r} is a super-resolution "
            "export: benchmarks/super_resolution.py measures its PSNR and SSIM."
        )
    loaded = tf.saved_model.load(saved_model)
    serve = loaded.signatures["serving_default"]
    generate = loaded.signatures["generate"]
    has_mask = MASK_SOURCES[metadata.get("mask_source", "none")].uses_mask
    return Subject(
        generate=lambda latent: np.asarray(serve(**tensors(latent))["images"]),
        generate_with_mask=(
            (
                lambda latent, mask: np.asarray(
                    generate(**tensors(latent), mask=tf.constant(mask, tf.float32))["images"]
                )
            )
            if has_mask
            else None
        ),
        discriminator=loaded,
        latent=loading.export_latent(saved_model),
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


@dataclasses.dataclass
class RealSide:
    """The real images a model is evaluated against, and where they came from."""

    data: object
    source: str
    split: str
    seed: int
    data_dir: object


def _real_side(subject, data_source, split, data_seed, num_real, image_size):
    """Loads the real images for `subject`; unset choices default to its training config's."""
    config = subject.info.get("config") or {}
    size = subject.image_shape[0]
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
    return RealSide(data, data_source, split, data_seed, data_dir)


def _classifier(real, subject, metrics, extractor, cache_dir):
    """The domain classifier of the real data, where the extractor or a metric needs it; else None."""
    if extractor is not None and not NEEDS_CLASSIFIER & set(metrics):
        return None
    if real.data.num_classes < 2:
        raise ValueError(
            f"{real.source!r} has no class labels, which the domain classifier and the metrics "
            f"{sorted(NEEDS_CLASSIFIER)} need. Use --extractor inception and drop those metrics."
        )
    return get_domain_classifier(
        real.source, subject.image_shape[0], cache_dir=cache_dir, split=real.split, data_dir=real.data_dir
    )


def _record(values, subject, real, num, seed, extractor, classifier, reference, options, start):
    """`evaluate`'s JSON-able result: the values and exactly what produced them."""
    info = {key: value for key, value in subject.info.items() if key != "config"}
    return {
        "metrics": values,
        "model": info,
        "data": {
            "source": real.source,
            "split": real.split,
            "image_size": subject.image_shape[0],
            "channels": subject.image_shape[2],
            "num_real": real.data.num_examples,
            "seed": real.seed,
            "loaded_as": "keras_attngan.data.load_source(source, num_examples=num_real, "
            "seed=seed), "
            "uint8, no augmentation",
        },
        "fake": {
            "num": num,
            "seed": seed,
            "noise": "LatentSpec.inputs_numpy(num, seed): z (and codes, labels) from numpy "
            "default_rng(seed), as `attngan synthesize --seed`",
            "quantized": "rounded to uint8, like the real images",
        },
        "extractor": extractor.describe(),
        "classifier": classifier.describe() if classifier is not None else None,
        "reference": reference.describe(),
        "options": dataclasses.asdict(options),
        "versions": _versions(),
        "seconds": round(time.perf_counter() - start, 2),
    }



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
        metrics: names from `keras_attngan.metrics.METRICS` (list or
            comma-separated string).
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
    # Over 60 lines only for its docstring, which documents every argument.
    start = time.perf_counter()
    options = options or MetricOptions()
    metrics = parse_metrics(metrics)
    num_real = num if num_real is None else num_real
    check_request(metrics, num, num_real, options)
    chosen = _extractor(extractor, inception_weights, allow_download, options.batch_size)

    subject = load_subject(model)
    for name in metrics:
        METRICS[name].check_subject(subject)
    real = _real_side(subject, data_source, split, data_seed, num_real, image_size)
    classifier = _classifier(real, subject, metrics, chosen, cache_dir)
    chosen = chosen or classifier
    reference = reference_statistics(
        chosen,
        real.source,
        image_size=subject.image_shape[0],
        num_examples=real.data.num_examples,
        split=real.split,
        seed=real.seed,
        keep_features=bool(NEEDS_FEATURES & set(metrics)),
        cache_dir=cache_dir,
        data=real.data,
        batch_size=max(options.batch_size, 256),
    )
    real_images = None
    if "faithfulness" in metrics:
        real_images = next(real_data.batches(real.data, options.faithfulness_num))[0]
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
    return _record(values, subject, real, num, seed, chosen, classifier, reference, options, start)


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
