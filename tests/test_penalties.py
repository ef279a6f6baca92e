import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_attngan.core import penalties
from keras_attngan.networks.discriminator import Discriminator


class LinearD(keras.Model):
    """D(x) = sum(w * x) + b: every input gradient is w."""

    def __init__(self, w, patches=False):
        super().__init__()
        self.w = self.add_weight(
            shape=w.shape, initializer=keras.initializers.Constant(w), name="kernel"
        )
        self.b = self.add_weight(shape=(), initializer="zeros", name="bias")
        self.patches = patches

    def call(self, images, training=None, return_attention=True):
        logits = ops.sum(images * self.w, axis=(1, 2, 3)) + self.b
        if self.patches:  # 2x2 equal patches: their mean is the same score
            return {"logits": ops.tile(logits[:, None, None, None], (1, 2, 2, 1))}
        return {"logits": logits[:, None]}


class ConstantD(LinearD):
    """A D that ignores its input."""

    def call(self, images, training=None, return_attention=True):
        return {"logits": ops.zeros((ops.shape(images)[0], 1)) + self.b}


def _images(seed, count=3, size=2):
    return tf.random.stateless_uniform((count, size, size, 1), (seed, 0), -1, 1)


def _penalty(name, discriminator, seed=0):
    return float(
        penalties.PENALTIES[name](
            discriminator, _images(1), _images(2), keras.random.SeedGenerator(seed)
        )
    )


@pytest.mark.parametrize("patches", [False, True])
def test_known_values_on_a_linear_discriminator(patches):
    # w = 1 on a 2x2x1 image: ||grad D|| = ||w|| = 2 everywhere.
    linear = LinearD(np.ones((2, 2, 1), np.float32), patches=patches)
    np.testing.assert_allclose(_penalty("wgan_gp", linear), (2.0 - 1.0) ** 2, rtol=1e-5)
    np.testing.assert_allclose(_penalty("dragan", linear), (2.0 - 1.0) ** 2, rtol=1e-5)
    np.testing.assert_allclose(_penalty("r1", linear), 0.5 * 2.0**2, rtol=1e-6)
    np.testing.assert_allclose(_penalty("l2", linear), 0.5 * 4.0, rtol=1e-6)
    assert _penalty("none", linear) == 0.0


def test_a_discriminator_that_ignores_its_input():
    constant = ConstantD(np.ones((2, 2, 1), np.float32))
    assert _penalty("r1", constant) == 0.0
    # Its gradient norm is 0, one below the target 1.
    np.testing.assert_allclose(_penalty("wgan_gp", constant), 1.0, rtol=1e-5)
    np.testing.assert_allclose(_penalty("dragan", constant), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(set(penalties.PENALTIES) - {"none"}))
def test_positive_and_differentiable_on_a_real_discriminator(name):
    keras.utils.set_random_seed(0)
    discriminator = Discriminator(8, 1, width=4)
    real, fake = _images(1, 2, 8), _images(2, 2, 8)
    with tf.GradientTape() as tape:
        value = penalties.PENALTIES[name](discriminator, real, fake, keras.random.SeedGenerator(0))
    assert float(value) > 0
    gradients = tape.gradient(value, discriminator.trainable_variables)
    norms = [float(tf.norm(g)) for g in gradients if g is not None]
    assert norms and max(norms) > 0


@pytest.mark.parametrize("name", ["wgan_gp", "dragan"])
def test_random_points_come_from_the_seed_generator(name):
    keras.utils.set_random_seed(0)
    discriminator = Discriminator(8, 1, width=4)
    real, fake = _images(1, 2, 8), _images(2, 2, 8)

    def value(seed):
        return float(penalties.PENALTIES[name](discriminator, real, fake, keras.random.SeedGenerator(seed)))

    assert value(3) == value(3) != value(4)


def test_unknown_penalty_lists_the_valid_names():
    with pytest.raises(
        ValueError, match=r"\['none', 'wgan_gp', 'dragan', 'r1', 'l2'\].*Received: penalty='gp'"
    ):
        penalties.get_penalty("gp")
    assert penalties.get_penalty("r1") is penalties.r1
