"""A run's directory: its files, the config it trained with, its checkpoints and their restore.

`train`, `export` and `evaluate` open a workdir and restore its trainer through
these functions only (`keras_attngan.training.build` builds the trainer from
the config), so they agree on what a config means and where a run keeps its
files.
"""

import dataclasses
import json
import os

import ml_collections
import tensorflow as tf

from keras_attngan.training import checkpoints
from keras_attngan.training.build import build_trainer
from keras_attngan.training.config import default_config
from keras_attngan.training.validation import validate_config

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
        # A schedule is built from the config and holds no restored rate.
        if config.train.lr_decay == "constant":
            model.d_optimizer.learning_rate = config.train.d_learning_rate
            model.g_optimizer.learning_rate = config.train.g_learning_rate
        for term in model.own_terms:
            term.optimizer.learning_rate = term.learning_rate
    return model, manager, int(model.train_steps.numpy())
