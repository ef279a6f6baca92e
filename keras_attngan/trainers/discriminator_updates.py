"""D's side of a train step: one D update and the updates of terms with their own optimizer, as a mixin."""

import tensorflow as tf
from keras import ops

from keras_attngan.core import penalties
from keras_attngan.core.errors import check_count
from keras_attngan.trainers.recurrence import LabelledDiscriminator, joined, labelled
from keras_attngan.trainers.replicas import scaled_loss


class SharedPass:
    """D's update from the D pass G's last update made on its fakes (docs/design.md, note 1b).

    With one D update per step, D trains on the fakes of G's last update,
    with the weights that judged them there: the D pass on the fakes is the
    same numbers in both updates. G's last update therefore calls this
    object inside its tape with the fakes and D's outputs on them (D judges
    the real batch there too, in a call of its own, so that G's backward
    pass runs through the fakes' half only), hands it the tape once it has
    taken G's gradients (`differentiate`), and the step then applies D's
    gradients (`apply`). Exact for a D without batch statistics, whose
    output for a sample does not depend on the others in its call.

    Args:
        trainer: the `GAN`.
        real: the real batch of D's update; `real_labels` what a
            conditional D judges it with, `latent` G's inputs (their
            ``"label"`` judges the fakes), `data_labels` the batch's labels
            for the loss terms (as `DiscriminatorUpdates._discriminator_step`).
    """

    def __init__(self, trainer, real, real_labels, latent, data_labels):
        self.trainer = trainer
        self.real, self.real_labels = real, real_labels
        self.latent, self.data_labels = latent, data_labels

    def __call__(self, fake, fake_outputs):
        """Records D's objective on the real batch and `fake`, which D judged with `fake_outputs`."""
        trainer = self.trainer
        real_outputs = trainer.discriminator(
            self.real, training=True, return_attention=False, **labelled(self.real_labels)
        )
        fake = ops.stop_gradient(ops.cast(fake, self.real.dtype))
        self.objective, self.stats, self.context = trainer._discriminator_objective(
            self.real, fake, real_outputs, fake_outputs, self.real_labels, self.latent, self.data_labels
        )

    def differentiate(self, tape):
        """D's gradients from G's (persistent) tape."""
        self.gradients = tape.gradient(self.objective, self.trainer.discriminator_variables)

    def apply(self):
        """Applies D's gradients, then the own terms' updates; returns D's reported values."""
        trainer = self.trainer
        trainer.d_optimizer.apply(self.gradients, trainer.discriminator_variables)
        self.stats.update(trainer._own_steps(self.context))
        return self.stats


