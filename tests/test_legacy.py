"""Runs written by earlier versions of the package still restore, export, resume and serve.

`tests/data/legacy/` holds three finished 20-step `:smoke` runs (attention, plain and
super-resolution), each trimmed to its config, its last checkpoint and its export, as
the package wrote them before its modules moved into the layer folders. A checkpoint
must restore into today's trainer bit for bit: its fresh export must compute what the
old export computes from the same inputs.
"""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_attngan.training.experiment import Workdir, load_config
from keras_attngan.training.loop import export_workdir, train

LEGACY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "legacy")
RUNS = ("symbols_attn", "symbols_baseline", "photos_sr_x4")


def _copy(run, tmp_path):
    workdir = str(tmp_path / run)
    shutil.copytree(os.path.join(LEGACY, run), workdir)
    return workdir


def _inputs(signature):
    """Deterministic inputs for each of a signature's tensors."""
    rng = np.random.default_rng(0)
    inputs = {}
    for name, spec in signature.structured_input_signature[1].items():
        shape = [2 if size is None else size for size in spec.shape]
        if spec.dtype.is_integer:
            inputs[name] = tf.zeros(shape, spec.dtype)
        else:
            inputs[name] = tf.constant(rng.uniform(-1, 1, shape), spec.dtype)
    return inputs


@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS)
def test_an_old_checkpoint_exports_what_its_old_export_computes(run, tmp_path):
    workdir = _copy(run, tmp_path)
    old = tf.saved_model.load(os.path.join(workdir, "export", "20"))
    new = tf.saved_model.load(export_workdir(workdir, out=str(tmp_path / "new")))
    assert set(new.signatures) == set(old.signatures)
    for name, signature in old.signatures.items():
        if name == "sample":
            inputs = {"seed": tf.constant(3, tf.int64), "count": tf.constant(2)}
        else:
            inputs = _inputs(signature)
        expected, got = signature(**inputs), new.signatures[name](**inputs)
        assert set(got) == set(expected), name
        for key in expected:
            np.testing.assert_allclose(got[key].numpy(), expected[key].numpy(), atol=1e-5, err_msg=f"{name}/{key}")


@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS)
def test_an_old_run_resumes(run, tmp_path):
    workdir = _copy(run, tmp_path)
    config = load_config(Workdir(workdir))
    config.train.steps = 30
    _, export = train(config, workdir, allow_config_change=True)
    assert export.endswith(os.path.join("export", "30"))
