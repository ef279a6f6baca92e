"""`attngan synthesize`: writes images from an exported generator (seed 000, claims 12, 14).

    attngan synthesize --model runs/symbols/export --num 64 --out /tmp/samples \\
        --format png --seed 0

See `keras_attngan.synthesis` for the formats.
"""

from absl import flags

from keras_attngan.synthesis import FORMATS, generate, write

_MODEL = flags.DEFINE_string(
    "model", None, "SavedModel directory, or a TF Serving base path (newest version)."
)
_NUM = flags.DEFINE_integer("num", None, "Number of images.", lower_bound=1)
_OUT = flags.DEFINE_string("out", None, "Output directory (created).")
_FORMAT = flags.DEFINE_enum("format", "png", FORMATS, "Output format.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the noise.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Images per call.", lower_bound=1)
flags.mark_flags_as_required(["model", "num", "out"])


def main(argv):
    if len(argv) > 1:
        raise SystemExit(f"Unexpected arguments: {argv[1:]}")
    images, noise = generate(_MODEL.value, _NUM.value, _SEED.value, _BATCH.value)
    paths = write(images, noise, _OUT.value, _FORMAT.value)
    where = paths[0] if len(paths) == 1 else f"{_OUT.value} ({paths[0]} ... {paths[-1]})"
    print(f"Wrote {len(images)} images to {where}")
