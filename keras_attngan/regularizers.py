"""Regularizers of the generator objective.

`mask_mutual_information` is the mutual-information term of seed 000 (claims
1, 4, 5): a variational lower bound on the mutual information between D's
current attention mask ``s`` and the change ``dx = x_cur - x_prev`` it causes
in G's output.

The bound. Read the mask as per-pixel Bernoulli probabilities: pixel ``i`` is
"attended" (``a_i = 1``) with probability ``s_i``. For any variational
distribution ``Q(a | dx)`` (Barber & Agakov, 2003; the same bound InfoGAN
uses, Chen et al., 2016, eq. 4):

    I(a; dx) >= H(a) + E[log Q(a | dx)]
             =  H_b(E[s]) - E[BCE(s, q)]        (per pixel, in nats)

where ``q = sigmoid(Q(dx))``, ``H_b`` is the binary entropy and BCE the
cross-entropy of Bernoulli(s) relative to Bernoulli(q). Inside the inner loop
``s`` is a stop-gradient input, so ``H(a)`` is a constant for G and Q and
maximizing the bound is minimizing the cross-entropy.

Since ``BCE(s, q) >= H_b(s)``, no Q does better than the ceiling
``H_b(E[s]) - E[H_b(s)]`` (a Jensen gap): the information the masks carry
at all. Soft masks that look alike across samples carry little, and the bound
can then be negative however good Q is, so both are reported: bound =
ceiling - Q's excess cross-entropy.
"""

from typing import NamedTuple

from keras import ops

_EPS = 1e-6


class MutualInformation(NamedTuple):
    """The MI term of one inner-loop iteration.

    Attributes:
        loss: the cross-entropy ``E[BCE(s, q)]`` G and Q minimize (nats/pixel).
        bound: the lower bound ``H_b(E[s]) - loss`` on I(mask; change)
            (nats/pixel, at most log 2).
        ceiling: ``H_b(E[s]) - E[H_b(s)]``, the largest value the bound can
            reach for these masks (nats/pixel).
    """

    loss: object
    bound: object
    ceiling: object


def binary_entropy(p):
    """Entropy of Bernoulli(p) in nats, elementwise, finite at p in {0, 1}."""
    p = ops.clip(p, _EPS, 1.0 - _EPS)
    return -(p * ops.log(p) + (1.0 - p) * ops.log(1.0 - p))


def mask_mutual_information(mask, q_logits):
    """Variational lower bound on I(mask; change) (seed 000, claims 4-5).

    Args:
        mask: D's current attention mask ``s``, ``[B, H, W, 1]`` in [0, 1]
            (treated as a constant).
        q_logits: logits of ``Q(s | x_cur - x_prev)``, same shape.

    Returns:
        MutualInformation with the loss to minimize, the bound and its ceiling.
    """
    mask = ops.cast(mask, "float32")
    q_logits = ops.cast(q_logits, "float32")
    # softplus(l) - s * l is BCE(s, sigmoid(l)) without forming log(sigmoid).
    cross_entropy = ops.mean(ops.softplus(q_logits) - mask * q_logits)
    marginal_entropy = ops.mean(binary_entropy(ops.mean(mask, axis=0)))
    ceiling = marginal_entropy - ops.mean(binary_entropy(mask))
    return MutualInformation(cross_entropy, marginal_entropy - cross_entropy, ceiling)
