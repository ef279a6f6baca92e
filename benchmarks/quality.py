"""The study behind the README's results: does the attention method help, and why?

    python benchmarks/quality.py                                  # the whole grid, resumable
    python benchmarks/quality.py --datasets symbols --seeds 1 --steps 200   # a short look
    python benchmarks/quality.py --set model.g_width=32 --set model.d_width=32  # smaller nets

Every run trains one variant of `configs/{dataset}_attn.py` from scratch with
`keras_attngan.training.loop.train` under one step budget, then scores its export
with `keras_attngan.metrics.suite` (domain-classifier FID and KID,
precision and recall on `--num` generated and real images, and for models
with a mask the mask-usage metrics). FID is also logged at half the budget
(`log.eval_every`), so the table shows whether the ranking is stable between
the two budgets.

The variants separate what the method changes:

- ``baseline``: the plain GAN (mask source ``none``) with the same K generator
  updates per D update as the attention model (with the default K = 1 it is
  the plain GAN itself, so no separate "plain GAN with K updates" is needed);
- ``learned``, ``gradcam``, ``saliency``: attention with each mask source
  (InfoNCE locality term);
- ``no_mi``: the mask input without the MI term (``lambda_mi = 0``);
- ``bf16``: the dataset's default config (`configs/DATASET_attn.py`) under
  ``mixed_bfloat16``;
- ``pairs16``: the dataset's default config with the MI term on 16 samples
  of each batch (``train.mi_pairs``), the cheaper step (``pairs8``: on 8);
  ``pairs16_mi2`` and ``pairs16_mi4`` with the MI term weighted 2 and 4
  (``train.lambda_mi``); ``pairs16_masks`` with InfoNCE's negatives all B
  masks of the batch (``model.mi_negatives``), not the other 15 changes;
  ``pairs16_cells4`` with the MI term on 4x4 cells (``model.mi_cell_size``),
  ``pairs16_sharp`` with masks sharpened by ``model.mask_temperature = 0.5``
  (``sharp``: sharpened, on the whole batch). `configs/digits_attn.py` today
  is ``sharp8_balanced_bf16`` (sharpened, balanced MI weight, 8 pairs,
  bfloat16; earlier ``sharp16_balanced_bf16``, 16 pairs);
  `configs/symbols_attn.py` today is ``sharp16_balanced`` (in float32;
  earlier ``balanced``, the whole batch unsharpened), ``sharp16_balanced_mi05``
  the same with ``lambda_mi = 0.5``;
- ``inner_loop``: the dataset's config in float32 with the seed's first
  mask (D's attention on G's image of the uniform mask): the seed's method
  with today's settings;
- ``verdict``: the dataset's config in float32 with D's per-cell verdict as
  the mask (``model.mask_source = "verdict"`` and its loss term, U-Net GAN),
  ``verdict_no_mi`` the same without the MI term, ``verdict_cutmix`` with
  U-Net GAN's CutMix (probability 0.5, reached over the first 1,000 D
  updates) and its consistency term, ``verdict_alignment`` with the MI term
  read by the alignment estimator (D's attention on G's image as the
  decoder of the mask G was given, EqGAN-SA's idea); ``alignment``: that
  estimator with Grad-CAM masks (EqGAN-SA's explanation); ``xai``: the dataset's
  config in float32 with G's output gradient reweighted by D's mask
  (``train.g_gradient_mask = 1``, xAI-GAN), ``xai_no_mi`` without the MI term;
- ``blobs_alignment``: EqGAN-SA's whole recipe: the first mask drawn from a
  prior of blobs (``model.first_mask = "blobs"``), Grad-CAM masks, the
  alignment estimator; ``verdict_no_mi_blobs``: ``verdict_no_mi`` with the
  first mask from that prior; ``baseline_verdict``: the plain GAN (G without
  a mask) with D's per-cell verdict and its loss term, U-Net GAN's D alone,
  the control that tells a gain of the mask from a gain of D's loss;
- ``baseline_resize``, ``baseline_subpixel``: the plain GAN with G upsampling by
  resize-convolution or sub-pixel convolution (``model.g_upsampling``) instead
  of transposed convolutions; ``blobs_resize``: the dataset's config in
  float32 (as ``inner_loop``) with the first mask from the blob prior and a
  resize-convolution G, the form that serves fastest
  (benchmarks/README.md, *Deployment*); ``inner_loop_blobs``: ``inner_loop``
  with the first mask from the blob prior (G's transposed convolutions kept);
  ``inner_loop_blobs_bf16``: ``inner_loop_blobs`` under ``mixed_bfloat16``,
  ``baseline_bf16`` the plain GAN under it.

It is a `keras_attngan.apps.study` (what `attngan study` runs) over the variants:
each finished run writes ``RESULTS/records/DATASET-VARIANT-SEED.json``, and
rerunning skips those, so the study can be stopped and continued
later. The summary (mean, standard deviation and 95% t-interval over
seeds, and whether the FID ranking at half the budget is the full budget's)
goes to ``RESULTS/summary.json`` and ``RESULTS/summary.md``, the FID curves to
``RESULTS/fid.png``.
"""

