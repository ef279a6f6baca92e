"""Scores an export or a workdir against real data.

    attngan evaluate --model runs/symbols/export --data symbols \\
        --metrics fid,kid,is,pr,faithfulness --num 2000 --out results.json \\
        [--extractor domain|inception] [--inception_weights PATH]

Writes the results (values and exactly what was computed) as JSON and prints
a table. See `keras_attngan.apps.evaluation` and docs/evaluation.md.
"""

import json
import os

from absl import flags

from keras_attngan.apps import paths
from keras_attngan.cli import runtime
from keras_attngan.core.choices import EXTRACTORS, METRICS

_MODEL = flags.DEFINE_string("model", None, "Export (version dir or TF Serving base) or workdir.")
_DATA = flags.DEFINE_string(
    "data", None, "Real data source, as data.source (default: the model's training data)."
)
_METRICS = flags.DEFINE_string(
    "metrics", "fid,kid,is,pr", f"Comma-separated, from {','.join(METRICS)}."
)
_NUM = flags.DEFINE_integer("num", 1000, "Generated images.", lower_bound=2)
_NUM_REAL = flags.DEFINE_integer("num_real", None, "Real images (default: --num).", lower_bound=2)
_OUT = flags.DEFINE_string("out", None, "JSON results file (written atomically).")
_EXTRACTOR = flags.DEFINE_enum("extractor", "domain", EXTRACTORS, "Feature extractor.")
_WEIGHTS = flags.DEFINE_string(
    "inception_weights", None, "Inception-v3 no-top weights file (.h5) for --extractor=inception."
)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the noise, KID subsets and faithfulness orders.")
_DATA_SEED = flags.DEFINE_integer(
    "data_seed", None, "Seed of the real data (default: the training seed)."
)
_CACHE = flags.DEFINE_string("cache_dir", None, "Cache of classifiers and reference statistics.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Images per call.", lower_bound=1)
flags.mark_flag_as_required("model")


def main(argv):
    del argv  # `attngan` refuses positional arguments
    paths.input_dir("--model", _MODEL.value)
    if _OUT.value:
        paths.output_file("--out", _OUT.value)
    if _WEIGHTS.value:
        paths.input_file("--inception_weights", _WEIGHTS.value)
    if _CACHE.value:
        paths.output_dir("--cache_dir", _CACHE.value)
    runtime.start_work()
    from keras_attngan.apps.evaluation import evaluate, format_table
    from keras_attngan.metrics import MetricOptions

    result = evaluate(
        _MODEL.value,
        _DATA.value,
        metrics=_METRICS.value,
        num=_NUM.value,
        extractor=_EXTRACTOR.value,
        inception_weights=_WEIGHTS.value,
        num_real=_NUM_REAL.value,
        seed=_SEED.value,
        data_seed=_DATA_SEED.value,
        cache_dir=_CACHE.value,
        options=MetricOptions(batch_size=_BATCH.value),
    )
    print(format_table(result))
    if _OUT.value:
        directory = os.path.dirname(os.path.abspath(_OUT.value))
        os.makedirs(directory, exist_ok=True)
        temporary = f"{_OUT.value}.tmp"
        with open(temporary, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
        os.replace(temporary, _OUT.value)
        print(f"Results: {_OUT.value}")
