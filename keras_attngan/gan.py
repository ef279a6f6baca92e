"""AttnGAN: the attention-guided GAN trainer of seed 000 as a `keras.Model`."""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan import losses
from keras_attngan.latent import LatentSpec
from keras_attngan.regularizers import mask_mutual_information


def synthesize(generator, discriminator, latent, steps, training=False):
    """Synthesizes images the way the inner loop trains G to (seed 000, claim 14).

    ``x_0 = G(z, uniform mask)``, then for k = 1..steps ``s_k = D(x_{k-1})``'s
    attention and ``x_k = G(z, s_k)``. With mask source ``none`` this is
    ``G(z)``.

    Args:
        generator: G.
        discriminator: D.
        latent: dict of G's latent inputs, e.g. ``{"z": z}``.
        steps: number of mask refinements K (0 gives the uniform-mask image).
        training: Keras training flag for both networks.

    Returns:
        ``{"images": x_K, "masks": [B, K, S, S, 1] (s_1..s_K),
        "trajectory": [B, K + 1, S, S, C] (x_0..x_K)}``; without a mask
        source, masks and trajectory hold only what exists (no masks).
    """
    if discriminator.attention == "none":
        images = generator(latent, training=training)
        return {"images": images, "trajectory": images[:, None]}
    z = latent["z"]
    mask = ops.ones((ops.shape(z)[0], discriminator.image_size, discriminator.image_size, 1))
    images = generator({**latent, "mask": mask}, training=training)
    masks, trajectory = [], [images]
    for _ in range(steps):
        mask = discriminator(images, training=training)["attention"]
        images = generator({**latent, "mask": mask}, training=training)
        masks.append(mask)
        trajectory.append(images)
    outputs = {"images": images, "trajectory": ops.stack(trajectory, axis=1)}
    if masks:
        outputs["masks"] = ops.stack(masks, axis=1)
    return outputs


