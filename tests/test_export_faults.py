"""Damaged export files: each reader names the damaged file in one line, and loses nothing else.

One tiny export (SavedModel, TFLite float32, ONNX) is built once; every case
copies it, damages one file one way, and runs what reads that file. The
library readers run in this process; the commands (`attngan synthesize`,
`evaluate`, `upscale`) run all their cases in one process each, as users
run them.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import DAMAGES, make_trainer

from keras_attngan.apps import synthesis
from keras_attngan.core.errors import DamagedFileError
from keras_attngan.export import deploy, loading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = "7"
# File kind -> its path in a version.
FILES = {
    "graph": "saved_model.pb",
    "index": "variables/variables.index",
    "data": "variables/variables.data-00000-of-00001",
    "metadata": "assets/attngan.json",
    "report": "deploy.json",
    "tflite": "tflite/serving_default.float32.tflite",
    "onnx": "onnx/serving_default.onnx",
}
SAVED_MODEL_FILES = ("graph", "index", "data", "metadata")


# What each damage leaves in the file, as the one line says it (the reader's
# own words vary: a truncated protocol buffer and random bytes do not parse).
SAID = {"zero-fill": ("zero-filled",), "delete": ("missing",)}


def _digests(root):
    return {
        os.path.relpath(os.path.join(folder, name), root): hashlib.sha256(
            open(os.path.join(folder, name), "rb").read()
        ).hexdigest()
        for folder, _, names in os.walk(root)
        for name in names
    }


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """An export base holding version VERSION with every file kind."""
    base = str(tmp_path_factory.mktemp("pristine") / "export")
    deploy.export(make_trainer("none", inner_steps=1), base, "savedmodel,tflite,onnx", "float32", version=VERSION)
    assert all(os.path.exists(os.path.join(base, VERSION, file)) for file in FILES.values())
    return base


def _damaged_copy(pristine, root, kind, damage):
    """A copy of the pristine base with one file damaged; returns (base, damaged file, digests before)."""
    base = os.path.join(root, "export")
    shutil.copytree(pristine, base)
    before = _digests(base)
    file = os.path.join(base, VERSION, FILES[kind])
    DAMAGES[damage](file)
    return base, file, before


def _assert_nothing_else_lost(base, file, before):
    after = _digests(base)
    damaged = os.path.relpath(file, base)
    assert {k: v for k, v in after.items() if k != damaged} == {k: v for k, v in before.items() if k != damaged}


def _read(kind, base):
    """What reads a file of `kind`: G's synthesis for the SavedModel's files, the runner for the others."""
    if kind in SAVED_MODEL_FILES:
        return synthesis.from_export(base, 1)
    artifact = {"report": "tflite/float32", "tflite": "tflite/float32", "onnx": "onnx"}[kind]
    return deploy.Deployment(base).runner(artifact)({"z": np.zeros((1, 8), np.float32)})


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("kind", FILES)
def test_a_damaged_file_is_named_by_its_reader(pristine, tmp_path, kind, damage):
    base, file, before = _damaged_copy(pristine, str(tmp_path), kind, damage)
    with pytest.raises(DamagedFileError) as raised:
        _read(kind, base)
    message = str(raised.value)
    assert raised.value.path == file and message.startswith(f"{file} is damaged (")
    assert "\n" not in message and "attngan export" in message
    assert "previous version" not in message  # there is none to fall back on
    assert all(word in message for word in SAID.get(damage, ())), message
    _assert_nothing_else_lost(base, file, before)


@pytest.mark.slow
def test_the_pristine_export_reads(pristine):
    images, _ = synthesis.from_export(pristine, 2)
    assert images.shape == (2, 16, 16, 3)
    deployment = deploy.Deployment(pristine)
    for artifact in deployment.artifacts():
        assert deployment.runner(artifact)({"z": np.zeros((1, 8), np.float32)})["images"].shape == (1, 16, 16, 3)


@pytest.mark.slow
def test_a_flipped_weight_in_a_converted_file_is_caught(pristine, tmp_path):
    # ONNX Runtime runs a file whose weights changed; the recorded SHA-256 does not match it.
    base, file, before = _damaged_copy(pristine, str(tmp_path), "onnx", "truncate")
    shutil.copy(os.path.join(pristine, VERSION, FILES["onnx"]), file)
    data = bytearray(open(file, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(file, "wb").write(bytes(data))
    with pytest.raises(DamagedFileError, match=r"onnx/serving_default.onnx is damaged \(checksum mismatch"):
        deploy.Deployment(base).runner("onnx")
    _assert_nothing_else_lost(base, file, before)


@pytest.mark.slow
def test_the_newest_version_is_checked_not_skipped(pristine, tmp_path):
    # A damaged newest version is named, not passed over for an older one.
    base = str(tmp_path / "export")
    shutil.copytree(pristine, base)
    shutil.copytree(os.path.join(base, VERSION), os.path.join(base, "3"))
    os.remove(os.path.join(base, VERSION, "saved_model.pb"))
    with pytest.raises(DamagedFileError, match=rf"{VERSION}/saved_model.pb is damaged \(missing\)") as raised:
        loading.resolve_export(base)
    assert str(raised.value).endswith(f" or remove {os.path.join(base, VERSION)} to serve the previous version")
    assert loading.resolve_export(os.path.join(base, "3")) == os.path.join(base, "3")


# --- the commands, one process per command ---------------------------------

# Runs `attngan ARGS` for each case of argv[1] (a JSON list of argument
# lists) in this one process, and prints a JSON list of their exit codes,
# stdout and stderr.
_CASES = r"""
import json, os, sys, tempfile
from keras_attngan.cli.main import run

