"""The networks: G(z, s) and D with an attention mask (the MI estimators: `core.mutual_information`)."""

from keras_attngan.core.mask_sources import MASK_SOURCES
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.layers import MaskModulation

__all__ = ["MASK_SOURCES", "Discriminator", "MaskModulation", "build_generator"]
