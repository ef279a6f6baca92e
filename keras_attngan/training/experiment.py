"""From a config to a ready trainer: data, networks, optimizers, workdir, checkpoints.

The CLI and the tests build experiments through these functions only, so
`train`, `export` and `evaluate` agree on what a config means and where a run
keeps its files.
"""

import contextlib
import dataclasses
import json
import os

import keras
import ml_collections
import tensorflow as tf

from keras_attngan import data as data_lib
from keras_attngan.core.latent import LatentSpec
from keras_attngan.core.mask_sources import MASK_SOURCES
from keras_attngan.core.mutual_information import MI_ESTIMATORS, build_mi_estimator
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.upscaler import build_upscaler
from keras_attngan.terms import build_terms
from keras_attngan.trainers.attention import AttnGAN, trainer_class
from keras_attngan.trainers.super_resolution import SuperResolutionGAN
from keras_attngan.training import checkpoints, distribute, precision
from keras_attngan.training.config import default_config, validate_config

# Keys whose change makes an existing checkpoint meaningless or unloadable:
# refused even with `allow_change`.
_ARCHITECTURE_KEYS = (
    "data.source",
    "data.image_size",
    "model.latent_dim",
    "model.g_width",
    "model.d_width",
    "model.mask_source",
    "model.architecture",
    "model.g_normalization",
    "model.d_normalization",
    "model.num_classes",
    "model.mi_estimator",
    "model.mi_critic",
    "model.q_width",
    # InfoGAN's codes size G's input and the Q head.
    "model.categorical_codes",
    "model.continuous_codes",
    "train.info_q_width",
    # The step count is D's update count over d_steps.
    "train.d_steps",
    # Turning the average on or off adds or removes a network of the checkpoint.
    "train.ema_decay",
    # Each term's network is part of the checkpoint.
    "train.terms",
    "train.encoder",
    "train.encoder_width",
    "train.encoder_lipschitz",
    "data.scale",
)

# Keys that change how a run is executed, logged or stopped, not what it
# computes: a resumed run may change them freely. Every other key (seed,
# data, model, optimisation) defines the run, and changing it on resume
# needs `allow_change`.
_FREE_KEYS = (
    "data.channels",
    "data.data_dir",
    "data.download",
    "train.steps",
    "train.steps_per_epoch",
    "train.steps_per_execution",
    "train.jit_compile",
    "train.deterministic",
    "train.strategy",
    "train.on_non_finite",
    "train.rollback_lr_factor",
    "train.max_rollbacks",
)
_FREE_SECTIONS = ("log.",)

# Keys whose default today is not what runs did before the key existed: a
# config stored without one trained with this value, not the default.
_BEFORE_THE_KEY = {"train.mi_weighting": "fixed"}


@dataclasses.dataclass(frozen=True)
class Workdir:
    """Where a training run keeps its files."""

    root: str

    @property
    def checkpoints(self):
        return os.path.join(self.root, "checkpoints")

    @property
    def logs(self):
        return os.path.join(self.root, "logs")

    @property
    def samples(self):
        return os.path.join(self.root, "samples")

    @property
    def masks(self):
        return os.path.join(self.root, "masks")

    @property
    def export(self):
        return os.path.join(self.root, "export")

    @property
    def pseudo_labels(self):
        """S3GAN's pseudo-labels of the run (`data.label_fraction` < 1), computed once."""
        return os.path.join(self.root, "pseudo_labels.npz")

    @property
    def config_file(self):
        return os.path.join(self.root, "config.json")

    @property
    def config_changes_file(self):
        """One JSON line per accepted change of the run's config (step, keys, reason)."""
        return os.path.join(self.root, "config_changes.jsonl")


def adam(train_config, player):
    """The Adam optimizer of `player` (``"g"`` or ``"d"``) from its ``train.*`` keys."""
    return keras.optimizers.Adam(
        train_config[f"{player}_learning_rate"],
        train_config[f"{player}_beta_1"],
        train_config[f"{player}_beta_2"],
    )


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


@contextlib.contextmanager
def _dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


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


def _mode_options(trainer, config):
    """The options of `config` that only `trainer`'s mode takes."""
    train_cfg = config.train
    if trainer is AttnGAN:
        return dict(
            mi_estimator=build_mi_estimator_from_config(config),
            lambda_mi=train_cfg.lambda_mi,
            mi_pairs=train_cfg.mi_pairs,
            mi_weighting=train_cfg.mi_weighting,
        )
    if trainer is SuperResolutionGAN:
        return dict(
            sr_pretrain_steps=train_cfg.sr_pretrain_steps,
            sr_adversarial_weight=train_cfg.sr_adversarial_weight,
        )
    return {}


