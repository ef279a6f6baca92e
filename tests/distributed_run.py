"""Runs a tiny training under a `tf.distribute` strategy, in its own process.

TF fixes its devices and its cluster when it starts, so the distribution
tests run this script in fresh processes:

    python tests/distributed_run.py mirrored OUT.npz
        trains the same config on one device and mirrored over two logical
        CPU devices (the same global batch) and writes both final states;
    python tests/distributed_run.py multi_worker WORKDIR
        trains the config with `train.strategy=multi_worker` (TF_CONFIG set
        by the caller) in WORKDIR.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from conftest import tiny_config  # noqa: E402

STEPS = int(os.environ.get('STEPS', 4))


def _state(model):
    variables = model.weights + model.d_optimizer.variables + model.g_optimizer.variables
    return {f"{i}:{v.name}": np.asarray(v.numpy()) for i, v in enumerate(variables)}


def mirrored(out):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from keras_attngan.experiment import build_data, build_trainer, set_determinism

    states = {}
    for strategy in ("default", "mirrored"):
        config = tiny_config(
            **{"data.channels": 3, "train.strategy": strategy, "train.steps_per_execution": 1}
        )
        # InfoNCE contrasts each example with the others of its replica's
        # batch, so it changes with the replica count by design; the
        # per-example Barber-Agakov bound makes the step comparable.
        config.model.mi_estimator = "barber_agakov"
        set_determinism(config)
        dataset, _ = build_data(config)
        model = build_trainer(config)
        assert model.distribute_strategy.num_replicas_in_sync == (2 if strategy == "mirrored" else 1)
        history = model.fit(dataset, steps_per_epoch=STEPS, epochs=1, verbose=0)
        states.update({f"{strategy}/{k}": v for k, v in _state(model).items()})
        states[f"{strategy}/losses"] = np.array([history.history["d_loss"][-1], history.history["g_loss"][-1]])
    np.savez(out, **states)


def multi_worker(workdir):
    from keras_attngan.training import train

    train(tiny_config(**{"train.strategy": "multi_worker", "train.steps": STEPS}), workdir)


if __name__ == "__main__":
    {"mirrored": mirrored, "multi_worker": multi_worker}[sys.argv[1]](sys.argv[2])
