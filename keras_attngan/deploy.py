"""Deployment artifacts of an export: SavedModel, TFLite and ONNX, verified alike.

`export` writes one version (see `keras_attngan.versioning`) holding the
serving SavedModel and, converted from it, the requested artifacts:

    VERSION/saved_model.pb, variables/, assets/    TF Serving (`keras_attngan.serving`)
    VERSION/tflite/SIGNATURE.QUANTIZATION.tflite   LiteRT (`keras_attngan.tflite`)
    VERSION/onnx/SIGNATURE.onnx                    ONNX Runtime (`keras_attngan.onnx`)
    VERSION/deploy.json                            sizes, parity, failures

`CONVERTED_SIGNATURES` are converted: the generator (``serving_default``;
for a super-resolution export, the upscaler) and the explainer (``explain``). ``sample`` draws its noise with stateless random
ops and ``generate`` is the research interface: both are served by the
SavedModel only.

Verification runs the same inputs through every artifact (noise from the
prior for ``serving_default``; the SavedModel's images for ``explain``) and
reports, per output, the maximum absolute difference and the PSNR against the
SavedModel. A float artifact whose float outputs differ by more than its
`TOLERANCES` entry (times the output's magnitude when above 1) is deleted and
the export fails; quantized int8 artifacts are reported, not judged, unless
they fail to run (LiteRT aborts a full-int8 division whose divisor quantizes
to zero, as Grad-CAM's peak normalization can), which deletes them alike. A
conversion that fails is reported with what the converter refused; the other
artifacts are published all the same, then the export fails naming it.
"""

import json
import math
import os

import numpy as np
import tensorflow as tf

from keras_attngan import onnx as onnx_lib
from keras_attngan import serving, tflite

REPORT_FILE = "deploy.json"
CONVERTED_SIGNATURES = ("serving_default", "explain")
# Largest tolerated max |difference| to the SavedModel for the float artifacts.
# float32 paths differ only by summation order; float16 weights round at 1e-3.
TOLERANCES = {"tflite/float32": 1e-4, "tflite/float16": 1e-2, "onnx": 1e-4}
# Peak-to-peak range of each output for PSNR; others use the reference's range.
_OUTPUT_RANGES = {"images": 2.0, "images_uint8": 255.0, "score": 1.0, "attention": 1.0}
_REPRESENTATIVE_COUNT = 64


class DeploymentError(RuntimeError):
    """Some artifacts could not be made or failed verification; the rest were published.

    Attributes:
        path: the published version.
    """

    def __init__(self, message, path):
        super().__init__(message)
        self.path = path


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


def check_inputs(inputs, specs, num_classes=0):
    """Refuses inputs that do not match a signature's `specs`, naming the input.

    Raises:
        ValueError: missing or unexpected names, wrong shapes, NaN or Inf, a
            ``label`` outside ``[0, num_classes)``.
        TypeError: a wrong dtype.
    """
    if set(inputs) != set(specs):
        raise ValueError(f"Inputs {sorted(inputs)} do not match the signature's {sorted(specs)}.")
    for name, spec in specs.items():
        value = inputs[name]
        if value.dtype != spec.dtype.as_numpy_dtype:
            raise TypeError(f"Input {name!r} should be {spec.dtype.name}, not {value.dtype}.")
        if not spec.shape.is_compatible_with(value.shape):
            raise ValueError(f"Input {name!r} has shape {value.shape}; the signature expects {spec.shape}.")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(f"Input {name!r} holds NaN or Inf.")
        if name == "label" and value.size and not (0 <= value.min() and value.max() < num_classes):
            raise ValueError(f"Input 'label' should be in [0, {num_classes}); it holds {value.min()}..{value.max()}.")