def build_trainer(config):
    """Builds and compiles the trainer that `config` describes.

    The mode's class (`keras_attngan.trainers.attention.trainer_class`): the
    plain `GAN`, the `AttnGAN` or the `SuperResolutionGAN`.

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
    size = config.data.image_size
    uses_mask = MASK_SOURCES[model_cfg.mask_source].uses_mask
    latent = LatentSpec.from_model_config(model_cfg)
    set_determinism(config)
    strategy = distribute.get_strategy(train_cfg.strategy)
    with strategy.scope():
        with _dtype_policy(precision.resolve(train_cfg.dtype_policy)):
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
                    use_mask=uses_mask,
                    architecture=model_cfg.architecture,
                    normalization=model_cfg.g_normalization,
                    num_classes=model_cfg.num_classes,
                    code_dim=latent.code_dim,
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
                name="discriminator",
            )
            trainer = trainer_class(generator, discriminator)
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
                **_mode_options(trainer, config),
            )
        if train_cfg.strategy != "default":
            _synchronize_batch_statistics(model)

        model.compile(
            d_optimizer=adam(train_cfg, "d"),
            g_optimizer=adam(train_cfg, "g"),
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


class _ConfigState(tf.train.experimental.PythonState):
    """The run's config as JSON, saved inside every checkpoint it trained."""

    def __init__(self, config):
        self.text = config.to_json_best_effort(sort_keys=True)

    def serialize(self):
        return self.text

    def deserialize(self, text):
        self.text = text.decode() if isinstance(text, bytes) else text


def checkpoint_manager(model, directory, max_to_keep=3, config=None):
    """A `tf.train.CheckpointManager` over everything that defines a run's state.

    Networks, both optimizers (slots, step counters, learning rates), the
    model's seed generator (so a resumed run continues the same random
    stream) and, when given, the config the run is trained with. The data
    position is the step (the pipeline is a function of it, see
    `build_data`), so it needs no state of its own.

    `open_workdir` removes what an interrupted write left behind and moves
    damaged checkpoints aside (`keras_attngan.training.checkpoints`).
    """
    trackables = {
        "generator": model.generator,
        "discriminator": model.discriminator,
        "d_optimizer": model.d_optimizer,
        "g_optimizer": model.g_optimizer,
        "seed_state": model.seed_generator.state,
    }
    if model.attends:
        trackables["mi_estimator"] = model.mi_estimator
    if model.ema_generator is not None:
        trackables["ema_generator"] = model.ema_generator
    for term in model.terms:
        trackables[f"term_{term.name}"] = term
    state = tf.train.Checkpoint(**trackables)
    if config is not None:
        trackables["config"] = _ConfigState(config)
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(**trackables), directory, max_to_keep=max_to_keep
    )
    # What a restore must match: the config is read, never restored, and
    # checkpoints written before it was stored lack it.
    manager.state = state
    return manager


def open_workdir(path):
    """The `Workdir` at `path`, its damaged checkpoints and config.json set aside first.

    Every command that reads a workdir (`train`, `export`, `evaluate`) opens it
    here, so each recovers from damage the same way (`keras_attngan.training.checkpoints`).
    """
    workdir = Workdir(path)
    recovery = checkpoints.recover(workdir.checkpoints)
    for removed in recovery.removed:
        print(f"Removed {removed}: left by a checkpoint write that did not finish.")
    checkpoints.recover_config(workdir.config_file, recovery.latest)
    return workdir


