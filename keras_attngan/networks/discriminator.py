"""The discriminator D: a real/fake classification AND an attention mask."""

from typing import NamedTuple, Optional

import keras
import numpy as np
from keras import layers, ops

from keras_attngan.core.mask_sources import (
    MASK_NORMALIZATIONS,
    MASK_SOURCES,
    get_mask_source,
)
from keras_attngan.networks.architectures import get_architecture
from keras_attngan.networks.normalizations import get_normalization
from keras_attngan.networks.verdict_decoder import VerdictDecoder, trunk_taps

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
        cell_logits: the verdict decoder's real/fake logits ``[B, n, n, 1]``
            (float32), or None without a decoder.
    """

    logits: object
    features: object
    feature_maps: object
    cell_attention: Optional[object]
    cell_logits: Optional[object] = None


@keras.saving.register_keras_serializable(package="keras_attngan")
class Discriminator(keras.Model):
    """D returning ``{"logits", "attention", "features"}``, on a trunk of any architecture.

    D classifies its input as real or generated and
    outputs an attention mask that identifies the parts of the input that drove
    the classification, as a spatial overlay at input resolution in [0, 1].

    The trunk, from `architecture` (a key of
    `keras_attngan.networks.architectures.ARCHITECTURES`; ``dcgan`` halves
    the resolution down to 4x4 with LeakyReLU convolutions), ends in 4x4
    feature cells; a dense layer classifies the flattened 4x4 map, as in
    DCGAN (Radford et al., 2016), so D sees where things are (a globally
    pooled head lets G fool D with texture, and collapses). Without a
    normalization with batch statistics, real and fake batches can share one
    call and gradient penalties stay per-sample. The mask
    comes from the source named by `attention`, a key of
    `keras_attngan.core.mask_sources.MASK_SOURCES` (``learned``, ``gradcam``,
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

    A source that ``needs_decoder`` (``verdict``), or ``verdict_decoder=True``
    with any source (the plain GAN with U-Net GAN's D), gets the per-cell verdict
    decoder of U-Net GAN (Schonfeld et al., 2020;
    `keras_attngan.networks.verdict_decoder`): real/fake logits on
    ``verdict_cells`` x ``verdict_cells`` cells, from the last feature maps
    and, through skip connections, the trunk's maps of each finer
    resolution. D then also returns ``"cell_logits"``; the ``verdict`` loss
    term (`keras_attngan.terms.verdict`) trains them.

    With ``num_classes > 0`` D is class-conditional with a projection head
    (Miyato and Koyama, 2018, "cGANs with projection discriminator"):
    ``logit = psi(phi(x)) + <embed(y), phi(x)>``, with phi the (gated)
    flattened features and psi the classifier; D is then called with the
    labels, ``D(images, labels=y)``.

    Maps are upsampled bilinearly to input resolution, brought to [0, 1] per
    sample by `mask_normalization`, and raised to ``1 / mask_temperature``.

    Args:
        image_size: input height and width (4 * 2**n).
        channels: input channels.
        width: channels of the first convolution; stage i has width * 2**i.
        attention: the name of a mask source, a key of `MASK_SOURCES`.
        mask_normalization: a key of
            `keras_attngan.core.mask_sources.MASK_NORMALIZATIONS`: ``"peak"``
            (divide by the maximum) or ``"minmax"`` (stretch to [0, 1], which
            gives gradcam and saliency maps, rarely zero anywhere, their full
            contrast).
        mask_temperature: the mask is ``normalized ** (1 / temperature)``: a
            temperature below 1 raises the contrast, above 1 flattens it
            (for ``learned`` with ``"peak"``, ``exp((l - max l) / T)``).
        architecture: the trunk, a key of `ARCHITECTURES`.
        normalization: the trunk's and head's normalization, a key of
            `keras_attngan.networks.normalizations.NORMALIZATIONS`
            (``spectral`` also wraps the classifier and the projection).
        num_classes: number of labels of a projection D (0: unconditional).
        verdict_cells: the verdict decoder's cells per side, 8, 16, ... up to
            half the image size (only with the decoder).
        verdict_decoder: builds the verdict decoder whatever the source (a
            source that ``needs_decoder`` always has it).

    Call arguments:
        images: ``[B, S, S, channels]`` in [-1, 1].
        training: Keras training flag.
        return_attention: False skips the mask (the D step only needs logits).
        labels: integer ``[B]``, required by (and only by) a projection D.
    """

    def __init__(
        self,
        image_size,
        channels,
        width=64,
        attention="learned",
        mask_normalization="peak",
        mask_temperature=1.0,
        architecture="dcgan",
        normalization="none",
        num_classes=0,
        verdict_cells=8,
        verdict_decoder=False,
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
        self.architecture = architecture
        self.normalization = normalization
        self.num_classes = num_classes
        norm = get_normalization(normalization, num_classes)
        self.trunk = get_architecture(architecture).discriminator_trunk(
            image_size, channels, width, norm
        )
        # Never spectrally normalized: the gate's sharpness is its scores' scale.
        # No bias: the softmax over cells cancels any constant added to every
        # score, so a bias would get an exactly-zero gradient and never train.
        self.attention_scores = (
            layers.Conv2D(1, 1, use_bias=False, name="attention_scores")
            if self.mask_source.needs_gate
            else None
        )
        self.classifier = norm.wrap(layers.Dense(1, dtype="float32", name="classifier"))
        input_shape = (None, image_size, image_size, channels)
        self.trunk.build(input_shape)
        self._cells = tuple(self.trunk.compute_output_shape(input_shape)[1:])
        self.verdict_cells = verdict_cells
        has_decoder = self.mask_source.needs_decoder or verdict_decoder
        self.verdict = self._verdict_decoder(norm) if has_decoder else None
        # phi(x) is the flattened cells, so embed(y) is one vector over them per class.
        self.projection = (
            norm.wrap(layers.Embedding(num_classes, int(np.prod(self._cells)), name="projection"))
            if num_classes
            else None
        )
        # Built at once: the input shape is known, and a built D can be
        # inspected piecewise (trunk, head) and restored from checkpoints.
        self.build()

    def _verdict_decoder(self, norm):
        """The verdict decoder, and the view of the trunk that feeds its skips (`_taps`)."""
        sizes, size = [], self._cells[0]
        while size < self.verdict_cells:
            size *= 2
            sizes.append(size)
        if not sizes or size != self.verdict_cells or size > self.image_size // 2:
            raise ValueError(
                f"`verdict_cells` should be {self._cells[0]} * 2**n with n >= 1, at most "
                f"image_size / 2 = {self.image_size // 2}. Received: verdict_cells={self.verdict_cells!r}"
            )
        taps = trunk_taps(self.trunk, sizes)
        # Not tracked: its layers are the trunk's, which D already saves.
        object.__setattr__(self, "_taps", taps)
        return VerdictDecoder([tap.shape[-1] for tap in taps.outputs[:-1]], norm, name="verdict")

    def build(self, input_shape=None):
        if self.built:
            return
        if self.verdict is not None:
            self.verdict.build((None, *self._cells))
        if self.attention_scores is not None:
            self.attention_scores.build((None, *self._cells))
        self.classifier.build((None, int(np.prod(self._cells))))
        if self.projection is not None:
            self.projection.build((None,))
        self.built = True

    def _head(self, feature_maps, labels=None):
        """Gates (learned attention only), flattens and classifies the last feature maps.

        A projection D adds ``<embed(labels), features>`` to the logit.

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
        logits = self.classifier(features)
        if self.projection is not None:
            embedded = ops.cast(self._embed(labels), "float32")
            logits += ops.sum(embedded * ops.cast(features, "float32"), axis=-1, keepdims=True)
        return logits, features, relative

    def _embed(self, labels):
        """Each label's projection vector ``[B, h * w * C]``.

        The labels go in as float32: Keras' `SpectralNormalization` casts its
        output to its input's dtype, so integer labels made the spectrally
        normalized embeddings integers (zero, at their scale) with no
        gradient, and the projection D ignored the class. The Embedding casts
        them back to int32 for its lookup (exact below 2**24 classes).
        """
        return self.projection(ops.cast(labels, "float32"))

    def _checked(self, labels):
        """`labels` as int32 ``[B]``; refuses labels D cannot use, or a missing one it needs."""
        if (labels is None) == bool(self.num_classes):
            raise ValueError(
                "A projection discriminator (num_classes > 0) needs `labels`, and an "
                "unconditional one takes none. Received: "
                f"num_classes={self.num_classes}, labels={labels!r}"
            )
        return None if labels is None else ops.reshape(ops.cast(labels, "int32"), (-1,))

    def classify(self, images, training=None, labels=None):
        """D's forward pass: trunk, then head.

        Returns:
            `Evidence`.
        """
        labels = self._checked(labels)
        cell_logits = None
        if self.verdict is None:
            feature_maps = self.trunk(images, training=training)
        else:
            *skips, feature_maps = self._taps(images, training=training)
            cell_logits = self.verdict(feature_maps, skips, training=training)
        logits, features, cell_attention = self._head(feature_maps, labels)
        return Evidence(logits, features, feature_maps, cell_attention, cell_logits)

    def head_kernel(self, labels=None):
        """The gradient of the logit with respect to the (gated) last feature maps.

        The head is linear in them: the classifier's kernel laid out as the
        maps, ``[h, w, C]``; for a projection D, plus each label's
        embedding, ``[B, h, w, C]``.
        """
        kernel = ops.reshape(self.classifier.kernel, self._cells)
        if self.projection is None:
            return kernel
        embedded = self._embed(self._checked(labels))
        return kernel + ops.reshape(ops.cast(embedded, kernel.dtype), (-1, *self._cells))

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

    def call(self, images, training=None, return_attention=True, labels=None):
        if return_attention:
            evidence, mask = self.mask_source.attention(self, images, training, labels=labels)
        else:
            evidence, mask = self.classify(images, training, labels), None
        outputs = {"logits": evidence.logits, "features": evidence.features}
        if evidence.cell_logits is not None:
            outputs["cell_logits"] = evidence.cell_logits
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
            architecture=self.architecture,
            normalization=self.normalization,
            num_classes=self.num_classes,
            verdict_cells=self.verdict_cells,
            verdict_decoder=self.verdict is not None,
        )
        return config
