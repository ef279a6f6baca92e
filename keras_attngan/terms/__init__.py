"""Loss terms with their own networks: the extension point of D's and G's objectives.

A term is a `LossTerm` (see `keras_attngan.terms.base`), registered in
`TERMS` under the name the config uses (``train.terms``, comma-separated).
docs/design.md walks through adding one, with `Rotation` as the example.
"""

from keras_attngan.core.choices import parse_terms
from keras_attngan.terms.base import NOTHING, Contribution, LossTerm
from keras_attngan.terms.encoder import LatentRegularizer
from keras_attngan.terms.infogan import Information
from keras_attngan.terms.rotation import Rotation
from keras_attngan.terms.verdict import Verdict

TERMS = {"rotation": Rotation, "encoder": LatentRegularizer, "info": Information, "verdict": Verdict}

__all__ = [
    "NOTHING",
    "TERMS",
    "Contribution",
    "Information",
    "LatentRegularizer",
    "LossTerm",
    "Rotation",
    "Verdict",
    "build_terms",
    "parse_terms",
]


def build_terms(text, train_config, generator, discriminator, latent=None):
    """The terms `text` names, each built for the networks and the trainer's
    `keras_attngan.LatentSpec` `latent`, with its ``train.*`` options."""
    return [
        TERMS[name].from_networks(
            generator,
            discriminator,
            latent=latent,
            name=name,
            **{arg: train_config[key] for arg, key in TERMS[name].CONFIG_KEYS.items()},
        )
        for name in parse_terms(text)
    ]
