"""Non-finite (NaN / Inf) checks: one place for the guard, the exporter and the readers.

A diverged GAN keeps running: its losses and weights turn NaN, and every
checkpoint, export, synthesized image and metric computed from them is
garbage that looks like a result. Training stops at the first non-finite
loss or weight (`keras_attngan.training.callbacks.NonFiniteGuard`), and the commands
that read a model (`synthesize`, `evaluate`, `export`) refuse one whose
weights are not finite.
"""

import os

import numpy as np
import tensorflow as tf

from keras_attngan.core.errors import RunFailure


class NonFiniteError(RunFailure, FloatingPointError):
    """Training reached a NaN or Inf loss or weight.

    Attributes:
        step: the train step at which it was detected.
        values: name -> the non-finite value (losses) or None (weights).
    """

    def __init__(self, message, step=None, values=None):
        super().__init__(message)
        self.step = step
        self.values = values or {}


def _is_float(dtype):
    return tf.as_dtype(dtype).is_floating


def non_finite_variables(variables):
    """Names of the float variables holding a NaN or Inf (empty when all are finite)."""
    variables = [v for v in variables if _is_float(v.dtype)]
    if not variables:
        return []
    finite = tf.stack([tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(v))) for v in variables])
    names = [v.path if hasattr(v, "path") else v.name for v in variables]
    return [name for name, ok in zip(names, finite.numpy()) if not ok]


def non_finite_in_checkpoint(prefix):
    """Names of the float tensors of a checkpoint file that hold a NaN or Inf.

    Args:
        prefix: a checkpoint prefix (``.../ckpt-400``, or a SavedModel's
            ``variables/variables``).
    """
    reader = tf.train.load_checkpoint(prefix)
    return sorted(
        name
        for name, dtype in reader.get_variable_to_dtype_map().items()
        if _is_float(dtype) and not np.all(np.isfinite(reader.get_tensor(name)))
    )


def check_saved_model(path):
    """Raises `NonFiniteError` when a SavedModel's weights are not all finite.

    Args:
        path: a SavedModel directory (one export version).
    """
    bad = non_finite_in_checkpoint(os.path.join(path, "variables", "variables"))
    if bad:
        raise NonFiniteError(
            f"The model at {path!r} has non-finite (NaN or Inf) weights, so it cannot make "
            f"meaningful images: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}. "
            "Its training diverged; export an earlier checkpoint or retrain.",
            values={name: None for name in bad},
        )


def check_variables(variables, what):
    """Raises `NonFiniteError` when any of `variables` holds a NaN or Inf.

    Args:
        variables: the variables to check.
        what: what they are, for the message (e.g. "the restored trainer").
    """
    bad = non_finite_variables(variables)
    if bad:
        raise NonFiniteError(
            f"{what} has non-finite (NaN or Inf) weights: {', '.join(bad[:5])}"
            f"{' ...' if len(bad) > 5 else ''}. Its training diverged.",
            values={name: None for name in bad},
        )
