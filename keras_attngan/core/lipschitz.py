"""The Lipschitz condition of the encoder term: ||G(z) - y|| <= K ||E(G(z)) - E(y)||.

The condition bounds the output difference by the latent difference. Two
mechanisms serve it, and `LIPSCHITZ` (``train.encoder_lipschitz``) selects
them:

- ``penalty``: a hinge on each violation of the bound,
  ``mean(relu(||G(z) - y|| - K ||E(G(z)) - E(y)||))``, zero when it holds. In
  E's step it keeps E from the trivial minimum of E's objective (a constant E has
  no latent difference and violates the bound for every imperfect G(z)); in
  G's step the latent side is held constant, so G is pushed to bring its
  output difference under the bound, not to widen the latent one.
- ``spectral``: spectral normalization of E's weight layers (Miyato et al.,
  2018), which bounds the other side, ``||E(a) - E(b)|| <= ||a - b||`` per
  layer: E can then not make latent differences arbitrarily large either.

``spectral_penalty`` (the default) uses both, so latent distances are tied to
pixel distances from below and above; ``none`` uses neither (E may collapse,
as E's objective alone allows).
"""

from typing import NamedTuple

from keras import ops

from keras_attngan.core.registry import lookup


class Lipschitz(NamedTuple):
    """One mechanism: spectral normalization on E, and/or the violation penalty."""

    spectral: bool
    penalty: bool


LIPSCHITZ = {
    "spectral_penalty": Lipschitz(spectral=True, penalty=True),
    "penalty": Lipschitz(spectral=False, penalty=True),
    "spectral": Lipschitz(spectral=True, penalty=False),
    "none": Lipschitz(spectral=False, penalty=False),
}


def get_lipschitz(name):
    """The mechanism registered as `name`; ValueError naming ``train.encoder_lipschitz``."""
    return lookup(LIPSCHITZ, name, "train.encoder_lipschitz")


def violation(output_distance, latent_distance, k):
    """``relu(||G(z) - y|| - K ||E(G(z)) - E(y)||)`` per sample: 0 where the bound holds.

    Args:
        output_distance: ``[B]`` distances between outputs and targets.
        latent_distance: ``[B]`` distances between their encodings.
        k: the Lipschitz constant K (> 0).
    """
    return ops.relu(output_distance - k * latent_distance)
