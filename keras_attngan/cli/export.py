"""`attngan export`: exports a workdir's latest checkpoint for deployment.

    attngan export --workdir runs/symbols [--out runs/symbols/export]
        [--format savedmodel,tflite,onnx] [--quantize float32,float16,dynamic_int8,int8]
        [--overwrite]

The SavedModel goes to OUT/VERSION (TF Serving's versioned layout; VERSION is
the train step). Exporting a step that has its version already writes
nothing and says so, unless --overwrite replaces it. TFLite and ONNX files
are converted from the SavedModel into the same version and verified against
it: an artifact beyond its tolerance is kept, flagged in deploy.json and named
in a warning. The converters' own output shows with --verbose. See
`keras_attngan.export.serving` and `keras_attngan.export.deploy`.
"""

from absl import flags

from keras_attngan.apps import paths
from keras_attngan.cli import runtime

# `keras_attngan.export.deploy.FORMATS` and `keras_attngan.export.tflite.QUANTIZATIONS`,
# which import TensorFlow; tests/test_cli.py checks that they agree.
FORMATS = ("savedmodel", "tflite", "onnx")
QUANTIZATIONS = ("float32", "float16", "dynamic_int8", "int8")

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory written by `attngan train`.")
_OUT = flags.DEFINE_string(
    "out", None, "Export base directory; versions go to OUT/VERSION (default: WORKDIR/export)."
)
_FORMAT = flags.DEFINE_list("format", ["savedmodel"], f"Artifacts to write, among {','.join(FORMATS)}.")
_QUANTIZE = flags.DEFINE_list(
    "quantize",
    ["float32"],
    f"TFLite variants, among {','.join(QUANTIZATIONS)} (int8: full integer, calibrated on the noise prior).",
)
_OVERWRITE = flags.DEFINE_bool(
    "overwrite",
    False,
    "Replace the version of this train step (atomically) when it exists; without it, nothing is written.",
)
flags.mark_flag_as_required("workdir")


def main(argv):
    del argv  # `attngan` refuses positional arguments
    paths.input_dir("--workdir", _WORKDIR.value)
    if _OUT.value:
        paths.output_dir("--out", _OUT.value)
    runtime.start_work()
    from keras_attngan.export import deploy, versioning
    from keras_attngan.training.loop import export_workdir

    try:
        failure = None
        path = export_workdir(
            _WORKDIR.value,
            _OUT.value,
            formats=_FORMAT.value,
            quantizations=_QUANTIZE.value,
            overwrite=_OVERWRITE.value,
            renumber=False,
        )
    except versioning.VersionExistsError as exists:
        print(
            f"Version {exists.version} exists: {exists.path} holds the latest checkpoint's step already; "
            "nothing written (--overwrite replaces it)."
        )
        return
    except deploy.DeploymentError as error:
        path, failure = error.path, error
    report = deploy.load_report(path)
    print(f"SavedModel: {path}")
    if report:
        print(f"Parity against the SavedModel (ONNX opset {report['onnx_opset']}):")
        print(deploy.parity_table(report))
    if failure:
        raise failure