def _flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_diff(old, new):
    """The keys whose values differ between two configs.

    Keys missing on one side (a config written before the key existed) take
    the value the run trained with (`_completed`).

    Returns:
        Full dotted key -> (old value, new value), sorted by key.
    """
    old, new = (_completed(c.to_dict()) for c in (old, new))
    return {
        key: (old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }


def _completed(stored):
    """A stored config as a flat dict, with the keys it lacks at what its run trained with:
    today's default, or `_BEFORE_THE_KEY`'s value where the default has changed."""
    return {**_flatten(default_config().to_dict()), **_BEFORE_THE_KEY, **_flatten(stored)}


def stored_config(workdir):
    """The config the workdir's latest checkpoint was trained with.

    Falls back to config.json for checkpoints written before configs were
    stored in them, and returns None for a workdir without a run.

    Raises:
        ValueError: checkpoints without any config to check them against.
    """
    latest = tf.train.latest_checkpoint(workdir.checkpoints)
    text = checkpoints.config_in_checkpoint(latest) if latest else None
    if text is not None:
        return ml_collections.ConfigDict(json.loads(text))
    if os.path.exists(workdir.config_file):
        return load_config(workdir)
    if tf.train.get_checkpoint_state(workdir.checkpoints):
        raise ValueError(
            f"Workdir {workdir.root!r} holds checkpoints but no config.json, so "
            "they cannot be checked against this config. Use a new --workdir."
        )
    return None


def _describe(changes):
    return "; ".join(
        f"{key}: {old!r} in the workdir, {new!r} now" for key, (old, new) in changes.items()
    )


def check_workdir_compatible(config, workdir, allow_change=False):
    """Compares `config` with the run in `workdir`; returns the changes to apply.

    Keys that only change how the run is executed or logged (`train.steps`,
    `log.*`, ...) may always change. A change of the seed, the data, the
    model or the optimisation is refused unless `allow_change`, and a change
    of the networks' shapes is always refused: the checkpoint cannot hold
    them.

    Args:
        config: the config of this invocation.
        workdir: a `Workdir`, possibly empty.
        allow_change: accept changes of the run-defining keys.

    Returns:
        Full dotted key -> (stored, new) of the accepted run-defining changes
        (empty for a new workdir).

    Raises:
        ValueError: listing each refused key with both values; nothing in
            the workdir is touched.
    """
    stored = stored_config(workdir)
    if stored is None:
        return {}
    changes = config_diff(stored, config)
    architecture = {k: v for k, v in changes.items() if k in _ARCHITECTURE_KEYS}
    if architecture:
        raise ValueError(
            f"Workdir {workdir.root!r} holds a run with an incompatible config; "
            "nothing was changed. Use a new --workdir, or the config it was made with. "
            "Differences: " + _describe(architecture)
        )
    defining = {
        key: values
        for key, values in changes.items()
        if key not in _FREE_KEYS and not key.startswith(_FREE_SECTIONS)
    }
    if defining and not allow_change:
        raise ValueError(
            f"Workdir {workdir.root!r} holds a run trained with other values of keys that "
            "change what it computes; nothing was changed. Rerun with the stored values, use "
            "a new --workdir, or pass --allow_config_change to apply the new values from the "
            "current step (recorded in config_changes.jsonl). Differences: " + _describe(defining)
        )
    return defining


def record_config_change(workdir, step, changes, reason):
    """Appends one accepted config change to the workdir's config_changes.jsonl."""
    os.makedirs(workdir.root, exist_ok=True)
    entry = {
        "step": int(step),
        "changes": {key: {"from": old, "to": new} for key, (old, new) in changes.items()},
        "reason": reason,
    }
    with open(workdir.config_changes_file, "a") as f:
        f.write(json.dumps(entry, sort_keys=True, default=str) + "\n")


def write_config(config, workdir):
    """Writes config.json atomically (temporary file, then rename)."""
    os.makedirs(workdir.root, exist_ok=True)
    temporary = workdir.config_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    os.replace(temporary, workdir.config_file)


def load_config(workdir):
    """Reads the config a workdir was trained with.

    Keys added since it was written take the values the run trained with
    (their defaults, or the old behaviour where a default has changed; as
    `config_diff` assumes), so old runs still build and resume unchanged.
    """
    if not os.path.exists(workdir.config_file):
        raise FileNotFoundError(
            f"No config.json in {workdir.root!r}: is it a workdir written by `attngan train`?"
        )
    with open(workdir.config_file) as f:
        stored = json.load(f)
    config = default_config()
    config.update_from_flattened_dict(_BEFORE_THE_KEY)
    config.update(stored)
    return config


def restore_trainer(config, workdir):
    """Builds the trainer and restores the latest checkpoint of `workdir`.

    The one restore of the library (`train`, `export` and `evaluate` use
    it). Everything comes from the checkpoint except the learning rates,
    which are set from `config` after the optimizers' state is restored: a
    run resumed with `--allow_config_change` really trains at the new rate.

    Returns:
        (model, manager, restored step or 0 when there was no checkpoint).

    Raises:
        ValueError: when the checkpoint does not fit the config's networks.
    """
    validate_config(config)
    model = build_trainer(config)
    manager = checkpoint_manager(model, workdir.checkpoints, config.log.keep_checkpoints, config)
    if manager.latest_checkpoint:
        try:
            status = manager.state.read(manager.latest_checkpoint)
            status.assert_existing_objects_matched().expect_partial()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise ValueError(
                f"Checkpoint {manager.latest_checkpoint!r} does not fit the networks of "
                f"this config: {error}"
            ) from error
        # The checkpoint restored the learning rates it was saved with; the
        # config's win (a change was refused unless --allow_config_change).
        model.d_optimizer.learning_rate = config.train.d_learning_rate
        model.g_optimizer.learning_rate = config.train.g_learning_rate
        for term in model.own_terms:
            term.optimizer.learning_rate = term.learning_rate
    return model, manager, int(model.train_steps.numpy())
