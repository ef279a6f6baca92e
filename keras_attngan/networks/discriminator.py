"""The discriminator D: a real/fake classification AND an attention mask."""

from typing import NamedTuple, Optional

import keras
import numpy as np
from keras import layers, ops

from keras_attngan.mask_sources import MASK_NORMALIZATIONS, MASK_SOURCES, get_mask_source
from keras_attngan.networks.generator import num_stages

# MASK_SOURCES is re-exported: D's `attention` names one of its keys.
__all__ = ["MASK_SOURCES", "Discriminator", "Evidence"]


class Evidence(NamedTuple):
    """One forward pass of D: what a mask source explains.

    Attributes:
        logits: ``[B, 1]``.
        features: the (gated) flattened last feature maps ``[B, h * w * C]``.
        feature_maps: the trunk's last feature maps ``[B, h, w, C]``, ungated.
        cell_attention: the gate's cell weights ``[B, h, w, 1]`` with peak 1,
            or None without a gate.
    """

    logits: object
    features: object
    feature_maps: object
    cell_attention: Optional[object]


@keras.saving.register_keras_serializable(package="keras_attngan")
class Discriminator(keras.Model):
    """DCGAN-style D returning ``{"logits", "attention", "features"}``.

    Seed 000, claims 1 and 7: D classifies its input as real or generated and
    outputs an attention mask that identifies the parts of the input that drove
    the classification, as a spatial overlay at input resolution in [0, 1].

    The trunk halves the resolution down to 4x4 with LeakyReLU convolutions (no
    normalization, so real and fake batches can share one call and gradient
    penalties stay per-sample); a dense layer classifies the flattened 4x4
    map, as in DCGAN (Radford et al., 2016), so D sees where things are (a
    globally pooled head lets G fool D with texture, and collapses). The mask
    comes from the source named by `attention`, a key of
    `keras_attngan.mask_sources.MASK_SOURCES` (``learned``, ``gradcam``,
    ``saliency``, ``none``; each class there documents its map).

    A source that ``needs_gate`` (``learned``) gets an attention gate with a
    budget in D's head. A 1x1 convolution scores each cell ``l`` of the last
    feature map; the cells' features are multiplied by ``w = h * w *
    softmax(l)`` (mean 1) before the dense head, so the logit is ``b + sum_c
    w_c <K_c, F_c>``: a cell's own features reach the decision only through
    its weight (a cell weighted 0 contributes nothing). That is faithfulness
    at the level of D's feature cells, not of pixels: a cell's pixels also
    feed its neighbours' features (overlapping receptive fields) and every
    score through the softmax, so how faithful the pixel map is gets
    measured (deletion / insertion AUCs, `keras_attngan.metrics.faithfulness`).
    The softmax makes cells compete for a fixed budget, so D learns to spend
    it where its evidence is (independent sigmoid gates all saturate at 1 and
    explain nothing). The raw map is ``w / max(w) = exp(l - max l)``.

    Maps are upsampled bilinearly to input resolution, brought to [0, 1] per
    sample by `mask_normalization`, and raised to ``1 / mask_temperature``.

    Args:
        image_size: input height and width (4 * 2**n).
        channels: input channels.
        width: channels of the first convolution; stage i has width * 2**i.
        attention: the name of a mask source, a key of `MASK_SOURCES`.
        mask_normalization: a key of
            `keras_attngan.mask_sources.MASK_NORMALIZATIONS`: ``"peak"``
            (divide by the maximum) or ``"minmax"`` (stretch to [0, 1], which
            gives gradcam and saliency maps, rarely zero anywhere, their full
            contrast).
        mask_temperature: the mask is ``normalized ** (1 / temperature)``: a
            temperature below 1 raises the contrast, above 1 flattens it
            (for ``learned`` with ``"peak"``, ``exp((l - max l) / T)``).

    Call arguments:
        images: ``[B, S, S, channels]`` in [-1, 1].
        training: Keras training flag.
        return_attention: False skips the mask (the D step only needs logits).
    """

    def __init__(
        self,
        image_size,
        channels,
        width=64,
        attention="learned",
        mask_normalization="peak",
        mask_temperature=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.mask_source = get_mask_source(attention)
        if mask_normalization not in MASK_NORMALIZATIONS:
            raise ValueError(
                f"`mask_normalization` should be one of {sorted(MASK_NORMALIZATIONS)}. "
                f"Received: mask_normalization={mask_normalization!r}"
            )
        if not mask_temperature > 0:
            raise ValueError(
                f"`mask_temperature` should be > 0. Received: mask_temperature={mask_temperature!r}"
            )
        self.image_size = image_size
        self.channels = channels
        self.width = width
        self.attention = attention
        self.mask_normalization = mask_normalization
        self.mask_temperature = float(mask_temperature)
        stages = num_stages(image_size)
        self.trunk = keras.Sequential(
            [
                layer
                for stage in range(stages)
                for layer in (
                    layers.Conv2D(
                        width * 2**stage, 4, strides=2, padding="same", name=f"down_{stage}"
                    ),
                    layers.LeakyReLU(0.2, name=f"lrelu_{stage}"),
                )
            ],
            name="trunk",
        )
        # No bias: the softmax over cells cancels any constant added to every
        # score, so a bias would get an exactly-zero gradient and never train.
        self.attention_scores = (
            layers.Conv2D(1, 1, use_bias=False, name="attention_scores")
            if self.mask_source.needs_gate
            else None
        )
        self.classifier = layers.Dense(1, dtype="float32", name="classifier")
        # Built at once: the input shape is known, and a built D can be
        # inspected piecewise (trunk, head) and restored from checkpoints.
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        input_shape = (None, self.image_size, self.image_size, self.channels)
        self.trunk.build(input_shape)
        feature_shape = self.trunk.compute_output_shape(input_shape)
        if self.attention_scores is not None:
            self.attention_scores.build(feature_shape)
        self._cells = feature_shape[1:]
        self.classifier.build((None, int(np.prod(self._cells))))
        self.built = True

    def _head(self, feature_maps):
        """Gates (learned attention only), flattens and classifies the last feature maps.

        Returns:
            (logits, features ``[B, h * w * C]``, cell attention
            ``[B, h, w, 1]`` with peak 1, or None without a learned attention).
        """
        relative = None
        if self.attention_scores is not None:
            scores = ops.cast(self.attention_scores(feature_maps), "float32")
            relative = ops.exp(scores - ops.max(scores, axis=(1, 2, 3), keepdims=True))
            cells = float(np.prod(self._cells[:2]))
            weights = cells * relative / ops.sum(relative, axis=(1, 2, 3), keepdims=True)
            feature_maps = feature_maps * ops.cast(weights, feature_maps.dtype)
        features = ops.reshape(feature_maps, (ops.shape(feature_maps)[0], -1))
        return self.classifier(features), features, relative

    def classify(self, images, training=None):
        """D's forward pass: trunk, then head.

        Returns:
            `Evidence`.
        """
        feature_maps = self.trunk(images, training=training)
        logits, features, cell_attention = self._head(feature_maps)
        return Evidence(logits, features, feature_maps, cell_attention)

    def head_kernel(self):
        """The classifier's kernel laid out as the last feature maps ``[h, w, C]``."""
        return ops.reshape(self.classifier.kernel, self._cells)

    def to_mask(self, maps):
        """A raw non-negative map ``[B, h, w, 1]`` -> the mask at input resolution in [0, 1]."""
        maps = ops.cast(maps, "float32")
        if maps.shape[1] != self.image_size:
            maps = ops.image.resize(
                maps, (self.image_size, self.image_size), interpolation="bilinear"
            )
        mask = MASK_NORMALIZATIONS[self.mask_normalization](maps)
        if self.mask_temperature != 1.0:
            mask = ops.power(ops.maximum(mask, 0.0), 1.0 / self.mask_temperature)
        return mask

    def call(self, images, training=None, return_attention=True):
        if return_attention:
            evidence, mask = self.mask_source.attention(self, images, training)
        else:
            evidence, mask = self.classify(images, training), None
        outputs = {"logits": evidence.logits, "features": evidence.features}
        if mask is not None:
            outputs["attention"] = mask
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            channels=self.channels,
            width=self.width,
            attention=self.attention,
            mask_normalization=self.mask_normalization,
            mask_temperature=self.mask_temperature,
        )
        return config
