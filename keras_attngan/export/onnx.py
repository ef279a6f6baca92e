"""ONNX conversion of an exported SavedModel with tf2onnx, run with ONNX Runtime.

tf2onnx converts one SavedModel signature per file (its ``--signature_def``),
at opset `OPSET`, keeping the signature's input and output names. TF 2.21 is
not in tf2onnx's own CI, so the round trip in `keras_attngan.export.deploy`'s
verification is the guarantee that the conversion is right.
"""

import numpy as np

from keras_attngan.export.tflite import ConversionError

# Opset 17 is the newest that tf2onnx 1.16-1.17 supports fully, and every
# ONNX Runtime since 1.13 runs it.
OPSET = 17


def convert(saved_model_dir, path, signature, opset=OPSET):
    """Converts one signature of a SavedModel to an ONNX file.

    Raises:
        ConversionError: naming the TensorFlow op(s) tf2onnx cannot map, or
            the check ONNX's checker failed.
    """
    import onnx
    import tf2onnx
    from tf2onnx import tf_loader

    graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
        saved_model_dir,
        None,
        None,
        tag="serve",
        signatures=[signature],
        return_initialized_tables=True,
        return_tensors_to_rename=True,
    )
    del tables  # the model has no lookup tables
    try:
        model, _ = tf2onnx.convert.from_graph_def(
            graph_def,
            name=signature,
            input_names=inputs,
            output_names=outputs,
            opset=opset,
            tensors_to_rename=renames,
        )
        # An op tf2onnx could not map stays in the graph under its TF name;
        # the checker names it.
        onnx.checker.check_model(model)
    except Exception as error:  # tf2onnx and onnx raise several unrelated types
        raise ConversionError(f"tf2onnx (opset {opset}) cannot convert signature {signature!r}: {error}") from error
    onnx.save(model, path)


# ONNX Runtime's input types -> NumPy dtypes.
_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(uint8)": np.uint8,
}


class Runner:
    """Runs an ONNX file with ONNX Runtime on the CPU, refusing bad inputs first.

    Inputs are checked against the file's own inputs as the SavedModel's
    signatures check them (`keras_attngan.export.serving.check_inputs`): the
    converter drops the in-graph checks.

    Args:
        path: the ``.onnx`` file.
        num_threads: intra-op threads (None: ONNX Runtime's default).
        num_classes: the classes of a ``label`` input (None: not checked).

    Attributes:
        specs: ``{input name: tf.TensorSpec}`` (None for dynamic dimensions).
    """

    def __init__(self, path, num_threads=None, num_classes=None):
        import onnxruntime
        import tensorflow as tf

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._outputs = [output.name for output in self._session.get_outputs()]
        self.specs = {
            node.name: tf.TensorSpec(
                [size if isinstance(size, int) else None for size in node.shape], _DTYPES[node.type], node.name
            )
            for node in self._session.get_inputs()
        }
        self.num_classes = num_classes

    def __call__(self, inputs):
        """Checks, then runs on a dict of arrays; returns a dict of arrays."""
        from keras_attngan.export.serving import check_inputs

        check_inputs(inputs, self.specs, self.num_classes)
        return self.run(inputs)

    def run(self, inputs):
        """Runs on a dict of arrays that `__call__` would accept, unchecked."""
        values = self._session.run(self._outputs, inputs)
        return dict(zip(self._outputs, (np.asarray(value) for value in values)))
