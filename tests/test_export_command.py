"""`attngan export`: quiet conversions, and a step exported once."""

import os
import subprocess
import sys

import pytest
from conftest import tiny_config

from keras_attngan.export import versioning
from keras_attngan.training.loop import export_workdir, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTNGAN = [sys.executable, "-m", "keras_attngan.cli.main"]


def _attngan(*args):
    # No TF_CPP_MIN_LOG_LEVEL: the command must be quiet on its own.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(ATTNGAN + list(args), cwd=REPO, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A 4-step run (its end-of-training export is version 4 of WORKDIR/export)."""
    root = str(tmp_path_factory.mktemp("run"))
    train(tiny_config(), root)
    return root


def _listing(base):
    return {
        os.path.relpath(os.path.join(folder, name), base): os.stat(os.path.join(folder, name)).st_mtime_ns
        for folder, _, names in os.walk(base)
        for name in names
    }


@pytest.mark.slow
def test_export_prints_only_its_own_lines_then_writes_a_step_once(workdir, tmp_path):
    out = str(tmp_path / "attngan")
    args = ["export", "--workdir", workdir, "--out", out, "--format", "tflite,onnx", "--quantize", "float32,int8"]
    result = _attngan(*args)
    assert result.returncode == 0, result.stderr
    # LiteRT's calibrator and delegate print from native code, tf2onnx logs:
    # none of it reaches the user without --verbose.
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"SavedModel: {out}/4", "Parity against the SavedModel (ONNX opset 17):"]
    assert lines[2].startswith("| artifact | signature | output |") and all(line.startswith("|") for line in lines[2:])
    assert len(lines) == 4 + 3 * (2 + 3)  # header, rule; 3 artifacts x (2 generator + 3 explainer outputs)
    listing = _listing(out)

    again = _attngan(*args)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert again.stdout.splitlines() == [
        f"Version 4 exists: {out}/4 holds the latest checkpoint's step already; nothing written "
        "(--overwrite replaces it)."
    ]
    assert _listing(out) == listing  # nothing written, nothing staged


@pytest.mark.slow
def test_overwrite_replaces_the_version_of_the_step(workdir, tmp_path):
    out = str(tmp_path / "attngan")
    first = export_workdir(workdir, out, renumber=False)
    with pytest.raises(versioning.VersionExistsError):
        export_workdir(workdir, out, renumber=False)
    before = _listing(out)
    assert export_workdir(workdir, out, overwrite=True, renumber=False) == first
    after = _listing(out)
    assert sorted(after) == sorted(before) and after != before
    assert sorted(os.listdir(out)) == ["4"]


@pytest.mark.slow
def test_verbose_shows_what_the_converters_print(workdir, tmp_path):
    out = str(tmp_path / "attngan")
    result = _attngan("export", "-v", "--workdir", workdir, "--out", out, "--format", "tflite", "--quantize", "int8")
    assert result.returncode == 0, result.stderr
    assert "fully_quantize" in result.stderr and "XNNPACK" in result.stderr
