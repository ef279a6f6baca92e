"""AttnGAN: the attention-guided GAN trainer as a `keras.Model` (docs/method.md)."""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan import losses, penalties
from keras_attngan.information import MI_WEIGHTINGS
from keras_attngan.latent import LatentSpec
from keras_attngan.masks import mask_statistics
from keras_attngan.networks.upscaler import upscale_factor
from keras_attngan.registry import lookup

# The trainer serializes its spec; `keras_attngan.latent` itself imports no
# Keras, so that a config is checked before TensorFlow loads.
keras.saving.register_keras_serializable(package="keras_attngan")(LatentSpec)


def uniform_mask(batch_size, size):
    """The mask that weights all parts equally, where the recurrence starts."""
    return ops.ones((batch_size, size, size, 1))


def generate(generator, latent, mask, training=False):
    """``x = G(z, s)``, or ``G(z)`` without a mask source (`mask` None)."""
    return generator(latent if mask is None else {**latent, "mask": mask}, training=training)


def generate_pair(generator, latent, mask_a, mask_b, pairs=None, training=False):
    """``(G(z, s_a), G(z, s_b))`` from one G call, the first on only `pairs` samples.

    The inner loop's change ``G(z, s) - G(z, s_prev)`` must be what the mask
    changes in the exported G. In training mode batch normalization
    normalizes each call by its own batch: two calls subtract from each
    output its own batch's mean mask effect, so their difference keeps only
    how each sample's mask departs from the batch's, and G learned to carry
    the mutual information there. It vanished in inference mode, where the
    moving statistics subtract nothing per batch (`benchmarks/batch_statistics.py`
    measures the bound in both modes; docs/design.md, note 2c). One call
    normalizes both parts alike, as inference does.

    Args:
        pairs: how many samples (the first) get ``G(z, s_a)``; None: all.
            Every sample gets ``G(z, s_b)``. Fewer pairs cost less: each
            is a G forward and backward pass more for one sample.

    Returns:
        ``G(z[:pairs], s_a[:pairs])`` and ``G(z, s_b)``.
    """
    first = slice(None) if pairs is None else slice(None, pairs)
    both = {key: ops.concatenate([value[first], value], axis=0) for key, value in latent.items()}
    both["mask"] = ops.concatenate([mask_a[first], ops.cast(mask_b, mask_a.dtype)], axis=0)
    images = generator(both, training=training)
    split = ops.shape(mask_a[first])[0]
    return images[:split], images[split:]


def mask_step(generator, discriminator, latent, mask, training=False):
    """One step of the recurrence: ``x = G(z, s)`` and D's outputs on x.

    A class-conditional D judges x as an image of the class G drew it for
    (``latent["label"]``).

    D's attention on x is the next step's mask, so a step costs one
    G pass and one D pass, and the train step reads the same D outputs for
    G's adversarial loss. Without a mask source (`mask` None) D returns no
    attention.

    Returns:
        (x, D's outputs on x).
    """
    images = generate(generator, latent, mask, training)
    outputs = discriminator(
        images,
        training=training,
        return_attention=mask is not None,
        **labelled(latent.get("label")),
    )
    return images, outputs


def synthesize(generator, discriminator, latent, steps, training=False):
    """Synthesizes images the way the inner loop trains G to.

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
    if not discriminator.mask_source.uses_mask:
        images = generate(generator, latent, None, training)
        return {"images": images, "trajectory": images[:, None]}
    mask = uniform_mask(ops.shape(latent["z"])[0], discriminator.image_size)
    masks, trajectory = [], []
    for _ in range(steps):
        images, outputs = mask_step(generator, discriminator, latent, mask, training)
        mask = outputs["attention"]
        masks.append(mask)
        trajectory.append(images)
    # x_K: D's verdict on the last image is not needed.
    images = generate(generator, latent, mask, training)
    trajectory.append(images)
    outputs = {"images": images, "trajectory": ops.stack(trajectory, axis=1)}
    if masks:
        outputs["masks"] = ops.stack(masks, axis=1)
    return outputs


class _LabelledDiscriminator:
    """D with a batch's labels bound, for code that calls D on images alone (penalties).

    Every attribute is D's; a call passes the bound labels (None for an
    unconditional D).
    """

    def __init__(self, discriminator, labels):
        self._discriminator = discriminator
        self._labels = labels

    def __call__(self, images, **kwargs):
        return self._discriminator(images, **labelled(self._labels), **kwargs)

    def __getattr__(self, name):
        return getattr(self._discriminator, name)


def labelled(labels):
    """D's keyword arguments for `labels` (None: an unconditional D keeps its label-free call)."""
    return {} if labels is None else {"labels": labels}


