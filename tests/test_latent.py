"""The latent spec: noise, labels and InfoGAN's codes; their priors and layout."""

import math

import keras
import numpy as np
import pytest

from keras_attngan.core.latent import CategoricalCode, ContinuousCode, LatentSpec
from keras_attngan.training.config import default_config
from keras_attngan.training.validation import validate_config


def _spec(**kwargs):
    return LatentSpec(
        4,
        categorical=[CategoricalCode("shape", 3, prior=[7, 2, 1])],
        continuous=[ContinuousCode("width", "uniform", -1.0, 3.0), ContinuousCode("tilt", "normal")],
        **kwargs,
    )


def test_sampled_codes_follow_their_priors():
    spec = _spec()
    latent = spec.sample(8000, keras.random.SeedGenerator(0))
    assert latent["z"].shape == (8000, 4) and latent["codes"].shape == (8000, spec.code_dim)
    categories, values = spec.decode(latent["codes"])
    frequencies = np.bincount(np.asarray(categories["shape"]), minlength=3) / 8000
    np.testing.assert_allclose(frequencies, [0.7, 0.2, 0.1], atol=0.02)
    width = np.asarray(values["width"])
    assert width.min() >= -1.0 and width.max() <= 3.0
    np.testing.assert_allclose([width.mean(), width.var()], [1.0, 16 / 12], atol=0.06)
    tilt = np.asarray(values["tilt"])
    np.testing.assert_allclose([tilt.mean(), tilt.std()], [0.0, 1.0], atol=0.05)
    # The one-hot part is exactly one-hot.
    np.testing.assert_array_equal(np.asarray(latent["codes"])[:, :3].sum(axis=1), 1.0)


def test_uniform_noise_and_the_numpy_twin():
    spec = _spec(noise_distribution="uniform")
    z = np.asarray(spec.sample(2000, 1)["z"])
    assert z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.05
    z, categories, values = spec.sample_numpy(4000, seed=3)
    assert z.min() >= -1 and z.max() <= 1
    np.testing.assert_allclose(np.bincount(categories["shape"]) / 4000, [0.7, 0.2, 0.1], atol=0.03)
    again = spec.sample_numpy(4000, seed=3)
    np.testing.assert_array_equal(values["tilt"], again[2]["tilt"])


def test_encode_decode_round_trip_and_entropy():
    spec = _spec()
    codes = spec.encode({"shape": np.array([2, 0])}, {"width": np.array([0.5, -1.0]), "tilt": np.array([1.5, 0.0])})
    np.testing.assert_array_equal(codes, [[0, 0, 1, 0.5, 1.5], [1, 0, 0, -1.0, 0.0]])
    categories, values = spec.decode(codes)
    np.testing.assert_array_equal(categories["shape"], [2, 0])
    np.testing.assert_array_equal(values["width"], [0.5, -1.0])
    expected = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    expected += math.log(4.0) + 0.5 * math.log(2 * math.pi * math.e)
    np.testing.assert_allclose(spec.entropy, expected)


def test_get_config_round_trip_keeps_the_old_behaviour():
    plain = LatentSpec(8, 3)
    restored = LatentSpec.from_config(plain.get_config())
    assert (restored.noise_dim, restored.num_classes, restored.code_dim) == (8, 3, 0)
    assert set(plain.sample(2, 0)) == {"z", "label"}
    assert LatentSpec.from_config({"noise_dim": 8, "num_classes": 0}).code_dim == 0  # old configs
    spec = _spec()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(spec))
    assert restored.get_config() == spec.get_config()


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("model.categorical_codes", "digit:1", r"model\.categorical_codes.*K >= 2"),
        ("model.categorical_codes", "digit", r"model\.categorical_codes.*NAME:K"),
        ("model.continuous_codes", "w:cauchy", r"model\.continuous_codes.*\['uniform', 'normal'\]"),
        ("model.continuous_range", [1.0, 1.0], r"model\.continuous_range.*low < high"),
        ("log.traversal_range", [2.0, -2.0], r"log\.traversal_range.*low < high"),
        ("model.noise_distribution", "cauchy", r"model\.noise_distribution.*\['normal', 'uniform'\]"),
    ],
)
def test_bad_codes_are_refused_with_their_dotted_key(key, value, match):
    config = default_config()
    config.model.continuous_codes = "w"
    section, name = key.split(".")
    config[section][name] = value
    with pytest.raises(ValueError, match=match):
        validate_config(config)


def test_unknown_code_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"--code.*\['shape', 'width', 'tilt'\].*Received: --code='size'"):
        _spec().code("size")
