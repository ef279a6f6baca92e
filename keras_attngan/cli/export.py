"""Exports a workdir's latest checkpoint as a serving SavedModel.

    attngan export --workdir runs/symbols [--out runs/symbols/export]

The SavedModel goes to OUT/STEP (TF Serving's versioned layout); see
`keras_attngan.serving` for its signatures and metadata.
"""

from absl import flags

from keras_attngan import paths
from keras_attngan.cli import runtime

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory written by `attngan train`.")
_OUT = flags.DEFINE_string(
    "out", None, "Export base directory; the SavedModel goes to OUT/STEP (default: WORKDIR/export)."
)
flags.mark_flag_as_required("workdir")


def main(argv):
    del argv  # `attngan` refuses positional arguments
    paths.input_dir("--workdir", _WORKDIR.value)
    if _OUT.value:
        paths.output_dir("--out", _OUT.value)
    runtime.start_work()
    from keras_attngan.training import export_workdir

    print(f"SavedModel: {export_workdir(_WORKDIR.value, _OUT.value)}")
