import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan.apps import synthesis
from keras_attngan.apps.evaluation import EXTRACTORS
from keras_attngan.cli import docs
from keras_attngan.metrics import METRICS
from keras_attngan.training.build import build_data
from keras_attngan.training.experiment import Workdir, restore_trainer
from keras_attngan.training.loop import describe, export_workdir, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTNGAN = [sys.executable, "-m", "keras_attngan.cli.main"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-step run, then the same workdir resumed to 8 steps."""
    root = str(tmp_path_factory.mktemp("run"))
    train(tiny_config(), root)
    workdir, export_path = train(tiny_config(**{"train.steps": 8}), root)
    return workdir, export_path


@pytest.mark.slow
def test_train_leaves_a_complete_run_directory(trained):
    workdir, export_path = trained
    assert os.path.basename(export_path) == "8"
    for name in ("samples.png", "overlays.png", "inner_loop.png"):
        assert os.path.exists(os.path.join(workdir.samples, name))
    assert tf.train.latest_checkpoint(workdir.checkpoints).endswith("ckpt-8")
    text = describe(workdir, export_path)
    assert f"tensorboard --logdir {workdir.logs}" in text and export_path in text


@pytest.mark.slow
def test_resume_continues_the_step_count_and_the_curves(trained):
    workdir, _ = trained
    accumulator = event_accumulator.EventAccumulator(
        os.path.join(workdir.logs, "train"), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    assert [event.step for event in accumulator.Tensors("loss/d_loss")] == [2, 4, 6, 8]
    assert sorted(os.listdir(workdir.masks)) == [f"step_000000{s}.npz" for s in (2, 4, 6, 8)]


@pytest.mark.slow
def test_rerun_of_a_finished_run_does_nothing(trained, capsys):
    workdir, export_path = trained
    before = tf.train.latest_checkpoint(workdir.checkpoints)
    _, again = train(tiny_config(**{"train.steps": 8}), workdir.root)
    assert "already trained to step 8" in capsys.readouterr().out
    assert again == export_path and tf.train.latest_checkpoint(workdir.checkpoints) == before


@pytest.mark.slow
def test_incompatible_config_is_refused_before_any_work(trained):
    workdir, _ = trained
    checkpoint = tf.train.latest_checkpoint(workdir.checkpoints)
    with pytest.raises(ValueError, match="model.mask_source: 'learned' in the workdir, 'saliency' now"):
        train(tiny_config(**{"model.mask_source": "saliency", "train.steps": 12}), workdir.root)
    assert tf.train.latest_checkpoint(workdir.checkpoints) == checkpoint


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("file_format", synthesis.FORMATS)
def test_synthesize_writes_n_readable_images(trained, tmp_path, file_format):
    workdir, _ = trained
    images, latent = synthesis.from_export(workdir.export, num=5, seed=3, batch_size=2)
    assert images.shape == (5, 16, 16, 3) and images.dtype == np.uint8
    assert sorted(latent) == ["z"]
    paths = synthesis.write(images, latent, str(tmp_path), file_format)
    if file_format == "png":
        assert len(paths) == 5
        decoded = np.stack([tf.io.decode_png(tf.io.read_file(p)).numpy() for p in paths])
    elif file_format == "npz":
        with np.load(paths[0]) as archive:
            decoded = archive["images"]
            np.testing.assert_array_equal(archive["z"], latent["z"])
    else:
        spec = {"image/encoded": tf.io.FixedLenFeature([], tf.string)}
        records = tf.data.TFRecordDataset(paths[0])
        decoded = np.stack(
            [tf.io.decode_png(tf.io.parse_single_example(r, spec)["image/encoded"]).numpy() for r in records]
        )
    np.testing.assert_array_equal(decoded, images)


@pytest.mark.slow
def test_synthesize_is_reproducible_from_the_seed(trained):
    workdir, _ = trained
    a, _ = synthesis.from_export(workdir.export, num=3, seed=7)
    b, _ = synthesis.from_export(workdir.export, num=3, seed=7)
    c, _ = synthesis.from_export(workdir.export, num=3, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_synthesize_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    images, noise = np.zeros((2, 4, 4, 3), np.uint8), {"z": np.zeros((2, 8), np.float32)}
    synthesis.write(images, noise, str(tmp_path / "out"), "png")
    with pytest.raises(ValueError, match=r"`out` should be a new or empty directory.*overwrite="):
        synthesis.write(images, noise, str(tmp_path / "out"), "npz")
    paths = synthesis.write(images, noise, str(tmp_path / "out"), "npz", overwrite=True)
    assert paths == [str(tmp_path / "out" / "samples.npz")]
    assert os.listdir(tmp_path / "out") == ["samples.npz"] and os.listdir(tmp_path) == ["out"]


# --- the `attngan` command, run as users run it -------------------------------

# Each command's flags, named by the commands' shared convention (--workdir, --model,
# --out, --num, --seed, --format); --help must list every one.
COMMAND_FLAGS = {
    "train": ["config", "workdir", "allow_config_change"],
    "export": ["workdir", "out", "format", "quantize", "overwrite"],
    "synthesize": ["model", "num", "out", "overwrite", "format", "seed", "batch_size", "category", "code"],
    "evaluate": [
        "model", "data", "metrics", "num", "num_real", "out", "extractor",
        "inception_weights", "seed", "data_seed", "cache_dir", "batch_size",
    ],
    "study": ["configs", "seeds", "steps", "out", "num", "metrics", "set"],
    "upscale": ["model", "input", "output", "artifact", "tile", "margin", "progress"],
}
SMOKE = "configs/symbols_attn.py:smoke"
# Runs `attngan ARGS`, then reports its exit code and whether TensorFlow was imported.
_PROBE = """import sys
from keras_attngan.cli.main import run
try:
    run(["attngan"] + sys.argv[1:])
except SystemExit as exit:
    print("exit", exit.code, "tensorflow" in sys.modules)
"""
# Runs `attngan ARGS` on a process whose every connection fails, as offline.
_OFFLINE = """import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network blocked by the test")
socket.create_connection = socket.getaddrinfo = refuse
from keras_attngan.cli.main import run
run(["attngan"] + sys.argv[1:])
"""


def _attngan(*args, script=None):
    # No TF_CPP_MIN_LOG_LEVEL: the command must be quiet on its own.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-c", script, *args] if script else ATTNGAN + list(args)
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)


@pytest.mark.parametrize("command", [None, *COMMAND_FLAGS])
def test_help_lists_every_flag_without_importing_tensorflow(command):
    result = _attngan(*([command] if command else []), "--help", script=_PROBE)
    *text, last = result.stdout.splitlines()
    assert last == "exit 0 False", result.stdout + result.stderr
    text = "\n".join(text)
    for flag in COMMAND_FLAGS.get(command, []) + ["verbose", "help"]:
        assert re.search(rf"^  (-\w, )?--(\[no\])?{flag}\b", text, re.M), flag
    for name in COMMAND_FLAGS if command is None else []:
        assert re.search(rf"^  {name} ", text, re.M)


def test_help_offers_the_library_choices():
    synthesize = _attngan("synthesize", "--help").stdout
    assert f"--format={{{','.join(synthesis.FORMATS)}}}" in synthesize
    evaluate = _attngan("evaluate", "--help").stdout
    assert f"--extractor={{{','.join(EXTRACTORS)}}}" in evaluate and ",".join(METRICS) in evaluate
    assert ",".join(METRICS) in _attngan("study", "--help").stdout
    from keras_attngan.cli import export
    from keras_attngan.export import deploy, tflite

    assert export.FORMATS == tuple(deploy.FORMATS)
    assert export.QUANTIZATIONS == tuple(tflite.QUANTIZATIONS)


def test_bash_completion_offers_commands_and_each_command_flags():
    shell = f"""
    attngan() {{ {sys.executable} -m keras_attngan.cli.main "$@"; }}
    source <(attngan --completion bash)
    COMP_WORDS=(attngan syn); COMP_CWORD=1; _attngan; echo "${{COMPREPLY[@]}}"
    COMP_WORDS=(attngan synthesize --); COMP_CWORD=2; _attngan 2>/dev/null; echo "${{COMPREPLY[@]}}"
    """
    result = subprocess.run(["bash", "-c", shell], cwd=REPO, capture_output=True, text=True)
    commands, flags = result.stdout.splitlines()
    assert commands == "synthesize"
    expected = [f"--{f}=" for f in COMMAND_FLAGS["synthesize"] if f != "overwrite"]
    assert set(expected + ["--overwrite", "--nooverwrite", "--verbose"]) <= set(flags.split())


def test_docs_cli_md_is_generated_from_the_flags():
    with open(os.path.join(REPO, "docs", "cli.md")) as f:
        assert f.read() == docs.render(), "run: python -m keras_attngan.cli.docs docs/cli.md"


TRAIN = ["train", "--config", SMOKE, "--workdir"]
SYNTHESIZE = ["synthesize", "--model", "{dir}", "--num", "2", "--out"]
BAD_INPUTS = {
    # name: (arguments, what the one line must name); {file}, {dir}, {new} are
    # an existing file, an existing empty directory and a path not yet there.
    "train workdir is a file": (TRAIN + ["{file}"], ["--workdir", "is a file"]),
    "train config missing": (["train", "--config", "no.py", "--workdir", "{new}"], ["--config"]),
    "train unknown key": (
        TRAIN + ["{new}", "--config.data.imagesize=8"],
        ["`data.imagesize`", "image_size"],
    ),
    "train key type": (TRAIN + ["{new}", "--config.train.steps=1.5"], ["--config.train.steps"]),
    "train config argument": (
        ["train", "--config", "configs/digits_infogan.py:iic,supervised", "--workdir", "{new}"],
        ["--config", "configs/digits_infogan.py", "pick one"],
    ),
    "train key value": (
        TRAIN + ["{new}", "--config.model.mask_source=shap"],
        ["`model.mask_source`", "'learned'"],
    ),
    "train image size": (
        TRAIN + ["{new}", "--config.data.image_size=30"],
        ["`data.image_size`", "8, 16, 32"],
    ),
    "required flag": (["synthesize", "--num", "2", "--out", "{new}"], ["--model"]),
    "unknown flag": (SYNTHESIZE + ["{new}", "--fromat=npz"], ["fromat", "format"]),
    "enum flag": (SYNTHESIZE + ["{new}", "--format", "jpg"], ["--format", "png"]),
    "bounded flag": (SYNTHESIZE + ["{new}", "--num", "0"], ["--num"]),
    "positional argument": (SYNTHESIZE + ["{new}", "extra"], ["'extra'"]),
    "model missing": (
        ["synthesize", "--model", "{new}", "--num", "2", "--out", "{dir}"],
        ["--model", "nothing is there"],
    ),
    "out is a file": (SYNTHESIZE + ["{file}"], ["--out", "is a file"]),
    "out under a file": (SYNTHESIZE + ["{file}/new"], ["--out", "is a file"]),
    "export workdir is a file": (["export", "--workdir", "{file}"], ["--workdir"]),
    "study config missing": (
        ["study", "--configs", f"{SMOKE},no.py", "--steps", "2", "--out", "{new}"],
        ["--configs", "no.py"],
    ),
    "study override without a value": (
        ["study", "--configs", SMOKE, "--steps", "2", "--out", "{new}", "--set", "model.g_width"],
        ["--set", "SECTION.KEY=VALUE"],
    ),
    "study unknown key": (
        ["study", "--configs", SMOKE, "--steps", "2", "--out", "{new}", "--set", "model.gwidth=8"],
        ["model.gwidth"],
    ),
    "evaluate out is a directory": (
        ["evaluate", "--model", "{dir}", "--out", "{dir}"],
        ["--out", "is a directory"],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_code_2(case, tmp_path):
    arguments, named = BAD_INPUTS[case]
    (tmp_path / "file").write_text("")
    (tmp_path / "dir").mkdir()
    places = {"file": tmp_path / "file", "dir": tmp_path / "dir", "new": tmp_path / "new"}
    result = _attngan(*[a.format(**places) for a in arguments])
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"attngan {arguments[0]}: error: "), result.stderr
    assert all(name in result.stderr for name in named) and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "new").exists() and os.listdir(tmp_path / "dir") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_unwritable_output_directory_is_refused(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "locked").mkdir(mode=0o500)
    model, locked = str(tmp_path / "model"), str(tmp_path / "locked")
    result = _attngan("synthesize", "--model", model, "--num", "2", "--out", locked)
    assert result.returncode == 2 and "not writable" in result.stderr


def test_verbose_shows_the_traceback_of_a_refused_input(tmp_path):
    result = _attngan("export", "--workdir", str(tmp_path / "new"), "-v")
    assert result.returncode == 2 and "Traceback" in result.stderr and "--workdir" in result.stderr


_WITH_A_BUG = """
import sys
from keras_attngan.cli import main, synthesize
def buggy(argv):
    return {}["a key no code defines"]  # a bug: not a failure the library names
synthesize.main = buggy
main.run(["attngan", "synthesize", "--model", sys.argv[1], "--num", "2", "--out", sys.argv[2]])
"""


def test_unexpected_failure_keeps_its_traceback(tmp_path):
    (tmp_path / "model").mkdir()
    model, out = str(tmp_path / "model"), str(tmp_path / "out")
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, "-c", _WITH_A_BUG, model, out], cwd=REPO, capture_output=True,
                            text=True, env=env)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" in result.stderr and "KeyError: 'a key no code defines'" in result.stderr


@pytest.mark.slow
def test_console_synthesize_is_quiet_and_never_mixes_runs(trained, tmp_path):
    workdir, _ = trained
    out = tmp_path / "out"
    first = _attngan("synthesize", "--model", workdir.export, "--num", "3", "--out", str(out))
    # A normal run: its own line on stdout, and no TensorFlow log line at all.
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert f"Wrote 3 images to {out}" in first.stdout
    assert sorted(os.listdir(out)) == ["000000.png", "000001.png", "000002.png"]
    again = ["synthesize", "--model", workdir.export, "--num", "2", "--out", str(out)]
    again += ["--format", "npz"]
    refused = _attngan(*again)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
    assert sorted(os.listdir(out)) == ["000000.png", "000001.png", "000002.png"]
    replaced = _attngan(*again, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert os.listdir(out) == ["samples.npz"] and os.listdir(tmp_path) == ["out"]
    with np.load(out / "samples.npz") as archive:
        assert archive["images"].shape == (2, 16, 16, 3)


@pytest.mark.slow
def test_console_tfds_without_network_fails_fast_and_writes_nothing(tmp_path):
    data_dir, workdir = tmp_path / "tfds", tmp_path / "run"
    start = time.monotonic()
    result = _attngan(
        "train", "--config", SMOKE, "--workdir", str(workdir),
        "--config.data.source=tfds:mnist", f"--config.data.data_dir={data_dir}",
        script=_OFFLINE,
    )
    # Generous: TensorFlow's import is most of it; TFDS's own retries take over 200 s.
    assert time.monotonic() - start < 120
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "tfds build mnist" in result.stderr and "data.data_dir" in result.stderr
    assert os.listdir(tmp_path) == []


def test_unknown_command():
    result = _attngan("fly")
    assert result.returncode == 2 and "unknown command 'fly'" in result.stderr


@pytest.mark.slow
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
    fid = [tf.make_ndarray(e.tensor_proto) for e in accumulator.Tensors("metrics/fid")]
    assert [e.step for e in accumulator.Tensors("metrics/fid")] == [2, 4]
    assert all(np.isfinite(value) and value >= -1e-6 for value in fid)


@pytest.mark.slow
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


@pytest.mark.slow
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
    # The step has its version: nothing is written, and one line says so.
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert again.stdout.startswith(f"Version 8 exists: {out}/8") and len(again.stdout.splitlines()) == 1
    wrong = _attngan("export", "--workdir", workdir.root, "--out", out, "--format", "coreml")
    assert wrong.returncode != 0 and "`format` should be among ['savedmodel', 'tflite', 'onnx']" in wrong.stderr
    assert sorted(os.listdir(out)) == ["8"]
