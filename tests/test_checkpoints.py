"""Damaged workdirs: every command resumes from the newest good checkpoint, and nothing is lost.

The fault matrix: each file kind of a checkpoint (index, data), the index
file and config.json, each damage (truncate, zero-fill, delete, random
bytes).
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import DAMAGES, copy_run, random_bytes, tiny_config, truncate, zero_fill

from keras_attngan.core.errors import DamagedFileError, DamagedFileWarning
from keras_attngan.training import checkpoints
from keras_attngan.training.experiment import Workdir, load_config, open_workdir
from keras_attngan.training.loop import export_workdir, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


CHECKPOINT_FILES = {"index": "ckpt-4.index", "data": "ckpt-4.data-00000-of-00001"}


def _all_files(root):
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    }


def _weights(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {
        name: reader.get_tensor(name)
        for name, dtype in reader.get_variable_to_dtype_map().items()
        # Not the stored config, the object graph, or how many saves this process made.
        if dtype != tf.string and not name.startswith("save_counter")
    }


@pytest.mark.slow
@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("kind", sorted(CHECKPOINT_FILES))
def test_a_damaged_newest_checkpoint_is_moved_aside_and_the_older_one_becomes_latest(
    finished_run, tmp_path, kind, damage
):
    workdir = copy_run(finished_run, tmp_path)
    before = _all_files(workdir.checkpoints)
    DAMAGES[damage](os.path.join(workdir.checkpoints, CHECKPOINT_FILES[kind]))
    with pytest.warns(DamagedFileWarning) as warned:
        recovery = checkpoints.recover(workdir.checkpoints)
    assert len(warned) == 1
    message = str(warned[0].message)
    assert CHECKPOINT_FILES[kind] in message and "going on from ckpt-2" in message
    assert recovery.latest.endswith("ckpt-2")
    assert tf.train.latest_checkpoint(workdir.checkpoints).endswith("ckpt-2")
    after = _all_files(workdir.checkpoints)
    moved = {f for f in before if f.startswith("ckpt-4")} - ({CHECKPOINT_FILES[kind]} if damage == "delete" else set())
    assert {os.path.join("damaged", f) for f in moved} <= after  # kept, not deleted
    assert {f for f in before if f.startswith("ckpt-2")} <= after


@pytest.mark.slow
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_index_file_is_rebuilt_from_the_checkpoints(finished_run, tmp_path, damage):
    workdir = copy_run(finished_run, tmp_path)
    DAMAGES[damage](os.path.join(workdir.checkpoints, "checkpoint"))
    with pytest.warns(DamagedFileWarning, match="checkpoint is (unreadable|missing)"):
        recovery = checkpoints.recover(workdir.checkpoints)
    assert recovery.latest.endswith("ckpt-4")
    state = tf.train.get_checkpoint_state(workdir.checkpoints)
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-2", "ckpt-4"]
    if damage != "delete":
        assert os.path.exists(os.path.join(workdir.checkpoints, "damaged", "checkpoint"))


@pytest.mark.slow
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_config_json_is_rewritten_from_the_checkpoint(finished_run, tmp_path, damage):
    workdir = copy_run(finished_run, tmp_path)
    DAMAGES[damage](workdir.config_file)
    with pytest.warns(DamagedFileWarning, match="config.json was damaged"):
        open_workdir(workdir.root)
    assert load_config(workdir).to_dict() == load_config(Workdir(finished_run)).to_dict()
    if damage != "delete":
        assert os.path.exists(os.path.join(workdir.root, "damaged", "config.json"))


def test_a_damaged_config_json_without_a_stored_config_names_the_file(tmp_path):
    workdir = Workdir(str(tmp_path))
    open(workdir.config_file, "wb").write(b"\x00" * 40)
    with pytest.raises(DamagedFileError, match=r"config.json is damaged \(not JSON"):
        open_workdir(workdir.root)
    assert os.path.exists(workdir.config_file)


@pytest.mark.slow
def test_when_every_checkpoint_is_damaged_none_is_latest_and_all_are_kept(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    for step in (2, 4):
        zero_fill(os.path.join(workdir.checkpoints, f"ckpt-{step}.data-00000-of-00001"))
    with pytest.warns(DamagedFileWarning, match="no intact checkpoint is left"):
        recovery = checkpoints.recover(workdir.checkpoints)
    assert recovery.latest is None and tf.train.latest_checkpoint(workdir.checkpoints) is None
    assert len(os.listdir(os.path.join(workdir.checkpoints, "damaged"))) == 5  # 2 x 2 files + index


def test_non_finite_weights_count_as_damage(tmp_path):
    prefix = str(tmp_path / "ckpt-1")
    tf.train.Checkpoint(w=tf.Variable([1.0, np.nan])).write(prefix)
    assert checkpoints.problem_with(prefix) == (
        f"{prefix}.data-00000-of-00001", "w/.ATTRIBUTES/VARIABLE_VALUE is not finite"
    )
    tf.train.Checkpoint(w=tf.Variable([1.0, 2.0])).write(prefix)
    assert checkpoints.problem_with(prefix) is None


@pytest.mark.slow
def test_interrupted_checkpoint_writes_are_cleaned_up(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    directory = workdir.checkpoints
    # A save that died before the index listed it, and TF's staging of another.
    for name in ("ckpt-6.index", "ckpt-6.data-00000-of-00001"):
        shutil.copy(os.path.join(directory, name.replace("6", "4")), os.path.join(directory, name))
    os.makedirs(os.path.join(directory, "ckpt-8_temp"))
    recovery = checkpoints.recover(directory)
    assert sorted(os.path.basename(p) for p in recovery.removed) == [
        "ckpt-6.data-00000-of-00001", "ckpt-6.index", "ckpt-8_temp"
    ]  # fmt: skip
    assert recovery.latest.endswith("ckpt-4") and recovery.damaged == ()


@pytest.mark.slow
def test_training_resumes_past_a_damaged_checkpoint_and_ends_like_an_uninterrupted_run(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    truncate(os.path.join(workdir.checkpoints, CHECKPOINT_FILES["data"]))
    with pytest.warns(DamagedFileWarning):
        train(tiny_config(), workdir.root)
    latest = tf.train.latest_checkpoint(workdir.checkpoints)
    assert latest.endswith("ckpt-4")
    expected, actual = _weights(os.path.join(finished_run, "checkpoints", "ckpt-4")), _weights(latest)
    assert expected.keys() == actual.keys() and len(expected) > 30
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


@pytest.mark.slow
def test_export_uses_the_newest_good_checkpoint(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    random_bytes(os.path.join(workdir.checkpoints, CHECKPOINT_FILES["index"]))
    with pytest.warns(DamagedFileWarning):
        path = export_workdir(workdir.root, str(tmp_path / "export"))
    assert os.path.basename(path) == "2"


@pytest.mark.slow
def test_the_command_line_names_the_damaged_file_in_one_warning_line(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    zero_fill(os.path.join(workdir.checkpoints, CHECKPOINT_FILES["data"]))
    command = [sys.executable, "-m", "keras_attngan.cli.main", "export", "--workdir", workdir.root,
               "--out", str(tmp_path / "export")]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("attngan export: warning: ") and "ckpt-4.data-00000-of-00001 is" in lines[0]
    assert "going on from ckpt-2" in lines[0]


def test_a_reader_closing_the_pipe_early_is_not_an_error():
    command = [sys.executable, "-m", "keras_attngan.cli.main", "synthesize", "--help"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, PYTHONPATH=REPO))  # fmt: skip
    process.stdout.close()  # as `| head` does once it has its lines
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""
