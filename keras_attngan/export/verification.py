"""Verifying converted artifacts against the SavedModel: the same inputs through each, and tolerances per artifact."""

import math

import numpy as np

from keras_attngan.export import loading

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
        metadata = loading.load_metadata(deployment.path)
        side = metadata["image_size"] // metadata["scale"]
        shape = (count, side, side, specs["lowres"].shape[-1])
        inputs = {"lowres": np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)}
    else:
        inputs = loading.export_latent(deployment.path).inputs_numpy(count, seed)
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
