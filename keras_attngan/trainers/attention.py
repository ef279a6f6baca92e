"""AttnGAN: the GAN whose discriminator explains itself and whose generator listens (docs/method.md)."""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan.core.errors import check_count
from keras_attngan.core.first_masks import FIRST_MASKS, uniform_mask
from keras_attngan.core.mask_statistics import mask_statistics
from keras_attngan.core.mutual_information import MI_WEIGHTINGS
from keras_attngan.core.registry import lookup
from keras_attngan.trainers.base import GAN, deserialized
from keras_attngan.trainers.recurrence import generate_pair, labelled, mask_step
from keras_attngan.trainers.replicas import scaled_loss
from keras_attngan.trainers.super_resolution import SuperResolutionGAN


@keras.saving.register_keras_serializable(package="keras_attngan")
class AttnGAN(GAN):
    """The attention-guided GAN: G takes D's attention mask, and an MI term makes it use it.

    Each `train_step`:

    1. samples z once and holds it constant through the inner loop;
    2. runs the generator inner loop K times. It starts from the first mask
       (`first_mask`; the seed's: ``s = D(G(z, 1))``'s attention), with the
       uniform mask as the one the previous image was drawn with. Each
       iteration synthesizes ``x_cur = G(z, s)`` and minimizes
       ``adversarial(D(x_cur)) + lambda_mi * mi.loss``, where ``mi`` is the
       `mi_estimator`'s variational lower bound on the mutual information
       between the current mask and the change it caused, ``x_cur - x_prev``
       (the MI term). G and the estimator are updated, D is not; the
       estimator always learns its own bound, so ``mi_bound`` is measured
       even when ``lambda_mi = 0`` sends nothing of it to G. The mask D gives
       ``x_cur`` is the next iteration's mask, so the loop costs one D pass
       per iteration;
    3. takes the plain GAN's D updates (`keras_attngan.trainers.base.GAN`).

    Besides the plain GAN's values it reports the
    `keras_attngan.core.mask_statistics.mask_statistics` of the masks G
    received and ``mi_loss``, ``mi_bound``, ``mi_ceiling`` (nats per mask) and
    ``mi_weight``.

    Args:
        generator: G, called as ``G({"z": ..., "mask": ...})``.
        discriminator: a `Discriminator` with a mask source (returns a dict
            with ``logits`` and ``attention``).
        latent: the `LatentSpec` G's latent inputs are sampled from.
        mi_estimator: a `keras_attngan.core.mutual_information.MIEstimator` (built).
        inner_steps: K, generator updates per step (>= 1).
        lambda_mi: weight of the mutual-information term in G's loss (>= 0).
        seed: seed of the model's `keras.random.SeedGenerator`.
        d_steps: discriminator updates per step (>= 1).
        mi_pairs: how many samples of each batch the MI term reads (the
            first; 0: the whole batch). Each one costs a G forward and
            backward pass more (`benchmarks/README.md`, *Speed*). InfoNCE's
            ceiling is then ``log(mi_pairs)``, or still ``log(batch)`` with
            ``negatives="masks"``.
        mi_weighting: how `lambda_mi` weights the MI term, a key of
            `keras_attngan.core.mutual_information.MI_WEIGHTINGS`: ``"fixed"``
            (the weight is `lambda_mi`) or ``"balanced"`` (`lambda_mi` times the
            ratio of the adversarial loss's gradient norm to the MI loss's, at
            G's output, where G's backward pass starts anyway). ``"fixed"`` is
            the default here so that trainers saved before this argument load
            as they trained; the configs of `attngan train` default to
            ``"balanced"``.
        g_gradient_mask: ``a`` of xAI-GAN's reweighting (Nagisetty et al.,
            2020, "xAI-GAN: Enhancing Generative Adversarial Networks via
            Explainable AI Systems"): G's gradient at its output is scaled by
            ``1 + a * m``, m D's mask of those images, so that G changes
            most where D's decision came from. 0 (the default) turns it off.
        first_mask: where the first mask comes from, a key of
            `keras_attngan.core.first_masks.FIRST_MASKS`: ``"recurrence"``
            (the seed's) or ``"blobs"`` (a prior, drawn from the latent
            input ``"prior"``: `latent` must have its ``prior_dim``).
        ema_decay, ema_start, terms: as for `keras_attngan.trainers.base.GAN`.
    """

    attends = True

    def __init__(
        self,
        generator,
        discriminator,
        latent,
        mi_estimator=None,
        inner_steps=1,
        lambda_mi=1.0,
        seed=None,
        d_steps=1,
        mi_pairs=0,
        mi_weighting="fixed",
        g_gradient_mask=0.0,
        first_mask="recurrence",
        ema_decay=0.0,
        ema_start=0,
        terms=(),
        **kwargs,
    ):
        super().__init__(
            generator,
            discriminator,
            latent,
            inner_steps=inner_steps,
            seed=seed,
            d_steps=d_steps,
            ema_decay=ema_decay,
            ema_start=ema_start,
            terms=terms,
            **kwargs,
        )
        for key, value in (("lambda_mi", lambda_mi), ("g_gradient_mask", g_gradient_mask)):
            if not value >= 0:
                raise ValueError(f"`{key}` should be >= 0. Received: {key}={value!r}")
        check_count("mi_pairs", mi_pairs, 0, "samples per batch the MI term reads; 0: all")
        if mi_estimator is None:
            raise ValueError(
                "`mi_estimator` is required when the discriminator has a mask source. "
                f"Received: attention={discriminator.attention!r}, mi_estimator=None"
            )
        self.weight_mi = lookup(MI_WEIGHTINGS, mi_weighting, "mi_weighting")
        self.first_mask = lookup(FIRST_MASKS, first_mask, "first_mask")()
        if latent.prior_dim != self.first_mask.noise_dim:
            raise ValueError(
                f"`latent.prior_dim` should be {self.first_mask.noise_dim}, the numbers first_mask="
                f"{first_mask!r} draws its mask from. Received: latent.prior_dim={latent.prior_dim}"
            )
        self.mi_estimator = mi_estimator
        self.lambda_mi = float(lambda_mi)
        self.mi_pairs = mi_pairs
        self.mi_weighting = mi_weighting
        self.g_gradient_mask = float(g_gradient_mask)

    def _reported_names(self):
        return super()._reported_names() + [
            "mask_mean",
            "mask_contrast",
            "mask_entropy",
            "mask_diversity",
            "mi_loss",
            "mi_bound",
            "mi_ceiling",
            "mi_weight",
        ]

    @property
    def estimator_variables(self):
        """The MI estimator's variables (trained by G's optimizer)."""
        return list(self.mi_estimator.trainable_variables)

    def _initial_state(self, latent, batch_size):
        # (the mask G's previous image was drawn with, the mask to draw with
        # now); the first mask is found by the first update.
        return uniform_mask(batch_size, self.discriminator.image_size), None

    def _generator_update(self, real, latent, real_outputs, state, shared=None):
        """One inner-loop iteration: G and the estimator on the adversarial and MI terms.

        The change ``dx = G(z, s) - G(z, s_prev)`` is differentiated through
        both of its terms, with G's current parameters: G's shared layers
        move both outputs alike, so only what the mask changes can raise the
        MI bound (a constant ``x_prev`` would reward G for moving its output
        anywhere). Both terms come from one G call (`generate_pair`), so that
        batch normalization treats them as inference does; the first mask
        needs one more G pass, forward only. With `mi_pairs` set, only the
        first `mi_pairs` samples of the batch get the ``G(z, s_prev)`` half
        and enter the MI term; every sample still gets ``G(z, s)`` and the
        adversarial loss. `shared`: as for the plain G update (its D pass
        on the fakes is the one that gives the next mask).
        """
        previous_mask, mask = state
        if mask is None:

            def draw(start):
                image, outputs = mask_step(self.generator, self.discriminator, latent, start, True)
                return image, outputs["attention"]

            mask = ops.stop_gradient(self.first_mask(latent, self.discriminator.image_size, draw)[0])
        # Persistent: the gradients at G's output are read before G's own
        # (`_generator_gradients`).
        with tf.GradientTape(persistent=True) as tape:
            previous, current = generate_pair(
                self.generator, latent, previous_mask, mask, self.mi_pairs or None, True
            )
            d_out = self.discriminator(current, training=True, **labelled(latent.get("label")))
            objective, stats = self._generator_objective(real, current, d_out, real_outputs, latent, mask)
            objective = scaled_loss(self.g_optimizer, objective)
            # The first `pairs` masks caused the changes; the estimator may
            # read the others as negatives.
            pairs = ops.shape(previous)[0]
            evidence = current[:pairs] - previous
            if self.mi_estimator.reads == "attention":
                evidence = d_out["attention"][:pairs]
            mi = self.mi_estimator(mask, evidence, training=True)
            stats.update(mi_loss=mi.loss, mi_bound=mi.bound, mi_ceiling=mi.ceiling)
            estimator_objective = scaled_loss(self.g_optimizer, mi.loss)
            if shared is not None:
                shared(current, d_out)
        next_mask = ops.stop_gradient(d_out["attention"])
        gradients, q_gradients, stats["mi_weight"] = self._generator_gradients(
            tape, objective, estimator_objective, current, previous, next_mask
        )
        if shared is not None:
            shared.differentiate(tape)
        del tape
        variables = list(self.generator.trainable_variables) + self._term_variables("g")
        self.g_optimizer.apply(gradients + q_gradients, variables + self.estimator_variables)
        stats.update(mask_statistics(mask))
        return current, stats, (mask, next_mask)

    def _generator_gradients(self, tape, objective, estimator_objective, current, previous, output_mask):
        """G's, its terms' and the estimator's gradients, with one backward pass through G.

        G's loss reaches G's weights only through its fakes `current` (the
        terms read them as ``ctx["fake"]``), and the MI loss only through
        `current` and `previous` (the change ``current[:pairs] -
        previous``, or D's attention on `current` for an estimator that
        reads it). So the gradients at G's outputs are taken first (one
        pass through D and the terms, one through the estimator, and D
        again for the attention), the MI weight is read from them
        (`balanced` needs no pass of its own), and G is differentiated
        once, from its outputs, seeded with ``dL/dx + w * dL_mi/dx`` on
        `current` and ``w * dL_mi/dx_prev`` on `previous`: the gradient of
        ``L + w * L_mi``, exactly. The estimator always fits its bound;
        only `lambda_mi` decides whether G is trained to raise it. With
        `g_gradient_mask`, ``dL/dx`` is first scaled by ``1 + a *
        output_mask`` (D's mask of `current`).

        Returns:
            (gradients of G's variables then of the g terms', gradients of
            the estimator's variables, the MI weight).
        """
        at_output, *term_gradients = tape.gradient(objective, [current, *self._term_variables("g")])
        if self.g_gradient_mask:
            at_output *= ops.cast(1.0 + self.g_gradient_mask * output_mask, at_output.dtype)
        mi_at_current, mi_at_previous, *q_gradients = tape.gradient(
            estimator_objective,
            [current, previous, *self.estimator_variables],
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )
        weight = ops.zeros(())
        if self.lambda_mi > 0:
            weight = self.weight_mi(self.lambda_mi, at_output, mi_at_current)
        weight = ops.cast(weight, at_output.dtype)
        generator_gradients = tape.gradient(
            [current, previous],
            self.generator.trainable_variables,
            output_gradients=[at_output + weight * mi_at_current, weight * mi_at_previous],
        )
        return generator_gradients + term_gradients, q_gradients, weight

    def get_config(self):
        config = super().get_config()
        config.update(
            mi_estimator=keras.saving.serialize_keras_object(self.mi_estimator),
            lambda_mi=self.lambda_mi,
            mi_pairs=self.mi_pairs,
            mi_weighting=self.mi_weighting,
            g_gradient_mask=self.g_gradient_mask,
            first_mask=self.first_mask.name,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = deserialized(config)
        # Trainers saved before each mode was a class were all AttnGANs.
        trainer = trainer_class(config["generator"], config["discriminator"])
        if trainer is not cls:
            for key in ("mi_estimator", "lambda_mi", "mi_pairs", "mi_weighting", "g_gradient_mask", "first_mask"):
                config.pop(key, None)
            return trainer(**config)
        return cls(**config)


def trainer_class(generator, discriminator):
    """The trainer class for a G and a D: super-resolution, attention or plain."""
    if "lowres" in [tensor.name for tensor in getattr(generator, "inputs", None) or ()]:
        return SuperResolutionGAN
    return AttnGAN if discriminator.mask_source.uses_mask else GAN
