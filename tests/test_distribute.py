"""`train.strategy`: the registry, mirrored = one device, and two workers on loopback.

TF fixes its devices and cluster when it starts, so the distributed runs
happen in fresh processes (`tests/distributed_run.py`).
"""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_attngan.training import distribute

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "distributed_run.py")


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.path.dirname(HERE), **extra)
    env.pop("TF_CONFIG", None)
    return {**env, **extra}


def test_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"train.strategy.*'default', 'mirrored', 'multi_worker', 'tpu'.*'horovod'"):
        distribute.get_strategy("horovod")


@pytest.mark.slow
@pytest.mark.parametrize("source", ["learned", "verdict"])
def test_mirrored_on_two_devices_equals_one_device(tmp_path, source):
    out = tmp_path / "states.npz"
    result = subprocess.run(
        [sys.executable, SCRIPT, "mirrored", str(out)],
        env=_env(MASK_SOURCE=source),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as states:
        names = [k[len("default/") :] for k in states.files if k.startswith("default/")]
        assert len(names) > 30  # weights, BN statistics, both optimizers' slots, seed state
        for name in names:
            # Same global batch and noise; only the order of float sums differs.
            np.testing.assert_allclose(
                states[f"mirrored/{name}"], states[f"default/{name}"], rtol=1e-3, atol=1e-5, err_msg=name
            )


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workdir = str(tmp_path / "run")
    processes = [
        subprocess.Popen(
            [sys.executable, SCRIPT, "multi_worker", workdir],
            env=_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=400)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, output[-3000:]
    chief = tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")))
    other = tf.train.load_checkpoint(
        tf.train.latest_checkpoint(os.path.join(workdir, "workers", "worker-1", "checkpoints"))
    )
    # Every network, optimizer slot and the seed state.
    names = [n for n in chief.get_variable_to_shape_map() if "VARIABLE_VALUE" in n]
    assert len(names) > 30 and sorted(names) == sorted(
        n for n in other.get_variable_to_shape_map() if "VARIABLE_VALUE" in n
    )
    for name in names:
        np.testing.assert_array_equal(other.get_tensor(name), chief.get_tensor(name), err_msg=name)
    assert "2 replicas" in outputs[0]
