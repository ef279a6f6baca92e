"""The runtimes an export runs in, one runner class each (`RUNNERS`), and the quieting of their native output."""

import contextlib
import hashlib
import logging
import os
import sys
import tempfile

import numpy as np
import tensorflow as tf

from keras_attngan.export import loading, serving, tflite
from keras_attngan.export import onnx as onnx_lib

_CONVERTER_LOGGERS = ("tensorflow", "tf2onnx", "absl")
_log = logging.getLogger(__name__)


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
            raise loading.damaged_file(
                path, loading.file_problem(path, error, "its runtime cannot load it"), deployment.path
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