class Deployment:
    """An exported version and its artifacts, each run through one interface.

    Args:
        path: an export base (its latest version is taken) or a version.
    """

    def __init__(self, path):
        self.path = serving.resolve_export(path)
        self.saved_model = tf.saved_model.load(self.path)

    def specs(self, signature):
        """``{input name: tf.TensorSpec}`` of a signature, from the SavedModel."""
        return self.saved_model.signatures[signature].structured_input_signature[1]

    def artifacts(self):
        """The artifact keys present: ``savedmodel`` and the converted files."""
        report = load_report(self.path)
        return ["savedmodel"] + sorted(report["artifacts"]) if report else ["savedmodel"]

    def file(self, artifact, signature):
        return os.path.join(self.path, load_report(self.path)["artifacts"][artifact][signature]["file"])

    def runner(self, artifact, signature="serving_default", num_threads=None):
        """A callable from a dict of NumPy inputs to a dict of NumPy outputs.

        Inputs are checked against the SavedModel's signature first (the
        converters drop the SavedModel's in-graph checks), and a batch of 0
        returns an empty batch on every runtime.
        """
        if artifact == "savedmodel":
            function = self.saved_model.signatures[signature]

            def run(inputs):
                return {k: v.numpy() for k, v in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}

        elif artifact == "onnx":
            run = onnx_lib.Runner(self.file(artifact, signature), num_threads)
        else:
            run = tflite.Runner(self.file(artifact, signature), signature, num_threads)
        specs = self.specs(signature)
        num_classes = serving.export_latent(self.path).num_classes if "label" in specs else 0

        def checked(inputs):
            check_inputs(inputs, specs, num_classes)
            count = len(next(iter(inputs.values())))
            if count:
                return run(inputs)
            # LiteRT cannot size an empty batch: run one zero row, keep none.
            one = {name: np.zeros((1, *value.shape[1:]), value.dtype) for name, value in inputs.items()}
            return {name: value[:0] for name, value in run(one).items()}

        return checked


