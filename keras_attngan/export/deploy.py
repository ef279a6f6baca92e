"""Deployment artifacts of an export: SavedModel, TFLite and ONNX, verified alike.

`export` writes one version (see `keras_attngan.export.versioning`) holding the
serving SavedModel and, converted from it, the requested artifacts:

    VERSION/saved_model.pb, variables/, assets/    TF Serving (`keras_attngan.export.serving`)
    VERSION/tflite/SIGNATURE.QUANTIZATION.tflite   LiteRT (`keras_attngan.export.tflite`)
    VERSION/onnx/SIGNATURE.onnx                    ONNX Runtime (`keras_attngan.export.onnx`)
    VERSION/deploy.json                            sizes, checksums, parity, verdicts, failures

`CONVERTED_SIGNATURES` are converted: the generator (``serving_default``;
for a super-resolution export, the upscaler) and the explainer (``explain``). ``sample`` draws its noise with stateless random
ops and ``generate`` is the research interface: both are served by the
SavedModel only.

Verification runs the same inputs through every artifact (noise from the
prior for ``serving_default``; the SavedModel's images for ``explain``) and
reports, per output, the maximum absolute difference and the PSNR against the
SavedModel (`keras_attngan.export.verification`). Each artifact has a tolerance
per signature (`keras_attngan.export.verification.TOLERANCES`; the
figures behind them are in export/README.md). An artifact beyond it is kept
and flagged: ``deploy.json`` lists it under ``flagged`` and `export` warns
once per file (`ToleranceWarning`, naming the file, the figure and the
tolerance). An artifact that converts but fails to run (LiteRT aborts a
full-int8 division whose divisor quantizes to zero, as Grad-CAM's peak
normalization can) is deleted. A conversion that fails is reported with what
the converter refused; the other artifacts are published all the same, then
the export fails naming it.

Every runner (`keras_attngan.export.runtimes.RUNNERS`: one class per runtime) checks its inputs as the
SavedModel's signatures do (names, dtypes, shapes, NaN and Inf, a label's
range) and checks its file against the size and SHA-256 that ``deploy.json``
recorded, so a damaged file is named (`keras_attngan.core.errors.DamagedFileError`)
rather than loaded, or, for a flipped weight, run.

The converters and runtimes print from native code to the process's stdout
and stderr, and log through Python logging; `converter_output` holds that
back and logs it as INFO records of this module (`attngan -v` shows them).
"""

import json
import math
import os
import warnings

import tensorflow as tf

from keras_attngan.core.errors import RunFailure
from keras_attngan.export import loading, serving, tflite
from keras_attngan.export import onnx as onnx_lib
from keras_attngan.export.runtimes import RUNNERS, converter_output, sha256
from keras_attngan.export.verification import (
    _LEVELS,
    JUDGED,
    TOLERANCES,
    beyond_tolerance,
    parity,
    verification_inputs,
)

REPORT_FILE = "deploy.json"
CONVERTED_SIGNATURES = ("serving_default", "explain")
_REPRESENTATIVE_COUNT = 64


class DeploymentError(RunFailure):
    """Some artifacts could not be made or failed to run; the rest were published.

    Attributes:
        path: the published version.
    """

    def __init__(self, message, path):
        super().__init__(message)
        self.path = path


class ToleranceWarning(UserWarning):
    """An artifact differs from the SavedModel by more than its tolerance; it is kept and flagged."""


def _tflite_files(quantizations):
    return {
        f"tflite/{quantization}": lambda signature, q=quantization: os.path.join("tflite", f"{signature}.{q}.tflite")
        for quantization in quantizations
    }


def _onnx_files(quantizations):
    del quantizations  # ONNX is float32 only
    return {"onnx": lambda signature: os.path.join("onnx", f"{signature}.onnx")}


# Format -> (artifact keys -> file of a signature, given the quantizations).
FORMATS = {
    "savedmodel": lambda quantizations: {},
    "tflite": _tflite_files,
    "onnx": _onnx_files,
}


def _convert_tflite(saved_model_dir, path, signature, variant, representative):
    tflite.convert(saved_model_dir, path, signature, variant, representative)


def _convert_onnx(saved_model_dir, path, signature, variant, representative):
    del variant, representative  # float32, no calibration
    onnx_lib.convert(saved_model_dir, path, signature)


