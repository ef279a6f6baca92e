"""Studies: several configs, each trained with several seeds under one budget.

Compare GAN's lesson (Lucic et al., 2018, "Are GANs Created Equal?"; Kurach
et al., 2019): a claim that one GAN choice beats another is a claim about
distributions over random seeds at an equal computational budget, never about
one run. A study trains every config with every seed for the same number of
steps, evaluates every export the same way (same real images, same extractor,
same number of samples), and reports each metric as mean, standard deviation
and 95% t-interval over seeds, with the metric's curve over training.

The study directory holds one JSON record per finished run
(``records/NAME-SEED.json``, written atomically) and the run directories
(``runs/NAME-SEED/``, the usual workdirs, so TensorBoard pointed at
``runs/`` overlays every run). Rerunning skips finished runs and restarts
interrupted ones, so a study can be stopped and continued later;
a record made under another budget is refused rather than mixed in.
"""

import copy
import json
import math
import os
import shutil
import time

import numpy as np

RECORDS = "records"
RUNS = "runs"
SUMMARY = "summary"
# Metrics a model without a mask cannot have; skipped for such configs, so
# one study compares attention models with the plain GAN.
MASK_METRICS = ("mask_usage", "faithfulness")


def load_config(spec):
    """Loads ``path/to/config.py[:ARG]`` as ``(name, ConfigDict)``.

    The name is the file's stem, with ``-ARG`` when an argument is given.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file has no ``get_config``.
    """
    import importlib.util

    path, _, arg = spec.partition(":")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No config file at {path!r} (from {spec!r}).")
    name = os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(f"_study_config_{name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ValueError(f"{path!r} defines no get_config(); every config file does.")
    config = module.get_config(arg) if arg else module.get_config()
    return (f"{name}-{arg}" if arg else name), config


def parse_overrides(items):
    """``["model.g_width=32", "train.dtype_policy=mixed_bfloat16"]`` -> a dict of typed values.

    Values are read as Python literals (``32``, ``0.5``, ``"a"``), ``true`` /
    ``false`` as booleans, anything else as a string.

    Raises:
        ValueError: an item without ``=``.
    """
    import ast

    overrides = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"`--set` takes SECTION.KEY=VALUE. Received: --set={item!r}")
        if text.lower() in ("true", "false"):
            overrides[key] = text.lower() == "true"
            continue
        try:
            overrides[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[key] = text
    return overrides


def apply_overrides(config, overrides):
    """Sets dotted keys (``{"train.inner_steps": 3}``) on a config, checking they exist.

    Raises:
        ValueError: naming a key the config does not have.
    """
    for key, value in overrides.items():
        section, _, field = key.partition(".")
        if section not in config or not field or field not in config[section]:
            raise ValueError(
                f"Unknown config key {key!r}: overrides take SECTION.KEY with a key of "
                "the table in docs/configuration.md, e.g. model.g_width."
            )
        config[section][field] = value
    return config


def metrics_for(config, metrics):
    """The `metrics` that apply to `config` (no mask metrics without a mask source)."""
    from keras_attngan.core.mask_sources import MASK_SOURCES

    if not MASK_SOURCES[config.model.mask_source].uses_mask:
        return [name for name in metrics if name not in MASK_METRICS]
    return list(metrics)


def run_config(config, seed, budget):
    """`config` as a study runs it: `seed`, the budget's steps, overrides and curve."""
    config = apply_overrides(copy.deepcopy(config), budget["overrides"])
    steps = budget["steps"]
    config.seed = seed
    config.train.steps = steps
    config.train.steps_per_epoch = min(config.train.steps_per_epoch, steps)
    # Pictures and a checkpoint at the end only: the study needs the export.
    config.log.images_every = steps
    config.log.checkpoint_every = steps
    config.log.eval_every = budget["curve_every"]
    config.log.eval_metrics = budget["curve_metric"]
    return config


def interval(values):
    """``{"n", "mean", "sd", "ci95"}`` of the non-None values; ci95 is the t-interval half-width.

    None when there are no values; sd and ci95 are None for a single value.
    """
    from scipy import stats

    values = np.asarray([v for v in values if v is not None], np.float64)
    if len(values) == 0:
        return None
    if len(values) == 1:
        return {"n": 1, "mean": float(values[0]), "sd": None, "ci95": None}
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values)))
    return {"n": len(values), "mean": float(values.mean()), "sd": sd, "ci95": half}