def verification_inputs(deployment, count=16, seed=0):
    """The inputs of each converted signature: prior latent inputs, and G's images for D.

    G's latent inputs are what `attngan synthesize --seed` draws
    (`keras_attngan.LatentSpec.inputs_numpy`: z, and InfoGAN codes and class
    labels where the model has them); a class-conditional D explains G's
    images with their labels. A super-resolution export (seed 001) gets
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
                    "max_abs_diff": float(np.abs(outputs[name].astype(np.float64) - expected).max()),
                    "psnr_db": psnr(expected, outputs[name], peak),
                    "float": expected.dtype.kind == "f",
                    "magnitude": float(np.abs(expected).max()),
                }
            results.setdefault(artifact, {})[signature] = figures
    return results, errors


def _out_of_tolerance(artifact, figures):
    """The outputs of a float artifact beyond its tolerance, as messages."""
    tolerance = TOLERANCES.get(artifact)
    if tolerance is None:
        return []
    return [
        f"{signature}/{name}: max |diff| {output['max_abs_diff']:.3g} > {tolerance:g}"
        for signature, outputs in figures.items()
        for name, output in outputs.items()
        if output["float"] and output["max_abs_diff"] > tolerance * max(1.0, output["magnitude"])
    ]


def build(saved_model_dir, formats, quantizations, count=16, seed=0):
    """Converts a SavedModel into the requested artifacts beside it and verifies them.

    Writes ``deploy.json`` into `saved_model_dir`: each artifact's files and
    sizes, the parity figures, the tolerances, the ONNX opset and the failures
    (conversions refused, artifacts out of tolerance and deleted).

    Returns:
        The report (the JSON's content).
    """
    deployment = Deployment(saved_model_dir)
    requested = artifact_files(formats, quantizations)
    representative = _representative(deployment) if "tflite/int8" in requested else {}
    failures, artifacts = {}, {}
    for artifact, files in requested.items():
        for signature, relative in files.items():
            path = os.path.join(saved_model_dir, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            try:
                if artifact == "onnx":
                    onnx_lib.convert(saved_model_dir, path, signature)
                else:
                    quantization = artifact.split("/")[1]
                    tflite.convert(saved_model_dir, path, signature, quantization, representative.get(signature))
            except tflite.ConversionError as error:
                failures[f"{artifact}:{signature}"] = str(error)
                continue
            artifacts.setdefault(artifact, {})[signature] = {"file": relative, "bytes": os.path.getsize(path)}
    report = {
        "artifacts": artifacts,
        "onnx_opset": onnx_lib.OPSET,
        "tolerances": TOLERANCES,
        "verification": {"count": count, "seed": seed},
        "failures": failures,
        "savedmodel_bytes": _directory_bytes(saved_model_dir),
    }
    # Written before verifying: `Deployment` finds the artifact files through it.
    _write_report(saved_model_dir, report)
    report["parity"], errors = parity(deployment, list(artifacts), count, seed)
    problems = {artifact: f"{error}, deleted" for artifact, error in errors.items()}
    for artifact, figures in report["parity"].items():
        beyond = _out_of_tolerance(artifact, figures)
        if beyond:
            problems[artifact] = "out of tolerance, deleted: " + "; ".join(beyond)
    for artifact, problem in problems.items():
        for entry in artifacts.pop(artifact).values():
            os.remove(os.path.join(saved_model_dir, entry["file"]))
        failures[artifact] = problem
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
    """The ``deploy.json`` of a version, or None for a SavedModel-only export."""
    file = os.path.join(path, REPORT_FILE)
    if not os.path.exists(file):
        return None
    with open(file) as f:
        return json.load(f)


def export(
    model,
    export_base,
    formats=("savedmodel",),
    quantizations=("float32",),
    config=None,
    mask_dir=None,
    version=None,
    overwrite=False,
):
    """Exports a trained `AttnGAN` as a new version with the requested artifacts.

    Everything is written to a staging directory and published atomically
    (`keras_attngan.versioning`); see the module docstring for the layout.

    Args:
        model: a trained `AttnGAN`.
        export_base: TF Serving base path of the model.
        formats: keys of `FORMATS` (a list or ``"savedmodel,tflite,onnx"``);
            the SavedModel is always written, the others are converted from it.
        quantizations: keys of `keras_attngan.tflite.QUANTIZATIONS` for TFLite.
        config, mask_dir: metadata, as `keras_attngan.serving.export`.
        version: version number (default: the train step, or the next free).
        overwrite: replace an existing `version` instead of taking a new one.

    Returns:
        The published version's path.

    Raises:
        ValueError: an unknown format or quantization (before any work).
        DeploymentError: a conversion failed or a float artifact is out of
            tolerance; the version was published without it.
    """
    artifact_files(formats, quantizations)  # validates the names before any work
    converted = [name for name in parse_list(formats, FORMATS, "format") if name != "savedmodel"]
    path = serving.export(
        model,
        export_base,
        config,
        mask_dir,
        version,
        overwrite,
        extend=(lambda staged: build(staged, converted, quantizations)) if converted else None,
    )
    report = load_report(path)
    if report and report["failures"]:
        problems = "\n".join(f"  {key}: {message}" for key, message in report["failures"].items())
        raise DeploymentError(
            f"Exported {path} without these artifacts:\n{problems}\n"
            f"The SavedModel and the other artifacts are in place; see {REPORT_FILE}.",
            path,
        )
    return path


def parity_table(report):
    """The parity figures of a report as a Markdown table."""
    lines = [
        "| artifact | signature | output | max abs diff | PSNR (dB) | size (KiB) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for artifact, signatures in report.get("parity", {}).items():
        for signature, outputs in signatures.items():
            size = report["artifacts"].get(artifact, {}).get(signature, {}).get("bytes", 0) / 1024
            for name, figures in outputs.items():
                lines.append(
                    f"| {artifact} | {signature} | {name} | {figures['max_abs_diff']:.2e} | "
                    f"{figures['psnr_db']:.1f} | {size:.0f} |"
                )
    return "\n".join(lines)
