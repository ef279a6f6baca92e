import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan import synthesis
from keras_attngan.experiment import Workdir, build_data, restore_trainer
from keras_attngan.training import describe, export_workdir, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTNGAN = [sys.executable, "-m", "keras_attngan.cli.main"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-step run, then the same workdir resumed to 8 steps."""
    root = str(tmp_path_factory.mktemp("run"))
    train(tiny_config(), root)
    workdir, export_path = train(tiny_config(**{"train.steps": 8}), root)
    return workdir, export_path


def test_train_leaves_a_complete_run_directory(trained):
    workdir, export_path = trained
    assert os.path.basename(export_path) == "8"
    for name in ("samples.png", "overlays.png", "inner_loop.png"):
        assert os.path.exists(os.path.join(workdir.samples, name))
    assert tf.train.latest_checkpoint(workdir.checkpoints).endswith("ckpt-8")
    text = describe(workdir, export_path)
    assert f"tensorboard --logdir {workdir.logs}" in text and export_path in text


def test_resume_continues_the_step_count_and_the_curves(trained):
    workdir, _ = trained
    accumulator = event_accumulator.EventAccumulator(
        os.path.join(workdir.logs, "train"), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    assert [event.step for event in accumulator.Tensors("d_loss")] == [2, 4, 6, 8]
    assert sorted(os.listdir(workdir.masks)) == [f"step_000000{s}.npz" for s in (2, 4, 6, 8)]


def test_rerun_of_a_finished_run_does_nothing(trained, capsys):
    workdir, export_path = trained
    before = tf.train.latest_checkpoint(workdir.checkpoints)
    _, again = train(tiny_config(**{"train.steps": 8}), workdir.root)
    assert "already trained to step 8" in capsys.readouterr().out
    assert again == export_path and tf.train.latest_checkpoint(workdir.checkpoints) == before


def test_incompatible_config_is_refused_before_any_work(trained):
    workdir, _ = trained
    checkpoint = tf.train.latest_checkpoint(workdir.checkpoints)
    with pytest.raises(ValueError, match="model.mask_source: 'learned' in the workdir, 'saliency' now"):
        train(tiny_config(**{"model.mask_source": "saliency", "train.steps": 12}), workdir.root)
    assert tf.train.latest_checkpoint(workdir.checkpoints) == checkpoint


def test_export_command_matches_the_end_of_training_export(trained, tmp_path):
    workdir, export_path = trained
    path = export_workdir(workdir.root, str(tmp_path))
    assert os.path.basename(path) == "8"
    z = tf.random.normal((2, 16), seed=0)
    ours = tf.saved_model.load(path).signatures["serving_default"](z=z)["images"]
    theirs = tf.saved_model.load(export_path).signatures["serving_default"](z=z)["images"]
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_export_without_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        export_workdir(str(tmp_path))


@pytest.mark.parametrize("file_format", synthesis.FORMATS)
def test_synthesize_writes_n_readable_images(trained, tmp_path, file_format):
    workdir, _ = trained
    images, noise = synthesis.generate(workdir.export, num=5, seed=3, batch_size=2)
    assert images.shape == (5, 16, 16, 3) and images.dtype == np.uint8
    paths = synthesis.write(images, noise, str(tmp_path), file_format)
    if file_format == "png":
        assert len(paths) == 5
        decoded = np.stack([tf.io.decode_png(tf.io.read_file(p)).numpy() for p in paths])
    elif file_format == "npz":
        with np.load(paths[0]) as archive:
            decoded = archive["images"]
            np.testing.assert_array_equal(archive["z"], noise)
    else:
        spec = {"image/encoded": tf.io.FixedLenFeature([], tf.string)}
        records = tf.data.TFRecordDataset(paths[0])
        decoded = np.stack(
            [tf.io.decode_png(tf.io.parse_single_example(r, spec)["image/encoded"]).numpy() for r in records]
        )
    np.testing.assert_array_equal(decoded, images)


def test_synthesize_is_reproducible_from_the_seed(trained):
    workdir, _ = trained
    a, _ = synthesis.generate(workdir.export, num=3, seed=7)
    b, _ = synthesis.generate(workdir.export, num=3, seed=7)
    c, _ = synthesis.generate(workdir.export, num=3, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _attngan(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(ATTNGAN + list(args), cwd=REPO, capture_output=True, text=True, env=env)


def test_console_synthesize(trained, tmp_path):
    workdir, _ = trained
    result = _attngan(
        "synthesize", "--model", workdir.export, "--num", "3", "--out", str(tmp_path), "--format", "npz"
    )
    assert result.returncode == 0, result.stderr
    assert f"Wrote 3 images to {tmp_path}/samples.npz" in result.stdout
    with np.load(tmp_path / "samples.npz") as archive:
        assert archive["images"].shape == (3, 16, 16, 3)


def test_console_rejects_bad_input_before_any_work(tmp_path):
    workdir = tmp_path / "never_created"
    result = _attngan(
        "train",
        "--config",
        "configs/symbols_attn.py:smoke",
        "--workdir",
        str(workdir),
        "--config.model.mask_source=shap",
    )
    assert result.returncode != 0
    assert "model.mask_source" in result.stderr and "'learned'" in result.stderr
    assert not workdir.exists()
    unknown = _attngan("fly")
    assert unknown.returncode == 2 and "unknown command 'fly'" in unknown.stderr


def test_train_with_evaluation_logs_fid(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTNGAN_CACHE", str(tmp_path / "cache"))
    config = tiny_config(**{"log.eval_every": 2, "log.eval_metrics": "fid", "log.eval_num": 32})
    # 32 samples for 64-d features: FID says its covariance is singular.
    with pytest.warns(UserWarning, match="covariance is singular"):
        workdir, _ = train(config, str(tmp_path / "run"))
    accumulator = event_accumulator.EventAccumulator(
        os.path.join(workdir.logs, "eval"), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    fid = [tf.make_ndarray(e.tensor_proto) for e in accumulator.Tensors("fid")]
    assert [e.step for e in accumulator.Tensors("fid")] == [2, 4]
    assert all(np.isfinite(value) and value >= -1e-6 for value in fid)


def test_resume_in_the_middle_of_an_epoch_trains_exactly_the_steps(tmp_path):
    # Checkpoints every 2 steps, epochs of 4: stop at 6 (mid-epoch), resume to 12.
    settings = {"train.steps_per_epoch": 4, "log.checkpoint_every": 2}
    train(tiny_config(**settings, **{"train.steps": 4}), str(tmp_path))
    workdir = Workdir(str(tmp_path))
    model, manager, _ = restore_trainer(tiny_config(**settings, **{"train.steps": 8, "data.channels": 3}), workdir)
    model.fit(build_data(tiny_config())[0], steps_per_epoch=2, epochs=1, verbose=0)
    manager.save(checkpoint_number=int(model.train_steps))  # step 6: mid-epoch
    _, export_path = train(tiny_config(**settings, **{"train.steps": 12}), str(tmp_path))
    assert os.path.basename(export_path) == "12"
    assert tf.train.latest_checkpoint(workdir.checkpoints).endswith("ckpt-12")
    assert sorted(os.listdir(workdir.export)) == ["12", "4"]  # no export at the mid-epoch boundary


def test_console_export_converts_verifies_and_versions(trained, tmp_path):
    workdir, _ = trained
    out = str(tmp_path / "attngan")
    result = _attngan(
        "export", "--workdir", workdir.root, "--out", out, "--format", "savedmodel,tflite,onnx", "--quantize", "float32"
    )
    assert result.returncode == 0, result.stderr
    assert f"SavedModel: {out}/8" in result.stdout
    assert "Parity against the SavedModel (ONNX opset 17)" in result.stdout
    assert "| tflite/float32 | serving_default | images |" in result.stdout
    assert sorted(os.listdir(os.path.join(out, "8", "onnx"))) == ["explain.onnx", "serving_default.onnx"]
    again = _attngan("export", "--workdir", workdir.root, "--out", out)
    assert again.returncode == 0 and f"SavedModel: {out}/9" in again.stdout  # a new version, not an overwrite
    wrong = _attngan("export", "--workdir", workdir.root, "--out", out, "--format", "coreml")
    assert wrong.returncode != 0 and "`format` should be among ['savedmodel', 'tflite', 'onnx']" in wrong.stderr
    assert sorted(os.listdir(out)) == ["8", "9"]


def test_export_from_a_corrupt_checkpoint_names_it(trained, tmp_path):
    workdir, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(workdir.root, copy)
    checkpoint = tf.train.latest_checkpoint(str(copy / "checkpoints"))
    (data,) = [p for p in os.listdir(copy / "checkpoints") if p.startswith(os.path.basename(checkpoint) + ".data")]
    with open(copy / "checkpoints" / data, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match=f"Checkpoint in '{copy / 'checkpoints'}' is unreadable"):
        export_workdir(str(copy), str(tmp_path / "export"))
    assert not (tmp_path / "export").exists()
