"""The super-resolution generator G: low-res image -> high-res image.

G = bicubic(lowres) + residual(lowres). The residual branch is an EDSR
baseline body (Lim et al., 2017, "Enhanced deep residual networks for single
image super-resolution"): residual blocks without batch normalization at the
low resolution, then sub-pixel convolution (Shi et al., 2016, "Real-time
single image and video super-resolution using an efficient sub-pixel
convolutional neural network"). Its last convolution starts at zero, so an
untrained G is exactly bicubic interpolation and training only adds.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_attngan.networks.layers import DepthToSpace

SCALES = (2, 4)
# Keys' cubic convolution coefficient of `tf.image.resize(method="bicubic")`
# with half-pixel centers (TensorFlow's ResizeBicubic).
_CUBIC_A = -0.5
# Taps of the bicubic kernel on each side of a low-res pixel (any phase of
# an integer factor lies within 2 pixels).
_REACH = 2


def _cubic(distance):
    """Keys (1981) cubic convolution weight at `distance` (array)."""
    x = np.abs(distance)
    a = _CUBIC_A
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def bicubic_phase_weights(factor):
    """``[factor, 2 * _REACH + 1]``: the 1-D weights of each output phase on its 5 neighbours.

    Output pixel ``i * factor + k`` samples the input at ``i + (k + 0.5) /
    factor - 0.5`` (half-pixel centers), i.e. a fixed 4-tap filter per phase
    `k` on the input pixels ``i - 2 .. i + 2``.
    """
    weights = np.zeros((factor, 2 * _REACH + 1))
    for phase in range(factor):
        position = (phase + 0.5) / factor - 0.5
        for tap in range(-_REACH, _REACH + 1):
            weights[phase, tap + _REACH] = _cubic(position - tap)
    return weights


@keras.saving.register_keras_serializable(package="keras_attngan")
class BicubicUpsampling(keras.layers.Layer):
    """Bicubic upsampling by an integer factor, equal to ``tf.image.resize(method="bicubic")``.

    Written as one fixed 5x5 convolution to ``factor**2`` phases per
    channel and depth-to-space, so that it converts to TFLite (which has no
    bicubic resize) and ONNX, and runs on inputs of any size. At the borders
    TensorFlow's kernel drops the taps outside the image and renormalizes the
    rest; so does this layer, dividing the zero-padded convolution of the
    image by that of ones. The result equals ``tf.image.resize`` to float
    rounding, borders included.

    Args:
        factor: integer factor >= 2.
        channels: the input's channels.
    """

    def __init__(self, factor, channels, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(factor, int) or factor < 2:
            raise ValueError(f"`factor` should be an integer >= 2. Received: factor={factor!r}")
        self.factor = factor
        self.channels = int(channels)
        phases = bicubic_phase_weights(factor)
        taps = 2 * _REACH + 1
        kernel = np.zeros((taps, taps, self.channels, factor * factor * self.channels), np.float32)
        for row in range(factor):
            for column in range(factor):
                # Depth-to-space reads channel (row * factor + column) * C + c.
                first = (row * factor + column) * self.channels
                for channel in range(self.channels):
                    kernel[:, :, channel, first + channel] = np.outer(phases[row], phases[column])
        self._kernel = kernel

    def call(self, inputs):
        x = tf.cast(inputs, "float32")
        kernel = tf.constant(self._kernel)
        padding = [[0, 0], [_REACH, _REACH], [_REACH, _REACH], [0, 0]]
        # Zeros outside the image drop the taps there; the convolution of
        # ones is the sum of the taps kept, which renormalizes them.
        total = tf.nn.conv2d(tf.pad(x, padding), kernel, strides=1, padding="VALID")
        kept = tf.nn.conv2d(tf.pad(tf.ones_like(x), padding), kernel, strides=1, padding="VALID")
        return tf.cast(tf.nn.depth_to_space(total / kept, self.factor), inputs.dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scaled = [None if side is None else side * self.factor for side in (height, width)]
        return (batch, *scaled, channels)

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, channels=self.channels)
        return config


def build_upscaler(scale, channels, width=32, blocks=4, name="generator"):
    """Builds G, a fully convolutional model called as ``G({"lowres": x})``.

    ``G(x) = bicubic(x) + residual(x)``. The residual branch: a 3x3
    convolution, `blocks` residual blocks (conv, ReLU, conv, without batch
    normalization) and a long skip connection, as in
    the EDSR baseline (Lim et al., 2017), then one sub-pixel convolution: a
    3x3 convolution to ``channels * scale**2`` that starts at zero, and
    depth-to-space (ESPCN, Shi et al., 2016). So an untrained G
    returns the bicubic image exactly, the reference every super-resolution
    paper reports, and training adds only the detail bicubic misses (VDSR,
    Kim et al., 2016, learns the residual to an interpolation likewise).
    Sub-pixel convolution instead of transposed convolution avoids the
    checkerboard artifacts of the latter (Odena et al., 2016). Outputs may
    leave [-1, 1] slightly; the serving signatures clip their uint8 images.
    Every layer is convolutional, so any input size works at inference
    (serving in tiles, `keras_attngan.apps.tiling`, with a margin of at least
    `receptive_radius` low-res pixels).

    Args:
        scale: the factor, 2 or 4 (``data.scale``).
        channels: image channels (1 or 3).
        width: channels of the hidden convolutions (``model.g_width``).
        blocks: residual blocks at the low resolution (``model.sr_blocks``).
        name: model name.

    Returns:
        A `keras.Model` from ``{"lowres": [B, h, w, C]}`` in [-1, 1] to
        ``[B, h * scale, w * scale, C]`` (about [-1, 1]).
    """
    if scale not in SCALES:
        raise ValueError(f"`data.scale` should be one of {list(SCALES)}. Received: data.scale={scale!r}")
    if not isinstance(blocks, int) or blocks < 0:
        raise ValueError(f"`model.sr_blocks` should be an integer >= 0. Received: model.sr_blocks={blocks!r}")
    lowres = keras.Input((None, None, channels), name="lowres")
    head = layers.Conv2D(width, 3, padding="same", name="head")(lowres)
    x = head
    for block in range(blocks):
        y = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"res_{block}_a")(x)
        y = layers.Conv2D(width, 3, padding="same", name=f"res_{block}_b")(y)
        x = layers.Add(name=f"res_{block}")([x, y])
    x = layers.Conv2D(width, 3, padding="same", name="body_end")(x)
    x = layers.Add(name="body")([head, x])
    # One sub-pixel convolution straight to the output (ESPCN): every
    # convolution runs at the low resolution, the cost of a 2048x2048 output
    # is that of its 512x512 input.
    x = layers.Conv2D(channels * scale * scale, 3, padding="same", kernel_initializer="zeros", name="detail")(x)
    detail = DepthToSpace(scale, name="detail_shuffle")(x)
    interpolated = BicubicUpsampling(scale, channels, name="interpolate")(lowres)
    images = layers.Add(name="images")([interpolated, detail])
    return keras.Model({"lowres": lowres}, images, name=name)


def receptive_radius(blocks):
    """How many low-res pixels on each side an output pixel of `build_upscaler` reads."""
    # head, two per block, body_end, detail: all 3x3 at the low resolution.
    return max(_REACH, 2 * blocks + 3)


def upscale_factor(generator, channels):
    """How many times larger G's output is than its ``lowres`` input; None for a G(z).

    Read from one G pass on a 4x4 probe: G is fully convolutional, so the
    factor is all its shapes say.
    """
    # A subclassed G (no functional inputs) is a G(z).
    if "lowres" not in [tensor.name for tensor in getattr(generator, "inputs", None) or []]:
        return None
    probe = 4
    return int(generator({"lowres": keras.ops.zeros((1, probe, probe, channels))}).shape[1]) // probe