def _joined(first, second):
    """Two batches' labels as one batch's; None for an unconditional GAN."""
    return None if first is None else ops.concatenate([first, second], axis=0)


def update_moving_average(averages, values, decay):
    """``average <- decay * average + (1 - decay) * value`` for each pair of variables.

    Under a `tf.distribute` strategy the update runs in cross-replica context,
    as Keras' optimizers update their variables: a mirrored variable cannot
    be assigned from one replica.

    Args:
        averages: the variables holding the averages.
        values: as many variables (or tensors) of the same shapes.
        decay: a scalar in [0, 1); 0 copies `values`.
    """

    def update(strategy, values, decay):
        for average, value in zip(averages, values):
            strategy.extended.update(
                average,
                lambda variable, value, decay: variable.assign(
                    decay * variable + (1.0 - decay) * ops.cast(value, variable.dtype)
                ),
                args=(value, decay),
                group=False,
            )

    tf.__internal__.distribute.interim.maybe_merge_call(
        update, tf.distribute.get_strategy(), [ops.convert_to_tensor(v) for v in values], decay
    )


def pixel_loss(fake, real):
    """Mean absolute difference: SR's pixel loss (L1, as EDSR and ESRGAN train with)."""
    return ops.mean(ops.abs(ops.cast(fake, "float32") - ops.cast(real, "float32")))


