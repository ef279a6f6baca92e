"""Feature extractors: images in [-1, 1] -> feature vectors, each with a recorded name.

Every metric over features (FID, KID, precision / recall) is only as
meaningful as the network that embeds the images, and numbers from different
extractors cannot be compared. So every extractor has a `name` that is
written into every result and every cache key, and `describe()` says what it
does to the images (input size, resize method, weights).

- `KerasExtractor`: any Keras model (or callable) with a name and a
  preprocessing function.
- `InceptionExtractor`: the 2048-d pool features of Inception-v3 (Szegedy et
  al., 2016), the network of FID (Heusel et al., 2017) and KID.
- `keras_attngan.metrics.domain_classifier.DomainClassifier`: a small CNN
  trained on the dataset's own labels, for data unlike ImageNet.
"""

import dataclasses
import hashlib
import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.metrics.fid import FeatureStatistics

DEFAULT_BATCH_SIZE = 64

INCEPTION_SIZE = 299
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    + INCEPTION_WEIGHTS_FILE
)


class KerasExtractor:
    """Features from any Keras model (or callable on tensors).

    Args:
        model: maps a preprocessed float32 batch to features ``[B, D]`` (or a
            dict / list whose first output, or ``"features"`` entry, is
            that).
        name: identifies the model AND its weights, e.g.
            ``"my_resnet:imagenet"``; recorded in every result and cache key.
        preprocess: maps images ``[B, S, S, C]`` in [-1, 1] (float32 tensor)
            to the model's input; default: identity.
        batch_size: images per model call.
        details: extra facts recorded by `describe()` (e.g. the resize).

    Attributes:
        name: see Args.
        dim: the feature dimension, known after the first call (or given by
            subclasses).
    """

    def __init__(self, model, name, preprocess=None, batch_size=DEFAULT_BATCH_SIZE, details=None):
        if not isinstance(name, str) or not name:
            raise ValueError(
                "`name` should be a non-empty string identifying the model and its weights. "
                f"Received: name={name!r}"
            )
        self.model = model
        self.name = name
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.details = dict(details or {})
        self.dim = None
        self._forward = tf.function(self._call, reduce_retracing=True)

    def _call(self, images):
        inputs = images if self.preprocess is None else self.preprocess(images)
        if isinstance(self.model, keras.Model):
            return self.model(inputs, training=False)
        return self.model(inputs)

    def check_images(self, images):
        """Raises ValueError if `images` is not a float batch ``[B, H, W, C]``."""
        shape = np.shape(images)
        if len(shape) != 4 or shape[-1] not in (1, 3):
            raise ValueError(
                f"Extractor {self.name!r} takes images [batch, height, width, 1 or 3] in "
                f"[-1, 1]. Received: shape {tuple(shape)}"
            )

    def run(self, images):
        """Runs the model on `images` in batches; returns a list of outputs per batch."""
        self.check_images(images)
        images = np.asarray(images, np.float32)
        return [
            self._forward(tf.constant(images[i : i + self.batch_size]))
            for i in range(0, len(images), self.batch_size)
        ]

    def features(self, images):
        """Features ``[N, D]`` (float32 ndarray) of images ``[N, H, W, C]`` in [-1, 1]."""
        outputs = self.run(images)
        features = np.concatenate([np.asarray(_first_output(o)) for o in outputs])
        features = features.reshape(len(images), -1)
        self.dim = features.shape[1]
        return features

    def features_and_probabilities(self, images):
        """``(features, None)``: a plain extractor gives no class probabilities."""
        return self.features(images), None

    def describe(self):
        """What this extractor is, for results: name, feature dimension, details."""
        return {"name": self.name, "dim": self.dim, **self.details}


@dataclasses.dataclass
class Embedding:
    """What `embed` accumulated over a stream of batches.

    Attributes:
        statistics: streaming `FeatureStatistics` (always).
        features: ``[N, D]`` float32 when kept, else None.
        probabilities: ``[N, K]`` when kept (a classifier), else None.
        labels: int ``[N]`` when the batches carried labels, else None.
        images: the first `keep_images` images ``[M, S, S, C]``, or None.
    """

    statistics: FeatureStatistics
    features: Optional[np.ndarray] = None
    probabilities: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    images: Optional[np.ndarray] = None


def embed(extractor, batches, keep_features=False, classifier=None, keep_images=0):
    """Streams batches through an extractor, accumulating FID statistics.

    Only what is asked for is kept: by default nothing but the float64 mean
    and covariance, so any number of images fits in memory.

    Args:
        extractor: a `KerasExtractor` (or subclass).
        batches: iterable of images ``[B, S, S, C]`` in [-1, 1], or of
            ``(images, labels)`` pairs.
        keep_features: keep the features (KID, precision / recall need them).
        classifier: keep the class probabilities of this classifier (a
            `DomainClassifier`; when it is `extractor` itself, one pass gives
            both).
        keep_images: keep the first this many images.

    Returns:
        Embedding.
    """
    statistics = FeatureStatistics()
    kept = {"features": [], "probabilities": [], "labels": [], "images": []}
    stored_images = 0
    for batch in batches:
        images, labels = batch if isinstance(batch, tuple) else (batch, None)
        if classifier is extractor:
            features, probabilities = extractor.features_and_probabilities(images)
        else:
            features = extractor.features(images)
            probabilities = None if classifier is None else classifier.probabilities(images)
        if classifier is not None:
            if probabilities is None:
                raise ValueError(
                    f"{classifier.name!r} gives no class probabilities; use a classifier "
                    "(e.g. the domain classifier)."
                )
            kept["probabilities"].append(probabilities)
        statistics.update(features)
        if keep_features:
            kept["features"].append(features.astype(np.float32))
        if labels is not None:
            kept["labels"].append(np.asarray(labels))
        if stored_images < keep_images:
            kept["images"].append(np.asarray(images[: keep_images - stored_images], np.float32))
            stored_images += len(kept["images"][-1])
    joined = {key: np.concatenate(parts) if parts else None for key, parts in kept.items()}
    return Embedding(statistics, **joined)