def difference_interval(values, reference):
    """``{"mean", "ci95", "p"}`` of mean(values) - mean(reference), by Welch's t-test.

    Welch's interval does not assume equal variances, which two GAN variants
    seldom have. An interval that contains 0 means the two are not told
    apart at this number of seeds; ``p`` is the two-sided p-value. None with
    fewer than two values on either side.
    """
    from scipy import stats

    values, reference = (
        np.asarray([v for v in side if v is not None], np.float64) for side in (values, reference)
    )
    if min(len(values), len(reference)) < 2:
        return None
    test = stats.ttest_ind(values, reference, equal_var=False)
    low, high = test.confidence_interval(0.95)
    return {
        "mean": float(values.mean() - reference.mean()),
        "ci95": float((high - low) / 2),
        "p": float(test.pvalue),
    }


def scalar_curve(directory, tag):
    """``{step: value}`` of the TensorBoard scalar `tag` written under `directory` ({} if none)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    if not os.path.isdir(directory):
        return {}
    events = event_accumulator.EventAccumulator(
        directory, size_guidance={event_accumulator.TENSORS: 0}
    )
    events.Reload()
    if tag not in events.Tags()["tensors"]:
        return {}
    return {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)}


def metric_curve(logdir, name):
    """``{step: value}`` of the scalar `name` that `callbacks.Evaluation` wrote under `logdir`."""
    from keras_attngan.training.callbacks import Evaluation

    return scalar_curve(os.path.join(logdir, "eval"), Evaluation.tag(name))


def write_json(path, value):
    """Writes `value` as JSON at `path` atomically: a reader never sees half a file."""
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(temporary, path)


def record_path(out, name, seed):
    return os.path.join(out, RECORDS, f"{name}-{seed}.json")


def run_one(name, config, seed, budget, workdir):
    """Trains `config` with `seed` under `budget` in `workdir`, evaluates its export.

    Returns:
        The run's record: name, seed, budget, train seconds, extractor, the
        flat metric values (`keras_attngan.metrics.suite.scalars`) and the
        curve ``{metric: {step: value}}``. A run that diverges (non-finite
        values, `keras_attngan.training.finite`) is a result, not a crash of the study:
        its record says so under ``diverged`` and has no metrics.
    """
    from keras_attngan.apps.evaluation import evaluate
    from keras_attngan.metrics.suite import scalars
    from keras_attngan.training.experiment import Workdir
    from keras_attngan.training.finite import NonFiniteError
    from keras_attngan.training.loop import train

    config = run_config(config, seed, budget)
    if os.path.exists(workdir):  # an interrupted run: start it again
        shutil.rmtree(workdir)
    start = time.perf_counter()
    try:
        run_dir, export_path = train(config, workdir)
    except NonFiniteError as error:
        return {
            "name": name,
            "seed": seed,
            "budget": budget,
            "train_seconds": round(time.perf_counter() - start, 1),
            "diverged": str(error),
            "metrics": {},
            "curve": _curve(Workdir(workdir), budget),
        }
    train_seconds = time.perf_counter() - start
    # The same real images (data seed 0) for every seed and config.
    result = evaluate(
        export_path, metrics=metrics_for(config, budget["metrics"]), num=budget["num"], data_seed=0
    )
    return {
        "name": name,
        "seed": seed,
        "budget": budget,
        "train_seconds": round(train_seconds, 1),
        "extractor": result["extractor"]["name"],
        "metrics": scalars(result["metrics"]),
        "curve": _curve(run_dir, budget),
    }


def _curve(run_dir, budget):
    """A record's ``{metric: {step: value}}`` from the run's evaluation events."""
    metric = budget["curve_metric"]
    return {metric: {str(step): value for step, value in sorted(metric_curve(run_dir.logs, metric).items())}}


def make_budget(steps, num=1000, metrics=("fid", "kid"), overrides=None, curve_every=None):
    """What every run of a study shares; a record made under another budget is refused.

    Args:
        steps: train steps of every run.
        num: generated (and real) images of each evaluation.
        metrics: names from `keras_attngan.metrics.METRICS`.
        overrides: dotted config keys set on every config.
        curve_every: steps between points of the curve (default: a quarter
            of `steps`); the curve is of the first of fid / kid in `metrics`.
    """
    from keras_attngan.metrics.suite import parse_metrics

    metrics = list(parse_metrics(metrics))  # a list: budgets are compared with their JSON
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`steps` should be an integer >= 1. Received: steps={steps!r}")
    curve_metric = next((m for m in metrics if m in ("fid", "kid")), None)
    if curve_metric is None:
        raise ValueError(
            f"A study needs fid or kid among its metrics (its curve). Received: metrics={metrics}"
        )
    return {
        "steps": steps,
        "num": num,
        "metrics": metrics,
        "overrides": dict(overrides or {}),
        "curve_metric": curve_metric,
        "curve_every": curve_every or max(1, steps // 4),
    }


def run(entries, seeds, budget, out, log=print, runs=None, first_seed=0):
    """Trains and evaluates every entry with every seed; returns all records in `out`.

    Seed-major order: whenever the study stops, every config has about as
    many seeds. Finished runs (a record with the same budget) are skipped.

    Args:
        entries: ``{name: ConfigDict}``; names become file names.
        seeds: number of seeds (`first_seed` .. `first_seed` + seeds - 1).
        budget: from `make_budget`.
        out: the study directory (records, summary).
        log: called with each new record.
        runs: where the run directories go (default ``out/runs``).
        first_seed: the first seed, so that a second process can take the
            later seeds of the same study on another core.

    Raises:
        ValueError: a config that does not validate (before any training),
            or a record in `out` made under another budget.
    """
    from keras_attngan.training.validation import validate_config

    for name, config in entries.items():
        try:
            validate_config(run_config(config, 0, budget))
        except ValueError as error:
            raise ValueError(f"Config {name!r} of the study: {error}") from None
    os.makedirs(os.path.join(out, RECORDS), exist_ok=True)
    for seed in range(first_seed, first_seed + seeds):
        for name, config in entries.items():
            path = record_path(out, name, seed)
            if os.path.exists(path):
                with open(path) as f:
                    done = json.load(f)
                if done["budget"] != budget:
                    raise ValueError(
                        f"{path} was made under another budget ({done['budget']}, not "
                        f"{budget}); use another study directory for another budget."
                    )
                continue
            workdir = os.path.join(runs or os.path.join(out, RUNS), f"{name}-{seed}")
            record = run_one(name, config, seed, budget, workdir)
            write_json(path, record)
            log(record)
    return load_records(out)


def load_records(out):
    """Every finished run's record in the study directory `out`."""
    directory = os.path.join(out, RECORDS)
    records = []
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        if name.endswith(".json"):
            with open(os.path.join(directory, name)) as f:
                records.append(json.load(f))
    return records


