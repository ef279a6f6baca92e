"""Sample quality of the attention method against the baseline, over training seeds.

    python benchmarks/quality.py                       # the default grid (about 35 minutes)
    python benchmarks/quality.py --runs baseline:0 attention:0 --steps 500   # a shorter look

Each run trains a config from scratch with `keras_attngan.training.train` in
a fresh workdir, then scores its export with `keras_attngan.metrics.evaluate`
(domain-classifier FID and KID, precision and recall, `--num` generated and
real images). Prints a table of every run and of mean ± sd per variant, and
writes benchmarks/results/quality.json.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from configs import symbols_attn, symbols_baseline  # noqa: E402
from harness import apply_overrides, write_report  # noqa: E402
from keras_attngan.metrics.evaluate import evaluate, scalars  # noqa: E402
from keras_attngan.training import train  # noqa: E402

VARIANTS = {
    "baseline": (symbols_baseline, {}),
    "attention": (symbols_attn, {}),
    "attention-bf16": (symbols_attn, {"train.dtype_policy": "mixed_bfloat16"}),
}
DEFAULT_RUNS = [
    "baseline:0",
    "attention:0",
    "baseline:1",
    "attention:1",
    "attention-bf16:0",
]
METRICS = ("fid", "kid", "precision", "recall")


def run_one(variant, seed, steps, num, root):
    module, overrides = VARIANTS[variant]
    config = module.get_config()
    config.seed = seed
    if steps:
        config.train.steps = steps
    apply_overrides(config, overrides)
    config.log.images_every = config.train.steps
    start = time.perf_counter()
    workdir, export_path = train(config, os.path.join(root, f"{variant}-{seed}"))
    train_seconds = time.perf_counter() - start
    # The same real images (data seed 0) for every training seed.
    result = evaluate(export_path, metrics=["fid", "kid", "pr"], num=num, data_seed=0)
    values = scalars(result["metrics"])
    return {
        "variant": variant,
        "seed": seed,
        "steps": config.train.steps,
        "train_seconds": train_seconds,
        "fid": values["fid"],
        "kid": values["kid"],
        "precision": values["precision"],
        "recall": values["recall"],
        "extractor": result["extractor"]["name"],
        "num": num,
    }


def tables(rows):
    lines = ["| variant | seed | FID | KID | precision | recall | train (s) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['fid']:.2f} | {r['kid']:.3f} | {r['precision']:.3f} "
            f"| {r['recall']:.3f} | {r['train_seconds']:.0f} |"
        )
    lines += ["", "| variant | runs | " + " | ".join(f"{m} (mean ± sd)" for m in METRICS) + " |"]
    lines.append("|---|---:|" + "---:|" * len(METRICS))
    for variant in dict.fromkeys(r["variant"] for r in rows):
        group = [r for r in rows if r["variant"] == variant]
        cells = []
        for metric in METRICS:
            values = np.array([r[metric] for r in group])
            spread = f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else ""
            cells.append(f"{values.mean():.3f}{spread}")
        lines.append(f"| {variant} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="VARIANT:SEED, variants: " + ", ".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=None, help="train steps (default: the config's)")
    parser.add_argument("--num", type=int, default=2000, help="generated and real images per evaluation")
    parser.add_argument("--workdir", default=None, help="where runs go (default: a temporary directory)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "quality.json"))
    args = parser.parse_args(argv)
    runs = []
    for spec in args.runs:
        variant, _, seed = spec.partition(":")
        if variant not in VARIANTS or not seed.isdigit():
            parser.error(f"--runs takes VARIANT:SEED with VARIANT in {list(VARIANTS)}; received {spec!r}")
        runs.append((variant, int(seed)))
    root = args.workdir or tempfile.mkdtemp(prefix="attngan-quality-")
    rows = []
    for variant, seed in runs:
        rows.append(run_one(variant, seed, args.steps, args.num, root))
        print(tables(rows[-1:]).splitlines()[2], flush=True)
    report = {"command": "python benchmarks/quality.py " + " ".join(argv if argv is not None else sys.argv[1:]), "runs": rows}
    write_report(report, args.out, tables(rows))
    return report


if __name__ == "__main__":
    main()
