"""S3GAN's pseudo-labels: the labelled subset, pseudo-labelling beats chance, a run trains on them."""

import os

import numpy as np
import pytest
from conftest import tiny_config

from keras_attngan.data import load_source
from keras_attngan.training import semi_supervised
from keras_attngan.training.loop import train
from keras_attngan.training.semi_supervised import (
    labelled_subset,
    pseudo_labelled_source,
)
from keras_attngan.training.validation import validate_config


def test_labelled_subset_takes_the_fraction_of_every_class_and_at_least_one():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 2)
    labelled = labelled_subset(labels, 0.1, seed=3)
    assert [int(labelled[labels == c].sum()) for c in range(3)] == [5, 3, 1]
    np.testing.assert_array_equal(labelled, labelled_subset(labels, 0.1, seed=3))
    with pytest.raises(ValueError, match="fraction"):
        labelled_subset(labels, 1.0)


def test_pseudo_labels_beat_chance_on_symbols_with_ten_percent_of_labels():
    data = load_source("symbols", image_size=16, num_examples=600, seed=0)
    relabelled, result = pseudo_labelled_source(data, 0.1, seed=0, epochs=3, width=8)
    chance = 1 / data.num_classes
    assert result.accuracy > chance + 0.15, result
    examples = next(relabelled.dataset.batch(600).as_numpy_iterator())
    original = next(data.dataset.batch(600).as_numpy_iterator())
    np.testing.assert_array_equal(examples["images"], original["images"])
    np.testing.assert_array_equal(examples["labels"], result.labels)
    np.testing.assert_array_equal(result.labels[result.labelled], original["labels"][result.labelled])
    assert relabelled.num_classes == data.num_classes == 3


@pytest.mark.slow
def test_a_run_with_a_label_fraction_trains_on_its_pseudo_labels(tmp_path):
    train(tiny_config("symbols_s3gan", **{"data.label_fraction": 0.25}), str(tmp_path))
    with np.load(tmp_path / "pseudo_labels.npz") as stored:
        labels, labelled = stored["labels"], stored["labelled"]
    truth = load_source("symbols", image_size=16, num_examples=64, seed=0).dataset.batch(64)
    truth = next(truth.as_numpy_iterator())["labels"]
    np.testing.assert_array_equal(labels[labelled], truth[labelled])
    assert 0.2 < labelled.mean() < 0.4 and set(np.unique(labels)) <= {0, 1, 2}


def test_pseudo_labels_are_computed_once_per_fraction_and_seed(tmp_path, monkeypatch):
    data = load_source("symbols", image_size=16, num_examples=48, seed=0)
    path = str(tmp_path / "pseudo_labels.npz")
    first, result = semi_supervised.cached_pseudo_labels(data, 0.25, 0, path, epochs=1, width=4)
    calls = []
    real = semi_supervised.pseudo_label
    monkeypatch.setattr(semi_supervised, "pseudo_label", lambda *a, **k: calls.append(a) or real(*a, **k))
    again, kept = semi_supervised.cached_pseudo_labels(data, 0.25, 0, path, epochs=1, width=4)
    assert not calls  # read back, not recomputed
    np.testing.assert_array_equal(kept.labels, result.labels)
    labels = lambda d: next(d.dataset.batch(48).as_numpy_iterator())["labels"]  # noqa: E731
    np.testing.assert_array_equal(labels(again), labels(first))
    semi_supervised.cached_pseudo_labels(data, 0.5, 0, path, epochs=1, width=4)
    assert len(calls) == 1  # another fraction: recomputed


def test_a_label_fraction_needs_a_conditional_gan():
    with pytest.raises(ValueError, match=r"data.label_fraction.*model.num_classes=0"):
        validate_config(tiny_config(**{"data.label_fraction": 0.5}))


@pytest.mark.parametrize("damage", ["truncate", "random_bytes"])
def test_a_damaged_pseudo_label_cache_is_moved_aside_and_computed_again(tmp_path, damage):
    from keras_attngan.core.errors import DamagedFileWarning

    data = load_source("symbols", image_size=16, num_examples=48, seed=0)
    path = str(tmp_path / "pseudo_labels.npz")
    _, result = semi_supervised.cached_pseudo_labels(data, 0.25, 0, path, epochs=1, width=4)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if damage == "truncate":
            f.truncate(size // 2)
        else:
            f.write(np.random.default_rng(0).bytes(size))
    with pytest.warns(DamagedFileWarning, match="pseudo_labels.npz is damaged"):
        _, again = semi_supervised.cached_pseudo_labels(data, 0.25, 0, path, epochs=1, width=4)
    np.testing.assert_array_equal(again.labels, result.labels)  # seeded: the same labels again
    assert os.path.exists(tmp_path / "damaged" / "pseudo_labels.npz")
    semi_supervised.cached_pseudo_labels(data, 0.25, 0, path, epochs=1, width=4)  # the new cache reads
