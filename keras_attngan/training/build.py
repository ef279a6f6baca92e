"""Building a run from its config: the data pipeline, the networks and the trainer of its mode."""

import keras
import tensorflow as tf

from keras_attngan import data as data_lib
from keras_attngan.core import choices
from keras_attngan.core.latent import LatentSpec
from keras_attngan.core.mask_sources import MASK_SOURCES
from keras_attngan.core.mutual_information import MI_ESTIMATORS, build_mi_estimator
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.upscaler import build_upscaler
from keras_attngan.terms import build_terms
from keras_attngan.trainers.attention import AttnGAN
from keras_attngan.trainers.base import GAN
from keras_attngan.trainers.super_resolution import SuperResolutionGAN
from keras_attngan.training import distribute, precision, schedules
from keras_attngan.training.validation import mode


def adam(config, player):
    """The Adam optimizer of `player` (``"g"`` or ``"d"``) from its ``train.*`` keys.

    Its rate follows ``train.lr_decay`` over the run's phases (a
    super-resolution run restarts the schedule where its adversarial phase
    begins), counted in train steps: G takes K updates per step, D ``d_steps``.
    """
    train_config = config.train
    pretrain = train_config.sr_pretrain_steps if config.data.scale else 0
    phases = (0, pretrain) if 0 < pretrain < train_config.steps else (0,)
    rate = schedules.learning_rate(
        train_config.lr_decay,
        train_config[f"{player}_learning_rate"],
        steps=train_config.steps,
        phases=phases,
        updates_per_step=train_config.inner_steps if player == "g" else train_config.d_steps,
        alpha=train_config.lr_decay_floor,
    )
    return keras.optimizers.Adam(rate, train_config[f"{player}_beta_1"], train_config[f"{player}_beta_2"])


def stream_batch_size(config):
    """Images per train step: `data.batch_size` for each of the `train.d_steps` D updates."""
    return config.data.batch_size * config.train.d_steps


def build_data(config, start_step=0):
    """Returns (batched dataset, `SourceData`) for `config.data`.

    Args:
        config: the run's config.
        start_step: the train step the dataset starts at: its first batch is
            the one an uninterrupted run sees at that step.
    """
    dataset, source = data_lib.make_dataset(
        config.data.source,
        image_size=config.data.image_size,
        batch_size=stream_batch_size(config),
        seed=config.seed,
        num_examples=config.data.num_examples,
        split=config.data.split,
        data_dir=config.data.data_dir,
        skip_bad_files=config.data.skip_bad_files,
        download=config.data.download,
        skip_batches=start_step,
    )
    return _paired(config, dataset), source


def _paired(config, dataset):
    """The batches with their low-res inputs when ``data.scale`` asks for super-resolution."""
    return data_lib.pair_batches(dataset, config.data.scale) if config.data.scale else dataset


def training_batches(config, source, start_step=0):
    """The stream `build_data` makes, from a source it already loaded.

    Under ``multi_worker`` it yields the images alone: Keras reduces the
    first batch across workers to build the model, which fails for a dict of
    per-replica tensors (keras #20329, open); the trainer reads no labels.
    """
    dataset = data_lib.batch_source(
        source, stream_batch_size(config), seed=config.seed, skip_batches=start_step
    )
    if config.train.strategy == "multi_worker":
        dataset = dataset.map(lambda batch: batch["images"])
    return _paired(config, dataset)


def steps_per_execution(config):
    """`train.steps_per_execution`, or 1 under a `tf.distribute` strategy.

    Keras' multi-step loop fails under a distribution strategy ("You must
    feed a value for placeholder tensor", keras #19246, open), so distributed
    runs call the step once per Keras call.
    """
    return 1 if config.train.strategy != "default" else config.train.steps_per_execution


def set_determinism(config):
    """Seeds every random source of the process and sets TF op determinism.

    `keras.utils.set_random_seed` seeds Python, NumPy and TF's global
    generators, which draw the initial weights and the data order (Keras
    does not seed weights per model). With `train.deterministic` TF picks
    deterministic kernels (reductions, scatter ops, ...), so two runs with
    one seed agree bit for bit; Keras then turns XLA off (not every op has a
    deterministic XLA kernel), and `train_step` runs unfused.
    """
    keras.utils.set_random_seed(config.seed)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        # TF's public API has no way back; the setting must follow the config
        # when one process trains several (tests, studies).
        from tensorflow.python.framework.config import disable_op_determinism

        disable_op_determinism()


def _synchronize_batch_statistics(model):
    """Makes every BatchNormalization of `model` normalize over the global batch.

    Under a strategy each replica sees only its share of the batch; with
    per-replica statistics G would normalize differently from one device on
    the same global batch. Keras reads `synchronized` at call time, so the
    networks need not know about distribution.
    """
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def check_labels(config, source):
    """Refuses a class-conditional config the loaded `source`'s labels cannot train.

    Raises:
        ValueError: `model.num_classes` > 0 differs from the source's number
            of classes (0 for an unlabelled source: a projection D needs labels).
    """
    classes = config.model.num_classes
    if classes and classes != source.num_classes:
        raise ValueError(
            "`model.num_classes` should be 0 (unconditional) or the number of classes of "
            f"data.source={config.data.source!r}, which has {source.num_classes} (0: "
            "unlabelled, and a projection discriminator needs labels). "
            f"Received: model.num_classes={classes}"
        )
    supervised = config.train.info_supervised_code
    if supervised:
        code = LatentSpec.from_model_config(config.model).code(supervised, "train.info_supervised_code")
        if code.num_values != source.num_classes:
            raise ValueError(
                "`train.info_supervised_code` should name a categorical code with as many "
                f"values as data.source={config.data.source!r} has classes "
                f"({source.num_classes}). Received: train.info_supervised_code={supervised!r} "
                f"(K={code.num_values})"
            )


