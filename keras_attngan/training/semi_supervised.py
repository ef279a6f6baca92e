"""S3GAN's pseudo-labels: few labels, self-supervised features, labels for the rest.

Lucic et al., 2019, "High-Fidelity Image Generation With Fewer Labels", section
3.2 ("S3GAN"'s pre-trained variant): (1) a network learns to predict the
rotation of unlabelled images (Gidaris et al., 2018), (2) a linear classifier
is fitted on its features from the labelled fraction, (3) it labels the rest,
and (4) a class-conditional GAN trains on those labels. This module does (1)
to (3) and hands (4) a `SourceData` whose labels are the pseudo-labels;
`attngan train` does so when ``data.label_fraction`` < 1, keeping them in the
workdir (`cached_pseudo_labels`).

The rotation network is a `keras_attngan.networks.discriminator.Discriminator`
(mask source ``none``) with SS-GAN's rotation head (`keras_attngan.terms.Rotation`),
trained on the rotation loss alone: the same features and the same loss as
the SS-GAN term, so what S3GAN's pre-training learns is what the rotation term
asks of D. The classifier is scikit-learn's logistic regression on the
standardized features.
"""

import dataclasses
import os
import warnings
import zipfile

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.core.errors import DamagedFileWarning
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.terms.rotation import Rotation
from keras_attngan.training.checkpoints import move_aside


@dataclasses.dataclass(frozen=True)
class PseudoLabels:
    """The outcome of `pseudo_label`.

    Attributes:
        labels: int32 ``[N]``: the true label where `labelled`, else the
            classifier's prediction.
        labelled: bool ``[N]``: which examples were given their label.
        accuracy: the pseudo-labels' accuracy on the unlabelled examples
            against their true labels.
        rotation_accuracy: the rotation network's accuracy on all images
            after pre-training (chance is 0.25).
    """

    labels: np.ndarray
    labelled: np.ndarray
    accuracy: float
    rotation_accuracy: float


def labelled_subset(labels, fraction, seed=0):
    """A seeded `fraction` of the examples of each class, at least one per class.

    Per class, so that the classifier sees every class even at 1% labels.

    Returns:
        bool ``[N]``, True for the labelled examples.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"`fraction` should be in (0, 1). Received: fraction={fraction!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = max(1, int(round(fraction * len(members))))
        labelled[rng.choice(members, count, replace=False)] = True
    return labelled


def pretrain_rotation(images, epochs=5, batch_size=64, width=16, learning_rate=1e-3, seed=0):
    """Trains a rotation network on `images` (self-supervised: no labels).

    Args:
        images: float ``[N, S, S, C]`` in [-1, 1].
        epochs: passes over the images.
        batch_size: images per step (each rotated four ways).
        width: channels of the network's first convolution.
        learning_rate: Adam's.
        seed: seeds the initial weights and the order of the images.

    Returns:
        (the `Discriminator` whose ``features`` are the representation, the
        `Rotation` term holding the head).
    """
    keras.utils.set_random_seed(seed)
    size, channels = images.shape[1], images.shape[3]
    network = Discriminator(size, channels, width, attention="none", name="rotation_network")
    rotation = Rotation.from_networks(None, network, name="rotation")
    # D's real/fake classifier is not part of the representation.
    variables = network.trunk.trainable_variables + rotation.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(variables)

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            loss, _ = rotation.loss(network, batch)
        optimizer.apply(tape.gradient(loss, variables), variables)

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images) - batch_size + 1, batch_size):
            step(tf.constant(images[order[start : start + batch_size]]))
    return network, rotation


def features_of(network, images, batch_size=256):
    """The network's ``features`` of `images`, in inference mode, as float32 ``[N, F]``."""
    return np.concatenate(
        [
            np.asarray(network(images[i : i + batch_size], return_attention=False)["features"])
            for i in range(0, len(images), batch_size)
        ]
    ).astype(np.float32)


