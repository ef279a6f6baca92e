"""`attngan export`: exports a workdir's latest checkpoint as a serving SavedModel.

    attngan export --workdir runs/symbols [--out runs/symbols/export]

The SavedModel goes to OUT/STEP (TF Serving's versioned layout); see
`keras_attngan.serving` for its signatures and metadata.
"""

from absl import flags

from keras_attngan.training import export_workdir

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory written by `attngan train`.")
_OUT = flags.DEFINE_string("out", None, "Export base directory (default: WORKDIR/export).")
flags.mark_flag_as_required("workdir")


def main(argv):
    if len(argv) > 1:
        raise SystemExit(f"Unexpected arguments: {argv[1:]}")
    print(f"SavedModel: {export_workdir(_WORKDIR.value, _OUT.value)}")
