"""Callbacks that keep the run safe: checkpoints, the non-finite guard, the export at the end."""

import keras
import numpy as np

from keras_attngan.training import finite
from keras_attngan.training.callbacks.base import EveryNSteps


class CheckpointSaver(EveryNSteps):
    """Saves a checkpoint every `every` steps and at the end; keeps the manager's last k.

    Args:
        manager: a `tf.train.CheckpointManager` (see
            `keras_attngan.training.experiment.checkpoint_manager`).
        every: period in train steps.
    """

    def __init__(self, manager, every=500):
        super().__init__(every)
        self.manager = manager

    def run(self, step, logs):
        self.manager.save(checkpoint_number=step)


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or Inf loss or weight, before anything is saved.

    It checks the logged losses and every float weight of the model after
    each Keras step call (every `steps_per_execution` train steps) and when
    training ends, and raises `keras_attngan.training.finite.NonFiniteError` naming
    the step and the non-finite losses. Put it first in the callback list:
    Keras calls callbacks in order and does not call `on_train_end` after an
    exception, so the checkpoint and export callbacks after it never see the
    non-finite state, and the last good checkpoint stays the latest.
    """

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs)

    def on_train_end(self, logs=None):
        self._check(logs)

    def _check(self, logs):
        step = int(self.model.train_steps.numpy())
        losses = {
            name: float(value)
            for name, value in (logs or {}).items()
            if np.ndim(value) == 0 and not np.isfinite(float(value))
        }
        weights = [] if losses else finite.non_finite_variables(self.model.weights)
        if not losses and not weights:
            return
        per_call = self.model.steps_per_execution or 1
        # Keras runs `per_call` steps per call: the first bad one is among them.
        where = f"step {step}"
        if per_call > 1:
            where += f" (steps {step - per_call + 1}-{step})"
        found = (
            ", ".join(f"{name}={value}" for name, value in losses.items())
            if losses
            else "finite losses but non-finite weights " + ", ".join(weights[:5])
        )
        raise finite.NonFiniteError(
            f"Training diverged at {where}: {found}.",
            step=step,
            values=losses or dict.fromkeys(weights),
        )


class ExportOnEnd(keras.callbacks.Callback):
    """Exports the serving SavedModel when training ends.

    Args:
        export_fn: called with the model; see `keras_attngan.export.serving.save_version`.
    """

    def __init__(self, export_fn):
        super().__init__()
        self.export_fn = export_fn
        self.path = None

    def on_train_end(self, logs=None):
        self.path = self.export_fn(self.model)
