"""Trains a config, resuming from the workdir's latest checkpoint.

    attngan train --config configs/symbols_attn.py --workdir runs/symbols
    attngan train --config configs/symbols_attn.py:smoke --workdir /tmp/smoke \\
        --config.train.inner_steps=3

Writes checkpoints, TensorBoard logs, sample / mask PNGs and the serving
SavedModel into the workdir, then prints where each is. Any config key can be
set as --config.KEY=VALUE (docs/configuration.md lists them all); the whole
config is checked before any work starts.
"""

from absl import flags
from ml_collections import config_flags

from keras_attngan.apps import paths
from keras_attngan.cli import runtime
from keras_attngan.training.validation import validate_config

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Experiment config file, configs/NAME.py[:ARG] (ARG smoke: a tiny run); "
    "set keys with --config.KEY=VALUE.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (created; reused to resume).")
_ALLOW_CONFIG_CHANGE = flags.DEFINE_bool(
    "allow_config_change",
    False,
    "Resume a run whose seed, data, model or optimisation keys changed, applying the new "
    "values from its current step (recorded in WORKDIR/config_changes.jsonl).",
)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv  # `attngan` refuses positional arguments
    # ml_collections reports a config file it could not find only when the
    # config is first read, under a traceback.
    paths.input_file("--config", flags.FLAGS["config"].config_filename.split(":", 1)[0])
    paths.output_dir("--workdir", _WORKDIR.value)
    validate_config(_CONFIG.value)  # before TensorFlow's import: a bad value is refused at once
    runtime.start_work()
    from keras_attngan.training.loop import describe, train

    workdir, export_path = train(_CONFIG.value, _WORKDIR.value, _ALLOW_CONFIG_CHANGE.value)
    print(describe(workdir, export_path))
