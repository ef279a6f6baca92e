"""GAN: the adversarial trainer every mode builds on, as a `keras.Model`."""

import keras
from keras import ops

from keras_attngan.core import losses
from keras_attngan.core.errors import check_count
from keras_attngan.core.latent import LatentSpec
from keras_attngan.networks.normalizations import get_normalization
from keras_attngan.trainers.discriminator_updates import DiscriminatorUpdates, SharedPass
from keras_attngan.trainers.generator_updates import GeneratorUpdates, mean_stats
from keras_attngan.trainers.recurrence import synthesize
from keras_attngan.trainers.replicas import replica_latent, update_moving_average

# The trainer serializes its spec; `keras_attngan.core.latent` itself imports
# no Keras, so that a config is checked before TensorFlow loads.
keras.saving.register_keras_serializable(package="keras_attngan")(LatentSpec)


def deserialized(config):
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


def _check_arguments(discriminator, latent, inner_steps, d_steps, ema_decay, ema_start):
    """Refuses the trainer's arguments that no mode can train with."""
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


@keras.saving.register_keras_serializable(package="keras_attngan")
class GAN(GeneratorUpdates, DiscriminatorUpdates, keras.Model):
    """The plain GAN: K generator updates, then `d_steps` discriminator updates, per step.

    The baseline every result is compared against, and the base of the
    attention GAN (`keras_attngan.trainers.attention.AttnGAN`) and the
    super-resolution GAN (`keras_attngan.trainers.super_resolution`). Each
    `train_step` samples G's inputs once (`_fake_latent`), takes K G updates
    (`keras_attngan.trainers.generator_updates`), one D update on the real
    batch and the last fakes, and with ``d_steps > 1`` more, each on fresh
    fakes and its own slice of the real batch (compare_gan's ``disc_iters``;
    `keras_attngan.trainers.discriminator_updates`); with ``ema_decay > 0`` it
    then averages G's weights. Loss terms (`keras_attngan.terms`) add their
    losses to every update of their player.

    A class-conditional GAN (a projection D, ``discriminator.num_classes >
    0``) reads the real batch's ``"labels"``: D judges each real image with
    its label and each fake with the label G drew it for (Miyato and Koyama,
    2018).

    Reported values (G's averaged over K updates, D's over D's) are tracked
    since the epoch began (Keras' `metrics`) and in `window_trackers`, which
    `keras_attngan.training.callbacks.ScalarSummaries` resets at each write.

    `train_step` does maths only (no summaries, images, files or Python side
    effects), so it runs under `tf.function`, XLA and any `tf.distribute`
    strategy. A subclass is a mode: it changes what G is given and optimizes
    (`_generator_update`, `_fake_latent`, `_step`), never by a branch here.

    Args:
        generator: G, called as ``G({"z": ...})`` (and ``"codes"``,
            ``"label"`` when the latent spec draws them).
        discriminator: a `Discriminator` (returns a dict with ``logits``).
        latent: the `LatentSpec` G's latent inputs are sampled from.
        inner_steps: K, generator updates per step (>= 1).
        seed: seed of the model's `keras.random.SeedGenerator`.
        d_steps: discriminator updates per step (>= 1): each gets its own
            slice of the batch, so a step takes ``d_steps`` times the D batch.
        ema_decay: decay of the moving average of G's whole state, batch-norm
            statistics too (Yazici et al., 2019; BigGAN); 0 turns it off. The
            average, `ema_generator`, is the `inference_generator` that is
            sampled, evaluated and exported.
        ema_start: the train step from which G's weights are averaged; before
            it the average copies them, forgetting the early weights.
        terms: `keras_attngan.terms.LossTerm`s (built): each adds its losses
            to D's and/or G's objective inside their tapes and reports them.
    """

    # Whether D has a mask source that G takes (`AttnGAN`).
    attends = False
    # Whether D's update reads the D pass G's last update made on the fakes
    # (`SharedPass`, where `one_pass` allows it); False gives each player a
    # pass of its own, as the speed benchmark compares.
    shares_d_pass = True
    # Whether G's inputs are paired with targets (the encoder term reads it).
    paired = False
    # Where the mask recurrence starts (`keras_attngan.core.first_masks`;
    # None: the seed's recurrence), for a mode whose G takes a mask.
    first_mask = None

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
        _check_arguments(discriminator, latent, inner_steps, d_steps, ema_decay, ema_start)
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

    def _term_variables(self, player):
        return [v for term in self.terms if term.player == player for v in term.trainable_variables]

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
        self.loss_fn = losses.get_loss(loss)
        self.loss_name = loss
        self._set_penalty(penalty, penalty_weight, penalty_every)
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
            **self._penalty_config(),
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

    def _as_latent(self, inputs):  # G's latent dict for `call`'s bare-tensor input
        return {"z": inputs}

    def call(self, latent, training=False):
        """Synthesizes images from latent inputs (with K mask refinements where D attends)."""
        if not isinstance(latent, dict):
            latent = self._as_latent(latent)
        return self.synthesize(latent, training=training)["images"]

    def synthesize(self, latent, steps=None, training=False):
        """`keras_attngan.trainers.recurrence.synthesize` with `inference_generator`, D and the first mask.

        `steps` defaults to K.
        """
        steps = self.inner_steps if steps is None else steps
        return synthesize(self.inference_generator, self.discriminator, latent, steps, training, self.first_mask)

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
        shared = SharedPass(self, reals[0], labels[0], latent, data_labels[0]) if self.one_pass else None
        fake, stats = self._generator_inner_loop(reals[0], latent, labels[0], shared)
        if shared is None:
            d_stats = [self._discriminator_step(reals[0], fake, labels[0], latent, data_labels[0])]
        else:
            d_stats = [shared.apply()]
        for update in range(1, self.d_steps):
            latent = self._fake_latent(data, update, batch_size)
            fake = synthesize(
                self.generator, self.discriminator, latent, self.inner_steps, True, self.first_mask
            )["images"]
            d_stats.append(
                self._discriminator_step(
                    reals[update], ops.stop_gradient(fake), labels[update], latent, data_labels[update]
                )
            )
        stats.update(mean_stats(d_stats))
        return stats

    @property
    def one_pass(self):
        """Whether D's update reads G's last D pass (`SharedPass`): one D update, D without batch statistics."""
        return (
            self.shares_d_pass
            and self.d_steps == 1
            and not get_normalization(self.discriminator.normalization).batch_statistics
        )

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

    @classmethod
    def from_config(cls, config):
        return cls(**deserialized(config))
