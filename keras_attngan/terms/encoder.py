"""The encoder term: E(G(Z)) ~ E(Y) regularizes G in latent space."""

import keras
from keras import ops

from keras_attngan.core.lipschitz import get_lipschitz, violation
from keras_attngan.networks.encoder import build_encoder
from keras_attngan.networks.upscaler import upscale_factor
from keras_attngan.terms.base import Contribution, LossTerm

# Inside the square root of a distance: its gradient is finite at 0 (a fake
# equal to its target).
_EPSILON = 1e-12


def _flat(values):
    return ops.reshape(values, (ops.shape(values)[0], -1))


def _grouped(a, b, paired):
    """(a, b) per sample when paired, else each batch's mean as one sample.

    Paired data (super-resolution: the fake G(z_i) is meant to be y_i) is
    compared sample by sample. In the unconditional GAN
    z_i and y_i are unrelated, and pulling each fake towards a random real
    image would pull G towards the mean image; there the fakes' and the
    reals' batch means are compared, as feature matching does (Salimans et
    al., 2016, section 3.1).
    """
    a, b = _flat(ops.cast(a, "float32")), _flat(ops.cast(b, "float32"))
    if paired:
        return a, b
    return ops.mean(a, axis=0, keepdims=True), ops.mean(b, axis=0, keepdims=True)


def squared_distance(a, b, paired=True):
    """Mean squared difference per sample ``[B]`` (or ``[1]`` unpaired, see `_grouped`)."""
    a, b = _grouped(a, b, paired)
    return ops.mean(ops.square(a - b), axis=-1)


def absolute_distance(a, b, paired=True):
    """Mean absolute difference per sample ``[B]`` (or ``[1]`` unpaired)."""
    a, b = _grouped(a, b, paired)
    return ops.mean(ops.abs(a - b), axis=-1)


def rms_distance(a, b, paired=True):
    """Root mean squared difference per sample: the norm of the Lipschitz bound."""
    return ops.sqrt(squared_distance(a, b, paired) + _EPSILON)


