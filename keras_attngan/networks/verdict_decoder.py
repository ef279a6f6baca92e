"""D's per-cell verdict: a light U-Net decoder on D's trunk (Schonfeld et al., 2020).

U-Net GAN ("A U-Net Based Discriminator for Generative Adversarial
Networks", CVPR 2020) gives D a decoder beside its global head: it climbs
back from D's last feature maps to a real/fake logit per pixel, taking the
trunk's feature maps of each resolution through skip connections. Here the
decoder stops at ``cells`` x ``cells`` (8x8 at 32x32 is one stage): a cell's
logit says whether that part of the image looks real, which is where D's
decision comes from, in the sense of an attention mask
(`keras_attngan.core.mask_sources.Verdict`).
"""

import keras
from keras import layers, ops

from keras_attngan.networks.layers import upsample_nearest


def trunk_taps(trunk, sizes):
    """A model from images to the built trunk's feature maps at each of `sizes`, then its output.

    The map taken at a size is the output of the trunk's last layer of that
    resolution, the deepest features before the next downsampling, whatever
    the architecture (a `keras.Sequential` or a functional trunk).

    Raises:
        ValueError: the trunk has no layer of one of `sizes`.
    """
    taps = {}
    for layer in trunk.layers:
        size = layer.output.shape[1]
        if size in sizes:
            taps[size] = layer.output
    missing = sorted(set(sizes) - set(taps))
    if missing:
        raise ValueError(f"D's trunk has no feature maps of size {missing} for the verdict decoder.")
    return keras.Model(trunk.inputs, [taps[size] for size in sizes] + list(trunk.outputs), name="trunk_taps")


class VerdictDecoder(layers.Layer):
    """From D's last feature maps ``[B, 4, 4, C]`` to logits ``[B, cells, cells, 1]``.

    Each stage projects the coarse maps to the skip's channels with a 1x1
    convolution (at the coarse resolution, where it is cheap), doubles the
    resolution (nearest neighbour), adds the trunk's feature maps of that
    resolution (the U-Net skip, added rather than concatenated), and
    applies LeakyReLU 0.2 and a 3x3 convolution to a quarter of the
    skip's channels, with LeakyReLU again; a 1x1 convolution gives the
    logits, in float32. Light by design: a decoder as wide as the trunk
    (a 3x3 convolution on the concatenation at the skip's width) tripled
    the FLOPs of a train step (`benchmarks/README.md`, *Speed*).

    Args:
        skip_channels: the channels of the trunk's maps at each stage's
            resolution, from coarse to fine (one stage per entry).
        normalization: D's `keras_attngan.networks.normalizations`
            normalization; its ``wrap`` (spectral normalization) applies to
            every convolution, as to D's.
    """

    def __init__(self, skip_channels, normalization, **kwargs):
        super().__init__(**kwargs)
        self.skip_channels = tuple(skip_channels)
        self.projections = [
            normalization.wrap(layers.Conv2D(filters, 1, name=f"verdict_project_{index}"))
            for index, filters in enumerate(self.skip_channels)
        ]
        self.stages = [
            normalization.wrap(layers.Conv2D(max(filters // 4, 1), 3, padding="same", name=f"verdict_{index}"))
            for index, filters in enumerate(self.skip_channels)
        ]
        self.activation = layers.LeakyReLU(0.2, name="verdict_lrelu")
        self.to_logits = normalization.wrap(layers.Conv2D(1, 1, dtype="float32", name="verdict_logits"))

    def build(self, input_shape):
        """`input_shape`: the last feature maps' ``(None, h, w, C)``; the skips' follow from `skip_channels`."""
        channels = input_shape[-1]
        for projection, conv, skip in zip(self.projections, self.stages, self.skip_channels):
            projection.build((None, None, None, channels))
            conv.build((None, None, None, skip))
            channels = max(skip // 4, 1)
        self.to_logits.build((None, None, None, channels))
        self.built = True

    def call(self, feature_maps, skips, training=None):
        """`skips` are the trunk's maps from coarse to fine, one per stage."""
        x = feature_maps
        for projection, conv, skip in zip(self.projections, self.stages, skips):
            x = upsample_nearest(projection(x, training=training)) + ops.cast(skip, x.dtype)
            x = self.activation(conv(self.activation(x), training=training))
        return self.to_logits(x, training=training)
