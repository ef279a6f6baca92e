"""SuperResolutionGAN: G maps a low-res image to its high-res original (SRGAN's recipe)."""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan.core.errors import check_count
from keras_attngan.networks.upscaler import upscale_factor
from keras_attngan.trainers.base import GAN
from keras_attngan.trainers.replicas import scaled_loss


def pixel_loss(fake, real):
    """Mean absolute difference: the pixel loss (L1, as EDSR and ESRGAN train with)."""
    return ops.mean(ops.abs(ops.cast(fake, "float32") - ops.cast(real, "float32")))


@keras.saving.register_keras_serializable(package="keras_attngan")
class SuperResolutionGAN(GAN):
    """The paired GAN of super-resolution: G's input is the low-res version of D's real slice.

    G is an upscaler (`keras_attngan.networks.upscaler`, input ``lowres``);
    each batch carries ``"lowres"`` beside ``"images"``. Training follows
    SRGAN (Ledig et al., 2017) and ESRGAN (Wang et al., 2018): for the first
    `pretrain_steps` steps G descends the pixel loss ``mean |G(x) - y|`` alone
    (D and the loss terms rest), then the adversarial phase weights D's
    verdict by `adversarial_weight` beside the loss terms (the encoder's pixel
    and latent terms). The phase is a function of the step counter, so a
    resumed run continues in the phase it left; it is reported as ``sr_phase``
    (0 pixel, 1 adversarial), with ``sr_pixel``, the unweighted pixel loss of
    G's batch.

    Args:
        generator: an upscaler G (input ``lowres``).
        discriminator: a `Discriminator` without a mask source or classes.
        latent: the `LatentSpec` of the config (G draws no noise).
        sr_pretrain_steps: train steps of the pixel-loss phase before the
            adversarial one (>= 0).
        sr_adversarial_weight: the weight of the adversarial loss in G's
            objective (>= 0; ESRGAN uses 5e-3 beside an L1 weight of 1e-2).
        inner_steps, seed, d_steps, ema_decay, ema_start, terms: as for
            `keras_attngan.trainers.base.GAN`.
    """

    paired = True

    def __init__(self, generator, discriminator, latent, sr_pretrain_steps=0, sr_adversarial_weight=1.0, **kwargs):
        check_count("train.sr_pretrain_steps", sr_pretrain_steps, 0, "steps of the pixel-loss phase")
        if not sr_adversarial_weight >= 0:
            raise ValueError(
                "`train.sr_adversarial_weight` should be >= 0. "
                f"Received: train.sr_adversarial_weight={sr_adversarial_weight!r}"
            )
        super().__init__(generator, discriminator, latent, **kwargs)
        self.scale = upscale_factor(generator, discriminator.channels)
        self.sr_pretrain_steps = sr_pretrain_steps
        self.sr_adversarial_weight = float(sr_adversarial_weight)

    def _check_networks(self, generator, discriminator, latent):
        if upscale_factor(generator, discriminator.channels) is None or discriminator.mask_source.uses_mask or discriminator.num_classes:
            raise ValueError(
                "A super-resolution GAN trains an upscaler G (input 'lowres') with a D "
                "without a mask source and without labels: use model.mask_source='none' "
                f"and model.num_classes=0. Received: attention={discriminator.attention!r}, "
                f"num_classes={discriminator.num_classes}"
            )

    def _reported_names(self):
        return super()._reported_names() + ["sr_phase", "sr_pixel"]

    def _as_latent(self, inputs):
        return {"lowres": inputs}

    def _fake_latent(self, data, update, batch_size):
        # G's input is the low-res version of this update's real slice.
        return {"lowres": ops.split(data["lowres"], self.d_steps, axis=0)[update]}

    def _adversarial_weight(self):
        return self.sr_adversarial_weight

    def _generator_objective(self, real, fake, fake_outputs, real_outputs, latent, mask=None):
        objective, stats = super()._generator_objective(real, fake, fake_outputs, real_outputs, latent, mask)
        stats["sr_pixel"] = pixel_loss(fake, real)
        return objective, stats

    def _pixel_step(self, data):
        """One G update on the pixel loss alone: the pretraining phase.

        D and the loss terms rest; D's step counter still advances, since it
        counts the train steps that place the phase switch. Returns the
        adversarial step's values, zero but the pixel loss.
        """
        variables = list(self.generator.trainable_variables)
        with tf.GradientTape() as tape:
            fake = self.generator({"lowres": data["lowres"]}, training=True)
            loss = pixel_loss(fake, data["images"])
            objective = scaled_loss(self.g_optimizer, loss)
        self.g_optimizer.apply(tape.gradient(objective, variables), variables)
        self.d_optimizer.iterations.assign_add(self.d_steps)
        stats = {name: ops.zeros((), "float32") for name in self._trackers}
        stats["sr_pixel"] = ops.cast(loss, "float32")
        return stats

    def _step(self, data):
        def adversarial():
            return self._reported({**self._adversarial_step(data), "sr_phase": ops.ones((), "float32")})

        if self.sr_pretrain_steps == 0:
            return adversarial()
        # Both branches are traced once; the counter picks one per step.
        return tf.cond(self.train_steps < self.sr_pretrain_steps, lambda: self._pixel_step(data), adversarial)

    def get_config(self):
        config = super().get_config()
        config.update(sr_pretrain_steps=self.sr_pretrain_steps, sr_adversarial_weight=self.sr_adversarial_weight)
        return config
