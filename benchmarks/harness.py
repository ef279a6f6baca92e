"""Shared machinery of the benchmarks: variants, timing, FLOP counting, traces.

Timing calls each model's compiled Keras train function on a persistent
iterator, so a timed round is pure training steps: no `fit` set-up, callbacks
or iterator creation. Variants are timed in alternation, round after round,
in one process, and each reports its best round: CPU timings drift by tens of
percent over minutes, and alternation exposes every variant to the same
drift.
"""

import dataclasses
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from configs import symbols_attn  # noqa: E402
from keras_attngan.apps.study import apply_overrides  # noqa: E402
from keras_attngan.training import precision  # noqa: E402
from keras_attngan.training.build import build_data, build_trainer  # noqa: E402
from keras_attngan.training.validation import validate_config  # noqa: E402


def count_flops(fn, *specs):
    """Float operations of one call of `fn` on inputs of `specs` (TF's profiler)."""
    graph = tf.function(fn).get_concrete_function(*specs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops


def make_config(num_examples=4096, **overrides):
    """`configs/symbols_attn.py` in float32, with the seed's first mask, dotted-key overrides, validated.

    The config computes in bfloat16 where the CPU has it (``"auto"``) and
    draws its first mask from the blob prior; a variant's row names either
    where it uses them (``mixed_bfloat16``, ``blobs``), so that a row means
    the same on every machine and whatever the config's defaults.
    """
    config = symbols_attn.get_config()
    config.data.num_examples = num_examples
    config.train.dtype_policy = "float32"
    config.model.first_mask = "recurrence"
    validate_config(apply_overrides(config, overrides))
    return config


def write_report(report, path, text):
    """Writes the JSON report to `path`, then prints `text` (the tables) and where it went."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    print(text)
    print(f"\nWrote {path}")


@dataclasses.dataclass
class Variant:
    """One model to time: its name, its facts and its running state."""

    name: str
    model: object
    batch_size: int
    iterator: object = None
    traces: list = dataclasses.field(default_factory=list)
    seconds: list = dataclasses.field(default_factory=list)
    flops_per_step: float = float("nan")
    dtype_policy: str = "float32"

    @property
    def steps_per_execution(self):
        return self.model.steps_per_execution

    def best_step_seconds(self, steps):
        return min(self.seconds) / steps


def build_variant(name, config=None, model_fn=None, dataset=None):
    """Builds a variant from a config (our trainer) or from `model_fn(config)` (a peer).

    `train_step` is wrapped with a counter that a traced function only runs
    while tracing, so `len(variant.traces)` is the number of traces.
    """
    config = config or make_config()
    if dataset is None:
        dataset, source = build_data(config)
        config.data.channels = source.channels
    model = model_fn(config) if model_fn else build_trainer(config)
    variant = Variant(name, model, config.data.batch_size, dtype_policy=precision.resolve(config.train.dtype_policy))
    original = model.train_step

    def counted_train_step(data):
        variant.traces.append(1)
        return original(data)

    model.train_step = counted_train_step
    model.make_train_function()
    variant.iterator = iter(dataset)
    spec = tf.TensorSpec(dataset.element_spec["images"].shape, tf.float32)
    variant.flops_per_step = count_flops(lambda images: original({"images": images}), spec)
    return variant


def run_steps(variant, steps):
    """Runs `steps` training steps; returns once the last one has finished."""
    logs = None
    for _ in range(steps // variant.steps_per_execution):
        logs = variant.model.train_function(variant.iterator)
    # Reading a value waits for the asynchronous execution to finish.
    float(np.asarray(next(iter(logs.values()))))


def time_variants(variants, steps, repeats, warmup_steps=None):
    """Warms every variant up, then times `steps` steps per variant per round."""
    for variant in variants:
        run_steps(variant, warmup_steps or 2 * variant.steps_per_execution)
        variant.traces_after_warmup = len(variant.traces)
    for _ in range(repeats):
        for variant in variants:
            start = time.perf_counter()
            run_steps(variant, steps)
            variant.seconds.append(time.perf_counter() - start)
    return variants
