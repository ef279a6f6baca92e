"""A domain classifier: a small CNN trained on the dataset's own labels, as an extractor.

Inception-v3 embeds ImageNet photographs; for 32x32 check marks or 8x8 digits
its features say little, and its weights may not be at hand offline. The
usual remedy (e.g. the LeNet features used for MNIST in Bińkowski et al.,
2018) is a classifier trained on the real data: its penultimate layer gives
features for FID / KID / precision-recall, and its softmax gives the class
probabilities for the Inception Score.

The classifier is trained once per (source, split, image size, training
settings) and cached (see `keras_attngan.metrics.cache`); its accuracy on
held-out real images is stored with it and written into every result, since
features from a classifier that cannot tell the classes apart measure
nothing. Its `name` ends with a hash of its weights, so reference statistics
cached for one classifier are never reused with another.

Architecture: three 3x3 ReLU convolutions (16, 32, 64 channels, 2x2 max
pooling between), global average pooling, a 64-unit tanh layer (the
features: smooth, so no feature is constant and the covariance keeps full
rank) and a linear layer to the class logits. Adam (1e-3), batch 64, at
least 600 steps in whole epochs, no augmentation, on a seeded 80% of at most
6,000 real images; the other 20% measure the held-out accuracy. About 5 s on
2 CPU cores at 32x32.
"""

import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.metrics import real_data
from keras_attngan.metrics.cache import cache_root, entry_name
from keras_attngan.metrics.extractors import (
    DEFAULT_BATCH_SIZE,
    KerasExtractor,
    weights_digest,
)

VERSION = 1
FEATURE_DIM = 64
DEFAULT_NUM_EXAMPLES = 6000
DEFAULT_STEPS = 600
HELD_OUT_FRACTION = 0.2
_MODEL_FILE = "model.keras"
_METADATA_FILE = "metadata.json"


def build_classifier(image_size, channels, num_classes, seed=0):
    """The CNN: images ``[B, S, S, C]`` in [-1, 1] -> ``{"features", "logits"}``."""
    layers = keras.layers
    init = keras.initializers.GlorotUniform
    inputs = keras.Input((image_size, image_size, channels), name="images")
    x = inputs
    for index, filters in enumerate((16, 32, 64)):
        if index:
            x = layers.MaxPooling2D(name=f"pool_{index}")(x)
        x = layers.Conv2D(
            filters,
            3,
            padding="same",
            activation="relu",
            kernel_initializer=init(seed + index),
            name=f"conv_{index}",
        )(x)
    x = layers.GlobalAveragePooling2D(name="average")(x)
    features = layers.Dense(
        FEATURE_DIM, activation="tanh", kernel_initializer=init(seed + 10), name="features"
    )(x)
    logits = layers.Dense(num_classes, kernel_initializer=init(seed + 11), name="logits")(features)
    return keras.Model(inputs, {"features": features, "logits": logits}, name="domain_classifier")


class DomainClassifier(KerasExtractor):
    """A trained domain classifier: features (penultimate layer) and class probabilities.

    Build one with `get_domain_classifier` (cached) or `train_domain_classifier`.

    Args:
        model: the network of `build_classifier`, trained.
        metadata: its training facts (source, image size, held-out accuracy, ...).
        batch_size: images per call.

    Attributes:
        held_out_accuracy: accuracy on real images it was not trained on.
        num_classes: number of classes.
        metadata: see Args.
    """

    def __init__(self, model, metadata, batch_size=DEFAULT_BATCH_SIZE):
        self.metadata = dict(metadata)
        self.image_size = self.metadata["image_size"]
        self.channels = self.metadata["channels"]
        self.num_classes = self.metadata["num_classes"]
        self.held_out_accuracy = self.metadata.get("held_out_accuracy")
        source, digest = self.metadata["source"], weights_digest(model)
        name = f"domain:{source}@{self.image_size}px:v{VERSION}-{digest}"
        super().__init__(model, name, batch_size=batch_size)
        self.dim = FEATURE_DIM

    def check_images(self, images):
        super().check_images(images)
        expected = (self.image_size, self.image_size, self.channels)
        if tuple(np.shape(images)[1:]) != expected:
            raise ValueError(
                f"Domain classifier {self.name!r} was trained on images {list(expected)}. "
                f"Received: images of shape {list(np.shape(images)[1:])}"
            )

    def features_and_probabilities(self, images):
        """``(features [N, 64], class probabilities [N, K])`` in one pass."""
        outputs = self.run(images)
        features = np.concatenate([np.asarray(o["features"]) for o in outputs])
        logits = np.concatenate([np.asarray(o["logits"]) for o in outputs])
        return features, np.asarray(tf.nn.softmax(logits.astype(np.float64)))

    def probabilities(self, images):
        """Class probabilities ``[N, K]`` (softmax of the logits)."""
        return self.features_and_probabilities(images)[1]

    def describe(self):
        keys = (
            "source",
            "split",
            "image_size",
            "num_train",
            "num_held_out",
            "steps",
            "held_out_accuracy",
            "chance_accuracy",
        )
        return {
            "name": self.name,
            "dim": self.dim,
            "kind": "domain classifier (penultimate layer, 64-d tanh)",
            **{key: self.metadata.get(key) for key in keys},
            "input_size": self.image_size,
            "resize": "none (images at the data's size)",
        }


def _training_key(source, split, image_size, num_examples, steps, seed):
    return {
        "source": source,
        "split": split,
        "image_size": image_size,
        "num_examples": num_examples,
        "steps": steps,
        "seed": seed,
        "version": VERSION,
    }