import argparse
import functools
import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from keras_attngan.apps import study  # noqa: E402

# The dataset configs' settings when the variants first ran (the whole batch
# in the MI term, masks not sharpened, the fixed MI weight, float32): each
# variant pins them and changes only what it names, so its records keep their
# meaning as the configs move.
AS_RAN = {
    "train.mi_pairs": 0,
    "model.mask_temperature": 1.0,
    "train.mi_weighting": "fixed",
    "train.dtype_policy": "float32",
}
PAIRS16 = {**AS_RAN, "train.mi_pairs": 16}
SHARP16 = {**PAIRS16, "model.mask_temperature": 0.5}
VARIANTS = {
    "baseline": {"model.mask_source": "none", "train.dtype_policy": "float32"},
    "learned": {**AS_RAN, "model.mask_source": "learned"},
    "gradcam": {**AS_RAN, "model.mask_source": "gradcam"},
    "saliency": {**AS_RAN, "model.mask_source": "saliency"},
    "no_mi": {**AS_RAN, "train.lambda_mi": 0.0},
    "bf16": {**AS_RAN, "train.dtype_policy": "mixed_bfloat16"},
    "pairs16": PAIRS16,
    "pairs8": {**AS_RAN, "train.mi_pairs": 8},
    "pairs16_mi2": {**PAIRS16, "train.lambda_mi": 2.0},
    "pairs16_mi4": {**PAIRS16, "train.lambda_mi": 4.0},
    "pairs16_masks": {**PAIRS16, "model.mi_negatives": "masks"},
    "pairs16_cells4": {**PAIRS16, "model.mi_cell_size": 4},
    "pairs16_sharp": SHARP16,
    "sharp": {**AS_RAN, "model.mask_temperature": 0.5},
    "pairs32": {**AS_RAN, "train.mi_pairs": 32},
    "flat": {**AS_RAN, "model.mask_temperature": 2.0},
    "sharp16_mi05": {**SHARP16, "train.lambda_mi": 0.5},
    "sharp16_mi025": {**SHARP16, "train.lambda_mi": 0.25},
    "sharp16_balanced": {**SHARP16, "train.mi_weighting": "balanced"},
    "sharp16_balanced025": {**SHARP16, "train.mi_weighting": "balanced", "train.lambda_mi": 0.25},
    "balanced": {**AS_RAN, "train.mi_weighting": "balanced"},
    "balanced_mi05": {**AS_RAN, "train.mi_weighting": "balanced", "train.lambda_mi": 0.5},
    "balanced_mi2": {**AS_RAN, "train.mi_weighting": "balanced", "train.lambda_mi": 2.0},
    "sharp16_no_mi": {**SHARP16, "train.lambda_mi": 0.0},
    "pairs16_balanced": {**PAIRS16, "train.mi_weighting": "balanced"},
    "sharp16_balanced_bf16": {
        **SHARP16, "train.mi_weighting": "balanced", "train.dtype_policy": "mixed_bfloat16"
    },
    "sharp16_balanced_mi05": {**SHARP16, "train.mi_weighting": "balanced", "train.lambda_mi": 0.5},
    "sharp8_balanced_bf16": {
        **SHARP16,
        "train.mi_pairs": 8,
        "train.mi_weighting": "balanced",
        "train.dtype_policy": "mixed_bfloat16",
    },
}
# Mechanisms that feed D's judgement back to G, each on the dataset's
# default config in float32, alone (no MI term) and with the inner loop's MI
# term: D's per-cell verdict as the mask (U-Net GAN, with and without its
# CutMix), the MI term as D's attention recovering the mask (EqGAN-SA), and
# G's output gradient reweighted by D's mask (xAI-GAN).
VERDICT = {"train.dtype_policy": "float32", "model.mask_source": "verdict", "train.terms": "verdict"}
VARIANTS.update(
    inner_loop={"train.dtype_policy": "float32", "model.first_mask": "recurrence"},
    verdict=VERDICT,
    verdict_no_mi={**VERDICT, "train.lambda_mi": 0.0},
    verdict_cutmix={**VERDICT, "train.verdict_cutmix": 0.5, "train.verdict_cutmix_warmup": 1000},
    verdict_alignment={**VERDICT, "model.mi_estimator": "alignment"},
    alignment={"train.dtype_policy": "float32", "model.mask_source": "gradcam", "model.mi_estimator": "alignment"},
    xai={"train.dtype_policy": "float32", "train.g_gradient_mask": 1.0},
    baseline_resize={**VARIANTS["baseline"], "model.g_upsampling": "resize"},
    baseline_subpixel={**VARIANTS["baseline"], "model.g_upsampling": "subpixel"},
    xai_no_mi={"train.dtype_policy": "float32", "train.g_gradient_mask": 1.0, "train.lambda_mi": 0.0},
    blobs_alignment={
        "train.dtype_policy": "float32",
        "model.mask_source": "gradcam",
        "model.mi_estimator": "alignment",
        "model.first_mask": "blobs",
    },
    verdict_no_mi_blobs={**VERDICT, "train.lambda_mi": 0.0, "model.first_mask": "blobs"},
    baseline_verdict={**VARIANTS["baseline"], "train.terms": "verdict"},
    blobs_resize={"train.dtype_policy": "float32", "model.first_mask": "blobs", "model.g_upsampling": "resize"},
    inner_loop_blobs={"train.dtype_policy": "float32", "model.first_mask": "blobs"},
    inner_loop_blobs_bf16={"train.dtype_policy": "mixed_bfloat16", "model.first_mask": "blobs"},
    baseline_bf16={**VARIANTS["baseline"], "train.dtype_policy": "mixed_bfloat16"},
)
DATASETS = ("symbols", "digits")
METRICS = ("fid", "kid", "pr", "coverage", "mask_usage")
# A table cell: mean ± 95% half-width with a fixed number of decimals.
_cell = functools.partial(study.format_interval, kind="f")
# (column title, metric, digits).
COLUMNS = (
    ("FID", "fid", 2),
    ("KID", "kid", 3),
    ("precision", "precision", 3),
    ("recall", "recall", 3),
    ("min class ratio", "coverage/min_ratio", 2),
    ("content sens.", "mask_usage/content_sensitivity", 2),
    ("locality gain", "mask_usage/locality_gain", 2),
    ("MI bound (nats)", "mask_usage/mi_bound", 2),
    ("MI ceiling", "mask_usage/mi_ceiling", 2),
)


