"""S3GAN's pseudo-labels: the labelled subset, and pseudo-labelling beats chance."""

import numpy as np
import pytest

from keras_attngan.data import load_source
from keras_attngan.semi_supervised import labelled_subset, pseudo_labelled_source


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
