"""The super-resolution generator G of seed 001 (claim 15): low-res image -> high-res image."""

import math

import keras
from keras import layers

from keras_attngan.networks.layers import DynamicUpsampling

SCALES = (2, 4)


def build_upscaler(scale, channels, width=32, blocks=2, name="generator"):
    """Builds G, a fully convolutional model called as ``G({"lowres": x})``.

    A 3x3 convolution, `blocks` residual blocks at the low resolution, then
    one (nearest-neighbour upsampling 2x, 3x3 convolution, ReLU) stage per
    factor of 2, and a 3x3 convolution to `channels` (zero at the start).
    The output is added to the input's bilinear upsampling, without a final
    activation (as EDSR, Lim et al., 2017): G learns the detail
    interpolation misses, and an untrained G already gives the interpolated
    image, which keeps the first adversarial steps sane. Outputs may leave
    [-1, 1] slightly; the serving signatures clip their uint8 images. Every layer is
    convolutional and the upsamplings are by factors, so any input size
    works at inference (serving in tiles, `keras_attngan.upscale`).

    Args:
        scale: the factor, 2 or 4 (``data.scale``).
        channels: image channels (1 or 3).
        width: channels of the hidden convolutions.
        blocks: residual blocks at the low resolution.
        name: model name.

    Returns:
        A `keras.Model` from ``{"lowres": [B, h, w, C]}`` in [-1, 1] to
        ``[B, h * scale, w * scale, C]`` (about [-1, 1]).
    """
    if scale not in SCALES:
        raise ValueError(f"`data.scale` should be one of {list(SCALES)}. Received: data.scale={scale!r}")
    lowres = keras.Input((None, None, channels), name="lowres")
    x = layers.Conv2D(width, 3, padding="same", name="head")(lowres)
    for block in range(blocks):
        y = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"res_{block}_a")(x)
        y = layers.Conv2D(width, 3, padding="same", name=f"res_{block}_b")(y)
        x = layers.Add(name=f"res_{block}")([x, y])
    for stage in range(int(math.log2(scale))):
        x = DynamicUpsampling(2, "nearest", name=f"up_{stage}")(x)
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"up_{stage}_conv")(x)
    detail = layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="detail")(x)
    interpolated = DynamicUpsampling(scale, name="interpolate")(lowres)
    images = layers.Add(name="images")([interpolated, detail])
    return keras.Model({"lowres": lowres}, images, name=name)


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
