"""The discriminator D: a real/fake classification AND an attention mask."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from keras_attngan.networks.generator import num_stages

MASK_SOURCES = ("learned", "gradcam", "saliency", "none")
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
    comes from one of `MASK_SOURCES`:

    - ``learned``: an attention gate with a budget. A 1x1 convolution scores
      each cell ``l`` of the last feature map; the cells' features are
      multiplied by ``w = h * w * softmax(l)`` (mean 1) before the dense
      head, so the logit is ``b + sum_c w_c <K_c, F_c>``: a cell's own
      features reach the decision only through its weight (a cell weighted
      0 contributes nothing). That is faithfulness at the level of D's
      feature cells, not of pixels: a cell's pixels also feed its
      neighbours' features (overlapping receptive fields) and every score
      through the softmax, so how faithful the pixel map is gets measured
      (deletion / insertion AUCs, `keras_attngan.metrics.faithfulness`).
      The softmax makes cells compete for a fixed budget, so D learns to
      spend it where its evidence is (independent sigmoid gates all
      saturate at 1 and explain nothing). The raw map is
      ``w / max(w) = exp(l - max l)``.
    - ``gradcam``: Grad-CAM (Selvaraju et al., 2017) of the decision D made:
      ``relu(sum_c alpha_c F_c)`` with ``alpha_c`` the spatial mean of
      ``d(sign(logit) * logit) / dF_c``. The head is linear in F, so that
      gradient is the head's kernel and Grad-CAM is computed in closed form.
    - ``saliency``: the input gradient magnitude ``max_c |d logit / d x|``
      (Simonyan et al., 2014).
    - ``none``: no explanation; a uniform mask (the plain GAN baseline).

    Maps are upsampled bilinearly to input resolution, brought to [0, 1] per
    sample by `mask_normalization`, and raised to ``1 / mask_temperature``.

    Args:
        image_size: input height and width (4 * 2**n).
        channels: input channels.
        width: channels of the first convolution; stage i has width * 2**i.
        attention: one of `MASK_SOURCES`.
        mask_normalization: a key of `MASK_NORMALIZATIONS`: ``"peak"``
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
        if attention not in MASK_SOURCES:
            raise ValueError(
                f"`attention` (the mask source) should be one of {list(MASK_SOURCES)}. "
                f"Received: attention={attention!r}"
            )
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
            if attention == "learned"
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

    def _to_mask(self, maps):
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
        if self.attention == "saliency" and return_attention:
            with tf.GradientTape() as tape:
                tape.watch(images)
                logits, features, _ = self._head(self.trunk(images, training=training))
            gradients = tape.gradient(logits, images)
            saliency = ops.max(ops.abs(gradients), axis=-1, keepdims=True)
            outputs = {"logits": logits, "features": features}
            outputs["attention"] = self._to_mask(saliency)
            return outputs

        feature_maps = self.trunk(images, training=training)
        logits, features, cell_attention = self._head(feature_maps)
        outputs = {"logits": logits, "features": features}
        if not return_attention:
            return outputs
        if self.attention == "learned":
            outputs["attention"] = self._to_mask(cell_attention)
        elif self.attention == "gradcam":
            # d logit / dF is the kernel laid out as the feature map; alpha is
            # its spatial mean.
            kernel = ops.reshape(self.classifier.kernel, self._cells)
            alpha = ops.cast(ops.mean(kernel, axis=(0, 1)), feature_maps.dtype)
            sign = ops.cast(ops.sign(logits), feature_maps.dtype)[:, :, None, None]
            cam = ops.relu(sign * ops.einsum("bhwc,c->bhw", feature_maps, alpha)[..., None])
            outputs["attention"] = self._to_mask(cam)
        else:
            outputs["attention"] = ops.ones(
                (ops.shape(images)[0], self.image_size, self.image_size, 1), "float32"
            )
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
