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
SavedModel. Each artifact has a tolerance per signature (`TOLERANCES`; the
figures behind them are in export/README.md). An artifact beyond it is kept
and flagged: ``deploy.json`` lists it under ``flagged`` and `export` warns
once per file (`ToleranceWarning`, naming the file, the figure and the
tolerance). An artifact that converts but fails to run (LiteRT aborts a
full-int8 division whose divisor quantizes to zero, as Grad-CAM's peak
normalization can) is deleted. A conversion that fails is reported with what
the converter refused; the other artifacts are published all the same, then
the export fails naming it.

Every runner (`RUNNERS`: one class per runtime) checks its inputs as the
SavedModel's signatures do (names, dtypes, shapes, NaN and Inf, a label's
range) and checks its file against the size and SHA-256 that ``deploy.json``
recorded, so a damaged file is named (`keras_attngan.core.errors.DamagedFileError`)
rather than loaded, or, for a flipped weight, run.

The converters and runtimes print from native code to the process's stdout
and stderr, and log through Python logging; `converter_output` holds that
back and logs it as INFO records of this module (`attngan -v` shows them).
"""

import contextlib
import hashlib
import json
import logging
import math
import os
import sys
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from keras_attngan.core.errors import RunFailure
from keras_attngan.export import onnx as onnx_lib
from keras_attngan.export import serving, tflite

REPORT_FILE = "deploy.json"
CONVERTED_SIGNATURES = ("serving_default", "explain")
# Per artifact and signature: the largest max |difference| to the SavedModel
# and the lowest PSNR (dB) of the judged outputs (`JUDGED`), in the outputs'
# own units; ``images_uint8`` may differ by that difference in 0-255 levels
# plus one, a rounding step. export/README.md has the measurements they are
# set from.
TOLERANCES = {
    "tflite/float32": {
        "serving_default": {"max_abs_diff": 1e-4, "min_psnr_db": 100.0},
        "explain": {"max_abs_diff": 1e-4, "min_psnr_db": 100.0},
    },
    "tflite/float16": {
        "serving_default": {"max_abs_diff": 5e-3, "min_psnr_db": 75.0},
        "explain": {"max_abs_diff": 5e-3, "min_psnr_db": 65.0},
    },
    "tflite/dynamic_int8": {
        "serving_default": {"max_abs_diff": 0.12, "min_psnr_db": 47.0},
        "explain": {"max_abs_diff": 0.15, "min_psnr_db": 28.0},
    },
    "tflite/int8": {
        "serving_default": {"max_abs_diff": 0.25, "min_psnr_db": 38.0},
        "explain": {"max_abs_diff": 0.35, "min_psnr_db": 28.0},
    },
    "onnx": {
        "serving_default": {"max_abs_diff": 1e-4, "min_psnr_db": 100.0},
        "explain": {"max_abs_diff": 1e-4, "min_psnr_db": 100.0},
    },
}
# The outputs a tolerance judges; D's logits are unbounded and reach the
# client as its score.
JUDGED = {"serving_default": ("images", "images_uint8"), "explain": ("attention", "score")}
# Peak-to-peak range of each output for PSNR; others use the reference's range.
_OUTPUT_RANGES = {"images": 2.0, "images_uint8": 255.0, "score": 1.0, "attention": 1.0}
# 0-255 levels per unit of a float image in [-1, 1].
_LEVELS = 127.5
_REPRESENTATIVE_COUNT = 64
_CONVERTER_LOGGERS = ("tensorflow", "tf2onnx", "absl")
_log = logging.getLogger(__name__)


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


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(f"{record.name}: {record.getMessage()}")


@contextlib.contextmanager
def converter_output():
    """Holds back what converters and runtimes print or log, then logs it as INFO.

    LiteRT's calibrator ("fully_quantize: 0, ...") and its XNNPACK delegate
    ("Created TensorFlow Lite XNNPACK delegate") print to file descriptors 1
    and 2 from native code, past TF_CPP_MIN_LOG_LEVEL; tf2onnx and
    TensorFlow log through Python logging. A command's output keeps its own
    lines: the rest comes back as this module's INFO records, which
    `attngan -v` shows and the default verbosity does not. Python
    exceptions pass through unchanged.
    """
    handler = _Records()
    saved = []
    for name in _CONVERTER_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers, logger.propagate = [handler], False
    native = []
    try:
        with tempfile.TemporaryFile() as sink:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            copies = {}
            try:
                for fd in (1, 2):
                    copies[fd] = os.dup(fd)
                    os.dup2(sink.fileno(), fd)
            except OSError:  # no such descriptor (a daemon): nothing to hold back there
                pass
            try:
                yield
            finally:
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                for fd, copy in copies.items():
                    os.dup2(copy, fd)
                    os.close(copy)
                sink.seek(0)
                native = sink.read().decode(errors="replace").splitlines()
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
        for line in native + handler.lines:
            if line.strip():
                _log.info("%s", line)


def sha256(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Runner:
    """Checks inputs as the SavedModel does, then runs; a batch of 0 returns a batch of 0.

    Subclasses set `specs` (the artifact's own inputs), `num_classes` and
    `_run` (unchecked inputs -> outputs, NumPy).
    """

    specs = {}
    num_classes = None

    def __call__(self, inputs):
        """Runs on a dict of NumPy inputs; returns a dict of NumPy outputs."""
        serving.check_inputs(inputs, self.specs, self.num_classes)
        if len(next(iter(inputs.values()))):
            return self._run(inputs)
        # LiteRT cannot size an empty batch: run one zero row, keep none.
        one = {name: np.zeros((1, *value.shape[1:]), value.dtype) for name, value in inputs.items()}
        return {name: value[:0] for name, value in self._run(one).items()}


class SavedModelRunner(_Runner):
    """One signature of the SavedModel, run by TensorFlow."""

    def __init__(self, deployment, artifact, signature, num_threads=None):
        del artifact, num_threads  # TF's threads are process-wide
        self._function = deployment.saved_model.signatures[signature]
        self.specs = self._function.structured_input_signature[1]
        self.num_classes = deployment.num_classes(self.specs)

    def _run(self, inputs):
        outputs = self._function(**{name: tf.constant(value) for name, value in inputs.items()})
        return {name: value.numpy() for name, value in outputs.items()}


class _ConvertedRunner(_Runner):
    """A converted file, checked against deploy.json, loaded and first run with its output held back."""

    def __init__(self, deployment, artifact, signature, load):
        path = deployment.file(artifact, signature)
        try:
            with converter_output():
                self._runtime = load(path)
        except Exception as error:  # each runtime raises its own types for a file it cannot read
            if deployment.verified(artifact, signature):
                raise  # the file is the one exported: not damage
            raise serving.damaged_file(
                path, serving.file_problem(path, error, "its runtime cannot load it"), deployment.path
            ) from None
        self.specs = self._runtime.specs
        self.num_classes = deployment.num_classes(self.specs)
        self._first = True

    def _run(self, inputs):
        if not self._first:
            return self._runtime.run(inputs)
        # LiteRT prints its delegate's creation at the first invocation.
        with converter_output():
            outputs = self._runtime.run(inputs)
        self._first = False
        return outputs


class TFLiteRunner(_ConvertedRunner):
    """One signature of a ``.tflite`` file, run by LiteRT."""

    def __init__(self, deployment, artifact, signature, num_threads=None):
        super().__init__(deployment, artifact, signature, lambda path: tflite.Runner(path, signature, num_threads))


class OnnxRunner(_ConvertedRunner):
    """One signature's ``.onnx`` file, run by ONNX Runtime."""

    def __init__(self, deployment, artifact, signature, num_threads=None):
        super().__init__(deployment, artifact, signature, lambda path: onnx_lib.Runner(path, num_threads))


# Format -> runner class: (deployment, artifact, signature, num_threads) ->
# a callable from NumPy inputs to NumPy outputs.
RUNNERS = {"savedmodel": SavedModelRunner, "tflite": TFLiteRunner, "onnx": OnnxRunner}


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
        self.path = serving.resolve_export(path)
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
        return serving.export_latent(self.path).num_classes if "label" in specs else None

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
            raise serving.damaged_file(path, "missing", self.path)
        if "sha256" in entry:
            size = os.path.getsize(path)
            if size != entry["bytes"]:
                what = "truncated" if size < entry["bytes"] else "longer than exported"
                raise serving.damaged_file(path, serving.file_problem(path, otherwise=what), self.path)
            if sha256(path) != entry["sha256"]:
                problem = serving.file_problem(path, otherwise="checksum mismatch: its bytes changed")
                raise serving.damaged_file(path, problem, self.path)
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


def verification_inputs(deployment, count=16, seed=0):
    """The inputs of each converted signature: prior latent inputs, and G's images for D.

    G's latent inputs are what `attngan synthesize --seed` draws
    (`keras_attngan.LatentSpec.inputs_numpy`: z, and InfoGAN codes and class
    labels where the model has them); a class-conditional D explains G's
    images with their labels. A super-resolution export gets
    seeded uniform low-res images of the training size over its scale
    instead of noise.
    """
    specs = deployment.specs("serving_default")
    if "lowres" in specs:
        metadata = serving.load_metadata(deployment.path)
        side = metadata["image_size"] // metadata["scale"]
        shape = (count, side, side, specs["lowres"].shape[-1])
        inputs = {"lowres": np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)}
    else:
        inputs = serving.export_latent(deployment.path).inputs_numpy(count, seed)
    images = deployment.runner("savedmodel")(inputs)["images"]
    explain = {"images": images}
    if "label" in deployment.specs("explain"):
        explain["label"] = inputs["label"]
    return {"serving_default": inputs, "explain": explain}