def summarize(records):
    """Per config: its seeds, seconds per step and each metric's `interval` over seeds.

    Returns:
        ``{name: {"seeds": [...], "seconds_per_step": interval, "metrics":
        {metric: interval}, "curve": {step: interval}, "diverged": count}}``
        in the order the names first appear; a diverged run counts among the
        seeds and adds no metric values.
    """
    grouped = {}
    for record in records:
        grouped.setdefault(record["name"], []).append(record)
    table = {}
    for name, runs in grouped.items():
        metric_names = sorted({m for r in runs for m in r["metrics"]})
        curve_metric = runs[0]["budget"]["curve_metric"]
        steps = sorted({int(s) for r in runs for s in r["curve"].get(curve_metric, {})})
        table[name] = {
            "seeds": sorted(r["seed"] for r in runs),
            "diverged": sum(1 for r in runs if r.get("diverged")),
            "seconds_per_step": interval(
                [r["train_seconds"] / r["budget"]["steps"] for r in runs]
            ),
            "metrics": {m: interval([r["metrics"].get(m) for r in runs]) for m in metric_names},
            "curve": {
                step: interval([r["curve"].get(curve_metric, {}).get(str(step)) for r in runs])
                for step in steps
            },
        }
    return table


def format_interval(stat, digits=3, kind="g"):
    """An `interval` as ``mean ± half-width`` (``-`` for none, the mean alone for one seed).

    Args:
        stat: an `interval` or None.
        digits: precision of the format.
        kind: ``"g"`` (significant digits) or ``"f"`` (decimals).
    """
    if stat is None:
        return "-"
    if stat["ci95"] is None:
        return f"{stat['mean']:.{digits}{kind}}"
    return f"{stat['mean']:.{digits}{kind}} ± {stat['ci95']:.{digits}{kind}}"