# Format -> converter of one signature: (SavedModel, file, signature, variant,
# representative inputs or None).
CONVERTERS = {"tflite": _convert_tflite, "onnx": _convert_onnx}


def split_artifact(artifact):
    """``"tflite/int8"`` -> ``("tflite", "int8")``; ``"onnx"`` -> ``("onnx", "float32")``.

    Raises:
        ValueError: an artifact of no known format.
    """
    name, _, variant = artifact.partition("/")
    if name not in FORMATS:
        raise ValueError(f"`artifact` should start with one of {list(FORMATS)}. Received: artifact={artifact!r}")
    return name, variant or ("float32" if name != "savedmodel" else None)


def parse_list(value, valid, name):
    """``"a,b"`` or a sequence -> list, every item a key of `valid`."""
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    unknown = [item for item in items if item not in valid]
    if unknown or not items:
        raise ValueError(f"`{name}` should be among {list(valid)}. Received: {name}={value!r}")
    return items


def artifact_files(formats, quantizations):
    """``{artifact key: {signature: relative path}}`` for the requested formats."""
    formats = parse_list(formats, FORMATS, "format")
    quantizations = parse_list(quantizations, tflite.QUANTIZATIONS, "quantize")
    files = {}
    for name in formats:
        for key, file_of in FORMATS[name](quantizations).items():
            files[key] = {signature: file_of(signature) for signature in CONVERTED_SIGNATURES}
    return files


def check_inputs(inputs, specs, num_classes=None):
    """`keras_attngan.export.serving.check_inputs`: refuses inputs a signature would refuse."""
    serving.check_inputs(inputs, specs, num_classes)


class Deployment:
    """An exported version and its artifacts, each run through one interface.

    The version's SavedModel files are checked whole when it opens
    (`keras_attngan.export.serving.check_export`); the SavedModel is loaded when
    first needed, so running a converted file does not wait for it.

    Args:
        path: an export base (its latest version is taken) or a version.

    Raises:
        keras_attngan.core.errors.DamagedFileError: a damaged file, named.
    """

    def __init__(self, path):
        self.path = loading.resolve_export(path)
        self._saved_model = None
        self._verified = set()

    @property
    def saved_model(self):
        """The loaded SavedModel."""
        if self._saved_model is None:
            self._saved_model = tf.saved_model.load(self.path)
        return self._saved_model

    def specs(self, signature):
        """``{input name: tf.TensorSpec}`` of a signature, from the SavedModel."""
        return self.saved_model.signatures[signature].structured_input_signature[1]

    def num_classes(self, specs):
        """The classes of the ``label`` input among `specs`, or None without one."""
        return loading.export_latent(self.path).num_classes if "label" in specs else None

    def report(self):
        """The version's ``deploy.json`` (see `load_report`)."""
        return load_report(self.path)

    def artifacts(self):
        """The artifact keys present: ``savedmodel`` and the converted files."""
        report = self.report()
        return ["savedmodel"] + sorted(report["artifacts"]) if report else ["savedmodel"]

    def file(self, artifact, signature):
        """The path of an artifact's file for `signature`, checked against ``deploy.json``.

        Raises:
            ValueError: an artifact or signature the version does not have.
            keras_attngan.core.errors.DamagedFileError: the file is missing, or its
                size or SHA-256 differs from the recorded ones.
        """
        entries = (self.report() or {"artifacts": {}})["artifacts"]
        if artifact not in entries or signature not in entries[artifact]:
            raise ValueError(
                f"`artifact` should be one of {self.artifacts()} (signatures {list(CONVERTED_SIGNATURES)}). "
                f"Received: artifact={artifact!r}, signature={signature!r}"
            )
        entry = entries[artifact][signature]
        path = os.path.join(self.path, entry["file"])
        if not os.path.exists(path):
            raise loading.damaged_file(path, "missing", self.path)
        if "sha256" in entry:
            size = os.path.getsize(path)
            if size != entry["bytes"]:
                what = "truncated" if size < entry["bytes"] else "longer than exported"
                raise loading.damaged_file(path, loading.file_problem(path, otherwise=what), self.path)
            if sha256(path) != entry["sha256"]:
                problem = loading.file_problem(path, otherwise="checksum mismatch: its bytes changed")
                raise loading.damaged_file(path, problem, self.path)
            self._verified.add((artifact, signature))
        return path

    def verified(self, artifact, signature):
        """Whether `file` matched a recorded SHA-256 (reports before checksums have none)."""
        return (artifact, signature) in self._verified

    def runner(self, artifact, signature="serving_default", num_threads=None):
        """A callable from a dict of NumPy inputs to a dict of NumPy outputs.

        Every runtime checks inputs as the SavedModel's signature does (the
        converters drop the in-graph checks), and a batch of 0 returns an
        empty batch.

        Raises:
            ValueError: an artifact the version does not have.
            keras_attngan.core.errors.DamagedFileError: its file is damaged.
        """
        name, _ = split_artifact(artifact)
        if artifact not in self.artifacts():
            raise ValueError(f"`artifact` should be one of {self.artifacts()}. Received: artifact={artifact!r}")
        return RUNNERS[name](self, artifact, signature, num_threads)