@keras.saving.register_keras_serializable(package="keras_attngan")
class LatentRegularizer(LossTerm):
    """The encoder E as a loss term with its own optimizer.

    E reads G's output G(z) and the target y. In its own step (after each D
    update, on that update's real batch and fakes, G frozen) E descends
    its objective, the latent difference
    ``mean ||E(G(z)) - E(y)||^2``, plus ``lipschitz_weight`` times the
    Lipschitz penalty when the mechanism has one (`keras_attngan.core.lipschitz`).
    In G's step (every inner-loop iteration) the term adds
    regularizers to G's adversarial loss:
    ``mu1 * mean |G(z) - y| + mu2 * mean ||E(G(z)) - E(y)||^2`` (E frozen:
    its variables are not G's), and the penalty with E's side held fixed.
    With paired data (``ctx["paired"]``: super-resolution, z a
    low-res image and y its high-res original) distances are per sample;
    in the unconditional GAN they compare the batch means (see `_grouped`).

    Reported: ``g_pixel`` (mu1 term), ``g_latent`` (mu2 term),
    ``g_lipschitz`` (weighted penalty in G's step), ``e_latent`` (E's
    objective), ``e_lipschitz`` (weighted penalty in E's step),
    ``latent_distance`` and ``pixel_distance`` (unweighted, on E's batch) and
    ``lipschitz_violations`` (the fraction of samples that break the bound).

    Args:
        image_shape: G's output / target shape ``(S, S, C)`` (height and
            width None for super-resolution).
        latent_shape: Z's shape: ``(latent_dim,)``, or the low-res image's
            ``(s, s, C)`` (E's output has this size).
        encoder: a key of `keras_attngan.networks.encoder.ENCODERS`.
        width: E's width.
        scale: the super-resolution factor (1 for a vector Z).
        weights: VGG19 ImageNet weights file for ``encoder="vgg"``, or None.
        mu1: weight of the pixel difference in G's loss (>= 0).
        mu2: weight of the latent difference in G's loss (>= 0; 0 trains E
            but does not let it constrain G: the ablation).
        lipschitz: a key of `keras_attngan.core.lipschitz.LIPSCHITZ`.
        lipschitz_k: K of the bound (> 0).
        lipschitz_weight: weight of the penalty in E's and G's losses (>= 0).
        learning_rate: E's Adam learning rate (beta_1 0.5, as G's and D's).
    """

    CONFIG_KEYS = {
        "encoder": "encoder",
        "width": "encoder_width",
        "weights": "encoder_weights",
        "mu1": "encoder_mu1",
        "mu2": "encoder_mu2",
        "lipschitz": "encoder_lipschitz",
        "lipschitz_k": "encoder_lipschitz_k",
        "lipschitz_weight": "encoder_lipschitz_weight",
        "learning_rate": "encoder_learning_rate",
    }
    player = "own"
    reported = (
        "g_pixel",
        "g_latent",
        "g_lipschitz",
        "e_latent",
        "e_lipschitz",
        "latent_distance",
        "pixel_distance",
        "lipschitz_violations",
    )

    def __init__(
        self,
        image_shape,
        latent_shape,
        encoder="conv",
        width=32,
        scale=1,
        weights=None,
        mu1=1.0,
        mu2=1.0,
        lipschitz="spectral_penalty",
        lipschitz_k=1.0,
        lipschitz_weight=1.0,
        learning_rate=2e-4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for key, value in (("mu1", mu1), ("mu2", mu2), ("lipschitz_weight", lipschitz_weight)):
            if not value >= 0:
                raise ValueError(f"`train.encoder_{key}` should be >= 0. Received: {value!r}")
        for key, value in (("lipschitz_k", lipschitz_k), ("learning_rate", learning_rate)):
            if not value > 0:
                raise ValueError(f"`train.encoder_{key}` should be > 0. Received: {value!r}")
        self.mechanism = get_lipschitz(lipschitz)
        self.image_shape = tuple(image_shape)
        self.latent_shape = tuple(latent_shape)
        self.encoder_kind = encoder
        self.width = int(width)
        self.scale = int(scale)
        self.weights_path = weights
        self.mu1, self.mu2 = float(mu1), float(mu2)
        self.lipschitz = lipschitz
        self.lipschitz_k = float(lipschitz_k)
        self.lipschitz_weight = float(lipschitz_weight)
        self.learning_rate = float(learning_rate)
        self.encoder = build_encoder(
            encoder,
            self.image_shape,
            self.latent_shape,
            width=self.width,
            scale=self.scale,
            spectral=self.mechanism.spectral,
            weights=weights,
        )
        # E's own optimizer (the issue: E is a third player with its own step).
        self.optimizer = keras.optimizers.Adam(self.learning_rate, beta_1=0.5, beta_2=0.999)
        self.built = True

    @classmethod
    def from_networks(cls, generator, discriminator, latent=None, **options):
        """E for G's output and latent shapes (a low-res input for super-resolution).

        `latent` is unused: E reads images, and G's noise size from G's inputs.
        """
        del latent
        size, channels = discriminator.image_size, discriminator.channels
        scale = upscale_factor(generator, channels)
        if scale:
            # E reads high-res images of any size and returns the low-res size.
            return cls((None, None, channels), (None, None, channels), scale=scale, **options)
        z = next(tensor for tensor in generator.inputs if tensor.name == "z")
        return cls((size, size, channels), (int(z.shape[-1]),), **options)

    def _distances(self, fake, real, paired, training):
        """(latent squared, latent RMS, pixel absolute, pixel RMS) per sample or per batch.

        `training` is True in E's own step only: in training mode spectral
        normalization runs its power iteration and writes the normalized
        kernel back, which would move E's weights in G's step.
        """
        encoded_fake = self.encoder(fake, training=training)
        encoded_real = self.encoder(real, training=training)
        return (
            squared_distance(encoded_fake, encoded_real, paired),
            rms_distance(encoded_fake, encoded_real, paired),
            absolute_distance(fake, real, paired),
            rms_distance(fake, real, paired),
        )

    def penalty(self, pixel_rms, latent_rms):
        """The weighted Lipschitz penalty (0 without a penalty mechanism)."""
        if not self.mechanism.penalty:
            return ops.zeros(())
        return self.lipschitz_weight * ops.mean(
            violation(pixel_rms, latent_rms, self.lipschitz_k)
        )

    def g_terms(self, ctx):
        """G's loss gains ``mu1 * pixel + mu2 * latent`` (+ the bound)."""
        latent, latent_rms, pixel, pixel_rms = self._distances(
            ctx["fake"], ctx["real"], ctx.get("paired", False), training=False
        )
        return Contribution(
            {
                "g_pixel": self.mu1 * ops.mean(pixel),
                "g_latent": self.mu2 * ops.mean(latent),
                "g_lipschitz": self.penalty(pixel_rms, ops.stop_gradient(latent_rms)),
            },
            {},
        )

    def own_terms(self, ctx):
        """E's loss, the latent difference (+ the bound); G's fakes are constants."""
        fake = ops.stop_gradient(ctx["fake"])
        latent, latent_rms, pixel, pixel_rms = self._distances(
            fake, ctx["real"], ctx.get("paired", False), training=True
        )
        violations = violation(pixel_rms, latent_rms, self.lipschitz_k) > 0
        return Contribution(
            {"e_latent": ops.mean(latent), "e_lipschitz": self.penalty(pixel_rms, latent_rms)},
            {
                "latent_distance": ops.mean(latent),
                "pixel_distance": ops.mean(pixel),
                "lipschitz_violations": ops.mean(ops.cast(violations, "float32")),
            },
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            latent_shape=self.latent_shape,
            encoder=self.encoder_kind,
            width=self.width,
            scale=self.scale,
            weights=self.weights_path,
            mu1=self.mu1,
            mu2=self.mu2,
            lipschitz=self.lipschitz,
            lipschitz_k=self.lipschitz_k,
            lipschitz_weight=self.lipschitz_weight,
            learning_rate=self.learning_rate,
        )
        return config
