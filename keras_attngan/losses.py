"""Adversarial losses: pure functions with one signature, chosen from a registry.

Every loss has the signature ``fn(d_real_logits, d_fake_logits) -> LossResult``.
Logits may be per-sample ``[B, 1]`` or patch-shaped ``[B, h, w, 1]``; losses
average over every axis, so a patch discriminator needs no special case. The
generator's term only depends on ``d_fake_logits``, so the generator step may
pass ``d_real_logits=None``.

The registry is a plain dict (`LOSSES`); `get_loss` turns a name into a
function and rejects unknown names with the list of valid ones.
"""

from typing import Callable, NamedTuple, Optional

from keras import ops


class LossResult(NamedTuple):
    """The two players' losses.

    Attributes:
        d_loss: scalar discriminator loss, or None when no real logits were
            given (generator step).
        g_loss: scalar generator loss.
    """

    d_loss: Optional[object]
    g_loss: object


def non_saturating(d_real_logits, d_fake_logits):
    """The non-saturating GAN loss (Goodfellow et al., 2014, section 3).

    D minimizes ``-log sigmoid(real) - log(1 - sigmoid(fake))``; G minimizes
    ``-log sigmoid(fake)`` instead of ``log(1 - sigmoid(fake))``, whose
    gradient vanishes exactly when G is worst. ``softplus(-x) = -log
    sigmoid(x)`` keeps both terms finite for large logits.

    Args:
        d_real_logits: D's logits on real data, or None.
        d_fake_logits: D's logits on generated data.

    Returns:
        LossResult.
    """
    g_loss = ops.mean(ops.softplus(-d_fake_logits))
    if d_real_logits is None:
        return LossResult(None, g_loss)
    d_loss = ops.mean(ops.softplus(-d_real_logits)) + ops.mean(
        ops.softplus(d_fake_logits)
    )
    return LossResult(d_loss, g_loss)


LOSSES: dict[str, Callable[..., LossResult]] = {
    "non_saturating": non_saturating,
}


def get_loss(name):
    """Returns the loss function registered under `name`.

    Args:
        name: a key of `LOSSES`.

    Raises:
        ValueError: if `name` is not registered.
    """
    if name not in LOSSES:
        raise ValueError(
            f"`loss` should be one of {sorted(LOSSES)}. Received: loss={name!r}"
        )
    return LOSSES[name]