def _first_output(outputs):
    if isinstance(outputs, dict):
        return outputs["features"] if "features" in outputs else next(iter(outputs.values()))
    if isinstance(outputs, (list, tuple)):
        return outputs[0]
    return outputs


def resize_bilinear(size):
    """Preprocessing: grey -> RGB, then bilinear resize to ``size`` (no antialiasing).

    This is the reference FID's resize (TTUR's ``fid.py`` feeds the images to
    Inception's graph, whose first op is ``ResizeBilinear``). Values stay in
    [-1, 1], the range Keras' Inception-v3 expects.
    """

    def preprocess(images):
        if images.shape[-1] == 1:
            images = tf.repeat(images, 3, axis=-1)
        return tf.image.resize(images, (size, size), method="bilinear", antialias=False)

    return preprocess


def weights_digest(model):
    """A short hash of a Keras model's weights: names the exact network in results."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()[:12]


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def keras_cache_weights_path():
    """Where Keras keeps downloaded Inception-v3 weights (``$KERAS_HOME/models``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", INCEPTION_WEIGHTS_FILE)


def inception_weights_error(detail):
    """The error for Inception-v3 weights that are not at hand, saying how to provide them."""
    return FileNotFoundError(
        f"Inception-v3 weights are not available: {detail}. Download {INCEPTION_WEIGHTS_URL} "
        "on a machine with network access and pass its path (Python: "
        "`InceptionExtractor(weights=PATH)`; command line: `attngan evaluate "
        f"--inception_weights PATH`), or put it at {keras_cache_weights_path()} where Keras "
        "looks for it. Without Inception, use the domain classifier (`--extractor domain`)."
    )


class InceptionExtractor(KerasExtractor):
    """Inception-v3 pool features (2048-d), the FID / KID standard.

    ``keras.applications.InceptionV3(include_top=False, pooling="avg")``:
    images in [-1, 1] are made RGB (grey is repeated) and resized to 299x299
    bilinearly without antialiasing, as the reference TF FID does.

    Note: Keras' ImageNet weights are not the TF-slim graph
    (``pt_inception-2015-12-05``) the original FID code uses, so absolute
    values differ from published FIDs (by a few percent in comparisons such
    as Parmar et al., 2022, "On Aliased Resizing and Surprising Subtleties in
    GAN Evaluation"). Compare our numbers with our numbers.

    Args:
        weights: path of the no-top weights file (`INCEPTION_WEIGHTS_FILE`);
            ``"imagenet"`` to use Keras' cache or download; None to use the
            cache, downloading only if `allow_download`; or ``"random"``
            for random weights (throughput benchmarks only: the features are
            meaningless for FID).
        allow_download: with ``weights=None``, whether a download may be tried.
        model: a ready model to use instead of Inception-v3 (tests inject a
            small one); it receives the 299x299 RGB batch.
        name: required with `model`; default ``"inception_v3:WEIGHTS"``.
        input_size: the resize target (299 for Inception-v3).
        batch_size: images per call.

    Raises:
        FileNotFoundError: weights that are not at hand, with how to provide
            them.
    """

    def __init__(
        self,
        weights=None,
        allow_download=True,
        model=None,
        name=None,
        input_size=INCEPTION_SIZE,
        batch_size=DEFAULT_BATCH_SIZE,
    ):
        if model is None:
            model, weights_name = _load_inception(weights, allow_download, input_size)
            name = name or f"inception_v3:{weights_name}"
        elif name is None:
            raise ValueError(
                "`name` is required with an injected `model` (it is recorded in results)."
            )
        super().__init__(
            model,
            name,
            preprocess=resize_bilinear(input_size),
            batch_size=batch_size,
            details={"input_size": input_size, "resize": "bilinear, no antialiasing (TTUR FID)"},
        )


def _load_inception(weights, allow_download, input_size):
    """Builds Inception-v3 with the requested weights; returns (model, weights name)."""
    shape = (input_size, input_size, 3)

    def build(source):
        return keras.applications.InceptionV3(
            include_top=False, pooling="avg", weights=source, input_shape=shape
        )

    if weights == "random":
        model = build(None)
        return model, f"random-{weights_digest(model)}"
    if weights not in (None, "imagenet"):
        path = os.path.expanduser(str(weights))
        if not os.path.isfile(path):
            raise inception_weights_error(f"no file at {path!r}")
        return build(path), f"file-{_file_digest(path)}"
    cached = keras_cache_weights_path()
    if os.path.isfile(cached):
        return build(cached), "imagenet"
    if weights is None and not allow_download:
        raise inception_weights_error(f"not in Keras' cache ({cached}) and downloads are off")
    try:
        return build("imagenet"), "imagenet"
    except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
        raise inception_weights_error(f"the download failed ({error})") from error