def _replicas():
    """(number of replicas in sync, this replica's index); (1, 0) without distribution."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: called outside `strategy.run`
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def scaled_loss(optimizer, loss):
    """The loss to differentiate: this replica's share of the global-batch loss.

    Each replica computes `loss` as the mean over its part of the global
    batch, and the optimizer sums the replicas' gradients, so dividing by
    the number of replicas gives the gradient of the global-batch mean. Under
    a `LossScaleOptimizer` (``mixed_float16``) `scale_loss` multiplies by the
    loss scale, which the optimizer divides out of the gradients.
    """
    replicas, _ = _replicas()
    return optimizer.scale_loss(loss / replicas)


def replica_latent(latent, batch_size, seed_generator):
    """This replica's noise: its slice of one global-batch draw from `seed_generator`.

    Every replica advances the same seed state, so drawing only its own
    batch would give all replicas the same z; slicing one global draw gives
    each replica different noise, and the global batch the noise a single
    device draws.
    """
    replicas, index = _replicas()
    sample = latent.sample(batch_size * replicas, seed_generator)
    if replicas == 1:
        return sample
    start = index * batch_size
    return {key: value[start : start + batch_size] for key, value in sample.items()}


@keras.saving.register_keras_serializable(package="keras_attngan")
class AttnGAN(keras.Model):
    """A GAN whose discriminator explains itself and whose generator listens.

    Seed 000, claims 1-5. Each `train_step`:

    1. samples z once and holds it constant through the inner loop (claim 2);
    2. runs the generator inner loop K times. It starts from the uniform mask
       (claim 3): ``x_prev = G(z, 1)``, ``s = D(x_prev)``'s attention. Each
       iteration synthesizes ``x_cur = G(z, s)`` and minimizes
       ``adversarial(D(x_cur)) + lambda_mi * CE(s, Q(x_cur - x_prev))``, whose
       second term maximizes a variational lower bound on the mutual
       information between the current mask and the change it caused
       (claims 1, 4, 5); G and Q are updated, D is not. The mask D gives
       ``x_cur`` is the next iteration's mask, so the loop costs one D pass
       per iteration;
    3. takes one D step on the real batch and the inner loop's last fakes
       (the same G parameters a D-first step would see).

    `train_step` does maths only: no summaries, images or files (callbacks do
    that), no Python side effects, so it runs under `tf.function`, XLA
    (`jit_compile=True`) and any `tf.distribute` strategy.

    With the discriminator's mask source ``none`` the loop degenerates to the
    plain non-conditional GAN: the baseline every result is compared against.

    Args:
        generator: G, called as ``G({"z": ..., "mask": ...})`` (no mask key
            when D's attention is ``none``).
        discriminator: a `Discriminator` (returns a dict with ``logits`` and
            ``attention``).
        latent_dim: size of z.
        mask_predictor: Q, from the output change to mask logits; required
            when ``lambda_mi > 0`` and D has a mask source.
        inner_steps: K, generator updates per step (>= 1).
        lambda_mi: weight of the mutual-information term (>= 0).
        seed: seed of the model's `keras.random.SeedGenerator`.
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        mask_predictor=None,
        inner_steps=1,
        lambda_mi=1.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(inner_steps, int) or inner_steps < 1:
            raise ValueError(
                "`inner_steps` (K, the generator inner-loop length) should be an "
                f"integer >= 1. Received: inner_steps={inner_steps!r}"
            )
        if lambda_mi < 0:
            raise ValueError(
                f"`lambda_mi` should be >= 0. Received: lambda_mi={lambda_mi!r}"
            )
        self.uses_mask = discriminator.attention != "none"
        if self.uses_mask and lambda_mi > 0 and mask_predictor is None:
            raise ValueError(
                "`mask_predictor` (Q) is required when the discriminator has a mask "
                f"source and lambda_mi > 0. Received: attention="
                f"{discriminator.attention!r}, lambda_mi={lambda_mi!r}, mask_predictor=None"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.mask_predictor = mask_predictor if self.uses_mask else None
        self.latent = LatentSpec(latent_dim)
        self.inner_steps = inner_steps
        self.lambda_mi = float(lambda_mi)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

        names = ["d_loss", "g_loss", "d_real", "d_fake"]
        if self.uses_mask:
            names += ["mask_mean", "mask_std"]
            if self.mask_predictor is not None:
                names += ["mi_bound", "mi_ceiling", "mi_loss"]
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # Every network arrives built, so the trainer is too (and saves whole).
        self.built = True

    @property
    def metrics(self):
        return list(self._trackers.values())

    @property
    def generator_variables(self):
        """The variables the inner loop updates: G's and Q's."""
        variables = list(self.generator.trainable_variables)
        if self.mask_predictor is not None:
            variables += self.mask_predictor.trainable_variables
        return variables

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", **kwargs):
        """Configures training.

        Args:
            d_optimizer: optimizer of D; it is also `model.optimizer`, so its
                `iterations` counts train steps (what Keras callbacks read).
            g_optimizer: optimizer of G and Q (K updates per train step).
            loss: name of an adversarial loss in `keras_attngan.losses.LOSSES`.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...).
        """
        self.loss_fn = losses.get_loss(loss)
        self.loss_name = loss
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
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator_variables)

    def get_compile_config(self):
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.loss_name,
            "jit_compile": self.jit_compile,
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            loss=config["loss"],
            jit_compile=config["jit_compile"],
            steps_per_execution=config["steps_per_execution"],
        )

    @property
    def train_steps(self):
        """Number of completed train steps (one D update each)."""
        return self.d_optimizer.iterations

    def call(self, latent, training=False):
        """Synthesizes images from latent inputs with K mask refinements."""
        if not isinstance(latent, dict):
            latent = {"z": latent}
        return synthesize(
            self.generator, self.discriminator, latent, self.inner_steps, training
        )["images"]

    def synthesize(self, latent, steps=None):
        """`synthesize` with this model's networks; steps defaults to K."""
        steps = self.inner_steps if steps is None else steps
        return synthesize(self.generator, self.discriminator, latent, steps)

    def _generator_inner_loop(self, latent, batch_size):
        """Claims 1-5: K updates of G (and Q); returns the last fakes and stats."""
        stats = {}
        if self.uses_mask:
            size = self.discriminator.image_size
            uniform = ops.ones((batch_size, size, size, 1))  # claim 3
            previous = self.generator({**latent, "mask": uniform}, training=True)
            mask = self.discriminator(previous, training=True)["attention"]
            mask = ops.stop_gradient(mask)
        variables = self.generator_variables
        mask_stats, mi_stats = [], []
        # A Python loop, unrolled when traced: a tf.while_loop carrying
        # gradients under XLA fails (tensorflow#39060) and K is small.
        for _ in range(self.inner_steps):
            with tf.GradientTape() as tape:
                inputs = {**latent, "mask": mask} if self.uses_mask else latent
                current = self.generator(inputs, training=True)
                d_out = self.discriminator(
                    current, training=True, return_attention=self.uses_mask
                )
                g_loss = self.loss_fn(None, d_out["logits"]).g_loss
                total = g_loss
                if self.mask_predictor is not None:
                    q_logits = self.mask_predictor(current - previous, training=True)
                    mi = mask_mutual_information(mask, q_logits)
                    total = g_loss + self.lambda_mi * mi.loss
                    mi_stats.append(mi)
                objective = scaled_loss(self.g_optimizer, total)
            gradients = tape.gradient(objective, variables)
            self.g_optimizer.apply(gradients, variables)
            if self.uses_mask:
                mask_stats.append(
                    (ops.mean(mask), ops.mean(ops.std(mask, axis=(1, 2, 3))))
                )
                previous = ops.stop_gradient(current)
                mask = ops.stop_gradient(d_out["attention"])
        stats["g_loss"] = g_loss
        if mask_stats:
            stats["mask_mean"] = ops.mean(ops.stack([m for m, _ in mask_stats]))
            stats["mask_std"] = ops.mean(ops.stack([s for _, s in mask_stats]))
        if mi_stats:
            stats["mi_bound"] = ops.mean(ops.stack([m.bound for m in mi_stats]))
            stats["mi_ceiling"] = ops.mean(ops.stack([m.ceiling for m in mi_stats]))
            stats["mi_loss"] = ops.mean(ops.stack([m.loss for m in mi_stats]))
        return ops.stop_gradient(current), stats

    def _discriminator_step(self, real, fake):
        """One D update on the real batch and the inner loop's fakes."""
        batch_size = ops.shape(real)[0]
        # D has no batch statistics, so one call on both halves is exact and
        # cheaper than two.
        images = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)
        with tf.GradientTape() as tape:
            logits = self.discriminator(images, training=True, return_attention=False)[
                "logits"
            ]
            real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
            d_loss = self.loss_fn(real_logits, fake_logits).d_loss
            objective = scaled_loss(self.d_optimizer, d_loss)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply(tape.gradient(objective, variables), variables)
        return {
            "d_loss": d_loss,
            "d_real": ops.mean(ops.sigmoid(real_logits)),
            "d_fake": ops.mean(ops.sigmoid(fake_logits)),
        }

    def train_step(self, data):
        real = data["images"] if isinstance(data, dict) else data
        batch_size = ops.shape(real)[0]
        latent = replica_latent(self.latent, batch_size, self.seed_generator)  # claim 2
        fake, stats = self._generator_inner_loop(latent, batch_size)
        stats.update(self._discriminator_step(real, fake))
        for name, tracker in self._trackers.items():
            tracker.update_state(stats[name])
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            mask_predictor=(
                keras.saving.serialize_keras_object(self.mask_predictor)
                if self.mask_predictor is not None
                else None
            ),
            latent_dim=self.latent.noise_dim,
            inner_steps=self.inner_steps,
            lambda_mi=self.lambda_mi,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator", "mask_predictor"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
