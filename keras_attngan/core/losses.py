"""Adversarial losses: pure functions with one signature, chosen from a registry.

Every loss has the signature ``fn(d_real_logits, d_fake_logits) -> LossResult``
and returns both players' losses from both players' logits, so that the
discriminator step and the generator step call it alike and relativistic
losses, whose generator term reads the real logits, need no special case.
Logits may be per-sample ``[B, 1]`` or patch-shaped ``[B, h, w, 1]``; losses
average over every axis, so a patch discriminator needs no special case
either.

A D pass on the real batch costs as much as one on the fakes, so the
generator step only makes it for losses whose ``g_loss`` reads the real
logits; `needs_real_logits_for_g` tells which (the ``needs_real_logits_for_g``
attribute of the function, False when absent).

The registry is a plain dict (`LOSSES`); `get_loss` turns a name into a
function and rejects unknown names with the list of valid ones.
"""

from typing import Callable, NamedTuple

from keras import ops

from keras_attngan.core.registry import lookup


class LossResult(NamedTuple):
    """The two players' losses.

    Attributes:
        d_loss: scalar discriminator loss.
        g_loss: scalar generator loss.
    """

    d_loss: object
    g_loss: object


def _cross_entropy(positive_logits, negative_logits):
    """``-mean(log sigmoid(positive)) - mean(log(1 - sigmoid(negative)))``."""
    return ops.mean(ops.softplus(-positive_logits)) + ops.mean(ops.softplus(negative_logits))


def non_saturating(d_real_logits, d_fake_logits):
    """The non-saturating GAN loss (Goodfellow et al., 2014, section 3).

    D minimizes ``-log sigmoid(real) - log(1 - sigmoid(fake))``; G minimizes
    ``-log sigmoid(fake)`` instead of ``log(1 - sigmoid(fake))``, whose
    gradient vanishes exactly when G is worst. ``softplus(-x) = -log
    sigmoid(x)`` keeps both terms finite for large logits.

    Args:
        d_real_logits: D's logits on real data.
        d_fake_logits: D's logits on generated data.

    Returns:
        LossResult.
    """
    return LossResult(
        _cross_entropy(d_real_logits, d_fake_logits), ops.mean(ops.softplus(-d_fake_logits))
    )


def minimax(d_real_logits, d_fake_logits):
    """The original minimax GAN loss (Goodfellow et al., 2014, equation 1).

    D's loss is the non-saturating one's; G minimizes ``log(1 -
    sigmoid(fake)) = -softplus(fake)``, the negative of D's term on the
    fakes, so the game is zero-sum (and G's gradient vanishes when D rejects
    its samples confidently, which the non-saturating form avoids).

    Args:
        d_real_logits: D's logits on real data.
        d_fake_logits: D's logits on generated data.

    Returns:
        LossResult.
    """
    return LossResult(
        _cross_entropy(d_real_logits, d_fake_logits), -ops.mean(ops.softplus(d_fake_logits))
    )


def wasserstein(d_real_logits, d_fake_logits):
    """The Wasserstein GAN loss (Arjovsky et al., 2017, equation 3).

    D (the critic) minimizes ``mean(fake) - mean(real)``, an estimate of
    minus the Wasserstein-1 distance when D is 1-Lipschitz, which this loss
    does not enforce: pair it with a penalty (``wgan_gp``, Gulrajani et al.,
    2017) or a normalization. G minimizes ``-mean(fake)``.

    Args:
        d_real_logits: D's scores on real data.
        d_fake_logits: D's scores on generated data.

    Returns:
        LossResult.
    """
    return LossResult(
        ops.mean(d_fake_logits) - ops.mean(d_real_logits), -ops.mean(d_fake_logits)
    )


def hinge(d_real_logits, d_fake_logits):
    """The hinge loss (Lim and Ye, 2017; Miyato et al., 2018, equation 17).

    D minimizes ``mean(relu(1 - real)) + mean(relu(1 + fake))``: samples
    beyond the margin stop pulling; G minimizes ``-mean(fake)``.

    Args:
        d_real_logits: D's logits on real data.
        d_fake_logits: D's logits on generated data.

    Returns:
        LossResult.
    """
    d_loss = ops.mean(ops.relu(1.0 - d_real_logits)) + ops.mean(ops.relu(1.0 + d_fake_logits))
    return LossResult(d_loss, -ops.mean(d_fake_logits))


def least_squares(d_real_logits, d_fake_logits):
    """The least-squares GAN loss (Mao et al., 2017, equation 2, a=0, b=c=1).

    D minimizes ``(mean((real - 1)^2) + mean(fake^2)) / 2``, G minimizes
    ``mean((fake - 1)^2) / 2``, on D's raw outputs as in the paper
    (compare_gan applies it to ``sigmoid`` of them instead).

    Args:
        d_real_logits: D's outputs on real data.
        d_fake_logits: D's outputs on generated data.

    Returns:
        LossResult.
    """
    d_loss = 0.5 * (ops.mean(ops.square(d_real_logits - 1.0)) + ops.mean(ops.square(d_fake_logits)))
    return LossResult(d_loss, 0.5 * ops.mean(ops.square(d_fake_logits - 1.0)))


def relativistic_average(d_real_logits, d_fake_logits):
    """The relativistic average standard GAN loss, RaSGAN (Jolicoeur-Martineau, 2018, section 4.3).

    D estimates how much more realistic a real sample is than the average
    fake, and the other way round: with ``r~ = real - mean(fake)`` and
    ``f~ = fake - mean(real)``, D minimizes ``mean(softplus(-r~)) +
    mean(softplus(f~))``, and G the same with the roles swapped,
    ``mean(softplus(-f~)) + mean(softplus(r~))``. G's loss reads the real
    logits (its gradient flows only through the fakes). Means run over all
    axes, so on patch logits every patch is compared with the average patch
    of the other batch. Under a distribution strategy the averages are each
    replica's.

    Args:
        d_real_logits: D's logits on real data.
        d_fake_logits: D's logits on generated data.

    Returns:
        LossResult.
    """
    real_vs_fake = d_real_logits - ops.mean(d_fake_logits)
    fake_vs_real = d_fake_logits - ops.mean(d_real_logits)
    return LossResult(
        _cross_entropy(real_vs_fake, fake_vs_real), _cross_entropy(fake_vs_real, real_vs_fake)
    )


relativistic_average.needs_real_logits_for_g = True


LOSSES: dict[str, Callable[..., LossResult]] = {
    "non_saturating": non_saturating,
    "minimax": minimax,
    "wasserstein": wasserstein,
    "hinge": hinge,
    "least_squares": least_squares,
    "relativistic_average": relativistic_average,
}


def needs_real_logits_for_g(loss_fn):
    """Whether `loss_fn`'s generator loss reads D's logits on the real batch.

    Others get a stand-in for them in the generator step, where their
    ``g_loss`` does not depend on it, and skip that D pass.
    """
    return getattr(loss_fn, "needs_real_logits_for_g", False)


def get_loss(name):
    """Returns the loss function registered under `name`.

    Args:
        name: a key of `LOSSES`.

    Raises:
        ValueError: if `name` is not registered.
    """
    return lookup(LOSSES, name, "loss")
