"""GAN: the adversarial trainer every mode builds on, as a `keras.Model`."""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan.core import losses, penalties
from keras_attngan.core.latent import LatentSpec
from keras_attngan.trainers.recurrence import (
    LabelledDiscriminator,
    joined,
    labelled,
    mask_step,
    synthesize,
)
from keras_attngan.trainers.replicas import (
    replica_latent,
    scaled_loss,
    update_moving_average,
)

# The trainer serializes its spec; `keras_attngan.core.latent` itself imports
# no Keras, so that a config is checked before TensorFlow loads.
keras.saving.register_keras_serializable(package="keras_attngan")(LatentSpec)


def mean_stats(steps):
    """Each statistic's mean over a list of per-update stat dicts."""
    return {
        name: ops.mean(ops.stack([ops.cast(step[name], "float32") for step in steps]))
        for name in steps[0]
    }


def check_count(name, value, minimum, meaning):
    """Refuses a trainer argument that is not an integer >= `minimum` (`meaning` says what it counts)."""
    if not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` ({meaning}) should be an integer >= {minimum}. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="keras_attngan")
class GAN(keras.Model):
    """The plain GAN: K generator updates, then `d_steps` discriminator updates, per step.

    The baseline every result is compared against, and the base of the
    attention GAN (`keras_attngan.trainers.attention.AttnGAN`) and the
    super-resolution GAN (`keras_attngan.trainers.super_resolution`). Each
    `train_step`:

    1. samples z once (`_fake_latent`) and takes K G updates
       (`_generator_update`) on ``adversarial(D(G(z)))`` plus the loss terms;
    2. takes one D step on the real batch and the last fakes, and with
       ``d_steps > 1`` more D steps, each on fresh fakes from the updated G
       and its own slice of the real batch (compare_gan's ``disc_iters``).
       D's loss is the adversarial loss plus the weighted penalty;
    3. with ``ema_decay > 0``, updates the moving average of G's weights.

    Loss terms (`keras_attngan.terms`) add their losses to D's loss in every
    D update and to G's in every G update; a term with its own optimizer
    (``player == "own"``, the encoder E) takes its own update after each D
    update.

    A class-conditional GAN (a projection D, ``discriminator.num_classes >
    0``, and a latent spec drawing labels for as many classes) reads the
    real batch's ``"labels"``: D judges each real image with its label and
    each fake with the label G drew it for (Miyato and Koyama, 2018).

    Reported values (per step; G's averaged over the K updates, D's over the
    D updates): ``d_loss`` (adversarial), ``d_penalty`` (the term added to
    it: weighted, and on a lazy schedule ``penalty_every`` times larger every
    ``penalty_every`` D updates and 0 otherwise), ``g_loss``, ``d_real``,
    ``d_fake``, and each loss term's `reported` values. Keras' trackers
    (`metrics`) average them since the epoch began; `window_trackers` average
    the same values until reset (`keras_attngan.training.callbacks.ScalarSummaries`
    resets them at each write, so every logged point is the mean of its
    window).

    `train_step` does maths only: no summaries, images or files (callbacks do
    that), no Python side effects, so it runs under `tf.function`, XLA
    (`jit_compile=True`) and any `tf.distribute` strategy. A subclass is a
    mode: it changes what G is given and optimizes (`_generator_update`,
    `_fake_latent`, `_step`), never by a branch here.

    Args:
        generator: G, called as ``G({"z": ...})`` (and ``"codes"``,
            ``"label"`` when the latent spec draws them).
        discriminator: a `Discriminator` (returns a dict with ``logits``).
        latent: the `LatentSpec` G's latent inputs are sampled from.
        inner_steps: K, generator updates per step (>= 1).
        seed: seed of the model's `keras.random.SeedGenerator`.
        d_steps: discriminator updates per step (>= 1): each gets its own
            slice of the batch, so a step takes ``d_steps`` times the D batch.
        ema_decay: decay of the exponential moving average of G's weights
            (Yazici et al., 2019; BigGAN, Brock et al., 2019); 0 turns it off.
            With it on, `ema_generator` holds the average and is the G that
            `call`, `synthesize`, the evaluation and the export use
            (`inference_generator`). Every weight is averaged, the batch-norm
            moving statistics too, as BigGAN-PyTorch averages G's whole state.
        ema_start: the train step from which G's weights are averaged; before
            it the average copies them, forgetting the early weights.
        terms: `keras_attngan.terms.LossTerm`s (built): each adds its losses
            to D's and/or G's objective inside their tapes and reports them.
    """

    # Whether D has a mask source that G takes (`AttnGAN`).
    attends = False
    # What the loss terms' context says of the batches (the encoder term
    # reads it); a mode that pairs inputs with targets says True.
    paired = False

    def __init__(
        self,
        generator,
        discriminator,
        latent,
        inner_steps=1,
        seed=None,
        d_steps=1,
        ema_decay=0.0,
        ema_start=0,
        terms=(),
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(latent, LatentSpec):
            raise ValueError(
                "`latent` should be a `keras_attngan.LatentSpec`, e.g. LatentSpec(noise_dim). "
                f"Received: latent={latent!r}"
            )
        check_count("inner_steps", inner_steps, 1, "K, the generator updates per step")
        check_count("d_steps", d_steps, 1, "discriminator updates per step")
        check_count("ema_start", ema_start, 0, "the step G's weight average starts at")
        if not 0 <= ema_decay < 1:
            raise ValueError(f"`ema_decay` should be in [0, 1). Received: ema_decay={ema_decay!r}")
        if latent.num_classes != discriminator.num_classes:
            raise ValueError(
                "`latent` should draw labels for as many classes as the discriminator "
                f"projects. Received: latent.num_classes={latent.num_classes}, "
                f"discriminator.num_classes={discriminator.num_classes}"
            )
        self._check_networks(generator, discriminator, latent)
        self.generator = generator
        self.discriminator = discriminator
        self.latent = latent
        self.conditional = discriminator.num_classes > 0
        self.inner_steps = inner_steps
        self.d_steps = d_steps
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.terms = list(terms)
        self.ema_decay = float(ema_decay)
        self.ema_start = ema_start
        self.ema_generator = None
        if self.ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            # Updated by averaging only, never by an optimizer.
            self.ema_generator.trainable = False
        names = self._reported_names() + [name for term in self.terms for name in term.reported]
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # Not Keras' metrics, so Keras never resets them. A window read as a
        # difference of the epoch trackers' float32 totals is lost once one
        # large value enters them (later values near 1 round away).
        self.window_trackers = {name: keras.metrics.Mean(name=f"window_{name}") for name in names}
        # Every network arrives built, so the trainer is too (and saves whole).
        self.built = True

    def _check_networks(self, generator, discriminator, latent):
        """Refuses networks this mode cannot train (a `ValueError` naming them)."""
        inputs = [tensor.name for tensor in getattr(generator, "inputs", None) or ()]
        if discriminator.mask_source.uses_mask != self.attends:
            raise ValueError(
                "The attention GAN (`keras_attngan.AttnGAN`) trains a discriminator with a "
                "mask source, the plain GAN (`keras_attngan.GAN`) one without. Received: "
                f"{type(self).__name__} with attention={discriminator.attention!r}"
            )
        if bool(latent.code_dim) != ("codes" in inputs):
            raise ValueError(
                "`generator` should take the input 'codes' exactly when `latent` has codes "
                "(build_generator(..., code_dim=latent.code_dim)). Received: "
                f"latent.code_dim={latent.code_dim}, generator inputs={inputs}"
            )

    def _reported_names(self):
        """The names of the values every step reports, before the terms' own."""
        return ["d_loss", "d_penalty", "g_loss", "d_real", "d_fake"]

    @property
    def metrics(self):
        return list(self._trackers.values())

    @property
    def inference_generator(self):
        """The G that is sampled, evaluated and exported: the weight average with EMA on."""
        return self.generator if self.ema_generator is None else self.ema_generator

    @property
    def estimator_variables(self):
        """Variables that G's optimizer trains beside G's own (the attention GAN's estimator)."""
        return []

    def _term_variables(self, player):
        return [v for term in self.terms if term.player == player for v in term.trainable_variables]

    @property
    def own_terms(self):
        """The terms that train with their own optimizer (``player == "own"``)."""
        return [term for term in self.terms if term.player == "own"]

    @property
    def generator_variables(self):
        """The variables a G update updates: G's, the estimator's, then G's terms'."""
        return list(self.generator.trainable_variables) + self.estimator_variables + self._term_variables("g")

    @property
    def discriminator_variables(self):
        """The variables a D update updates: D's, then D's terms'."""
        return list(self.discriminator.trainable_variables) + self._term_variables("d")

    def _terms(self, contribution_of):
        """(Sum of the terms' losses, their reported values) for one update.

        Args:
            contribution_of: term -> its `Contribution` to this update.
        """
        total, reported = 0.0, {}
        for term in self.terms:
            contribution = contribution_of(term)
            total += sum(contribution.losses.values())
            reported.update(contribution.losses)
            reported.update(contribution.metrics)
        return total, reported

    def compile(
        self,
        d_optimizer,
        g_optimizer,
        loss="non_saturating",
        penalty="none",
        penalty_weight=10.0,
        penalty_every=1,
        **kwargs,
    ):
        """Configures training.

        Args:
            d_optimizer: optimizer of D; it is also `model.optimizer`, so its
                `iterations` counts D updates (``d_steps`` per train step).
            g_optimizer: optimizer of G (and the attention GAN's estimator).
            loss: name of an adversarial loss in `keras_attngan.core.losses.LOSSES`.
            penalty: name of a D penalty in `keras_attngan.core.penalties.PENALTIES`.
            penalty_weight: its weight in D's loss (>= 0).
            penalty_every: lazy regularization (Karras et al., 2020, "Analyzing
                and improving the image quality of StyleGAN", section 3.1): the
                penalty is computed at every `penalty_every`-th D update only,
                times `penalty_every`, so its average weight is unchanged.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...).
        """
        if penalty_weight < 0:
            raise ValueError(f"`penalty_weight` should be >= 0. Received: penalty_weight={penalty_weight!r}")
        check_count("penalty_every", penalty_every, 1, "D updates per penalty")
        self.loss_fn = losses.get_loss(loss)
        self.loss_name = loss
        self.penalty_fn = penalties.get_penalty(penalty)
        self.penalty_name = penalty
        self.penalty_weight = float(penalty_weight)
        self.penalty_every = penalty_every
        d_optimizer = keras.optimizers.get(d_optimizer)
        g_optimizer = keras.optimizers.get(g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "`d_optimizer` and `g_optimizer` should be two optimizer instances: "
                "one optimizer cannot hold the state of both players."
            )
        super().compile(optimizer=d_optimizer, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.build_optimizers()

    def build_optimizers(self):
        """Creates the optimizers' slots now, so checkpoints restore eagerly."""
        self.d_optimizer.build(self.discriminator_variables)
        self.g_optimizer.build(self.generator_variables)
        for term in self.own_terms:
            term.optimizer.build(term.trainable_variables)

    def get_compile_config(self):
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.loss_name,
            "penalty": self.penalty_name,
            "penalty_weight": self.penalty_weight,
            "penalty_every": self.penalty_every,
            "jit_compile": self.jit_compile,
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    @property
    def train_steps(self):
        """Number of completed train steps (K G updates and `d_steps` D updates each)."""
        return self.d_optimizer.iterations // self.d_steps

    def _as_latent(self, inputs):
        """G's latent dict for `call`'s bare-tensor input."""
        return {"z": inputs}

    def call(self, latent, training=False):
        """Synthesizes images from latent inputs (with K mask refinements where D attends)."""
        if not isinstance(latent, dict):
            latent = self._as_latent(latent)
        return synthesize(self.inference_generator, self.discriminator, latent, self.inner_steps, training)["images"]

    def synthesize(self, latent, steps=None):
        """`keras_attngan.trainers.recurrence.synthesize` with `inference_generator` and D; steps defaults to K."""
        steps = self.inner_steps if steps is None else steps
        return synthesize(self.inference_generator, self.discriminator, latent, steps)

    def _real_logits_for_g(self, real, real_labels):
        """D's logits on the real batch for G's loss, or None when the loss ignores them.

        D is not updated during G's updates, so one pass serves all K; losses
        whose g_loss ignores the real logits (all but the relativistic ones)
        skip it.
        """
        if not losses.needs_real_logits_for_g(self.loss_fn):
            return None
        logits = self.discriminator(real, training=True, return_attention=False, **labelled(real_labels))["logits"]
        return ops.stop_gradient(logits)

    def _generator_objective(self, real, fake, fake_logits, real_logits, latent, mask=None):
        """(G's objective before scaling, the values it reports) for fakes `fake` D scored `fake_logits`.

        The adversarial loss, weighted by `_adversarial_weight`, plus the loss
        terms' G losses; the terms read the fakes with the labels G drew them
        for.
        """
        g_loss = self.loss_fn(ops.zeros_like(fake_logits) if real_logits is None else real_logits, fake_logits).g_loss
        context = {
            "real": real,
            "fake": fake,
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

    def _generator_update(self, real, latent, real_logits, state):
        """One G update; returns (the fakes, the reported values, the next update's state).

        `state` carries what one update hands the next (the attention GAN's
        masks); the plain GAN has none.
        """
        variables = list(self.generator.trainable_variables) + self._term_variables("g")
        with tf.GradientTape() as tape:
            fake, d_out = mask_step(self.generator, self.discriminator, latent, None, True)
            objective, stats = self._generator_objective(real, fake, d_out["logits"], real_logits, latent)
            objective = scaled_loss(self.g_optimizer, objective)
        self.g_optimizer.apply(tape.gradient(objective, variables), variables)
        return fake, stats, state

    def _initial_state(self, latent, batch_size):
        """The state the first of the K G updates starts from."""
        return None

    def _generator_inner_loop(self, real, latent, real_labels=None):
        """The K G updates of a step; returns the last fakes and the mean reported values.

        `real` is the real batch the fakes are paired with (`real_labels` its
        labels, None for an unconditional GAN).
        """
        real_logits = self._real_logits_for_g(real, real_labels)
        state = self._initial_state(latent, ops.shape(real)[0])
        updates = []
        # A Python loop, unrolled when traced: a tf.while_loop carrying
        # gradients under XLA fails (tensorflow#39060) and K is small.
        for _ in range(self.inner_steps):
            fake, stats, state = self._generator_update(real, latent, real_logits, state)
            updates.append(stats)
        return ops.stop_gradient(fake), mean_stats(updates)

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
            logits = self.discriminator(
                images,
                training=True,
                return_attention=False,
                **labelled(joined(real_labels, fake_latent.get("label"))),
            )["logits"]
            real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
            d_loss = self.loss_fn(real_logits, fake_logits).d_loss
            penalty = self._penalty(real, fake, real_labels)
            context = {
                "real": real,
                "fake": fake,
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
        variables = self.discriminator_variables
        self.d_optimizer.apply(tape.gradient(objective, variables), variables)
        stats.update(self._own_steps(context))
        return {
            **stats,
            "d_loss": d_loss,
            "d_penalty": penalty,
            "d_real": ops.mean(ops.sigmoid(real_logits)),
            "d_fake": ops.mean(ops.sigmoid(fake_logits)),
        }

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

    def _update_ema(self, step):
        """Averages G's weights after train step `step` (0-based); a copy before `ema_start`."""
        decay = ops.where(step >= self.ema_start, self.ema_decay, 0.0)
        update_moving_average(self.ema_generator.weights, self.generator.weights, decay)

    def _reported(self, stats):
        """The tracked values of `stats`, as float32 scalars."""
        return {name: ops.cast(ops.reshape(stats[name], ()), "float32") for name in self._trackers}

    def train_step(self, data):
        step = self.train_steps
        stats = self._step(data)
        # Last: with d_steps > 1 the later D updates' G passes move G's batch
        # statistics, which belong to this step's G.
        if self.ema_generator is not None:
            self._update_ema(step)
        for name, tracker in self._trackers.items():
            tracker.update_state(stats[name])
            self.window_trackers[name].update_state(stats[name])
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def _step(self, data):
        """One train step's updates; returns the tracked values."""
        return self._reported(self._adversarial_step(data))

    def _fake_latent(self, data, update, batch_size):
        """G's inputs for D update `update`: noise drawn now, held through G's updates."""
        return replica_latent(self.latent, batch_size, self.seed_generator)

    def _adversarial_step(self, data):
        """G's K updates, then `d_steps` D updates; returns the reported values."""
        images = data["images"] if isinstance(data, dict) else data
        # compare_gan's disc_iters: every D update gets real images of its own.
        reals = ops.split(images, self.d_steps, axis=0)
        # Loss terms may read the labels of any GAN's data (InfoGAN's
        # supervised codes); D reads them only when conditional.
        data_labels = (
            ops.split(data["labels"], self.d_steps, axis=0)
            if isinstance(data, dict) and "labels" in data
            else [None] * self.d_steps
        )
        # An unconditional GAN ignores labels (unlabelled sources give zeros).
        labels = data_labels if self.conditional else [None] * self.d_steps
        batch_size = ops.shape(reals[0])[0]
        latent = self._fake_latent(data, 0, batch_size)
        fake, stats = self._generator_inner_loop(reals[0], latent, labels[0])
        d_stats = [self._discriminator_step(reals[0], fake, labels[0], latent, data_labels[0])]
        for update in range(1, self.d_steps):
            latent = self._fake_latent(data, update, batch_size)
            fake = synthesize(self.generator, self.discriminator, latent, self.inner_steps, training=True)["images"]
            d_stats.append(
                self._discriminator_step(
                    reals[update], ops.stop_gradient(fake), labels[update], latent, data_labels[update]
                )
            )
        stats.update(mean_stats(d_stats))
        return stats

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent=keras.saving.serialize_keras_object(self.latent),
            inner_steps=self.inner_steps,
            d_steps=self.d_steps,
            seed=self.seed,
            ema_decay=self.ema_decay,
            ema_start=self.ema_start,
            terms=[keras.saving.serialize_keras_object(term) for term in self.terms],
        )
        return config

    @staticmethod
    def _deserialized(config):
        """`get_config`'s dict with its networks, spec and terms deserialized."""
        config = dict(config)
        for key in ("generator", "discriminator", "mi_estimator", "latent"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        config["terms"] = [keras.saving.deserialize_keras_object(t) for t in config.get("terms", ())]
        # Trainers saved before the latent spec was injected stored its size only.
        if "latent_dim" in config:
            config["latent"] = LatentSpec(config.pop("latent_dim"))
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**cls._deserialized(config))