def build(saved_model_dir, formats, quantizations, count=16, seed=0):
    """Converts a SavedModel into the requested artifacts beside it and verifies them.

    Writes ``deploy.json`` into `saved_model_dir`: each artifact's files,
    sizes and SHA-256, the parity figures, the tolerances, the artifacts
    beyond them (``flagged``: ``{artifact: {signature: [message]}}``), the
    ONNX opset and the failures (conversions refused, artifacts that fail to
    run and were deleted).

    Returns:
        The report (the JSON's content).
    """
    deployment = Deployment(saved_model_dir)
    requested = artifact_files(formats, quantizations)
    representative = _representative(deployment) if "tflite/int8" in requested else {}
    failures, artifacts = {}, {}
    for artifact, files in requested.items():
        name, variant = split_artifact(artifact)
        for signature, relative in files.items():
            path = os.path.join(saved_model_dir, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                with converter_output():
                    CONVERTERS[name](saved_model_dir, path, signature, variant, representative.get(signature))
            except tflite.ConversionError as error:
                failures[f"{artifact}:{signature}"] = str(error)
                continue
            artifacts.setdefault(artifact, {})[signature] = {
                "file": relative,
                "bytes": os.path.getsize(path),
                "sha256": sha256(path),
            }
    report = {
        "artifacts": artifacts,
        "onnx_opset": onnx_lib.OPSET,
        "tolerances": {artifact: TOLERANCES[artifact] for artifact in requested if artifact in TOLERANCES},
        "verification": {"count": count, "seed": seed},
        "failures": failures,
        "flagged": {},
        "savedmodel_bytes": _directory_bytes(saved_model_dir),
    }
    # Written before verifying: `Deployment` finds the artifact files through it.
    _write_report(saved_model_dir, report)
    report["parity"], errors = parity(deployment, list(artifacts), count, seed)
    for artifact, error in errors.items():
        for entry in artifacts.pop(artifact).values():
            os.remove(os.path.join(saved_model_dir, entry["file"]))
        failures[artifact] = f"{error}, deleted"
    for artifact, figures in report["parity"].items():
        beyond = beyond_tolerance(artifact, figures)
        if beyond:
            report["flagged"][artifact] = beyond
    _write_report(saved_model_dir, report)
    return report


def _representative(deployment):
    """Calibration inputs of full int8: noise from the prior, and G's images of it."""
    inputs = verification_inputs(deployment, _REPRESENTATIVE_COUNT, seed=1)

    def dataset(signature):
        def rows():
            for index in range(_REPRESENTATIVE_COUNT):
                yield {name: value[index : index + 1] for name, value in inputs[signature].items()}

        return rows

    return {signature: dataset(signature) for signature in inputs}


def _directory_bytes(path):
    """Bytes of the SavedModel's own files (not the conversions beside it)."""
    own = lambda relative: relative.split(os.sep)[0] not in ("tflite", "onnx", REPORT_FILE)  # noqa: E731
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
        if own(os.path.relpath(os.path.join(root, name), path))
    )