def psnr(reference, value, peak):
    """Peak signal-to-noise ratio in dB (inf when equal)."""
    mse = float(np.mean((reference.astype(np.float64) - value.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak**2 / mse)


def parity(deployment, artifacts, count=16, seed=0):
    """Max |difference| and PSNR of each artifact's outputs against the SavedModel.

    Returns:
        ``({artifact: {signature: {output: {"max_abs_diff", "psnr_db"}}}},
        {artifact: error})``: the figures, and the artifacts that converted
        but fail to run (a full-int8 division whose divisor quantizes to zero
        is one: LiteRT aborts the call).
    """
    inputs = verification_inputs(deployment, count, seed)
    results, errors = {}, {}
    for signature, signature_inputs in inputs.items():
        reference = deployment.runner("savedmodel", signature)(signature_inputs)
        for artifact in artifacts:
            if artifact in errors:
                continue
            try:
                outputs = deployment.runner(artifact, signature)(signature_inputs)
            except RuntimeError as error:
                errors[artifact] = f"{signature} fails to run: {str(error).strip()[:500]}"
                results.pop(artifact, None)
                continue
            figures = {}
            for name, expected in reference.items():
                peak = _OUTPUT_RANGES.get(name) or float(np.ptp(expected)) or 1.0
                figures[name] = {
                    "max_abs_diff": float(np.abs(outputs[name].astype(np.float64) - expected).max(initial=0.0)),
                    "psnr_db": psnr(expected, outputs[name], peak),
                    "float": expected.dtype.kind == "f",
                    "magnitude": float(np.abs(expected).max(initial=0.0)),
                }
            results.setdefault(artifact, {})[signature] = figures
    return results, errors


def beyond_tolerance(artifact, figures, tolerances=None):
    """The judged outputs of an artifact beyond its tolerance.

    Args:
        artifact: an artifact key.
        figures: its `parity` figures, ``{signature: {output: figures}}``.
        tolerances: `TOLERANCES` or a replacement of the same layout.

    Returns:
        ``{signature: [message, ...]}`` for the signatures with an output
        beyond tolerance (empty when all are within); each message names the
        output, the figure and the tolerance.
    """
    tolerance = (TOLERANCES if tolerances is None else tolerances).get(artifact, {})
    beyond = {}
    for signature, outputs in figures.items():
        limit = tolerance.get(signature)
        for name in JUDGED.get(signature, ()) if limit else ():
            if name not in outputs:
                continue
            measured = outputs[name]
            if name == "images_uint8":
                levels = math.floor(limit["max_abs_diff"] * _LEVELS) + 1
                if measured["max_abs_diff"] > levels:
                    beyond.setdefault(signature, []).append(
                        f"{name} max |diff| {measured['max_abs_diff']:.0f} levels > {levels}"
                    )
                continue
            if measured["max_abs_diff"] > limit["max_abs_diff"]:
                beyond.setdefault(signature, []).append(
                    f"{name} max |diff| {measured['max_abs_diff']:.3g} > {limit['max_abs_diff']:g}"
                )
            if measured["psnr_db"] < limit["min_psnr_db"]:
                beyond.setdefault(signature, []).append(
                    f"{name} PSNR {measured['psnr_db']:.1f} dB < {limit['min_psnr_db']:g} dB"
                )
    return beyond


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
            raise serving.damaged_file(file, f"missing beside {' and '.join(f'{name}/' for name in converted)}", path)
        return None
    try:
        with open(file, "rb") as f:
            report = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise serving.damaged_file(file, serving.file_problem(file, error, "not valid JSON"), path) from None
    if not isinstance(report, dict) or not isinstance(report.get("artifacts"), dict):
        raise serving.damaged_file(file, "not the report of an export", path)
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
