"""Discriminator penalties: pure functions with one signature, chosen from a registry.

Every penalty has the signature ``fn(discriminator, real, fake,
seed_generator) -> scalar``; the trainer adds ``train.penalty_weight`` times
it to D's loss inside D's gradient tape, so gradient penalties are
differentiated through D's input gradient (a nested tape). Randomness comes
from the model's `keras.random.SeedGenerator` only, so a seeded run repeats.

D's score of a sample is the mean of its logits (one per sample, or one per
patch), as the losses average them. The gradient penalties differentiate
the batch's summed scores and read each sample's gradient from it, which
assumes D treats samples independently: a D normalization with batch
statistics (batch norm) would mix them, so `keras_attngan.training.validation.validate_config`
refuses one together with the `PER_EXAMPLE_PENALTIES`.

The registry is a plain dict (`PENALTIES`); `get_penalty` turns a name into
a function and rejects unknown names with the list of valid ones.
"""

from typing import Callable

import keras
import tensorflow as tf
from keras import ops

from keras_attngan.core.registry import lookup

# Inside the square root of a gradient norm: sqrt has an infinite derivative
# at 0, which a D that ignores its input reaches.
_EPS = 1e-12


def _input_gradients(discriminator, images):
    """Each sample's gradient of D's score (its mean logit) with respect to it."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = ops.cast(
            discriminator(images, training=True, return_attention=False)["logits"], "float32"
        )
        score = ops.sum(ops.mean(logits, axis=tuple(range(1, len(logits.shape)))))
    # A D that ignores its input has zero gradient, not none.
    return tape.gradient(score, images, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def _gradient_norms(discriminator, images):
    gradients = _input_gradients(discriminator, images)
    return ops.sqrt(ops.sum(ops.square(gradients), axis=tuple(range(1, len(images.shape)))) + _EPS)


def _per_sample_uniform(images, seed_generator):
    """U[0, 1) per sample, shaped to broadcast over the image axes."""
    shape = (ops.shape(images)[0],) + (1,) * (len(images.shape) - 1)
    return keras.random.uniform(shape, seed=seed_generator)


def none(discriminator, real, fake, seed_generator):
    """No penalty (zero)."""
    return ops.zeros((), "float32")


def wgan_gp(discriminator, real, fake, seed_generator):
    """The WGAN gradient penalty (Gulrajani et al., 2017, algorithm 1).

    ``mean((||grad_x D(x)|| - 1)^2)`` at ``x = real + alpha (fake - real)``
    with ``alpha ~ U[0, 1]`` per sample: a soft 1-Lipschitz constraint on
    the lines between real and generated samples. A D that ignores its
    input scores 1.

    Args:
        discriminator: D, returning a dict with ``logits``.
        real: a batch of real images.
        fake: as many generated images.
        seed_generator: the model's `keras.random.SeedGenerator` (draws alpha).

    Returns:
        The scalar penalty.
    """
    alpha = _per_sample_uniform(real, seed_generator)
    points = real + alpha * (fake - real)
    return ops.mean(ops.square(_gradient_norms(discriminator, points) - 1.0))


def dragan(discriminator, real, fake, seed_generator):
    """The DRAGAN penalty (Kodali et al., 2017, "On convergence and stability of GANs").

    ``mean((||grad_x D(x)|| - 1)^2)`` at real images perturbed by noise
    ``std(real) * (U[0, 1) - 0.5)`` per pixel, clipped to the images' range
    [-1, 1], as compare_gan does: the gradient is constrained around the
    data, where the paper finds the sharp gradients of mode collapse, not
    between data and fakes.

    Args:
        discriminator: D, returning a dict with ``logits``.
        real: a batch of real images in [-1, 1].
        fake: unused (one signature for every penalty).
        seed_generator: the model's `keras.random.SeedGenerator` (draws the noise).

    Returns:
        The scalar penalty.
    """
    noise = keras.random.uniform(ops.shape(real), seed=seed_generator) - 0.5
    points = ops.clip(real + ops.std(real) * noise, -1.0, 1.0)
    return ops.mean(ops.square(_gradient_norms(discriminator, points) - 1.0))


def r1(discriminator, real, fake, seed_generator):
    """The R1 penalty (Mescheder et al., 2018, equation 9), without gamma.

    ``mean(||grad_x D(x)||^2) / 2`` on real images: D is pushed to be flat on
    the data, which makes simultaneous gradient descent converge locally.
    With ``train.penalty_weight = gamma`` D's loss gets the paper's ``gamma
    / 2 * E ||grad D||^2``.

    Args:
        discriminator: D, returning a dict with ``logits``.
        real: a batch of real images.
        fake: unused (one signature for every penalty).
        seed_generator: unused.

    Returns:
        The scalar penalty.
    """
    gradients = _input_gradients(discriminator, real)
    return 0.5 * ops.mean(ops.sum(ops.square(gradients), axis=tuple(range(1, len(real.shape)))))


def l2(discriminator, real, fake, seed_generator):
    """L2 on D's kernels: weight decay.

    ``sum(||K||^2) / 2`` over D's kernels (biases are not penalized), the
    L2 regularization of Kurach et al., 2019 ("A large-scale study on
    regularization and normalization in GANs"); compare_gan averages the
    kernels' terms where this sums them.

    Args:
        discriminator: D.
        real: unused (one signature for every penalty).
        fake: unused.
        seed_generator: unused.

    Returns:
        The scalar penalty.
    """
    kernels = [v for v in discriminator.trainable_variables if v.name == "kernel"]
    return 0.5 * ops.sum(ops.stack([ops.sum(ops.square(ops.cast(k, "float32"))) for k in kernels]))


PENALTIES: dict[str, Callable[..., object]] = {
    "none": none,
    "wgan_gp": wgan_gp,
    "dragan": dragan,
    "r1": r1,
    "l2": l2,
}


# The gradient penalties, which need D to treat the samples of a batch independently.
PER_EXAMPLE_PENALTIES = ("wgan_gp", "dragan", "r1")


def get_penalty(name):
    """Returns the penalty function registered under `name`.

    Args:
        name: a key of `PENALTIES`.

    Raises:
        ValueError: if `name` is not registered.
    """
    return lookup(PENALTIES, name, "penalty")