def dataset_config(dataset):
    """`configs/DATASET_attn.py`'s config: the default experiment on `dataset`."""
    return importlib.import_module(f"configs.{dataset}_attn").get_config()


def entries(datasets, variants):
    """``{"DATASET-VARIANT": config}``: `configs/DATASET_attn.py` with the variant's overrides."""
    return {
        f"{dataset}-{variant}": study.apply_overrides(dataset_config(dataset), VARIANTS[variant])
        for dataset in datasets
        for variant in variants
    }


def rankings(table, half_step):
    """Per dataset, the variants ordered by mean FID at `half_step` and at the end.

    The two orders agreeing is what "the ranking is stable at this budget"
    means here; ``stable`` says whether they do.
    """
    scores = {}
    for name, row in table.items():
        dataset, variant = name.split("-", 1)
        half = row["curve"].get(half_step)
        full = row["metrics"].get("fid")
        if half and full:
            scores.setdefault(dataset, []).append((half["mean"], full["mean"], variant))
    result = {}
    for dataset, rows in scores.items():
        half = [variant for *_, variant in sorted(rows, key=lambda r: r[0])]
        full = [variant for *_, variant in sorted(rows, key=lambda r: r[1])]
        result[dataset] = {"half": half, "full": full, "stable": half == full}
    return result


def against_baseline(records, metric="fid", control="baseline"):
    """Per variant with a `control` on its dataset: its `metric` minus the control's.

    ``{"DATASET-VARIANT": study.difference_interval}`` (Welch's 95% interval
    and p-value): "no worse than the plain GAN beyond the interval" reads as
    an interval that reaches 0 or below. The control is the plain GAN in
    float32 unless a study names another (``baseline_bf16`` beside variants
    that compute in bfloat16).
    """
    values = {}
    for record in records:
        values.setdefault(record["name"], []).append(record["metrics"].get(metric))
    result = {}
    for name, runs in values.items():
        dataset, variant = name.split("-", 1)
        reference = values.get(f"{dataset}-{control}")
        if variant != control and reference:
            result[name] = study.difference_interval(runs, reference)
    return result


