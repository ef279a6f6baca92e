"""The study behind the README's results: does the attention method help, and why?

    python benchmarks/quality.py                                  # the whole grid, resumable
    python benchmarks/quality.py --datasets symbols --seeds 1 --steps 200   # a short look
    python benchmarks/quality.py --set model.g_width=32 --set model.d_width=32  # smaller nets

Every run trains one variant of `configs/{dataset}_attn.py` from scratch with
`keras_attngan.training.train` under one step budget, then scores its export
with `keras_attngan.evaluation.evaluate` (domain-classifier FID and KID,
precision and recall on `--num` generated and real images, and for models
with a mask the mask-usage metrics). FID is also logged at half the budget
(`log.eval_every`), so the table shows whether the ranking is stable between
the two budgets.

The variants separate what the method changes:

- ``baseline``: the plain GAN (mask source ``none``) with the same K generator
  updates per D update as the attention model (with the default K = 1 it is
  the plain GAN itself, so no separate "plain GAN with K updates" is needed);
- ``attention``: the default config (learned mask, InfoNCE locality term);
- ``gradcam``, ``saliency``: the other mask sources;
- ``no_mi``: the mask input without the MI term (``lambda_mi = 0``);
- ``bf16``: the default under ``mixed_bfloat16``.

Resumable: each finished run writes ``RESULTS/DATASET-VARIANT-SEED.json``;
rerunning skips those, so the study can be stopped and continued across
sessions. The summary (mean, standard deviation and 95% t-interval over
seeds) goes to ``RESULTS/summary.json`` and ``RESULTS/summary.md``.
"""

import argparse
import importlib
import json
import math
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from harness import apply_overrides  # noqa: E402

VARIANTS = {
    "baseline": {"model.mask_source": "none"},
    "attention": {},
    "gradcam": {"model.mask_source": "gradcam"},
    "saliency": {"model.mask_source": "saliency"},
    "no_mi": {"train.lambda_mi": 0.0},
    "bf16": {"train.dtype_policy": "mixed_bfloat16"},
}
DATASETS = ("symbols", "digits")
QUALITY = ("fid", "kid", "precision", "recall")
USAGE = ("content_sensitivity", "locality_gain", "mi_bound", "mi_ceiling", "mask_effect")


def _config(dataset, variant, seed, steps, common=None):
    config = importlib.import_module(f"configs.{dataset}_attn").get_config()
    config.seed = seed
    config.train.steps = steps
    config.train.steps_per_epoch = steps // 2
    apply_overrides(config, common or {})
    apply_overrides(config, VARIANTS[variant])
    config.log.images_every = steps
    config.log.checkpoint_every = steps
    config.log.eval_every = steps // 2
    config.log.eval_metrics = "fid"
    return config


def _half_budget_fid(logdir, step):
    from tensorboard.backend.event_processing import event_accumulator

    events = event_accumulator.EventAccumulator(
        os.path.join(logdir, "eval"), size_guidance={event_accumulator.TENSORS: 0}
    )
    events.Reload()
    import tensorflow as tf

    values = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("fid")}
    return values.get(step)


