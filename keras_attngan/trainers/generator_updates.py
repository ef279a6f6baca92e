"""G's side of a train step: its objective and its K updates, as a mixin of the trainers."""

import tensorflow as tf
from keras import ops

from keras_attngan.core import losses
from keras_attngan.trainers.recurrence import LabelledDiscriminator, labelled, mask_step
from keras_attngan.trainers.replicas import scaled_loss


def mean_stats(steps):
    """Each statistic's mean over a list of per-update stat dicts."""
    return {
        name: ops.mean(ops.stack([ops.cast(step[name], "float32") for step in steps]))
        for name in steps[0]
    }


class GeneratorUpdates:
    """The K generator updates of a step, mixed into `keras_attngan.trainers.base.GAN`.

    As Keras composes `keras.Model` from its `Trainer`, the trainer is
    composed from its players' updates. Each update descends
    ``_adversarial_weight() * adversarial(D(G(z))) + terms``: the adversarial
    loss of `compile`'s `loss` and the G losses of the loss terms, on fakes
    drawn from the latent inputs `_fake_latent` gave the step. A mode changes
    what one update does (`_generator_update`, with a `state` handed from one
    update to the next: the attention GAN's masks) and what G is judged by
    (`_generator_objective`, `_adversarial_weight`).
    """

    @property
    def estimator_variables(self):
        """Variables that G's optimizer trains beside G's own (the attention GAN's estimator)."""
        return []

    @property
    def generator_variables(self):
        """The variables a G update updates: G's, the estimator's, then G's terms'."""
        return list(self.generator.trainable_variables) + self.estimator_variables + self._term_variables("g")

    def _real_outputs_for_g(self, real, real_labels):
        """D's outputs on the real batch for G's loss, or None when the loss ignores them.

        D is not updated during G's updates, so one pass serves all K; losses
        whose g_loss ignores the real logits (all but the relativistic ones)
        skip it.
        """
        if not losses.needs_real_logits_for_g(self.loss_fn):
            return None
        outputs = self.discriminator(real, training=True, return_attention=False, **labelled(real_labels))
        return {name: ops.stop_gradient(value) for name, value in outputs.items()}

    def _generator_objective(self, real, fake, fake_outputs, real_outputs, latent, mask=None):
        """(G's objective before scaling, the values it reports) for fakes `fake` D judged with `fake_outputs`.

        The adversarial loss, weighted by `_adversarial_weight`, plus the loss
        terms' G losses; the terms read the fakes with the labels G drew them
        for, and D's outputs on them (and on the real batch, `real_outputs`,
        when the loss reads it; else None).
        """
        fake_logits = fake_outputs["logits"]
        real_logits = ops.zeros_like(fake_logits) if real_outputs is None else real_outputs["logits"]
        g_loss = self.loss_fn(real_logits, fake_logits).g_loss
        context = {
            "real": real,
            "fake": fake,
            "fake_outputs": fake_outputs,
            "real_outputs": real_outputs,
            "loss": self.loss_fn,
            "paired": self.paired,
            "latent": latent,
            "mask": mask,
            "discriminator": LabelledDiscriminator(self.discriminator, latent.get("label")),
            "seed_generator": self.seed_generator,
        }
        terms, stats = self._terms(lambda term: term.g_terms(context))
        stats["g_loss"] = g_loss
        return self._adversarial_weight() * g_loss + terms, stats

    def _adversarial_weight(self):
        """The weight of D's verdict in G's objective."""
        return 1.0

    def _generator_update(self, real, latent, real_outputs, state, shared=None):
        """One G update; returns (the fakes, the reported values, the next update's state).

        `state` carries what one update hands the next (the attention GAN's
        masks); the plain GAN has none. `shared` (a
        `keras_attngan.trainers.discriminator_updates.SharedPass`, given to
        the last update) records D's objective from this update's D pass on
        the fakes and takes D's gradients from its tape.
        """
        variables = self.generator_variables
        with tf.GradientTape(persistent=shared is not None) as tape:
            fake, d_out = mask_step(self.generator, self.discriminator, latent, None, True)
            objective, stats = self._generator_objective(real, fake, d_out, real_outputs, latent)
            objective = scaled_loss(self.g_optimizer, objective)
            if shared is not None:
                shared(fake, d_out)
        gradients = tape.gradient(objective, variables)
        if shared is not None:
            shared.differentiate(tape)
        del tape
        self.g_optimizer.apply(gradients, variables)
        return fake, stats, state

    def _initial_state(self, latent, batch_size):
        """The state the first of the K G updates starts from."""
        return None

    def _generator_inner_loop(self, real, latent, real_labels=None, shared=None):
        """The K G updates of a step; returns the last fakes and the mean reported values.

        `real` is the real batch the fakes are paired with (`real_labels` its
        labels, None for an unconditional GAN); `shared` goes to the last
        update (`_generator_update`).
        """
        real_outputs = self._real_outputs_for_g(real, real_labels)
        state = self._initial_state(latent, ops.shape(real)[0])
        updates = []
        # A Python loop, unrolled when traced: a tf.while_loop carrying
        # gradients under XLA fails (tensorflow#39060) and K is small.
        for update in range(self.inner_steps):
            last = update == self.inner_steps - 1
            fake, stats, state = self._generator_update(real, latent, real_outputs, state, shared if last else None)
            updates.append(stats)
        return ops.stop_gradient(fake), mean_stats(updates)