def _attention_options(config):
    return dict(
        mi_estimator=build_mi_estimator_from_config(config),
        lambda_mi=config.train.lambda_mi,
        mi_pairs=config.train.mi_pairs,
        mi_weighting=config.train.mi_weighting,
        g_gradient_mask=config.train.g_gradient_mask,
        first_mask=config.model.first_mask,
    )


def _super_resolution_options(config):
    return dict(
        sr_pretrain_steps=config.train.sr_pretrain_steps,
        sr_adversarial_weight=config.train.sr_adversarial_weight,
    )


# Mode (`keras_attngan.training.validation.mode`) -> (its trainer class, the
# options of the config that only that mode takes).
TRAINERS = {
    "plain": (GAN, lambda config: {}),
    "attention": (AttnGAN, _attention_options),
    "super_resolution": (SuperResolutionGAN, _super_resolution_options),
}


def build_networks(config, latent):
    """G and D of `config`: the upscaler G in super-resolution, else the noise G, and D with its mask source."""
    model_cfg = config.model
    size, channels = config.data.image_size, config.data.channels
    if config.data.scale:
        # Paired mode (super-resolution): G maps low-res images to high-res.
        generator = build_upscaler(
            config.data.scale, channels, model_cfg.g_width, blocks=model_cfg.sr_blocks
        )
    else:
        generator = build_generator(
            model_cfg.latent_dim,
            size,
            channels,
            model_cfg.g_width,
            use_mask=MASK_SOURCES[model_cfg.mask_source].uses_mask,
            architecture=model_cfg.architecture,
            normalization=model_cfg.g_normalization,
            num_classes=model_cfg.num_classes,
            code_dim=latent.code_dim,
            upsampling=model_cfg.g_upsampling,
        )
    discriminator = Discriminator(
        size,
        channels,
        model_cfg.d_width,
        attention=model_cfg.mask_source,
        mask_normalization=model_cfg.mask_normalization,
        mask_temperature=model_cfg.mask_temperature,
        architecture=model_cfg.architecture,
        normalization=model_cfg.d_normalization,
        num_classes=model_cfg.num_classes,
        verdict_cells=model_cfg.verdict_cells,
        verdict_decoder="verdict" in choices.parse_terms(config.train.terms),
        name="discriminator",
    )
    return generator, discriminator


def build_trainer(config):
    """Builds and compiles the trainer that `config` describes.

    The class of the config's mode (`TRAINERS`): the plain `GAN`, the
    `AttnGAN` or the `SuperResolutionGAN`.

    The global seed is set from `config.seed` first, so the initial weights
    are a function of the config.

    Args:
        config: a validated config whose `data.channels` is set (`attngan
            train` sets it from the data).

    Returns:
        A compiled trainer.
    """
    model_cfg, train_cfg = config.model, config.train
    channels = config.data.channels
    if channels not in (1, 3):
        raise ValueError(
            "`data.channels` should be 1 or 3 (it is set from the data by `attngan "
            f"train`). Received: data.channels={channels!r}"
        )
    latent = LatentSpec.from_model_config(model_cfg)
    set_determinism(config)
    strategy = distribute.get_strategy(train_cfg.strategy)
    with strategy.scope():
        with precision.policy_scope(train_cfg.dtype_policy):
            generator, discriminator = build_networks(config, latent)
            trainer, mode_options = TRAINERS[mode(config)]
            model = trainer(
                generator,
                discriminator,
                latent,
                inner_steps=train_cfg.inner_steps,
                d_steps=train_cfg.d_steps,
                seed=config.seed,
                ema_decay=train_cfg.ema_decay,
                ema_start=train_cfg.ema_start,
                terms=build_terms(train_cfg.terms, train_cfg, generator, discriminator, latent),
                **mode_options(config),
            )
        if train_cfg.strategy != "default":
            _synchronize_batch_statistics(model)

        model.compile(
            d_optimizer=adam(config, "d"),
            g_optimizer=adam(config, "g"),
            loss=train_cfg.loss,
            penalty=train_cfg.penalty,
            penalty_weight=train_cfg.penalty_weight,
            penalty_every=train_cfg.penalty_every,
            jit_compile=train_cfg.jit_compile,
            steps_per_execution=steps_per_execution(config),
        )
    if train_cfg.strategy == "multi_worker":
        _log_metrics_as_vectors(model)
    return model


def build_mi_estimator_from_config(config):
    """The `model.mi_estimator` of `config`, with its `model.mi_*` options."""
    model_cfg = config.model
    estimator = MI_ESTIMATORS[model_cfg.mi_estimator]
    options = {arg: model_cfg[key] for arg, key in estimator.CONFIG_KEYS.items()}
    return build_mi_estimator(
        model_cfg.mi_estimator,
        config.data.image_size,
        config.data.channels,
        cell_size=model_cfg.mi_cell_size,
        width=model_cfg.q_width,
        name="mi_estimator",
        **options,
    )


def _log_metrics_as_vectors(model):
    """Makes `fit` average the logged metrics over workers.

    Under a multi-worker strategy Keras averages each replica's logs with a
    mean along axis 0 across workers, which fails on the scalars the step
    returns. Returned as shape ``[1]``, each metric is averaged over the
    replicas into a scalar again.
    """
    step = model.train_step
    model.train_step = lambda data: {
        name: tf.reshape(value, [1]) for name, value in step(data).items()
    }
