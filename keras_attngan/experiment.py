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
from keras_attngan.config import validate_config
from keras_attngan.gan import AttnGAN
from keras_attngan.information import MI_ESTIMATORS, build_mi_estimator
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator

# Keys whose change makes an existing checkpoint meaningless or unloadable.
_ARCHITECTURE_KEYS = (
    "data.source",
    "data.image_size",
    "model.latent_dim",
    "model.g_width",
    "model.d_width",
    "model.mask_source",
    "model.mask_normalization",
    "model.mask_temperature",
    "model.mi_estimator",
    "model.mi_critic",
    "model.mi_cell_size",
    "model.mi_levels",
    "model.q_width",
)


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
    def config_file(self):
        return os.path.join(self.root, "config.json")


def build_data(config):
    """Returns (batched dataset, `SourceData`) for `config.data`."""
    return data_lib.make_dataset(
        config.data.source,
        image_size=config.data.image_size,
        batch_size=config.data.batch_size,
        seed=config.seed,
        num_examples=config.data.num_examples,
        split=config.data.split,
        data_dir=config.data.data_dir,
        skip_bad_files=config.data.skip_bad_files,
        download=config.data.download,
    )


@contextlib.contextmanager
def _dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_trainer(config):
    """Builds and compiles the `AttnGAN` that `config` describes.

    Args:
        config: a validated config whose `data.channels` is set (`attngan
            train` sets it from the data).

    Returns:
        A compiled `AttnGAN`.
    """
    model_cfg, train_cfg = config.model, config.train
    channels = config.data.channels
    if channels not in (1, 3):
        raise ValueError(
            "`data.channels` should be 1 or 3 (it is set from the data by `attngan "
            f"train`). Received: data.channels={channels!r}"
        )
    size = config.data.image_size
    uses_mask = model_cfg.mask_source != "none"
    with _dtype_policy(train_cfg.dtype_policy):
        generator = build_generator(
            model_cfg.latent_dim, size, channels, model_cfg.g_width, use_mask=uses_mask
        )
        discriminator = Discriminator(
            size,
            channels,
            model_cfg.d_width,
            attention=model_cfg.mask_source,
            mask_normalization=model_cfg.mask_normalization,
            mask_temperature=model_cfg.mask_temperature,
            name="discriminator",
        )
        mi_estimator = build_mi_estimator_from_config(config) if uses_mask else None
        model = AttnGAN(
            generator,
            discriminator,
            latent_dim=model_cfg.latent_dim,
            mi_estimator=mi_estimator,
            inner_steps=train_cfg.inner_steps,
            lambda_mi=train_cfg.lambda_mi,
            seed=config.seed,
        )

    def adam(learning_rate):
        return keras.optimizers.Adam(learning_rate, train_cfg.beta_1, train_cfg.beta_2)

    model.compile(
        d_optimizer=adam(train_cfg.d_learning_rate),
        g_optimizer=adam(train_cfg.g_learning_rate),
        loss=train_cfg.loss,
        jit_compile=train_cfg.jit_compile,
        steps_per_execution=train_cfg.steps_per_execution,
    )
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


def checkpoint_manager(model, directory, max_to_keep=3):
    """A `tf.train.CheckpointManager` over everything that defines a run's state.

    Networks, both optimizers (slots and step counters) and the model's seed
    generator, so a resumed run continues the same random stream.
    """
    trackables = {
        "generator": model.generator,
        "discriminator": model.discriminator,
        "d_optimizer": model.d_optimizer,
        "g_optimizer": model.g_optimizer,
        "seed_state": model.seed_generator.state,
    }
    if model.mi_estimator is not None:
        trackables["mi_estimator"] = model.mi_estimator
    checkpoint = tf.train.Checkpoint(**trackables)
    return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)


def _flatten(config):
    return {
        f"{section}.{key}": value
        for section, values in config.to_dict().items()
        if isinstance(values, dict)
        for key, value in values.items()
    }


def check_workdir_compatible(config, workdir):
    """Refuses a workdir whose checkpoints come from an incompatible config.

    Raises:
        ValueError: listing each architecture key that differs; nothing in
            the workdir is touched.
    """
    if not os.path.exists(workdir.config_file):
        if tf.train.get_checkpoint_state(workdir.checkpoints):
            raise ValueError(
                f"Workdir {workdir.root!r} holds checkpoints but no config.json, so "
                "they cannot be checked against this config. Use a new --workdir."
            )
        return
    with open(workdir.config_file) as f:
        stored = json.load(f)
    stored_flat = _flatten(ml_collections.ConfigDict(stored))
    current = _flatten(config)
    differences = [
        f"{key}: {stored_flat.get(key)!r} in the workdir, {current.get(key)!r} now"
        for key in _ARCHITECTURE_KEYS
        if stored_flat.get(key) != current.get(key)
    ]
    if differences:
        raise ValueError(
            f"Workdir {workdir.root!r} holds a run with an incompatible config; "
            "nothing was changed. Use a new --workdir, or the config it was made with. "
            "Differences: " + "; ".join(differences)
        )


def write_config(config, workdir):
    """Writes config.json atomically (temporary file, then rename)."""
    os.makedirs(workdir.root, exist_ok=True)
    temporary = workdir.config_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    os.replace(temporary, workdir.config_file)


def load_config(workdir):
    """Reads the config a workdir was trained with."""
    if not os.path.exists(workdir.config_file):
        raise FileNotFoundError(
            f"No config.json in {workdir.root!r}: is it a workdir written by `attngan train`?"
        )
    with open(workdir.config_file) as f:
        return ml_collections.ConfigDict(json.load(f))


def restore_trainer(config, workdir):
    """Builds the trainer and restores the latest checkpoint of `workdir`.

    Returns:
        (model, manager, restored step or 0 when there was no checkpoint).

    Raises:
        ValueError: when the checkpoint does not fit the config's networks.
    """
    validate_config(config)
    model = build_trainer(config)
    manager = checkpoint_manager(model, workdir.checkpoints, config.log.keep_checkpoints)
    if manager.latest_checkpoint:
        try:
            manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise ValueError(
                f"Checkpoint {manager.latest_checkpoint!r} does not fit the networks of "
                f"this config: {error}"
            ) from error
    return model, manager, int(model.train_steps.numpy())
