"""Upscales an image with a super-resolution export.

    attngan upscale --model runs/photos_sr_x4/export --input small.png --output large.png

The image is processed in tiles of --tile low-res pixels (with --margin pixels of context
each, cropped off: the stitched image has no seams), so an image larger than memory allows for
one call still upscales; a progress bar counts the tiles (--noprogress turns it off). The model's channels
are checked against the image's before any work. --self_ensemble averages the model over the
eight flips and rotations of each tile (EDSR+'s geometric self-ensemble), for eight times the work.
"""

from absl import flags

from keras_attngan.apps import paths
from keras_attngan.cli import runtime

_MODEL = flags.DEFINE_string(
    "model", None, "Super-resolution SavedModel directory, or a TF Serving base path (newest version)."
)
_INPUT = flags.DEFINE_string("input", None, "Low-res image (PNG, JPEG, BMP or GIF).")
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the upscaled PNG.")
_ARTIFACT = flags.DEFINE_string(
    "artifact", "savedmodel", "Which artifact of the export runs: savedmodel, tflite/float32, onnx, ..."
)
_TILE = flags.DEFINE_integer("tile", 128, "Tile side in low-res pixels.", lower_bound=1)
_MARGIN = flags.DEFINE_integer("margin", 16, "Context around each tile, in low-res pixels.", lower_bound=0)
_PROGRESS = flags.DEFINE_boolean("progress", True, "Draw a progress bar of the tiles on stderr.")
_SELF_ENSEMBLE = flags.DEFINE_boolean(
    "self_ensemble", False, "Average the model over the 8 flips and rotations of each tile (8x the time)."
)
flags.mark_flags_as_required(["model", "input", "output"])


def main(argv):
    del argv  # `attngan` refuses positional arguments
    paths.input_dir("--model", _MODEL.value)
    paths.input_file("--input", _INPUT.value)
    paths.output_file("--output", _OUTPUT.value)
    runtime.start_work()
    from keras_attngan.apps.tiling import progress_bar, upscale_file

    progress = progress_bar() if _PROGRESS.value else None
    shape = upscale_file(
        _MODEL.value,
        _INPUT.value,
        _OUTPUT.value,
        _ARTIFACT.value,
        _TILE.value,
        _MARGIN.value,
        progress,
        ensemble=_SELF_ENSEMBLE.value,
    )
    print(f"Wrote {_OUTPUT.value} ({shape[1]}x{shape[0]}, {shape[2]} channel(s))")