def classify_features(features, labels, fraction, seed=0):
    """S3GAN's steps (2)-(3) on given features: a linear classifier from a fraction, labels.

    Args:
        features: float ``[N, F]``.
        labels: int ``[N]``: the true labels, of which only the labelled
            fraction is used to fit; the rest only measure the accuracy.
        fraction: the labelled fraction, in (0, 1).
        seed: seeds the labelled subset and the classifier.

    Returns:
        (pseudo-labels ``[N]``, labelled mask ``[N]``, accuracy on the
        unlabelled examples).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels).astype(np.int32)
    labelled = labelled_subset(labels, fraction, seed)
    classifier = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
    ).fit(features[labelled], labels[labelled])
    result = np.where(labelled, labels, classifier.predict(features).astype(np.int32))
    return result, labelled, float(np.mean(result[~labelled] == labels[~labelled]))


def rotation_features(images, seed=0, epochs=5, batch_size=64, width=16):
    """S3GAN's step (1): rotation pre-training on `images`, then their features.

    Returns:
        (features ``[N, F]``, the rotation accuracy on the first ``4 *
        batch_size`` images after pre-training; chance is 0.25).
    """
    images = np.asarray(images, np.float32)
    network, rotation = pretrain_rotation(images, epochs, batch_size, width, seed=seed)
    _, rotation_accuracy = rotation.loss(network, tf.constant(images[: 4 * batch_size]))
    return features_of(network, images), float(rotation_accuracy)


def pseudo_label(images, labels, fraction, seed=0, epochs=5, batch_size=64, width=16):
    """S3GAN's steps (1)-(3): rotation pre-training, a linear classifier, pseudo-labels.

    Args:
        images: float ``[N, S, S, C]`` in [-1, 1] (all of them, labelled or not).
        labels: int ``[N]``, as `classify_features`.
        fraction: the labelled fraction, in (0, 1).
        seed: seeds the labelled subset, the network and the classifier.
        epochs, batch_size, width: of `pretrain_rotation`.

    Returns:
        `PseudoLabels`.
    """
    features, rotation_accuracy = rotation_features(images, seed, epochs, batch_size, width)
    result, labelled, accuracy = classify_features(features, labels, fraction, seed)
    return PseudoLabels(result, labelled, accuracy, rotation_accuracy)


def pseudo_labelled_source(data, fraction, seed=0, **options):
    """`data` with its labels replaced by `pseudo_label`'s, for a conditional GAN (step 4).

    Args:
        data: a labelled `SourceData` (``num_classes > 0``).
        fraction: the labelled fraction, in (0, 1).
        seed: as `pseudo_label`.
        **options: `pseudo_label`'s ``epochs``, ``batch_size``, ``width``.

    Returns:
        (a `SourceData` with the same images in the same order and the
        pseudo-labels, the `PseudoLabels`).
    """
    if not data.num_classes:
        raise ValueError("Pseudo-labelling needs a labelled source: this one has no classes.")
    examples = _examples(data)
    images = examples["images"].astype(np.float32) / 127.5 - 1.0
    result = pseudo_label(images, examples["labels"], fraction, seed, **options)
    return _with_labels(data, result.labels, examples["images"]), result


def _examples(data):
    """All of `data`'s examples as NumPy arrays, in order."""
    return next(data.dataset.batch(data.num_examples).as_numpy_iterator())


def _with_labels(data, labels, images=None):
    """`data` with the same images in the same order and `labels`."""
    images = _examples(data)["images"] if images is None else images
    dataset = tf.data.Dataset.from_tensor_slices({"images": images, "labels": labels.astype(np.int32)})
    return dataclasses.replace(data, dataset=dataset)


# What the cache holds: the key it was computed for, then `PseudoLabels`' fields.
_CACHED = ("key", "labels", "labelled", "accuracy", "rotation_accuracy")


def _read_cache(path):
    """The arrays of the cache at `path`; None when there is none or it is damaged (moved aside)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path) as stored:
            return {name: stored[name] for name in _CACHED}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        where = move_aside(os.path.dirname(os.path.abspath(path)), [path])
        warnings.warn(
            f"{path} is damaged ({' '.join(str(error).split())[:80]}; moved to {where}); "
            "the pseudo-labels are computed again.",
            DamagedFileWarning,
            stacklevel=3,
        )
        return None


def cached_pseudo_labels(data, fraction, seed, path, **options):
    """`pseudo_labelled_source`, computed once per run and kept at `path`.

    A resumed run must train on the labels it started with, and the rotation
    pre-training costs minutes, so the first call writes them (atomically) and
    later calls with the same fraction, seed and examples read them back.

    Returns:
        As `pseudo_labelled_source`.
    """
    key = np.array([fraction, seed, data.num_examples], np.float64)
    stored = _read_cache(path)
    if stored is not None and np.array_equal(stored["key"], key):
        result = PseudoLabels(
            stored["labels"],
            stored["labelled"],
            float(stored["accuracy"]),
            float(stored["rotation_accuracy"]),
        )
        return _with_labels(data, result.labels), result
    labelled_data, result = pseudo_labelled_source(data, fraction, seed, **options)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = path + ".partial.npz"
    np.savez(partial, key=key, **dataclasses.asdict(result))
    os.replace(partial, path)
    return labelled_data, result