def seeds_cell(row):
    """A table's seed count, with how many of them diverged."""
    diverged = row.get("diverged", 0)
    return f"{len(row['seeds'])} ({diverged} diverged)" if diverged else str(len(row["seeds"]))


def markdown(table, columns):
    """A markdown table: one row per config, `columns` metrics as mean ± 95% half-width."""
    lines = [
        "| config | seeds | " + " | ".join(columns) + " | s/step |",
        "|---|---:|" + "---:|" * (len(columns) + 1),
    ]
    for name, row in table.items():
        cells = [format_interval(row["metrics"].get(column)) for column in columns]
        lines.append(
            f"| {name} | {seeds_cell(row)} | " + " | ".join(cells)
            + f" | {format_interval(row['seconds_per_step'])} |"
        )
    return "\n".join(lines)


def plot_curves(table, metric, path):
    """Writes a PNG of each config's mean `metric` over training, with its 95% band."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 4), dpi=100)
    for name, row in table.items():
        points = [(step, stat) for step, stat in row["curve"].items() if stat is not None]
        if not points:
            continue
        steps = np.array([step for step, _ in points])
        means = np.array([stat["mean"] for _, stat in points])
        (line,) = axes.plot(steps, means, marker="o", label=f"{name} ({len(row['seeds'])} seeds)")
        halves = np.array([stat["ci95"] or 0.0 for _, stat in points])
        axes.fill_between(steps, means - halves, means + halves, color=line.get_color(), alpha=0.2)
    axes.set_xlabel("train step")
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} over training: mean and 95% interval over seeds")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def write_summary(out, records, command):
    """Writes ``summary.json``, ``summary.md`` and the curve PNG; returns the markdown."""
    table = summarize(records)
    if not table:
        return ""
    budget = records[0]["budget"]
    columns = sorted({m for row in table.values() for m in row["metrics"]})
    columns = [c for c in columns if not c.endswith("_std")]
    overrides = ", ".join(f"{k}={v}" for k, v in budget["overrides"].items()) or "none"
    text = "\n".join(
        [
            f"`{command}`",
            "",
            f"{budget['steps']} steps per run, {budget['num']} generated vs real images per "
            f"evaluation, overrides: {overrides}. Mean ± 95% t-interval half-width over seeds.",
            "",
            markdown(table, columns),
            "",
        ]
    )
    write_json(
        os.path.join(out, f"{SUMMARY}.json"),
        {"command": command, "budget": budget, "table": table},
    )
    with open(os.path.join(out, f"{SUMMARY}.md"), "w") as f:
        f.write(text)
    plot_curves(table, budget["curve_metric"], os.path.join(out, f"{budget['curve_metric']}.png"))
    return text