def _labelled_images(source, num_examples, options):
    """(data, images, labels) of `source`: at most `num_examples` (all if it has fewer), with 2+ classes."""
    try:
        data = real_data.load_real(source, num_examples=num_examples, **options)
    except ValueError as error:  # a source with fewer images: use them all
        if "fewer images" not in str(error):
            raise
        data = real_data.load_real(source, **options)
    if data.num_classes < 2:
        raise ValueError(
            f"A domain classifier needs a labelled source with at least 2 classes; "
            f"{source!r} has {data.num_classes}. Use the Inception extractor "
            "(`--extractor inception`) or plug in a `KerasExtractor`."
        )
    images, labels = real_data.arrays(data)
    return data, images, labels


def train_domain_classifier(
    source,
    image_size,
    *,
    num_examples=DEFAULT_NUM_EXAMPLES,
    steps=DEFAULT_STEPS,
    seed=0,
    split="train",
    data_dir=None,
    download=True,
    batch_size=DEFAULT_BATCH_SIZE,
):
    """Trains the classifier on `source`'s labels and measures it on held-out images.

    A seeded 20% of the (at most `num_examples`) images are held out; the
    rest train for `steps` steps (whole epochs, at least `steps` in all),
    so small sources such as `digits` see as many updates as large ones.

    Args:
        source: a labelled `data.source` (e.g. ``"symbols"``, ``"digits"``).
        image_size: image height and width.
        num_examples: images used (train + held out); fewer if the source
            has fewer.
        steps: the least number of training steps (batches).
        seed: seed of the initial weights, the split and the shuffle.
        split: TFDS split.
        data_dir: TFDS data directory.
        download: allow TFDS downloads.
        batch_size: training batch size.

    Returns:
        DomainClassifier.

    Raises:
        ValueError: an unlabelled source, or too few images.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    options = dict(
        image_size=image_size, seed=seed, split=split, data_dir=data_dir, download=download
    )
    data, images, labels = _labelled_images(source, num_examples, options)
    order = np.random.default_rng(seed).permutation(len(images))
    held_out = max(1, int(round(HELD_OUT_FRACTION * len(images))))
    if len(images) - held_out < data.num_classes:
        raise ValueError(
            f"Too few images in {source!r} to train a domain classifier: {len(images)}."
        )
    test, train = order[:held_out], order[held_out:]
    model = build_classifier(image_size, data.channels, data.num_classes, seed)
    trainer = keras.Model(model.input, model.output["logits"])
    trainer.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((images[train], labels[train]))
        .shuffle(len(train), seed=seed)
        .batch(batch_size)
    )
    start = time.perf_counter()
    epochs = -(-steps // -(-len(train) // batch_size))
    trainer.fit(dataset, epochs=epochs, shuffle=False, verbose=0)  # the dataset shuffles
    seconds = time.perf_counter() - start
    predictions = np.argmax(trainer.predict(images[test], batch_size=256, verbose=0), axis=1)
    metadata = {
        **_training_key(source, split, image_size, num_examples, steps, seed),
        "epochs": int(epochs),
        "channels": data.channels,
        "num_classes": data.num_classes,
        "num_train": int(len(train)),
        "num_held_out": int(len(test)),
        "held_out_accuracy": float(np.mean(predictions == labels[test])),
        "chance_accuracy": float(np.bincount(labels[test]).max() / len(test)),
        "train_seconds": round(seconds, 2),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    return DomainClassifier(model, metadata, batch_size)


def get_domain_classifier(source, image_size, *, cache_dir=None, **training):
    """The domain classifier of `source` at `image_size`: from the cache, or trained and cached.

    Cached under ``CACHE/domain_classifiers/KEY/`` (``model.keras`` and
    ``metadata.json``, with the held-out accuracy), where KEY hashes the
    source, split, image size and training settings. ``folder:`` and
    ``npz:`` sources are keyed by their path: delete the entry if the files
    change.

    Args:
        source: see `train_domain_classifier`.
        image_size: see `train_domain_classifier`.
        cache_dir: see `keras_attngan.metrics.cache.cache_root`.
        **training: keyword arguments of `train_domain_classifier`.

    Returns:
        DomainClassifier.
    """
    defaults = {
        "num_examples": DEFAULT_NUM_EXAMPLES,
        "steps": DEFAULT_STEPS,
        "seed": 0,
        "split": "train",
    }
    settings = {**defaults, **training}
    key = _training_key(
        source,
        settings["split"],
        image_size,
        settings["num_examples"],
        settings["steps"],
        settings["seed"],
    )
    directory = os.path.join(cache_root(cache_dir), "domain_classifiers", entry_name(key))
    batch_size = settings.get("batch_size", DEFAULT_BATCH_SIZE)
    if os.path.exists(os.path.join(directory, _METADATA_FILE)):
        with open(os.path.join(directory, _METADATA_FILE)) as f:
            metadata = json.load(f)
        model = keras.saving.load_model(os.path.join(directory, _MODEL_FILE), compile=False)
        return DomainClassifier(model, metadata, batch_size)
    classifier = train_domain_classifier(source, image_size, **settings)
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-", dir=os.path.dirname(directory))
    try:
        classifier.model.save(os.path.join(staging, _MODEL_FILE))
        with open(os.path.join(staging, _METADATA_FILE), "w") as f:
            json.dump(classifier.metadata, f, indent=2, sort_keys=True)
        if not os.path.exists(directory):
            os.rename(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return classifier
