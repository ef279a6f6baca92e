"""The toolbox study: which loss and penalty, and does attention help with them?

    python benchmarks/toolbox.py --set model.g_width=32 --set model.d_width=32   # resumable
    python benchmarks/toolbox.py --report --set model.g_width=32 --set model.d_width=32

Stage 1, the screen (`symbols`, ``--screen_seeds``, ``--screen_steps``): every
loss without a penalty, and the non-saturating loss with every penalty. Like
Lucic et al. (2018) and Kurach et al. (2019), it varies one axis at a time
from the non-saturating, unpenalized GAN. The loss and the penalty with the
lowest mean FID make the "best" combination (a run that diverged counts as
the worst).

Stage 2, the comparison (`symbols` and `digits`, ``--seeds``, ``--steps``): the
plain GAN, the attention GAN (`configs/DATASET_attn.py`), and the best
combination without and with attention. Its runs are those of
`benchmarks/quality.py` under the same budget, in the same results directory,
so the plain and attention runs that study made are not trained again.

Lucic et al. found no loss consistently better than the non-saturating one at
an equal budget; the report says whether ours agrees (the best loss's FID
interval against the non-saturating loss's, in the comparison).
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import quality  # noqa: E402

from keras_attngan.apps import study  # noqa: E402
from keras_attngan.core import losses, penalties  # noqa: E402

SCREEN_DATASET = "symbols"
PLAIN = {"model.mask_source": "none", "train.dtype_policy": "float32"}


def screen_entries():
    """``{name: config}`` of the screen: each loss unpenalized, each penalty with non-saturating."""
    plain = lambda overrides: study.apply_overrides(  # noqa: E731
        quality.dataset_config(SCREEN_DATASET), {**PLAIN, **overrides}
    )
    entries = {f"loss-{loss}": plain({"train.loss": loss, "train.penalty": "none"}) for loss in losses.LOSSES}
    for penalty in penalties.PENALTIES:
        if penalty != "none":
            entries[f"penalty-{penalty}"] = plain({"train.loss": "non_saturating", "train.penalty": penalty})
    return entries


def best(table):
    """The screen's best loss and penalty: the lowest mean FID on each axis.

    A config whose runs all diverged has no FID and ranks last; ties keep the
    registry's order.

    Returns:
        ``{"train.loss": name, "train.penalty": name}``.
    """
    def fid(name):
        stat = table.get(name, {}).get("metrics", {}).get("fid")
        return stat["mean"] if stat else float("inf")

    loss = min(losses.LOSSES, key=lambda name: fid(f"loss-{name}"))
    candidates = [p for p in penalties.PENALTIES if p != "none"]
    # "none" is the non-saturating loss's own row of the loss axis.
    penalty = min(
        ["none", *candidates],
        key=lambda name: fid("loss-non_saturating" if name == "none" else f"penalty-{name}"),
    )
    return {"train.loss": loss, "train.penalty": penalty}


def comparison_entries(choice):
    """``{"DATASET-VARIANT": config}`` of stage 2, named as `benchmarks/quality.py` names them.

    The attention GAN is the variant named after the dataset's default mask
    source (``gradcam`` on symbols, ``learned`` on digits), so its quality.py
    runs count.
    """
    entries = {}
    for dataset in quality.DATASETS:
        config = quality.dataset_config(dataset)
        entries.update(quality.entries([dataset], ["baseline", config.model.mask_source]))
        entries[f"{dataset}-best"] = study.apply_overrides(config, {**PLAIN, **choice})
        # Pinned to the settings it ran with, as quality.py's variants are.
        entries[f"{dataset}-best_attention"] = study.apply_overrides(
            quality.dataset_config(dataset), {**quality.AS_RAN, **choice}
        )
    return entries


def agreement(table, dataset):
    """Whether the comparison agrees with Lucic et al.: the best loss no better than non-saturating.

    Returns:
        A sentence, or None when the rows are missing.
    """
    plain = table.get(f"{dataset}-baseline", {}).get("metrics", {}).get("fid")
    tuned = table.get(f"{dataset}-best", {}).get("metrics", {}).get("fid")
    if not plain or not tuned or plain["ci95"] is None or tuned["ci95"] is None:
        return None
    apart = tuned["mean"] + tuned["ci95"] < plain["mean"] - plain["ci95"]
    return (
        f"{dataset}: the best combination's FID {tuned['mean']:.2f} ± {tuned['ci95']:.2f} against "
        f"the non-saturating, unpenalized GAN's {plain['mean']:.2f} ± {plain['ci95']:.2f}: "
        + ("better beyond both intervals, unlike Lucic et al." if apart
           else "not better beyond the intervals, as Lucic et al. found.")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screen_seeds", type=int, default=1)
    parser.add_argument("--screen_steps", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000, help="train steps of the comparison (even)")
    parser.add_argument("--num", type=int, default=1000, help="generated and real images per evaluation")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every run (repeatable)")
    parser.add_argument("--report", action="store_true", help="only summarize the records so far")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "runs", "toolbox"))
    parser.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results", "toolbox"))
    parser.add_argument("--quality_results", default=os.path.join(ROOT, "benchmarks", "results", "quality"))
    args = parser.parse_args(argv)
    for name in ("steps", "screen_steps"):
        value = getattr(args, name)
        if value < 2 or value % 2:
            parser.error(f"--{name} should be an even number >= 2; received {value}")
    overrides = study.parse_overrides(args.set)
    command = "python benchmarks/toolbox.py " + " ".join(argv if argv is not None else sys.argv[1:])

    screen_budget = study.make_budget(
        args.screen_steps, args.num, ["fid", "kid"], overrides, curve_every=args.screen_steps // 2
    )
    screen_out = os.path.join(args.results, "screen")
    if args.report:
        screen_records = study.load_records(screen_out)
    else:
        screen_records = study.run(
            screen_entries(), args.screen_seeds, screen_budget, screen_out,
            log=lambda record: print(record, flush=True),
            runs=os.path.join(args.workdir, "screen"),
        )
    screen = study.summarize(screen_records)
    choice = best(screen)
    entries = comparison_entries(choice)
    budget = study.make_budget(
        args.steps, args.num, quality.METRICS, overrides, curve_every=args.steps // 2
    )
    if args.report:
        records = study.load_records(args.quality_results)
    else:
        records = study.run(
            entries, args.seeds, budget, args.quality_results,
            log=lambda record: print(record, flush=True),
            runs=os.path.join(args.workdir, str(args.steps)),
        )
    table = {name: row for name, row in study.summarize(records).items() if name in entries}
    sentences = [s for s in (agreement(table, d) for d in quality.DATASETS) if s]
    text = "\n".join([
        f"`{command}`",
        "",
        f"Screen on {SCREEN_DATASET}: {args.screen_steps} steps, {args.screen_seeds} seed(s), "
        f"{len(screen)} of {len(screen_entries())} configs done; best loss {choice['train.loss']}, "
        f"best penalty {choice['train.penalty']}.",
        "",
        study.markdown(screen, ["fid", "kid"]),
        "",
        "Comparison:",
        "",
        quality.markdown(table, budget),
        "",
        *sentences,
    ])
    os.makedirs(args.results, exist_ok=True)
    study.write_json(os.path.join(args.results, "summary.json"), {
        "command": command, "choice": choice, "screen": screen, "table": table,
        "agreement": sentences,
    })
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return choice, table


if __name__ == "__main__":
    main()