def run_one(dataset, variant, seed, steps, num, workdir, common=None):
    """Trains and evaluates one run; returns its JSON-able record.

    `common` holds the study-wide overrides (``--set``), applied before the
    variant's own.
    """
    from keras_attngan.config import validate_config
    from keras_attngan.evaluation import evaluate
    from keras_attngan.mask_sources import MASK_SOURCES
    from keras_attngan.metrics.evaluate import scalars
    from keras_attngan.training import train

    config = _config(dataset, variant, seed, steps, common)
    validate_config(config)
    start = time.perf_counter()
    run_dir, export_path = train(config, workdir)
    train_seconds = time.perf_counter() - start
    metrics = ["fid", "kid", "pr"]
    if MASK_SOURCES[config.model.mask_source].uses_mask:
        metrics.append("mask_usage")
    # The same real images (data seed 0) for every training seed.
    result = evaluate(export_path, metrics=metrics, num=num, data_seed=0)
    values = scalars(result["metrics"])
    record = {
        "dataset": dataset,
        "variant": variant,
        "seed": seed,
        "steps": steps,
        "num": num,
        "common": common or {},
        "overrides": VARIANTS[variant],
        "train_seconds": round(train_seconds, 1),
        "fid_half_budget": _half_budget_fid(run_dir.logs, steps // 2),
        "extractor": result["extractor"]["name"],
    }
    record.update({name: values[name] for name in QUALITY})
    record.update(
        {name: values[f"mask_usage/{name}"] for name in USAGE if f"mask_usage/{name}" in values}
    )
    return record


def _parse_value(text):
    """``32`` -> 32, ``0.5`` -> 0.5, ``true`` -> True; anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _interval(values):
    """Mean, standard deviation and the half-width of the 95% t-interval."""
    from scipy import stats

    values = np.asarray([v for v in values if v is not None], np.float64)
    if len(values) == 0:
        return None
    if len(values) == 1:
        return {"n": 1, "mean": float(values[0]), "sd": None, "ci95": None}
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values)))
    return {"n": len(values), "mean": float(values.mean()), "sd": sd, "ci95": half}


def summarize(records):
    """Per dataset and variant: each metric's mean, sd and 95% interval over seeds."""
    summary = {}
    for record in records:
        key = (record["dataset"], record["variant"])
        summary.setdefault(key, []).append(record)
    table = {}
    for (dataset, variant), runs in sorted(summary.items()):
        names = ("fid_half_budget",) + QUALITY + USAGE + ("train_seconds",)
        table[f"{dataset}/{variant}"] = {
            "seeds": sorted(r["seed"] for r in runs),
            **{name: _interval([r.get(name) for r in runs]) for name in names},
        }
    return table


def rankings(table):
    """Per dataset, the variants ordered by mean FID at half and at the full budget.

    The two orders agreeing is what "the ranking is stable at this budget"
    means here; ``stable`` says whether they do.
    """
    by_dataset = {}
    for name, row in table.items():
        dataset, variant = name.split("/")
        by_dataset.setdefault(dataset, {})[variant] = row
    result = {}
    for dataset, rows in by_dataset.items():
        orders = {}
        for key, metric in (("half", "fid_half_budget"), ("full", "fid")):
            scored = [(row[metric]["mean"], v) for v, row in rows.items() if row[metric]]
            orders[key] = [variant for _, variant in sorted(scored)]
        result[dataset] = {**orders, "stable": orders["half"] == orders["full"]}
    return result


def _cell(stat, digits):
    if stat is None:
        return "-"
    if stat["ci95"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['ci95']:.{digits}f}"


def markdown(table, steps, common=None):
    overrides = ", ".join(f"{k}={v}" for k, v in (common or {}).items()) or "none"
    lines = [
        f"Mean ± 95% t-interval over seeds; {steps} steps; study-wide overrides: {overrides}; "
        "FID/KID/precision/recall on domain features; FID@half at half the budget.",
        "",
        "| dataset / variant | seeds | FID@half | FID | KID | precision | recall | "
        "content sens. | locality gain | MI bound (nats) | MI ceiling | s/run |",
        "|---|---|" + "---:|" * 10,
    ]
    for name, row in table.items():
        lines.append(
            f"| {name} | {len(row['seeds'])} | {_cell(row['fid_half_budget'], 2)} | "
            f"{_cell(row['fid'], 2)} | {_cell(row['kid'], 3)} | {_cell(row['precision'], 3)} | "
            f"{_cell(row['recall'], 3)} | {_cell(row['content_sensitivity'], 2)} | "
            f"{_cell(row['locality_gain'], 2)} | {_cell(row['mi_bound'], 2)} | "
            f"{_cell(row['mi_ceiling'], 2)} | {_cell(row['train_seconds'], 0)} |"
        )
    lines.append("")
    for dataset, order in rankings(table).items():
        lines.append(
            f"{dataset}, best to worst FID: at half the budget {', '.join(order['half'])}; "
            f"at the full budget {', '.join(order['full'])} "
            f"({'the same order' if order['stable'] else 'a different order'})."
        )
    return "\n".join(lines)


def _write_json(path, value):
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000, help="train steps of every run (even)")
    parser.add_argument("--num", type=int, default=1000, help="generated and real images per evaluation")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every run, e.g. model.g_width=32 (repeatable)",
    )
    parser.add_argument("--workdir", default=os.path.join(ROOT, "runs", "quality"))
    parser.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results", "quality"))
    args = parser.parse_args(argv)
    datasets = [d for d in args.datasets.split(",") if d]
    variants = [v for v in args.variants.split(",") if v]
    for name, chosen, valid in (("--datasets", datasets, DATASETS), ("--variants", variants, VARIANTS)):
        unknown = sorted(set(chosen) - set(valid))
        if unknown or not chosen:
            parser.error(f"{name} takes names from {list(valid)}; unknown: {unknown}")
    common = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or key.count(".") != 1:
            parser.error(f"--set takes SECTION.KEY=VALUE; received {item!r}")
        common[key] = _parse_value(value)
    if args.steps < 2 or args.steps % 2:
        parser.error(f"--steps should be an even number >= 2; received {args.steps}")
    os.makedirs(args.results, exist_ok=True)
    # Seed-major order: whenever the study stops, every variant has about as many seeds.
    for seed in range(args.seeds):
        for dataset in datasets:
            for variant in variants:
                path = os.path.join(args.results, f"{dataset}-{variant}-{seed}.json")
                if os.path.exists(path):
                    with open(path) as f:
                        done = json.load(f)
                    budget = (done["steps"], done["num"], done.get("common", {}))
                    if budget != (args.steps, args.num, common):
                        parser.error(
                            f"{path} was made with --steps {done['steps']} --num {done['num']} "
                            f"--set {done.get('common', {})}; use another --results directory "
                            "for another budget."
                        )
                    continue
                workdir = os.path.join(args.workdir, f"{args.steps}", f"{dataset}-{variant}-{seed}")
                if os.path.exists(workdir):  # an interrupted run: start it again
                    import shutil

                    shutil.rmtree(workdir)
                record = run_one(dataset, variant, seed, args.steps, args.num, workdir, common)
                _write_json(path, record)
                print(json.dumps(record), flush=True)
    records = []
    for name in sorted(os.listdir(args.results)):
        if name.endswith(".json") and name != "summary.json":
            with open(os.path.join(args.results, name)) as f:
                records.append(json.load(f))
    table = summarize(records)
    command = "python benchmarks/quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    _write_json(os.path.join(args.results, "summary.json"), {"command": command, "table": table, "rankings": rankings(table)})
    text = markdown(table, args.steps, common)
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return table


if __name__ == "__main__":
    main()
