"""Writes images from an exported generator.

    attngan synthesize --model runs/symbols/export --num 64 --out /tmp/samples \\
        --format png --seed 0

An InfoGAN model draws what the user asks: ``--category 3`` fixes its first
categorical code (the class, for a supervised code), ``--code width=1.5``
(repeatable) any code; the other codes come from their priors. A
class-conditional model draws the class ``--label C``, or uniform classes.

OUT ends up holding this run's files only: a new or empty directory, or, with
--overwrite, one whose contents are replaced. See `keras_attngan.apps.synthesis`
for the formats. The export's files are checked before it loads: a damaged
or missing one is named in one line (exit code 1).
"""

from absl import flags

from keras_attngan.apps import paths
from keras_attngan.cli import runtime

# `keras_attngan.apps.synthesis.FORMATS`, which imports TensorFlow; tests/test_cli.py
# checks that the two agree.
FORMATS = ("png", "npz", "tfrecord")

_MODEL = flags.DEFINE_string(
    "model", None, "SavedModel directory, or a TF Serving base path (newest version)."
)
_NUM = flags.DEFINE_integer("num", None, "Number of images.", lower_bound=1)
_OUT = flags.DEFINE_string("out", None, "Output directory: new or empty, unless --overwrite.")
_OVERWRITE = flags.DEFINE_boolean("overwrite", False, "Replace the contents of a non-empty --out.")
_FORMAT = flags.DEFINE_enum("format", "png", FORMATS, "Output format.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the noise.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Images per call.", lower_bound=1)
_CATEGORY = flags.DEFINE_integer(
    "category", None, "InfoGAN models: the value of the first categorical code (the class to draw)."
)
_CODE = flags.DEFINE_multi_string(
    "code", [], "InfoGAN models: NAME=VALUE fixes a latent code (repeatable); the others are drawn."
)
_LABEL = flags.DEFINE_integer(
    "label", None, "Class-conditional models: the class to draw (default: uniform over the classes)."
)
flags.mark_flags_as_required(["model", "num", "out"])


def main(argv):
    del argv  # `attngan` refuses positional arguments
    paths.input_dir("--model", _MODEL.value)
    paths.output_dir(
        "--out", _OUT.value, empty=not _OVERWRITE.value, overwrite_option="--overwrite"
    )
    runtime.start_work()
    from keras_attngan.apps.synthesis import from_export, write

    images, latent = from_export(
        _MODEL.value, _NUM.value, _SEED.value, _BATCH.value, _CATEGORY.value, _CODE.value, _LABEL.value
    )
    written = write(images, latent, _OUT.value, _FORMAT.value, overwrite=_OVERWRITE.value)
    where = written[0] if len(written) == 1 else f"{_OUT.value} ({written[0]} ... {written[-1]})"
    print(f"Wrote {len(images)} images to {where}")
