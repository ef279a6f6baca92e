"""The networks: G(z, s), D with an attention mask, Q of the MI bound."""

from keras_attngan.networks.discriminator import MASK_SOURCES, Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.layers import MaskModulation
from keras_attngan.networks.mask_predictor import build_mask_predictor

__all__ = ["MASK_SOURCES", "Discriminator", "MaskModulation", "build_generator", "build_mask_predictor"]
