"""TFLite conversions of an exported SavedModel, run with LiteRT.

Converted with `tf.lite.TFLiteConverter.from_saved_model`, one signature per
file (`from_keras_model` is broken for Keras 3 models, keras#19108), and run
with `ai_edge_litert.interpreter.Interpreter` (TF's own Interpreter is
deprecated). Quantizations (`QUANTIZATIONS`):

- ``float32``: no quantization; the reference for the others.
- ``float16``: float16 weights, computed in float32 on CPUs (half the size).
- ``dynamic_int8``: int8 weights, activations quantized on the fly.
- ``int8``: full integer quantization of weights and activations, calibrated
  on a representative dataset (the caller's: for the generator, noise drawn
  from the prior through the whole K-step synthesis), per-channel weights;
  inputs and outputs stay float so that every variant is called alike, and
  so do the input side (`INT8_FLOAT_OPS`) and the in-graph uint8 conversion
  (`keras_attngan.export.serving.UINT8_SCOPE`), where quantizing cost most.

The in-graph input checks of the SavedModel (`tf.debugging` asserts) are
dropped by the converter: `Runner` checks inputs before the model runs.
"""

import re
import warnings

import numpy as np
import tensorflow as tf


class ConversionError(RuntimeError):
    """A converter could not convert a signature; the message names what it refused."""


def _float32(converter, representative):
    del converter, representative


def _float16(converter, representative):
    del representative
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic_int8(converter, representative):
    del representative
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


# Ops full int8 keeps in float: the input side (the padded batch, its slices,
# G's projection of z), where quantizing z alone moved images by 0.09.
INT8_FLOAT_OPS = ["CONCATENATION", "STRIDED_SLICE", "FULLY_CONNECTED"]


def _int8(converter, representative):
    if representative is None:
        raise ValueError("Full int8 quantization needs representative inputs.")
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    # Calibrated here, quantized by `_quantize_int8` with what must stay float.
    converter._experimental_calibrate_only = True  # noqa: SLF001
    return _quantize_int8


def _quantize_int8(calibrated):
    """Quantizes a calibrated model to int8, keeping `INT8_FLOAT_OPS` and the uint8 conversion in float.

    This is the converter's own second step (`mlir_quantize`, which TF's
    QuantizationDebugger calls too), given the nodes and ops to leave alone.
    """
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.python.convert import mlir_quantize

    from keras_attngan.export.serving import UINT8_SCOPE

    tensors = Interpreter(model_content=calibrated).get_tensor_details()
    nodes = [tensor["name"] for tensor in tensors if f"{UINT8_SCOPE}/" in tensor["name"]]
    return mlir_quantize(
        calibrated,
        input_data_type=tf.float32,
        output_data_type=tf.float32,
        denylisted_nodes=nodes,
        denylisted_ops=INT8_FLOAT_OPS,
    )


# Quantization -> configures a converter, given representative inputs; returns
# None, or a function that finishes the converted model's bytes.
QUANTIZATIONS = {
    "float32": _float32,
    "float16": _float16,
    "dynamic_int8": _dynamic_int8,
    "int8": _int8,
}


def _refused(error):
    """What a converter error says it refused: the ops, else its error lines."""
    text = str(error)
    ops = sorted(set(re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", text)))
    if ops:
        return f"unsupported op(s) {', '.join(ops)} (no TFLite builtin)"
    errors = [line.split("error:", 1)[1].strip() for line in text.splitlines() if "error:" in line]
    return "; ".join(errors)[:1000] or text[-1000:]


def convert(saved_model_dir, path, signature, quantization="float32", representative=None):
    """Converts one signature of a SavedModel to a TFLite file.

    Args:
        saved_model_dir: the SavedModel.
        path: the ``.tflite`` file to write.
        signature: the signature key, e.g. ``serving_default``.
        quantization: a key of `QUANTIZATIONS`.
        representative: for ``int8``, a callable returning an iterable of
            input dicts (name -> float32 array) of the signature.

    Raises:
        ValueError: for an unknown quantization.
        ConversionError: naming what the converter refused (e.g. an op).
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` should be one of {list(QUANTIZATIONS)}. Received: quantization={quantization!r}"
        )
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[signature])
    finish = QUANTIZATIONS[quantization](converter, representative)
    try:
        with warnings.catch_warnings():
            # Full int8 calibration runs TF's deprecated Interpreter inside the
            # converter; the warning is not about our code.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            content = converter.convert()
            if finish is not None:
                content = finish(content)
    except Exception as error:  # the converter raises several unrelated types
        raise ConversionError(
            f"TFLite ({quantization}) cannot convert signature {signature!r}: {_refused(error)}"
        ) from error
    with open(path, "wb") as f:
        f.write(content)


class Runner:
    """Runs one signature of a ``.tflite`` file with LiteRT, refusing bad inputs first.

    Inputs are checked against the file's own input details as the
    SavedModel's signatures check them (`keras_attngan.export.serving.check_inputs`:
    names, dtypes, shapes, NaN and Inf): the converter drops the in-graph
    checks, and a quantized model turns a NaN into ordinary-looking images.

    Args:
        path: the ``.tflite`` file.
        signature: the signature key.
        num_threads: CPU threads (None: LiteRT's default).
        num_classes: the classes of a ``label`` input (None: not checked).

    Attributes:
        specs: ``{input name: tf.TensorSpec}`` (None for dynamic dimensions).
    """

    def __init__(self, path, signature, num_threads=None, num_classes=None):
        from ai_edge_litert.interpreter import Interpreter

        self._runner = Interpreter(model_path=path, num_threads=num_threads).get_signature_runner(signature)
        self.specs = {}
        for name, detail in self._runner.get_input_details().items():
            shape = [None if size < 0 else int(size) for size in detail["shape_signature"]]  # -1: dynamic
            self.specs[name] = tf.TensorSpec(shape, detail["dtype"])
        self.num_classes = num_classes

    def __call__(self, inputs):
        """Checks, then runs on a dict of arrays; returns a dict of arrays."""
        from keras_attngan.export.serving import check_inputs

        check_inputs(inputs, self.specs, self.num_classes)
        return self.run(inputs)

    def run(self, inputs):
        """Runs on a dict of arrays that `__call__` would accept, unchecked."""
        return {name: np.asarray(value) for name, value in self._runner(**inputs).items()}