def _write_report(path, report):
    with open(os.path.join(path, REPORT_FILE), "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)


def load_report(path):
    """The ``deploy.json`` of a version, or None for a SavedModel-only export.

    Raises:
        keras_attngan.core.errors.DamagedFileError: the report is not the JSON
            `build` writes, or is missing beside converted files.
    """
    file = os.path.join(path, REPORT_FILE)
    if not os.path.exists(file):
        converted = [name for name in CONVERTERS if os.path.isdir(os.path.join(path, name))]
        if converted:
            raise loading.damaged_file(file, f"missing beside {' and '.join(f'{name}/' for name in converted)}", path)
        return None
    try:
        with open(file, "rb") as f:
            report = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise loading.damaged_file(file, loading.file_problem(file, error, "not valid JSON"), path) from None
    if not isinstance(report, dict) or not isinstance(report.get("artifacts"), dict):
        raise loading.damaged_file(file, "not the report of an export", path)
    return report


def export(
    model,
    export_base,
    formats=("savedmodel",),
    quantizations=("float32",),
    config=None,
    mask_dir=None,
    version=None,
    overwrite=False,
    renumber=True,
):
    """Exports a trained `AttnGAN` as a new version with the requested artifacts.

    Everything is written to a staging directory and published atomically
    (`keras_attngan.export.versioning`); see the module docstring for the layout.
    An artifact beyond its tolerance is published and flagged: one
    `ToleranceWarning` per file, naming it, the figure and the tolerance.

    Args:
        model: a trained `AttnGAN`.
        export_base: TF Serving base path of the model.
        formats: keys of `FORMATS` (a list or ``"savedmodel,tflite,onnx"``);
            the SavedModel is always written, the others are converted from it.
        quantizations: keys of `keras_attngan.export.tflite.QUANTIZATIONS` for TFLite.
        config, mask_dir: metadata, as `keras_attngan.export.serving.save_version`.
        version: version number (default: the train step).
        overwrite: replace an existing `version`.
        renumber: when `version` exists and `overwrite` is not set, take the
            next free number (True) or raise before any work (False).

    Returns:
        The published version's path.

    Raises:
        ValueError: an unknown format or quantization (before any work).
        keras_attngan.export.versioning.VersionExistsError: `version` exists and
            neither `overwrite` nor `renumber` is set; nothing was written.
        DeploymentError: a conversion failed or an artifact fails to run;
            the version was published without it.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    artifact_files(formats, quantizations)  # validates the names before any work
    converted = [name for name in parse_list(formats, FORMATS, "format") if name != "savedmodel"]
    path = serving.save_version(
        model,
        export_base,
        config,
        mask_dir,
        version,
        overwrite,
        extend=(lambda staged: build(staged, converted, quantizations)) if converted else None,
        renumber=renumber,
    )
    report = load_report(path)
    for artifact, signatures in (report or {}).get("flagged", {}).items():
        for signature, beyond in signatures.items():
            file = os.path.join(path, report["artifacts"][artifact][signature]["file"])
            warnings.warn(
                f"{file} differs from the SavedModel beyond its tolerance: {'; '.join(beyond)} "
                f"(kept; flagged in {REPORT_FILE})",
                ToleranceWarning,
                stacklevel=2,
            )
    if report and report["failures"]:
        problems = "; ".join(f"{key}: {' '.join(message.split())}" for key, message in report["failures"].items())
        raise DeploymentError(
            f"Exported {path} without these artifacts: {problems}. "
            f"The SavedModel and the other artifacts are in place; see {REPORT_FILE}.",
            path,
        )
    return path


def parity_table(report):
    """The parity figures of a report as a Markdown table, with each judged output's verdict."""
    lines = [
        "| artifact | signature | output | max abs diff | PSNR (dB) | tolerance | verdict | size (KiB) |",
        "|---|---|---|---:|---:|---|---|---:|",
    ]
    for artifact, signatures in report.get("parity", {}).items():
        flagged = report.get("flagged", {}).get(artifact, {})
        for signature, outputs in signatures.items():
            size = report["artifacts"].get(artifact, {}).get(signature, {}).get("bytes", 0) / 1024
            limit = report.get("tolerances", {}).get(artifact, {}).get(signature)
            for name, figures in outputs.items():
                tolerance, verdict = "", ""
                if limit and name in JUDGED.get(signature, ()):
                    if name == "images_uint8":
                        tolerance = f"<= {math.floor(limit['max_abs_diff'] * _LEVELS) + 1} levels"
                    else:
                        tolerance = f"<= {limit['max_abs_diff']:g}, >= {limit['min_psnr_db']:g} dB"
                    beyond = any(message.startswith(f"{name} ") for message in flagged.get(signature, ()))
                    verdict = "BEYOND" if beyond else "ok"
                lines.append(
                    f"| {artifact} | {signature} | {name} | {figures['max_abs_diff']:.2e} | "
                    f"{figures['psnr_db']:.1f} | {tolerance} | {verdict} | {size:.0f} |"
                )
    return "\n".join(lines)