def _scaled(stat, factor):
    """An `interval` in other units (seconds -> milliseconds)."""
    if stat is None:
        return None
    return {key: (value * factor if key in ("mean", "sd", "ci95") and value is not None else value)
            for key, value in stat.items()}


def markdown(table, budget, differences=None, control="baseline"):
    """The study's table: one row per dataset / variant, the rankings, then each FID - control's."""
    half_step = budget["steps"] // 2
    overrides = ", ".join(f"{k}={v}" for k, v in budget["overrides"].items()) or "none"
    lines = [
        f"Mean ± 95% t-interval over seeds; {budget['steps']} steps; study-wide overrides: "
        f"{overrides}; FID/KID/precision/recall on domain features of {budget['num']} "
        "generated vs real images; FID@half on 512 at half the budget.",
        "",
        "| dataset / variant | seeds | FID@half | " + " | ".join(c[0] for c in COLUMNS)
        + " | ms/step |",
        "|---|---|" + "---:|" * (len(COLUMNS) + 2),
    ]
    for name, row in table.items():
        cells = [_cell(row["curve"].get(half_step), 2)]
        cells += [_cell(row["metrics"].get(metric), digits) for _, metric, digits in COLUMNS]
        cells.append(_cell(_scaled(row["seconds_per_step"], 1000), 0))
        lines.append(f"| {name.replace('-', ' / ', 1)} | {study.seeds_cell(row)} | " + " | ".join(cells) + " |")
    lines.append("")
    for dataset, order in rankings(table, half_step).items():
        lines.append(
            f"{dataset}, best to worst FID: at half the budget {', '.join(order['half'])}; "
            f"at the full budget {', '.join(order['full'])} "
            f"({'the same order' if order['stable'] else 'a different order'})."
        )
    rows = [(name, diff) for name, diff in (differences or {}).items() if diff]
    if rows:
        lines += [
            "",
            f"FID minus `{control}`'s on the same dataset (Welch's 95% interval; "
            "an interval reaching 0 or below: not worse beyond the interval):",
            "",
            f"| dataset / variant | FID - {control}'s | p |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {name.replace('-', ' / ', 1)} | {diff['mean']:+.2f} ± {diff['ci95']:.2f} "
            f"| {diff['p']:.2f} |"
            for name, diff in rows
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=0,
        help="the first seed: a second process can take later seeds on the other core",
    )
    parser.add_argument("--steps", type=int, default=1000, help="train steps of every run (even)")
    parser.add_argument("--num", type=int, default=1000, help="generated and real images per evaluation")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every run, e.g. model.g_width=32 (repeatable)",
    )
    parser.add_argument(
        "--control", default="baseline",
        help="the variant every other one is compared against, where it is among --variants",
    )
    parser.add_argument(
        "--report", action="store_true",
        help="only summarize the records of --datasets and --variants already in --results",
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
    if args.control not in VARIANTS:
        parser.error(f"--control takes a name from {list(VARIANTS)}; received {args.control!r}")
    if args.steps < 2 or args.steps % 2:
        parser.error(f"--steps should be an even number >= 2; received {args.steps}")
    budget = study.make_budget(
        args.steps, args.num, METRICS, study.parse_overrides(args.set), curve_every=args.steps // 2
    )
    chosen = entries(datasets, variants)
    if args.report:
        records = study.load_records(args.results)
    else:
        records = study.run(
            chosen,
            args.seeds,
            budget,
            args.results,
            log=lambda record: print(record, flush=True),
            runs=os.path.join(args.workdir, str(args.steps)),
            first_seed=args.first_seed,
        )
    # The results directory is shared (benchmarks/toolbox.py adds its runs):
    # the table holds the datasets and variants asked for.
    records = [record for record in records if record["name"] in chosen]
    command = "python benchmarks/quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table = study.summarize(records)
    differences = against_baseline(records, control=args.control)
    study.write_json(
        os.path.join(args.results, "summary.json"),
        {"command": command, "budget": budget, "table": table, "control": args.control,
         "rankings": rankings(table, args.steps // 2), "fid_minus_control": differences},
    )
    text = markdown(table, budget, differences, control=args.control)
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write(f"`{command}`\n\n{text}\n")
    study.plot_curves(table, "fid", os.path.join(args.results, "fid.png"))
    print(text)
    return table


if __name__ == "__main__":
    main()