class DiscriminatorUpdates:
    """The discriminator updates of a step, mixed into `keras_attngan.trainers.base.GAN`.

    Each D update descends the adversarial loss on a real batch and as many
    fakes, plus the weighted penalty (on the lazy schedule of
    `penalty_every`) and the loss terms' D losses; then each term with its own
    optimizer (``player == "own"``, the encoder E) takes its own update on
    the same batch. It reports ``d_loss`` (adversarial), ``d_penalty`` (the
    weighted term added to it: ``penalty_every`` times larger at the updates
    that compute it and 0 at the others), ``d_real`` and ``d_fake`` (D's mean
    probability of "real" on each half), and the terms' reported values.
    """

    @property
    def own_terms(self):
        """The terms that train with their own optimizer (``player == "own"``)."""
        return [term for term in self.terms if term.player == "own"]

    @property
    def discriminator_variables(self):
        """The variables a D update updates: D's, then D's terms'."""
        return list(self.discriminator.trainable_variables) + self._term_variables("d")

    def _set_penalty(self, penalty, weight, every):
        """Sets D's penalty (a name in `keras_attngan.core.penalties.PENALTIES`), its weight and schedule."""
        if weight < 0:
            raise ValueError(f"`penalty_weight` should be >= 0. Received: penalty_weight={weight!r}")
        check_count("penalty_every", every, 1, "D updates per penalty")
        self.penalty_fn = penalties.get_penalty(penalty)
        self.penalty_name = penalty
        self.penalty_weight = float(weight)
        self.penalty_every = every

    def _penalty_config(self):
        return {"penalty": self.penalty_name, "penalty_weight": self.penalty_weight, "penalty_every": self.penalty_every}

    def _penalty(self, real, fake, real_labels=None):
        """The penalty term of D's loss: weighted, and on the lazy schedule of `penalty_every`.

        `tf.cond` skips the penalty's D passes at the updates that do not
        need it, under `tf.function` and XLA alike. A conditional D scores
        the penalty's images (real, or between real and fake) with the real
        labels, as conditional WGAN-GP implementations do.
        """

        def term():
            discriminator = LabelledDiscriminator(self.discriminator, real_labels)
            penalty = self.penalty_fn(discriminator, real, fake, self.seed_generator)
            return self.penalty_weight * self.penalty_every * ops.cast(penalty, "float32")

        due = ops.equal(self.d_optimizer.iterations % self.penalty_every, 0)
        return tf.cond(due, term, lambda: ops.zeros((), "float32"))

    def _discriminator_step(self, real, fake, real_labels=None, fake_latent=None, data_labels=None):
        """One D update on a real batch and as many fakes.

        `real_labels` are what a conditional D judges the real batch with
        (None when unconditional), `fake_latent` the latent inputs the fakes
        were drawn from (their ``"label"`` judges them), `data_labels` the
        real batch's labels whatever the GAN (None when the data has none),
        for the loss terms.
        """
        fake_latent = fake_latent or {}
        batch_size = ops.shape(real)[0]
        fake = ops.cast(fake, real.dtype)
        # One call on both halves is cheaper than two, and exact for a D
        # without batch statistics; a batch-normalized D normalizes the two
        # halves together, as compare_gan's does.
        images = ops.concatenate([real, fake], axis=0)
        with tf.GradientTape() as tape:
            outputs = self.discriminator(
                images,
                training=True,
                return_attention=False,
                **labelled(joined(real_labels, fake_latent.get("label"))),
            )
            real_outputs = {name: value[:batch_size] for name, value in outputs.items()}
            fake_outputs = {name: value[batch_size:] for name, value in outputs.items()}
            objective, stats, context = self._discriminator_objective(
                real, fake, real_outputs, fake_outputs, real_labels, fake_latent, data_labels
            )
        variables = self.discriminator_variables
        self.d_optimizer.apply(tape.gradient(objective, variables), variables)
        stats.update(self._own_steps(context))
        return stats

    def _discriminator_objective(self, real, fake, real_outputs, fake_outputs, real_labels, fake_latent, data_labels):
        """(D's scaled objective, the values it reports, the terms' context) from D's outputs on both batches."""
        real_logits, fake_logits = real_outputs["logits"], fake_outputs["logits"]
        d_loss = self.loss_fn(real_logits, fake_logits).d_loss
        penalty = self._penalty(real, fake, real_labels)
        context = {
            "real": real,
            "fake": fake,
            "real_outputs": real_outputs,
            "fake_outputs": fake_outputs,
            "loss": self.loss_fn,
            "d_updates": self.d_optimizer.iterations,
            "paired": self.paired,
            "latent": fake_latent,
            "labels": data_labels,
            "generator": self.generator,
            # Terms judge the real batch in D's step: its labels go with it.
            "discriminator": LabelledDiscriminator(self.discriminator, real_labels),
            "seed_generator": self.seed_generator,
        }
        terms, stats = self._terms(lambda term: term.d_terms(context))
        objective = scaled_loss(self.d_optimizer, d_loss + penalty + terms)
        stats.update(
            d_loss=d_loss,
            d_penalty=penalty,
            d_real=ops.mean(ops.sigmoid(real_logits)),
            d_fake=ops.mean(ops.sigmoid(fake_logits)),
        )
        return objective, stats, context

    def _own_steps(self, context):
        """One update of each ``"own"`` term on D's batch (such as the encoder E's step).

        Only the term's variables are differentiated and its own optimizer
        applies the gradients, so G and D are constants here, and the
        term's variables move in this step only.
        """
        stats = {}
        for term in self.own_terms:
            variables = term.trainable_variables
            with tf.GradientTape() as tape:
                contribution = term.own_terms(context)
                loss = scaled_loss(term.optimizer, sum(contribution.losses.values()))
            term.optimizer.apply(tape.gradient(loss, variables), variables)
            stats.update(contribution.losses)
            stats.update(contribution.metrics)
        return stats
