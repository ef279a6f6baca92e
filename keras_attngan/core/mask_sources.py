"""Mask sources: how the discriminator D explains its decision, chosen from a registry.

Every source has one interface, ``source.attention(discriminator, images,
training, labels=None) -> (evidence, mask)``: it runs D's forward pass (`Evidence`:
logits, features, the last feature maps and, with a gate, the cell
attention) and returns the mask ``[B, S, S, 1]`` in [0, 1] at input
resolution. The source runs the forward pass itself because ``saliency``
must record it on a gradient tape; the others read the explanation off it.
A raw map becomes a mask through `Discriminator.to_mask` (upsampling, one
of `MASK_NORMALIZATIONS`, the temperature).

Two class attributes say what a source needs and gives:

- ``needs_gate``: D carries the attention-score gate in its head (the
  ``learned`` source reads the gate's weights as its map);
- ``needs_decoder``: D carries the per-cell verdict decoder (the
  ``verdict`` source reads its real/fake logits as its map);
- ``uses_mask``: the source gives G a mask at all (False only for
  ``none``, the plain GAN baseline: G has no mask input and the trainer no
  mutual-information term).

The registry is a plain dict (`MASK_SOURCES`, name -> class); a new source
is a new class and one entry.
"""

import tensorflow as tf
from keras import ops

from keras_attngan.core.registry import lookup

_EPS = 1e-6


def _normalize_peak(maps):
    """Scales each sample's non-negative map so that its maximum is 1."""
    peak = ops.max(maps, axis=(1, 2, 3), keepdims=True)
    return maps / (peak + _EPS)


def _normalize_minmax(maps):
    """Stretches each sample's map to [0, 1]: its minimum becomes 0, its maximum 1."""
    low = ops.min(maps, axis=(1, 2, 3), keepdims=True)
    high = ops.max(maps, axis=(1, 2, 3), keepdims=True)
    return (maps - low) / (high - low + _EPS)


# How a raw explanation map becomes a mask in [0, 1], per sample.
MASK_NORMALIZATIONS = {"peak": _normalize_peak, "minmax": _normalize_minmax}


class MaskSource:
    """The interface of a mask source (see the module docstring).

    Attributes:
        needs_gate: D needs the attention-score gate in its head.
        needs_decoder: D needs the per-cell verdict decoder.
        uses_mask: G receives the mask (False: the plain GAN).
    """

    needs_gate = False
    needs_decoder = False
    uses_mask = True

    def attention(self, discriminator, images, training, labels=None):
        """Runs D on `images` and explains its decision.

        Args:
            discriminator: a `keras_attngan.networks.Discriminator`.
            images: ``[B, S, S, C]`` in [-1, 1].
            training: Keras training flag.
            labels: the class labels ``[B]`` a projection D needs, else None.

        Returns:
            (`Evidence` of D's forward pass, mask ``[B, S, S, 1]`` in [0, 1]).
        """
        raise NotImplementedError


class Learned(MaskSource):
    """The attention gate's cell weights relative to the largest: ``exp(l - max l)``.

    D's logit reaches each cell's features only through that cell's weight,
    so the map is faithful at the level of D's feature cells.
    """

    needs_gate = True

    def attention(self, discriminator, images, training, labels=None):
        evidence = discriminator.classify(images, training, labels)
        return evidence, discriminator.to_mask(evidence.cell_attention)


class GradCAM(MaskSource):
    """Grad-CAM (Selvaraju et al., 2017) of the decision D made.

    ``relu(sum_c alpha_c F_c)`` with ``alpha_c`` the spatial mean of
    ``d(sign(logit) * logit) / dF_c``. D's head is linear in F, so that
    gradient is the head's kernel laid out as the feature map (plus the
    label's embedding for a projection D), and Grad-CAM needs no gradient
    computation.
    """

    def attention(self, discriminator, images, training, labels=None):
        evidence = discriminator.classify(images, training, labels)
        feature_maps = evidence.feature_maps
        kernel = discriminator.head_kernel(labels)
        # [C] (one kernel) or [B, C] (per label), broadcast to [(B,) 1, 1, C].
        alpha = ops.expand_dims(ops.mean(kernel, axis=(-3, -2)), (-3, -2))
        sign = ops.cast(ops.sign(evidence.logits), feature_maps.dtype)[:, :, None, None]
        weighted = feature_maps * ops.cast(alpha, feature_maps.dtype)
        cam = ops.relu(sign * ops.sum(weighted, axis=-1, keepdims=True))
        return evidence, discriminator.to_mask(cam)


class Saliency(MaskSource):
    """The input-gradient magnitude ``max_c |d logit / d x|`` (Simonyan et al., 2014)."""

    def attention(self, discriminator, images, training, labels=None):
        # The forward pass is recorded once and serves both the outputs and
        # the gradient.
        with tf.GradientTape() as tape:
            tape.watch(images)
            evidence = discriminator.classify(images, training, labels)
        gradients = tape.gradient(evidence.logits, images)
        saliency = ops.max(ops.abs(gradients), axis=-1, keepdims=True)
        return evidence, discriminator.to_mask(saliency)


class Verdict(MaskSource):
    """D's per-cell verdict: the probability that each cell is fake, ``sigmoid(-logit)``.

    The logits are the U-Net decoder's (Schonfeld et al., 2020;
    `keras_attngan.networks.verdict_decoder`), trained by the ``verdict``
    loss term to call each cell of a real image real and each of a fake
    fake. Of the sources, this one alone says where the image looks
    generated, not where D looked: the mask is high where D objects, so
    G's mask input marks what is left to fix. Its probabilities go through
    `Discriminator.to_mask` like every source's map.
    """

    needs_decoder = True

    def attention(self, discriminator, images, training, labels=None):
        evidence = discriminator.classify(images, training, labels)
        return evidence, discriminator.to_mask(ops.sigmoid(-ops.cast(evidence.cell_logits, "float32")))


class NoMask(MaskSource):
    """No explanation: the uniform mask (the plain GAN baseline)."""

    uses_mask = False

    def attention(self, discriminator, images, training, labels=None):
        size = discriminator.image_size
        mask = ops.ones((ops.shape(images)[0], size, size, 1), "float32")
        return discriminator.classify(images, training, labels), mask


MASK_SOURCES = {
    "learned": Learned,
    "gradcam": GradCAM,
    "saliency": Saliency,
    "verdict": Verdict,
    "none": NoMask,
}


def get_mask_source(name):
    """A new instance of the mask source registered as `name`.

    Raises:
        ValueError: `name` is not a key of `MASK_SOURCES` (the message lists them).
    """
    return lookup(MASK_SOURCES, name, "attention")()
