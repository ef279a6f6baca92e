"""How loud a command is, and the moment its work starts.

Quiet by default: TensorFlow's C++ logging is off, the lines its native
libraries print while loading are dropped, and the Python log records and
warnings of other packages (TensorFlow, Keras, TFDS...) show errors only.
The progress bar (stdout), the run's own messages and the log records and
warnings of this library stay. `--verbose` leaves all of them as they are.
"""

import contextlib
import logging
import os
import sys
import warnings

_verbose = False
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def from_this_library(filename):
    """Whether source file `filename` belongs to keras_attngan."""
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def configure(verbose):
    """Sets the verbosity of this process; call before TensorFlow is imported."""
    global _verbose
    _verbose = verbose
    if not verbose:
        # Read once, when TensorFlow's native code loads: it must be set first.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


@contextlib.contextmanager
def native_output_silenced():
    """Sends file descriptor 2 to /dev/null unless verbose.

    CUDA and absl lines printed by TensorFlow's shared libraries while they
    load ("All log messages before absl::InitializeLog() ...", "Could not find
    cuda drivers ...") ignore TF_CPP_MIN_LOG_LEVEL, so only the descriptor
    can hold them back. Python exceptions are unaffected: they are reported
    after the block.
    """
    if _verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _errors_unless_ours(record):
    return record.levelno >= logging.ERROR or from_this_library(record.pathname)


def start_work():
    """Imports and sets up TensorFlow; commands call it once their inputs are checked."""
    with native_output_silenced():
        import tensorflow as tf
    if not _verbose:
        for handler in logging.getLogger().handlers:  # absl's, under `app.run`
            handler.addFilter(_errors_unless_ours)
        warnings.filterwarnings("ignore")
        warnings.filterwarnings("default", module=r"keras_attngan\b")
    # Grappler's remapper fails on the graph of Keras' multi-step loop and
    # prints an alarming "remapper failed" error at every run; the pass is
    # then skipped anyway. Switching it off changed no step time, timed
    # with benchmarks/harness.py on the baseline and the attention step.
    tf.config.optimizer.set_experimental_options({"remapping": False})