results = []
for argv in json.loads(sys.argv[1]):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush(); sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
        code = 0
        try:
            run(["attngan", *argv])
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) or exit.code is None else 1
            if not isinstance(exit.code, int) and exit.code is not None:
                sys.stderr.write(f"{exit.code}\n")
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os.dup2(saved[0], 1); os.dup2(saved[1], 2)
            os.close(saved[0]); os.close(saved[1])
        out.seek(0); err.seek(0)
        results.append({"code": code or 0, "stdout": out.read().decode(), "stderr": err.read().decode()})
print(json.dumps(results))
"""


def _run_cases(argvs):
    # No TF_CPP_MIN_LOG_LEVEL: the commands must be quiet on their own.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", _CASES, json.dumps(argvs)], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def _command_cases(pristine, root, cases, argv_of):
    """Damages a copy per case, runs every case's command in one process; returns {case: (result, file, ...)}."""
    prepared = {}
    for kind, damage in cases:
        folder = os.path.join(root, f"{kind}-{damage}")
        os.makedirs(folder)
        base, file, before = _damaged_copy(pristine, folder, kind, damage)
        prepared[(kind, damage)] = (base, file, before, argv_of(kind, base, folder))
    results = _run_cases([argv for *_, argv in prepared.values()])
    return {case: (result, *prepared[case][:3]) for case, result in zip(prepared, results)}


def _assert_one_line_naming(command, result, file):
    assert result["code"] == 1, result
    lines = result["stderr"].splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"attngan {command}: error: {file} is damaged ("), result
    assert "attngan export" in lines[0]


SYNTHESIZE_CASES = [(kind, damage) for kind in SAVED_MODEL_FILES for damage in DAMAGES]


@pytest.fixture(scope="module")
def synthesize_results(pristine, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synthesize"))

    def argv(kind, base, folder):
        del kind
        return ["synthesize", "--model", base, "--num", "2", "--out", os.path.join(folder, "out")]

    return _command_cases(pristine, root, SYNTHESIZE_CASES, argv)


@pytest.mark.slow
@pytest.mark.parametrize("kind, damage", SYNTHESIZE_CASES)
def test_synthesize_names_the_damaged_file_and_exits_1(synthesize_results, kind, damage):
    result, base, file, before = synthesize_results[(kind, damage)]
    _assert_one_line_naming("synthesize", result, file)
    assert result["stdout"] == ""
    _assert_nothing_else_lost(base, file, before)
    assert not os.path.exists(os.path.join(os.path.dirname(base), "out"))


EVALUATE_CASES = [("graph", "random"), ("data", "zero-fill"), ("metadata", "truncate")]


@pytest.fixture(scope="module")
def evaluate_results(pristine, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("evaluate"))

    def argv(kind, base, folder):
        del kind
        return ["evaluate", "--model", base, "--num", "2", "--metrics", "fid", "--out", os.path.join(folder, "r.json")]

    return _command_cases(pristine, root, EVALUATE_CASES, argv)


@pytest.mark.slow
@pytest.mark.parametrize("kind, damage", EVALUATE_CASES)
def test_evaluate_names_the_damaged_file_and_exits_1(evaluate_results, kind, damage):
    result, base, file, before = evaluate_results[(kind, damage)]
    _assert_one_line_naming("evaluate", result, file)
    _assert_nothing_else_lost(base, file, before)


UPSCALE_CASES = [(kind, damage) for kind in ("graph", "report", "tflite", "onnx") for damage in DAMAGES]
UPSCALE_ARTIFACTS = {"graph": "savedmodel", "report": "tflite/float32", "tflite": "tflite/float32", "onnx": "onnx"}


@pytest.fixture(scope="module")
def upscale_results(tmp_path_factory):
    from test_upscaler import sr_trainer

    from keras_attngan.core import images as images_lib

    root = str(tmp_path_factory.mktemp("upscale"))
    pristine = os.path.join(root, "pristine")
    deploy.export(sr_trainer(terms=False), pristine, "savedmodel,tflite,onnx", "float32", version=VERSION)
    image = os.path.join(root, "small.png")
    images_lib.write_png(image, np.zeros((4, 4, 3), np.uint8))

    def argv(kind, base, folder):
        output = os.path.join(folder, "large.png")
        artifact = UPSCALE_ARTIFACTS[kind]
        return ["upscale", "--model", base, "--input", image, "--output", output, "--artifact", artifact, "--margin", "0"]

    return _command_cases(pristine, root, UPSCALE_CASES, argv)


@pytest.mark.slow
@pytest.mark.parametrize("kind, damage", UPSCALE_CASES)
def test_upscale_names_the_damaged_file_and_exits_1(upscale_results, kind, damage):
    result, base, file, before = upscale_results[(kind, damage)]
    _assert_one_line_naming("upscale", result, file)
    _assert_nothing_else_lost(base, file, before)