def _mean_stats(steps):
    """Each statistic's mean over a list of per-update stat dicts."""
    return {
        name: ops.mean(ops.stack([ops.cast(step[name], "float32") for step in steps]))
        for name in steps[0]
    }


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

    The method of docs/method.md. Each `train_step`:

    1. samples z once and holds it constant through the inner loop;
    2. runs the generator inner loop K times. It starts from the uniform mask:
       ``x_prev = G(z, 1)``, ``s = D(x_prev)``'s attention. Each
       iteration synthesizes ``x_cur = G(z, s)`` and minimizes
       ``adversarial(D(x_cur)) + lambda_mi * mi.loss``, where ``mi`` is the
       `mi_estimator`'s variational lower bound on the mutual information
       between the current mask and the change it caused, ``x_cur - x_prev``
       (the MI term). G and the estimator are updated, D is not; the
       estimator always learns its own bound, so ``mi_bound`` is measured
       even when ``lambda_mi = 0`` sends nothing of it to G. The mask D gives
       ``x_cur`` is the next iteration's mask, so the loop costs one D pass
       per iteration;
    3. takes one D step on the real batch and the inner loop's last fakes
       (the same G parameters a D-first step would see), and with
       ``d_steps > 1`` more D steps, each on fresh fakes from the updated G
       (`synthesize`, K refinements) and its own slice of the real batch.
       D's loss is the adversarial loss plus the weighted penalty.

    Loss terms (`keras_attngan.terms`) add their losses to D's loss in every
    D update and to G's in every inner-loop iteration; a term with its own
    optimizer (``player == "own"``, the encoder E) takes its own update
    after each D update.

    Paired mode (super-resolution): a G whose input is ``lowres``
    (`keras_attngan.networks.upscaler`) maps low-res images to high-res;
    each batch then carries ``"lowres"`` beside ``"images"`` and G's input
    is the low-res version of D's real slice instead of sampled noise. Its
    training follows SRGAN (Ledig et al., 2017) and ESRGAN (Wang et al.,
    2018): for the first `sr_pretrain_steps` steps G descends the pixel loss
    ``mean |G(z) - y|`` alone (D and the loss terms rest), then the
    adversarial phase weights D's verdict by `sr_adversarial_weight` beside
    the loss terms (the encoder's pixel and latent terms). The phase is a
    function of the step counter, so a resumed run continues in the phase
    it left; it is reported as ``sr_phase`` (0 pixel, 1 adversarial), with
    ``sr_pixel``, the unweighted pixel loss of G's batch. With ``ema_decay > 0``
    the step ends by updating the moving average of G's weights.

    Reported values (per step; G's are averaged over the K iterations, D's
    over the D updates): ``d_loss`` (adversarial), ``d_penalty`` (the term
    added to it: weighted, and on a lazy schedule ``penalty_every`` times
    larger every ``penalty_every`` D updates and 0 otherwise), ``g_loss``,
    ``d_real``, ``d_fake``, and with a mask source
    the `keras_attngan.masks.mask_statistics` of the masks G received and
    ``mi_loss``, ``mi_bound``, ``mi_ceiling`` (nats per mask), and each
    loss term's `reported` values. Keras' trackers (`metrics`, shown in
    the logs) average them since the epoch began; `window_trackers` average
    the same values until reset: `keras_attngan.callbacks.ScalarSummaries`
    resets them at each write, so every logged point is the mean of its
    logging window.

    `train_step` does maths only: no summaries, images or files (callbacks do
    that), no Python side effects, so it runs under `tf.function`, XLA
    (`jit_compile=True`) and any `tf.distribute` strategy.

    With the discriminator's mask source ``none`` the loop degenerates to the
    plain GAN with K G updates per D update: the baseline every result is
    compared against.

    A class-conditional GAN (a projection D, ``discriminator.num_classes >
    0``, and a latent spec drawing labels for as many classes) reads the
    real batch's ``"labels"``: D judges each real image with its label and
    each fake with the label G drew it for, sampled uniformly by the latent
    spec (Miyato and Koyama, 2018).

    Args:
        generator: G, called as ``G({"z": ..., "mask": ...})`` (no mask key
            when D's attention is ``none``).
        discriminator: a `Discriminator` (returns a dict with ``logits`` and
            ``attention``).
        latent: the `LatentSpec` G's latent inputs are sampled from.
        mi_estimator: a `keras_attngan.information.MIEstimator` (built);
            required when D has a mask source.
        inner_steps: K, generator updates per step (>= 1).
        d_steps: discriminator updates per step (>= 1), compare_gan's
            ``disc_iters``: each gets its own slice of the batch, so a step
            takes ``d_steps`` times the D batch and G's inner loop runs on
            the first slice's size.
        lambda_mi: weight of the mutual-information term in G's loss (>= 0).
        mi_pairs: how many samples of each batch the MI term reads (the
            first; 0: the whole batch). Each one costs a G forward and
            backward pass more, three quarters of the method's extra cost
            with the whole batch (`benchmarks/README.md`, *Speed*). InfoNCE's
            ceiling is then ``log(mi_pairs)``, or still ``log(batch)``
            with ``negatives="masks"``.
        mi_weighting: how `lambda_mi` weights the MI term, a key of
            `keras_attngan.information.MI_WEIGHTINGS`: ``"fixed"`` (the
            weight is `lambda_mi`) or ``"balanced"`` (`lambda_mi` times the
            ratio of the adversarial loss's gradient norm to the MI loss's,
            at G's output, where G's backward pass starts anyway). The weight
            used is reported as ``mi_weight``. ``"fixed"`` is the default
            here so that trainers saved before this argument load as they
            trained; the configs of `attngan train` default to
            ``"balanced"`` (docs/design.md, note 2e).
        seed: seed of the model's `keras.random.SeedGenerator`.
        ema_decay: decay of the exponential moving average of G's weights
            (Yazici et al., 2019, "The unusual effectiveness of averaging in
            GAN training"; BigGAN, Brock et al., 2019, samples from it with
            0.9999); 0 turns it off. With it on, `ema_generator` holds the
            average, updated at the end of every train step, and is the G that
            `call`, `synthesize`, the evaluation and the export use
            (`inference_generator`). Every weight is averaged, the batch-norm
            moving statistics too (as BigGAN-PyTorch averages G's whole
            state): the average then normalizes with statistics of the same
            stretch of training as its weights.
        ema_start: the train step from which G's weights are averaged; before
            it the average copies them, so that it forgets the early weights
            far from any good G (BigGAN-PyTorch starts at 20000 steps).
        terms: `keras_attngan.terms.LossTerm`s (built): each adds its losses
            to D's and/or G's objective inside their tapes and reports them;
            its variables train with its `player`.
        sr_pretrain_steps: paired mode only: train steps of the pixel-loss
            phase before the adversarial one (>= 0).
        sr_adversarial_weight: paired mode only: the weight of the
            adversarial loss in G's objective (>= 0; ESRGAN uses 5e-3 beside
            an L1 weight of 1e-2).
    """

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
        ema_decay=0.0,
        ema_start=0,
        terms=(),
        sr_pretrain_steps=0,
        sr_adversarial_weight=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(latent, LatentSpec):
            raise ValueError(
                "`latent` should be a `keras_attngan.LatentSpec`, e.g. LatentSpec(noise_dim). "
                f"Received: latent={latent!r}"
            )
        if not isinstance(inner_steps, int) or inner_steps < 1:
            raise ValueError(
                "`inner_steps` (K, the generator inner-loop length) should be an "
                f"integer >= 1. Received: inner_steps={inner_steps!r}"
            )
        if not isinstance(d_steps, int) or d_steps < 1:
            raise ValueError(
                "`d_steps` (discriminator updates per step) should be an integer >= 1. "
                f"Received: d_steps={d_steps!r}"
            )
        if lambda_mi < 0:
            raise ValueError(
                f"`lambda_mi` should be >= 0. Received: lambda_mi={lambda_mi!r}"
            )
        if not isinstance(mi_pairs, int) or mi_pairs < 0:
            raise ValueError(
                "`mi_pairs` (samples per batch the MI term reads; 0: all) should be an "
                f"integer >= 0. Received: mi_pairs={mi_pairs!r}"
            )
        if latent.num_classes != discriminator.num_classes:
            raise ValueError(
                "`latent` should draw labels for as many classes as the discriminator "
                f"projects. Received: latent.num_classes={latent.num_classes}, "
                f"discriminator.num_classes={discriminator.num_classes}"
            )
        takes_codes = "codes" in {tensor.name for tensor in getattr(generator, "inputs", None) or ()}
        if bool(latent.code_dim) != takes_codes:
            raise ValueError(
                "`generator` should take the input 'codes' exactly when `latent` has codes "
                "(build_generator(..., code_dim=latent.code_dim)). Received: "
                f"latent.code_dim={latent.code_dim}, generator inputs="
                f"{[tensor.name for tensor in getattr(generator, 'inputs', None) or ()]}"
            )
        self.weight_mi = lookup(MI_WEIGHTINGS, mi_weighting, "mi_weighting")
        self.conditional = discriminator.num_classes > 0
        if not 0 <= ema_decay < 1:
            raise ValueError(f"`ema_decay` should be in [0, 1). Received: ema_decay={ema_decay!r}")
        if not isinstance(ema_start, int) or ema_start < 0:
            raise ValueError(
                f"`ema_start` should be an integer >= 0. Received: ema_start={ema_start!r}"
            )
        if not isinstance(sr_pretrain_steps, int) or sr_pretrain_steps < 0:
            raise ValueError(
                "`train.sr_pretrain_steps` should be an integer >= 0. "
                f"Received: train.sr_pretrain_steps={sr_pretrain_steps!r}"
            )
        if not sr_adversarial_weight >= 0:
            raise ValueError(
                "`train.sr_adversarial_weight` should be >= 0. "
                f"Received: train.sr_adversarial_weight={sr_adversarial_weight!r}"
            )
        self.uses_mask = discriminator.mask_source.uses_mask
        # Paired mode: G maps a low-res image to its high-res
        # original (super-resolution), and the batches carry both.
        self.scale = upscale_factor(generator, discriminator.channels)
        self.paired = self.scale is not None
        if self.paired and (self.uses_mask or self.conditional):
            raise ValueError(
                "A super-resolution generator (input 'lowres') trains without a mask source "
                "and without labels: use model.mask_source='none' and model.num_classes=0. "
                f"Received: attention={discriminator.attention!r}, "
                f"num_classes={discriminator.num_classes}"
            )
        if self.uses_mask and mi_estimator is None:
            raise ValueError(
                "`mi_estimator` is required when the discriminator has a mask source. "
                f"Received: attention={discriminator.attention!r}, mi_estimator=None"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.mi_estimator = mi_estimator if self.uses_mask else None
        self.latent = latent
        self.inner_steps = inner_steps
        self.d_steps = d_steps
        self.lambda_mi = float(lambda_mi)
        self.mi_pairs = mi_pairs
        self.mi_weighting = mi_weighting
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.terms = list(terms)
        self.ema_decay = float(ema_decay)
        self.ema_start = ema_start
        self.sr_pretrain_steps = sr_pretrain_steps
        self.sr_adversarial_weight = float(sr_adversarial_weight)
        self.ema_generator = None
        if self.ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            # Updated by averaging only, never by an optimizer.
            self.ema_generator.trainable = False

        names = ["d_loss", "d_penalty", "g_loss", "d_real", "d_fake"]
        if self.uses_mask:
            names += ["mask_mean", "mask_contrast", "mask_entropy", "mask_diversity"]
            names += ["mi_loss", "mi_bound", "mi_ceiling", "mi_weight"]
        names += [name for term in self.terms for name in term.reported]
        if self.paired:
            names += ["sr_phase", "sr_pixel"]
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # Not Keras' metrics, so Keras never resets them. A window read as a
        # difference of the epoch trackers' float32 totals is lost once one
        # large value enters them (later values near 1 round away).
        self.window_trackers = {
            name: keras.metrics.Mean(name=f"window_{name}") for name in names
        }
        # Every network arrives built, so the trainer is too (and saves whole).
        self.built = True

    @property
    def metrics(self):
        return list(self._trackers.values())

    @property
    def inference_generator(self):
        """The G that is sampled, evaluated and exported: the weight average with EMA on."""
        return self.generator if self.ema_generator is None else self.ema_generator

    @property
    def estimator_variables(self):
        """The MI estimator's variables (none without a mask source)."""
        return [] if self.mi_estimator is None else list(self.mi_estimator.trainable_variables)

    def _term_variables(self, player):
        return [v for term in self.terms if term.player == player for v in term.trainable_variables]

    @property
    def own_terms(self):
        """The terms that train with their own optimizer (``player == "own"``)."""
        return [term for term in self.terms if term.player == "own"]

    @property
    def generator_variables(self):
        """The variables the inner loop updates: G's, the estimator's, then G's terms'."""
        return (
            list(self.generator.trainable_variables)
            + self.estimator_variables
            + self._term_variables("g")
        )

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
            g_optimizer: optimizer of G and Q (K updates per train step).
            loss: name of an adversarial loss in `keras_attngan.losses.LOSSES`.
            penalty: name of a D penalty in `keras_attngan.penalties.PENALTIES`.
            penalty_weight: its weight in D's loss (>= 0).
            penalty_every: lazy regularization (Karras et al., 2020, "Analyzing
                and improving the image quality of StyleGAN", section 3.1): the
                penalty is computed at every `penalty_every`-th D update only,
                times `penalty_every`, so its average weight is unchanged.
            **kwargs: passed to `keras.Model.compile` (`jit_compile`,
                `steps_per_execution`, ...).
        """
        if penalty_weight < 0:
            raise ValueError(
                f"`penalty_weight` should be >= 0. Received: penalty_weight={penalty_weight!r}"
            )
        if not isinstance(penalty_every, int) or penalty_every < 1:
            raise ValueError(
                "`penalty_every` should be an integer >= 1. "
                f"Received: penalty_every={penalty_every!r}"
            )
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
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            loss=config["loss"],
            penalty=config["penalty"],
            penalty_weight=config["penalty_weight"],
            penalty_every=config["penalty_every"],
            jit_compile=config["jit_compile"],
            steps_per_execution=config["steps_per_execution"],
        )

    @property
    def train_steps(self):
        """Number of completed train steps (G's inner loop and `d_steps` D updates each)."""
        return self.d_optimizer.iterations // self.d_steps

    def call(self, latent, training=False):
        """Synthesizes images from latent inputs with K mask refinements."""
        if not isinstance(latent, dict):
            latent = {"lowres" if self.paired else "z": latent}
        return synthesize(
            self.inference_generator, self.discriminator, latent, self.inner_steps, training
        )["images"]

    def synthesize(self, latent, steps=None):
        """`synthesize` with `inference_generator` and D; steps defaults to K."""
        steps = self.inner_steps if steps is None else steps
        return synthesize(self.inference_generator, self.discriminator, latent, steps)

    def _generator_inner_loop(self, real, latent, real_labels=None):
        """The inner loop: K updates of G (and the estimator); returns the last fakes and stats.

        `real` is the real batch the fakes are paired with (`real_labels`
        its labels, None for an unconditional GAN); D's logits on it reach
        the adversarial loss when its generator term reads them
        (relativistic losses).

        The change ``dx = G(z, s) - G(z, s_prev)`` is differentiated through
        both of its terms, with G's current parameters: G's shared layers
        move both outputs alike, so only what the mask changes can raise the
        MI bound (a constant ``x_prev`` would reward G for moving its output
        anywhere). Both terms come from one G call (`generate_pair`), so that
        batch normalization treats them as inference does; the first mask
        needs one more G pass, forward only. With `mi_pairs` set, only the
        first `mi_pairs` samples of the batch get the ``G(z, s_prev)`` half
        and enter the MI term; every sample still gets ``G(z, s)`` and the
        adversarial loss.
        """
        batch_size = ops.shape(real)[0]
        # D is not updated in this loop, so one pass on the real batch serves
        # every iteration; losses whose g_loss ignores the real logits get
        # zeros in their place and skip the pass.
        real_logits = None
        if losses.needs_real_logits_for_g(self.loss_fn):
            real_logits = ops.stop_gradient(
                self.discriminator(
                    real, training=True, return_attention=False, **labelled(real_labels)
                )["logits"]
            )
        if self.uses_mask:
            previous_mask = uniform_mask(batch_size, self.discriminator.image_size)
        mask = None
        g_variables = list(self.generator.trainable_variables) + self._term_variables("g")
        q_variables = self.estimator_variables
        iterations = []
        # A Python loop, unrolled when traced: a tf.while_loop carrying
        # gradients under XLA fails (tensorflow#39060) and K is small.
        for _ in range(self.inner_steps):
            if self.uses_mask and mask is None:
                # The first mask is D's on the uniform-mask output.
                _, outputs = mask_step(
                    self.generator, self.discriminator, latent, previous_mask, True
                )
                mask = ops.stop_gradient(outputs["attention"])
            # Persistent: the gradients at G's output are read before G's
            # own (`_generator_gradients`).
            with tf.GradientTape(persistent=self.uses_mask) as tape:
                if self.uses_mask:
                    previous, current = generate_pair(
                        self.generator, latent, previous_mask, mask, self.mi_pairs or None, True
                    )
                    d_out = self.discriminator(
                        current, training=True, **labelled(latent.get("label"))
                    )
                else:
                    current, d_out = mask_step(
                        self.generator, self.discriminator, latent, None, True
                    )
                fake_logits = d_out["logits"]
                g_loss = self.loss_fn(
                    ops.zeros_like(fake_logits) if real_logits is None else real_logits,
                    fake_logits,
                ).g_loss
                context = {
                    "real": real,
                    "fake": current,
                    "paired": self.paired,
                    "latent": latent,
                    "mask": mask,
                    # Terms judge the fakes in G's step: their drawn labels go with them.
                    "discriminator": _LabelledDiscriminator(
                        self.discriminator, latent.get("label")
                    ),
                    "seed_generator": self.seed_generator,
                }
                terms, stats = self._terms(lambda term: term.g_terms(context))
                stats["g_loss"] = g_loss
                if self.paired:
                    stats["sr_pixel"] = pixel_loss(current, real)
                    g_loss = self.sr_adversarial_weight * g_loss
                objective = scaled_loss(self.g_optimizer, g_loss + terms)
                if self.uses_mask:
                    # The first `pairs` masks caused the changes; the
                    # estimator may read the others as negatives.
                    pairs = ops.shape(previous)[0]
                    change = current[:pairs] - previous
                    mi = self.mi_estimator(mask, change, training=True)
                    stats.update(mi_loss=mi.loss, mi_bound=mi.bound, mi_ceiling=mi.ceiling)
                    estimator_objective = scaled_loss(self.g_optimizer, mi.loss)
            if self.uses_mask:
                gradients, q_gradients, stats["mi_weight"] = self._generator_gradients(
                    tape, objective, estimator_objective, current, previous, change
                )
                gradients += q_gradients
            else:
                gradients = tape.gradient(objective, g_variables)
            del tape
            self.g_optimizer.apply(gradients, g_variables + q_variables)
            if self.uses_mask:
                stats.update(mask_statistics(mask))
                previous_mask = mask
                mask = ops.stop_gradient(d_out["attention"])
            iterations.append(stats)
        return ops.stop_gradient(current), _mean_stats(iterations)

    def _generator_gradients(self, tape, objective, estimator_objective, current, previous, change):
        """G's, its terms' and the estimator's gradients, with one backward pass through G.

        G's loss reaches G's weights only through its fakes `current` (the
        terms read them as ``ctx["fake"]``), and the MI loss only through
        the change ``current[:pairs] - previous``. So the gradients at G's
        output are taken first (one pass through D and the terms, one
        through the estimator), the MI weight is read from them (`balanced`
        needs no pass of its own), and G is differentiated once, from its
        output, seeded with ``dL/dx + w * dL_mi/d(dx)`` on `current` and
        ``-w * dL_mi/d(dx)`` on `previous`: the gradient of
        ``L + w * L_mi``, exactly. The estimator always fits its bound;
        only `lambda_mi` decides whether G is trained to raise it.

        Returns:
            (gradients of G's variables then of the g terms', gradients of
            the estimator's variables, the MI weight).
        """
        at_output, *term_gradients = tape.gradient(
            objective, [current, *self._term_variables("g")]
        )
        at_change, *q_gradients = tape.gradient(
            estimator_objective, [change, *self.estimator_variables]
        )
        weight = ops.zeros(())
        if self.lambda_mi > 0:
            weight = self.weight_mi(self.lambda_mi, at_output, at_change)
        pull = ops.cast(weight, at_change.dtype) * at_change
        unpaired = ops.zeros_like(current[ops.shape(change)[0] :])
        generator_gradients = tape.gradient(
            [current, previous],
            self.generator.trainable_variables,
            output_gradients=[at_output + ops.concatenate([pull, unpaired], axis=0), -pull],
        )
        return generator_gradients + term_gradients, q_gradients, weight

    def _penalty(self, real, fake, real_labels=None):
        """The penalty term of D's loss: weighted, and on the lazy schedule of `penalty_every`.

        `tf.cond` skips the penalty's D passes at the updates that do not
        need it, under `tf.function` and XLA alike. A conditional D scores
        the penalty's images (real, or between real and fake) with the real
        labels, as conditional WGAN-GP implementations do.
        """

        def term():
            discriminator = _LabelledDiscriminator(self.discriminator, real_labels)
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
        fake_labels = fake_latent.get("label")
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
                **labelled(_joined(real_labels, fake_labels)),
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
                "discriminator": _LabelledDiscriminator(self.discriminator, real_labels),
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

    def _pixel_step(self, data):
        """One G update on the pixel loss alone: the pretraining phase of paired mode.

        D, the MI estimator and the loss terms rest; D's step counter still
        advances, since it counts the train steps that place the phase
        switch. Returns the adversarial step's values, zero but the pixel
        loss.
        """
        variables = list(self.generator.trainable_variables)
        with tf.GradientTape() as tape:
            fake = self.generator({"lowres": data["lowres"]}, training=True)
            loss = pixel_loss(fake, data["images"])
            objective = scaled_loss(self.g_optimizer, loss)
        self.g_optimizer.apply(tape.gradient(objective, variables), variables)
        self.d_optimizer.iterations.assign_add(self.d_steps)
        stats = {name: ops.zeros((), "float32") for name in self._trackers}
        stats.update(sr_phase=ops.zeros((), "float32"), sr_pixel=ops.cast(loss, "float32"))
        return stats

    def train_step(self, data):
        step = self.train_steps
        if self.paired and self.sr_pretrain_steps > 0:
            # Both branches are traced once; the counter picks one per step.
            stats = tf.cond(
                step < self.sr_pretrain_steps,
                lambda: self._pixel_step(data),
                lambda: self._adversarial_step(data),
            )
        else:
            stats = self._adversarial_step(data)
        # Last: with d_steps > 1 the later D updates' G passes move G's batch
        # statistics, which belong to this step's G.
        if self.ema_generator is not None:
            self._update_ema(step)
        for name, tracker in self._trackers.items():
            tracker.update_state(stats[name])
            self.window_trackers[name].update_state(stats[name])
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def _adversarial_step(self, data):
        """The GAN step: G's inner loop, then `d_steps` D updates; returns the reported values."""
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
        # Paired (super-resolution): G's input is each target's low-res version.
        lowres = ops.split(data["lowres"], self.d_steps, axis=0) if self.paired else None

        def latent_for(update):
            if self.paired:
                return {"lowres": lowres[update]}
            return replica_latent(self.latent, batch_size, self.seed_generator)  # z, held through the inner loop

        latent = latent_for(0)
        fake, stats = self._generator_inner_loop(reals[0], latent, labels[0])
        d_stats = [self._discriminator_step(reals[0], fake, labels[0], latent, data_labels[0])]
        for update, (real, real_labels, term_labels) in enumerate(
            zip(reals[1:], labels[1:], data_labels[1:]), start=1
        ):
            latent = latent_for(update)
            fake = synthesize(
                self.generator, self.discriminator, latent, self.inner_steps, training=True
            )["images"]
            d_stats.append(
                self._discriminator_step(
                    real, ops.stop_gradient(fake), real_labels, latent, term_labels
                )
            )
        stats.update(_mean_stats(d_stats))
        if self.paired:
            stats["sr_phase"] = ops.ones((), "float32")
        return {name: ops.cast(ops.reshape(stats[name], ()), "float32") for name in self._trackers}

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            mi_estimator=(
                keras.saving.serialize_keras_object(self.mi_estimator)
                if self.mi_estimator is not None
                else None
            ),
            latent=keras.saving.serialize_keras_object(self.latent),
            inner_steps=self.inner_steps,
            d_steps=self.d_steps,
            lambda_mi=self.lambda_mi,
            mi_pairs=self.mi_pairs,
            mi_weighting=self.mi_weighting,
            seed=self.seed,
            ema_decay=self.ema_decay,
            ema_start=self.ema_start,
            terms=[keras.saving.serialize_keras_object(term) for term in self.terms],
            sr_pretrain_steps=self.sr_pretrain_steps,
            sr_adversarial_weight=self.sr_adversarial_weight,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator", "mi_estimator", "latent"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        config["terms"] = [keras.saving.deserialize_keras_object(t) for t in config.get("terms", ())]
        # Trainers saved before the latent spec was injected stored its size only.
        if "latent_dim" in config:
            config["latent"] = LatentSpec(config.pop("latent_dim"))
        return cls(**config)
