"""keras-attngan: attention-guided GANs in Keras 3 (seed 000 and its companions)."""

from keras_attngan.gan import AttnGAN, synthesize
from keras_attngan.information import MI_ESTIMATORS, build_mi_estimator
from keras_attngan.latent import LatentSpec
from keras_attngan.losses import LOSSES, get_loss
from keras_attngan.networks.discriminator import MASK_SOURCES, Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.layers import MaskModulation

__version__ = "0.1.0"

__all__ = [
    "AttnGAN",
    "Discriminator",
    "LOSSES",
    "LatentSpec",
    "MASK_SOURCES",
    "MaskModulation",
    "build_generator",
    "build_mi_estimator",
    "get_loss",
    "MI_ESTIMATORS",
    "synthesize",
]
