import math

import numpy as np
import pytest

from keras_attngan import losses


def test_non_saturating_known_values():
    zero = np.zeros((4, 1), np.float32)
    result = losses.non_saturating(zero, zero)
    np.testing.assert_allclose(result.d_loss, 2 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, math.log(2), rtol=1e-6)


def test_non_saturating_confident_discriminator():
    real = np.full((2, 1), 20.0, np.float32)
    fake = np.full((2, 1), -20.0, np.float32)
    result = losses.non_saturating(real, fake)
    assert float(result.d_loss) < 1e-6
    # G's loss stays large (and finite) when D wins: the non-saturating form.
    np.testing.assert_allclose(result.g_loss, 20.0, rtol=1e-6)


def test_patch_logits_average_over_all_axes():
    real = np.array([1.0, -2.0, 0.5, 3.0], np.float32).reshape(1, 2, 2, 1)
    fake = np.array([0.0, 1.0, -1.0, 2.0], np.float32).reshape(1, 2, 2, 1)
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    result = losses.non_saturating(real, fake)
    np.testing.assert_allclose(
        result.d_loss, softplus(-real).mean() + softplus(fake).mean(), rtol=1e-6
    )
    np.testing.assert_allclose(result.g_loss, softplus(-fake).mean(), rtol=1e-6)


def test_generator_only_call():
    assert losses.non_saturating(None, np.zeros((2, 1), np.float32)).d_loss is None


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ValueError, match="non_saturating.*Received: loss='hinge2'"):
        losses.get_loss("hinge2")
    assert losses.get_loss("non_saturating") is losses.non_saturating
