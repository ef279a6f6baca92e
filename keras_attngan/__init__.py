"""keras-attngan: attention-guided GANs in Keras 3.

The public names are imported on first use (PEP 562), so that importing a
sub-module that needs no TensorFlow, such as the `attngan` command's front
door answering `--help`, does not pay TensorFlow's import time.
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "AttnGAN": "keras_attngan.trainers.attention",
    "GAN": "keras_attngan.trainers.base",
    "SuperResolutionGAN": "keras_attngan.trainers.super_resolution",
    "synthesize": "keras_attngan.trainers.recurrence",
    "LatentSpec": "keras_attngan.core.latent",
    "CategoricalCode": "keras_attngan.core.latent",
    "ContinuousCode": "keras_attngan.core.latent",
    "LOSSES": "keras_attngan.core.losses",
    "get_loss": "keras_attngan.core.losses",
    "PENALTIES": "keras_attngan.core.penalties",
    "get_penalty": "keras_attngan.core.penalties",
    "MASK_SOURCES": "keras_attngan.core.mask_sources",
    "Discriminator": "keras_attngan.networks.discriminator",
    "build_generator": "keras_attngan.networks.generator",
    "MaskModulation": "keras_attngan.networks.layers",
    "MI_ESTIMATORS": "keras_attngan.core.mutual_information",
    "build_mi_estimator": "keras_attngan.core.mutual_information",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
