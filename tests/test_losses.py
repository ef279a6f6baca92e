import math

import numpy as np
import pytest

from keras_attngan.core import losses

LOG2 = math.log(2.0)


def _column(*values):
    return np.array(values, np.float32).reshape(-1, 1)


def _softplus(x):
    return math.log1p(math.exp(x))


def test_non_saturating_known_values():
    zero = np.zeros((4, 1), np.float32)
    result = losses.non_saturating(zero, zero)
    np.testing.assert_allclose(result.d_loss, 2 * LOG2, rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, LOG2, rtol=1e-6)


def test_non_saturating_confident_discriminator():
    real = np.full((2, 1), 20.0, np.float32)
    fake = np.full((2, 1), -20.0, np.float32)
    result = losses.non_saturating(real, fake)
    assert float(result.d_loss) < 1e-6
    # G's loss stays large (and finite) when D wins: the non-saturating form.
    np.testing.assert_allclose(result.g_loss, 20.0, rtol=1e-6)


def test_minimax_known_values():
    zero = np.zeros((4, 1), np.float32)
    result = losses.minimax(zero, zero)
    np.testing.assert_allclose(result.d_loss, 2 * LOG2, rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, -LOG2, rtol=1e-6)
    # The saturating form: G's loss flattens out (towards 0) when D rejects its samples.
    confident = losses.minimax(_column(20.0), _column(-20.0))
    assert -1e-6 < float(confident.g_loss) < 0


def test_wasserstein_known_values():
    result = losses.wasserstein(_column(2.0, 0.0), _column(1.0, 3.0))
    np.testing.assert_allclose(result.d_loss, 2.0 - 1.0, rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, -2.0, rtol=1e-6)


def test_hinge_known_values():
    # real: relu(1 - 2) = 0, relu(1 - 0) = 1; fake: relu(1 - 3) = 0, relu(1 + 1) = 2.
    result = losses.hinge(_column(2.0, 0.0), _column(-3.0, 1.0))
    np.testing.assert_allclose(result.d_loss, 0.5 + 1.0, rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, 1.0, rtol=1e-6)


def test_least_squares_known_values():
    # (real - 1)^2 = 1, 1; fake^2 = 1, 1; (fake - 1)^2 = 4, 0.
    result = losses.least_squares(_column(2.0, 0.0), _column(-1.0, 1.0))
    np.testing.assert_allclose(result.d_loss, 0.5 * (1.0 + 1.0), rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, 0.5 * 2.0, rtol=1e-6)


def test_relativistic_average_known_values():
    # mean(real) = 2, mean(fake) = 1: real - mean(fake) = [0, 2], fake - mean(real) = [-2, 0].
    result = losses.relativistic_average(_column(1.0, 3.0), _column(0.0, 2.0))
    np.testing.assert_allclose(result.d_loss, LOG2 + _softplus(-2.0), rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, LOG2 + _softplus(2.0), rtol=1e-6)


def test_relativistic_average_on_patches_compares_with_the_batch_average_patch():
    # Two samples of 2x1 patches; the same means as above over all axes.
    real = np.array([1.0, 3.0, 3.0, 1.0], np.float32).reshape(2, 2, 1, 1)
    fake = np.array([0.0, 2.0, 2.0, 0.0], np.float32).reshape(2, 2, 1, 1)
    result = losses.relativistic_average(real, fake)
    np.testing.assert_allclose(result.d_loss, LOG2 + _softplus(-2.0), rtol=1e-6)
    np.testing.assert_allclose(result.g_loss, LOG2 + _softplus(2.0), rtol=1e-6)


def test_non_saturating_on_patches():
    real = np.array([1.0, -2.0, 0.5, 3.0], np.float32).reshape(1, 2, 2, 1)
    fake = np.array([0.0, 1.0, -1.0, 2.0], np.float32).reshape(1, 2, 2, 1)
    softplus = np.vectorize(_softplus)
    result = losses.non_saturating(real, fake)
    np.testing.assert_allclose(
        result.d_loss, softplus(-real).mean() + softplus(fake).mean(), rtol=1e-6
    )
    np.testing.assert_allclose(result.g_loss, softplus(-fake).mean(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_patch_logits_average_over_all_axes(name):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(2, 2, 3, 3, 1)).astype(np.float32)
    patches = losses.LOSSES[name](real, fake)
    flat = losses.LOSSES[name](real.reshape(-1, 1), fake.reshape(-1, 1))
    np.testing.assert_allclose(patches, flat, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_the_flag_says_whether_g_loss_reads_the_real_logits(name):
    """The generator step gives a stand-in for the real logits to losses without the flag."""
    fn = losses.LOSSES[name]
    fake = _column(0.5, -1.0)
    g_losses = [float(fn(_column(*real), fake).g_loss) for real in ((0.0, 0.0), (3.0, -2.0))]
    assert (g_losses[0] != g_losses[1]) is losses.needs_real_logits_for_g(fn)


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(
        ValueError, match="'non_saturating', 'minimax', 'wasserstein', 'hinge', 'least_squares', "
        "'relativistic_average'.*Received: loss='hinge2'"
    ):
        losses.get_loss("hinge2")
    assert losses.get_loss("non_saturating") is losses.non_saturating
