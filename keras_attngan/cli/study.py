"""Trains several configs with several seeds under one budget and compares them.

    attngan study --configs configs/symbols_baseline.py,configs/symbols_attn.py \\
        --seeds 3 --steps 1000 --out runs/study [--metrics fid,kid,pr,mask_usage] \\
        [--set model.g_width=32 ...]

Each run trains from scratch, exports and is evaluated on the same real images;
OUT/summary.md holds each metric's mean and 95% interval over seeds, OUT/fid.png
(or kid.png) the metric over training. Rerunning skips finished runs, so a
stopped study continues. See `keras_attngan.apps.study`.
"""

from absl import flags

from keras_attngan.apps import paths
from keras_attngan.cli import runtime
from keras_attngan.core.choices import METRICS

_CONFIGS = flags.DEFINE_list(
    "configs", None, "Config files, comma-separated, each configs/NAME.py[:ARG]."
)
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds per config (0 .. N-1).", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", None, "Train steps of every run.", lower_bound=1)
_OUT = flags.DEFINE_string("out", None, "Study directory (created; reused to continue).")
_NUM = flags.DEFINE_integer("num", 1000, "Generated and real images per evaluation.", lower_bound=2)
_METRICS = flags.DEFINE_string(
    "metrics", "fid,kid", f"Comma-separated, from {','.join(METRICS)} (fid or kid required)."
)
_SET = flags.DEFINE_multi_string(
    "set", [], "SECTION.KEY=VALUE set on every config (repeatable), e.g. model.g_width=32."
)
flags.mark_flags_as_required(["configs", "steps", "out"])


def main(argv):
    del argv  # `attngan` refuses positional arguments
    specs = _CONFIGS.value
    for spec in specs:
        paths.input_file("--configs", spec.split(":", 1)[0])
    paths.output_dir("--out", _OUT.value)
    # Before TensorFlow starts: the study module and config files need none.
    from keras_attngan.apps import study

    overrides = study.parse_overrides(_SET.value)
    entries = {}
    for spec in specs:
        name, config = study.load_config(spec)
        if name in entries:
            raise ValueError(f"--configs names {name!r} twice. Received: --configs={','.join(specs)}")
        entries[name] = config
    runtime.start_work()
    budget = study.make_budget(_STEPS.value, _NUM.value, _METRICS.value, overrides)
    records = study.run(
        entries,
        _SEEDS.value,
        budget,
        _OUT.value,
        log=lambda r: print(f"{r['name']} seed {r['seed']}: {r['metrics']}", flush=True),
    )
    command = "attngan study " + " ".join(
        [f"--configs={','.join(specs)}", f"--seeds={_SEEDS.value}", f"--steps={_STEPS.value}",
         f"--out={_OUT.value}", f"--num={_NUM.value}", f"--metrics={_METRICS.value}"]
        + [f"--set={item}" for item in _SET.value]
    )
    print(study.write_summary(_OUT.value, records, command))
    print(f"Summary: {_OUT.value}/summary.md")
