"""Layers shared by the networks."""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="keras_attngan")
class MaskModulation(keras.layers.Layer):
    """Modulates feature maps with an attention mask (G takes z and the mask).

    The mask ``s`` (``[B, H, W, 1]``, input resolution) is average-pooled to
    the features' resolution and mapped by a 3x3 convolution to a per-pixel,
    per-channel scale and shift, as in SPADE (Park et al., 2019):
    ``h * (1 + gamma(s)) + beta(s)``. The convolution starts at zero, so an
    untrained generator ignores the mask and the mutual-information term, not
    initialization noise, decides how much the mask matters.

    Call arguments:
        inputs: a list ``[features, mask]``; features ``[B, h, w, C]`` with
            ``H / h`` a whole number.
    """

    def build(self, input_shape):
        features_shape, mask_shape = input_shape
        self._pool = int(mask_shape[1]) // int(features_shape[1])
        if self._pool * int(features_shape[1]) != int(mask_shape[1]):
            raise ValueError(
                "`MaskModulation` needs the mask size to be a multiple of the "
                f"feature size. Received: features_shape={features_shape}, "
                f"mask_shape={mask_shape}"
            )
        self.scale_shift = keras.layers.Conv2D(
            2 * int(features_shape[-1]),
            3,
            padding="same",
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
            name="scale_shift",
        )
        self.scale_shift.build(
            (None, features_shape[1], features_shape[2], mask_shape[-1])
        )

    def call(self, inputs):
        features, mask = inputs
        mask = ops.cast(mask, features.dtype)
        if self._pool > 1:
            mask = ops.average_pool(mask, self._pool, strides=self._pool)
        gamma, beta = ops.split(self.scale_shift(mask), 2, axis=-1)
        return features * (1.0 + gamma) + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="keras_attngan")
class DynamicUpsampling(keras.layers.Layer):
    """Upsampling by an integer factor, for inputs of any (dynamic) size.

    Keras' ``UpSampling2D`` needs static height and width in graph mode
    (bilinear), or loses the channel dimension without them (nearest), and
    a fully convolutional network served on any input size has neither
    (the super-resolution export; TFLite then refuses the next
    convolution). The size is read at run time here; ``tf.image.resize``
    (half-pixel centers) converts to TFLite's RESIZE_BILINEAR /
    RESIZE_NEAREST_NEIGHBOR and ONNX's Resize.

    Args:
        factor: integer factor >= 1 (1 passes the input through).
        interpolation: ``bilinear`` or ``nearest``.
    """

    INTERPOLATIONS = ("bilinear", "nearest")

    def __init__(self, factor, interpolation="bilinear", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(factor, int) or factor < 1:
            raise ValueError(f"`factor` should be an integer >= 1. Received: factor={factor!r}")
        if interpolation not in self.INTERPOLATIONS:
            raise ValueError(
                f"`interpolation` should be one of {list(self.INTERPOLATIONS)}. "
                f"Received: interpolation={interpolation!r}"
            )
        self.factor = factor
        self.interpolation = interpolation

    def call(self, inputs):
        if self.factor == 1:
            return inputs
        size = tf.shape(inputs)[1:3] * self.factor
        return tf.cast(tf.image.resize(inputs, size, method=self.interpolation), inputs.dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scaled = [None if side is None else side * self.factor for side in (height, width)]
        return (batch, *scaled, channels)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, interpolation=self.interpolation)
        return config


@keras.saving.register_keras_serializable(package="keras_attngan")
class DepthToSpace(keras.layers.Layer):
    """Sub-pixel shuffle (Shi et al., 2016): ``[B, h, w, C * f**2]`` -> ``[B, h * f, w * f, C]``."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scaled = [None if side is None else side * self.factor for side in (height, width)]
        return (batch, *scaled, channels // self.factor**2)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


def convolution(normalization, filters, kernel_size, name, strides=1, use_bias=True, transpose=False):
    """A (transposed) "same" convolution, wrapped by `normalization` (spectral normalization)."""
    conv = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    return normalization.wrap(
        conv(filters, kernel_size, strides=strides, padding="same", use_bias=use_bias, name=name)
    )


def upsample_nearest(x):
    """Nearest-neighbour 2x upsampling: depth-to-space of four copies of the channels.

    Not `layers.UpSampling2D`, a repeat: the gradient of its Tile reads the
    repeat counts as values, which XLA cannot compile inside a `tf.cond`
    (the verdict term's CutMix pass), and its output loses the channel
    dimension in the serving graph, where LiteRT then refuses the next
    convolution. A concatenation and a depth-to-space are builtins of LiteRT
    and ONNX, and differentiable under XLA.
    """
    return tf.nn.depth_to_space(ops.concatenate([x] * 4, axis=-1), 2)


@keras.saving.register_keras_serializable(package="keras_attngan")
class NearestUpsampling(keras.layers.Layer):
    """`upsample_nearest` as a layer, for functional models."""

    def call(self, inputs):
        return upsample_nearest(inputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, *[None if side is None else 2 * side for side in (height, width)], channels)
