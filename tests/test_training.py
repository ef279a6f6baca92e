"""The training driver's robustness: non-finite guard, reproducibility, resume."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import copy_run, tiny_config

from keras_attngan.apps import synthesis
from keras_attngan.apps.evaluation import load_subject
from keras_attngan.export import serving
from keras_attngan.trainers.recurrence import synthesize
from keras_attngan.training import callbacks, finite
from keras_attngan.training.build import build_data, build_trainer, set_determinism
from keras_attngan.training.experiment import Workdir, restore_trainer
from keras_attngan.training.loop import train

DIVERGING = {"train.g_learning_rate": 1e6, "train.d_learning_rate": 1e6, "train.steps": 8}


def _latest(workdir):
    return tf.train.latest_checkpoint(workdir.checkpoints)


def _changes(workdir):
    with open(workdir.config_changes_file) as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_divergence_stops_with_the_step_and_loss_and_saves_nothing(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    with pytest.raises(finite.NonFiniteError, match=r"diverged at step \d+ \(steps \d+-\d+\): ") as info:
        train(tiny_config(**DIVERGING), workdir.root, allow_config_change=True)
    assert "latest checkpoint is still" in str(info.value) and info.value.step > 4
    assert _latest(workdir).endswith("ckpt-4")
    assert sorted(os.listdir(workdir.export)) == ["4"]
    assert finite.non_finite_in_checkpoint(_latest(workdir)) == []
    images, _ = synthesis.from_export(workdir.export, num=2)  # the good export still serves
    assert images.shape[0] == 2


def test_guard_names_the_step_and_the_non_finite_loss():
    model = build_trainer(tiny_config(**{"data.channels": 3, "train.steps_per_execution": 1}))
    guard = callbacks.NonFiniteGuard()
    guard.set_model(model)
    guard.on_train_batch_end(0, {"d_loss": 1.0, "g_loss": 0.5})  # finite: nothing happens
    with pytest.raises(finite.NonFiniteError, match=r"^Training diverged at step 0: g_loss=nan\.$"):
        guard.on_train_batch_end(0, {"d_loss": 1.0, "g_loss": float("nan")})
    model.discriminator.trainable_weights[0].assign_add(np.inf)
    with pytest.raises(finite.NonFiniteError, match="finite losses but non-finite weights"):
        guard.on_train_end({"d_loss": 1.0})


@pytest.mark.slow
def test_rollback_lowers_the_learning_rate_and_finishes(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    config = tiny_config(
        **DIVERGING, **{"train.on_non_finite": "rollback", "train.rollback_lr_factor": 1e-9}
    )
    _, export_path = train(config, workdir.root, allow_config_change=True)
    assert os.path.basename(export_path) == "8" and _latest(workdir).endswith("ckpt-8")
    applied, rollback = _changes(workdir)
    assert applied["reason"] == "--allow_config_change" and applied["step"] == 4
    assert rollback["step"] == 4 and rollback["reason"].startswith("rollback 1 of 3: Training diverged")
    assert rollback["changes"]["train.g_learning_rate"]["to"] == pytest.approx(1e-3)
    with open(workdir.config_file) as f:
        assert json.load(f)["train"]["d_learning_rate"] == pytest.approx(1e-3)


def test_synthesize_and_evaluate_refuse_non_finite_weights(tmp_path):
    model = build_trainer(tiny_config(**{"data.channels": 3}))
    weight = model.generator.trainable_weights[0]
    weight.assign(np.full(weight.shape, np.nan, "float32"))
    path = serving.save_version(model, str(tmp_path / "export"))
    with pytest.raises(finite.NonFiniteError, match="non-finite"):
        synthesis.from_export(path, num=2)
    with pytest.raises(finite.NonFiniteError, match="non-finite"):
        load_subject(path)


def _losses_and_weights(config, steps=6):
    set_determinism(config)
    dataset, _ = build_data(config)
    model = build_trainer(config)
    losses = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda _, logs: losses.append([logs["d_loss"], logs["g_loss"]])
    )
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[record])
    return np.array(losses), [w.numpy() for w in model.weights]


@pytest.mark.slow
@pytest.mark.parametrize("deterministic", [False, True])
def test_same_seed_gives_identical_losses_step_by_step(deterministic):
    settings = {"data.channels": 3, "train.steps_per_execution": 1, "train.deterministic": deterministic}
    losses, weights = _losses_and_weights(tiny_config(**settings))
    keras.utils.set_random_seed(123)  # whatever ran before, the config's seed decides
    again, weights_again = _losses_and_weights(tiny_config(**settings))
    reseeded = tiny_config(**settings)
    reseeded.seed = 1
    other, _ = _losses_and_weights(reseeded)
    np.testing.assert_array_equal(losses, again)
    for a, b in zip(weights, weights_again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(losses, other)
    set_determinism(tiny_config())  # leave op determinism off for the next tests


@pytest.mark.slow
def test_changed_learning_rate_is_refused_then_applied_with_the_flag(finished_run, tmp_path, capsys):
    workdir = copy_run(finished_run, tmp_path)
    changed = tiny_config(**{"train.steps": 6, "train.g_learning_rate": 1e-3, "data.num_examples": 48})
    message = (
        r"--allow_config_change.*Differences: data.num_examples: 64 in the workdir, 48 now; "
        r"train.g_learning_rate: 0.0002 in the workdir, 0.001 now$"
    )
    with pytest.raises(ValueError, match=message):
        train(changed, workdir.root)
    assert _latest(workdir).endswith("ckpt-4") and not os.path.exists(workdir.config_changes_file)
    train(changed, workdir.root, allow_config_change=True)
    assert _latest(workdir).endswith("ckpt-6")
    (entry,) = _changes(workdir)
    assert entry["step"] == 4 and entry["changes"]["train.g_learning_rate"] == {"from": 2e-4, "to": 1e-3}
    model, _, step = restore_trainer(changed, workdir)
    assert step == 6 and float(model.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert float(model.d_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    capsys.readouterr()
    train(tiny_config(**{"train.steps": 2, "train.g_learning_rate": 1e-3, "data.num_examples": 48}), workdir.root)
    assert "already trained to step 6, past train.steps=2; nothing to do" in capsys.readouterr().out


def _final_weights(workdir):
    reader = tf.train.load_checkpoint(_latest(workdir))
    # Every network, optimizer slot and step counter, and the seed state; not
    # the checkpoint's own save counter, which counts saves, not training.
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if "VARIABLE_VALUE" in name and not name.startswith("save_counter")
    }


@pytest.mark.slow
def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    # One epoch of 64 examples is 8 batches: 12 steps cross an epoch boundary.
    settings = {"train.steps": 12, "train.steps_per_epoch": 4, "log.checkpoint_every": 2}
    whole = Workdir(str(tmp_path / "whole"))
    train(tiny_config(**settings), whole.root)
    resumed = Workdir(str(tmp_path / "resumed"))
    train(tiny_config(**{**settings, "train.steps": 4}), resumed.root)
    train(tiny_config(**settings), resumed.root)
    expected, actual = _final_weights(whole), _final_weights(resumed)
    assert expected.keys() == actual.keys() and len(expected) > 30
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def _cli_train(workdir, *extra):
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    settings = {
        "data.image_size": 8, "data.num_examples": 64, "data.batch_size": 8, "model.g_width": 8,
        "model.d_width": 8, "model.q_width": 8, "model.latent_dim": 8, "train.steps": 40,
        "train.steps_per_epoch": 4, "train.steps_per_execution": 1, "train.deterministic": True,
        "log.checkpoint_every": 4, "log.images_every": 40, "log.scalars_every": 4, "log.num_images": 4,
        "train.mi_pairs": 4,  # the config's pairing, on the shrunk batch (as tiny_config)
    }  # fmt: skip
    command = [sys.executable, "-m", "keras_attngan.cli.main", "train", "--config",
               "configs/symbols_attn.py:smoke", "--workdir", workdir]  # fmt: skip
    command += [f"--config.{key}={value}" for key, value in settings.items()] + list(extra)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=repo)
    return subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_ends_like_an_uninterrupted_run(tmp_path):
    import signal
    import time

    whole = Workdir(str(tmp_path / "whole"))
    assert _cli_train(whole.root).wait(timeout=300) == 0
    killed = Workdir(str(tmp_path / "killed"))
    process = _cli_train(killed.root)
    deadline = time.time() + 300
    while not (_latest(killed) or "").endswith(("ckpt-8", "ckpt-12")) and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    interrupted_at = int(_latest(killed).rsplit("-", 1)[1])
    assert 8 <= interrupted_at < 40
    rerun = _cli_train(killed.root)
    output = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, output[-3000:]
    assert f"step {interrupted_at} of 40" in output and _latest(killed).endswith("ckpt-40")
    expected, actual = _final_weights(whole), _final_weights(killed)
    assert expected.keys() == actual.keys() and len(expected) > 30
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


@pytest.mark.slow
def test_console_refuses_a_changed_run_and_stops_a_diverged_one(finished_run, tmp_path):
    workdir = copy_run(finished_run, tmp_path)
    base = ["--config.data.image_size=16", "--config.data.num_examples=64", "--config.data.batch_size=8",
            "--config.train.steps_per_epoch=2", "--config.train.steps_per_execution=2",
            "--config.log.checkpoint_every=2", "--config.log.scalars_every=2", "--config.log.images_every=2",
            "--config.log.num_images=4", "--config.train.steps=6",
            "--config.model.mask_source=learned", "--config.train.mi_pairs=4"]  # finished_run's, as tiny_config's  # fmt: skip
    changed = _run_cli(workdir.root, *base, "--config.train.g_learning_rate=0.001")
    assert changed.returncode != 0 and "train.g_learning_rate: 0.0002 in the workdir, 0.001 now" in changed.stdout
    diverged = _run_cli(workdir.root, *base, "--config.train.g_learning_rate=1e6",
                        "--config.train.d_learning_rate=1e6", "--allow_config_change")  # fmt: skip
    assert diverged.returncode == 1 and "Traceback" not in diverged.stdout
    assert diverged.stdout.splitlines()[-1].startswith("attngan train: error: Training diverged at step")
    assert _latest(workdir).endswith("ckpt-4") and sorted(os.listdir(workdir.export)) == ["4"]


def _run_cli(workdir, *flags):
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "keras_attngan.cli.main", "train", "--config",
               "configs/symbols_attn.py:smoke", "--workdir", workdir, *flags]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=repo)
    return subprocess.run(command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_an_ema_run_checkpoints_both_generators_and_exports_the_average(tmp_path):
    config = tiny_config(**{"train.ema_decay": 0.5, "log.images_every": 4})
    workdir, export_path = train(config, str(tmp_path))
    names = {name for name, _ in tf.train.list_variables(_latest(workdir))}
    assert any(name.startswith("ema_generator/") for name in names)
    model, _, step = restore_trainer(config, workdir)
    assert step == 4
    z = tf.random.normal((2, config.model.latent_dim), seed=1)
    served = tf.saved_model.load(export_path).signatures["serving_default"](z=z)["images"]

    def images(generator):
        return synthesize(generator, model.discriminator, {"z": z}, model.inner_steps)["images"]

    np.testing.assert_allclose(served, images(model.ema_generator), atol=1e-5)
    assert not np.allclose(served, images(model.generator), atol=1e-3)
