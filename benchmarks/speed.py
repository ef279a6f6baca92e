"""Speed: ours vs a peer, vs the machine's peak, the method's cost, the pipeline.

    python benchmarks/speed.py                     # the full run (about 10 minutes on 2 CPU cores)
    python benchmarks/speed.py --quick --out /tmp/speed.json   # a smoke run
    python benchmarks/speed.py --profile --variants "gradcam K=1 mi_pairs=16 blobs" --out /tmp/profile.json

Prints Markdown tables and writes every number to a JSON file
(default benchmarks/results/speed.json):

- peak: float32 matmul (2048^2), 3x3 conv and the networks' own 4x4/2 conv
  (forward, and forward + backward) GFLOP/s on this machine, with and
  without XLA; the conv peak is the best conv without XLA;
- training: step time, images/s, FLOPs per step (TF's profiler on the traced
  step), achieved GFLOP/s and its fraction of the measured conv peak, trace
  counts, for: the keras-io-style peer (benchmarks/peer_dcgan.py), the
  baseline, and the attention method for each mask source and K = 1, 2, 3,
  with and without XLA, `steps_per_execution` 1 against the default, and
  mixed bfloat16 against float32;
- pipeline: images/s each built-in source's `tf.data` pipeline delivers,
  against what training consumes;
- with --profile, instead: op time per step by part of the step (G's and D's
  forward and backward passes, the MI estimator, the optimizers, the rest)
  from TensorFlow's profiler (benchmarks/step_profile.py).
"""

import argparse
import os
import platform
import sys
import time

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import build_variant, count_flops, make_config, run_steps, time_variants, write_report  # noqa: E402
from peer_dcgan import build_peer  # noqa: E402
from step_profile import OPTIMIZERS, OTHER, profile_steps  # noqa: E402

from keras_attngan.apps.study import parse_overrides  # noqa: E402
from keras_attngan.training.build import build_data, build_trainer  # noqa: E402


def measure_peak(repeats, quick):
    """GFLOP/s of micro-benchmarks, XLA off and on.

    A large matmul, a 3x3 convolution, and the networks' own layer (4x4,
    stride 2, 64 -> 128 channels at 16x16) forward and forward + backward:
    training is mostly backward convolutions, which is where XLA on a CPU
    loses to TensorFlow's oneDNN kernels.
    """
    size = 512 if quick else 2048
    a = tf.random.normal((size, size))
    x3 = tf.random.normal((64, 32, 32, 128))
    k3 = tf.random.normal((3, 3, 128, 128))
    x4 = tf.random.normal((64, 16, 16, 64))
    k4 = tf.random.normal((4, 4, 64, 128))

    def layer_forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([x4, k4])
            y = tf.nn.conv2d(x4, k4, 2, "SAME")
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x4, k4])

    cases = {
        "matmul": lambda: tf.matmul(a, a),
        "conv3x3": lambda: tf.nn.conv2d(x3, k3, 1, "SAME"),
        "conv4x4/2": lambda: tf.nn.conv2d(x4, k4, 2, "SAME"),
        "conv4x4/2 fwd+bwd": layer_forward_backward,
    }
    results = {}
    for name, fn in cases.items():
        flops = count_flops(fn)
        for jit in (False,) if quick else (False, True):
            compiled = tf.function(fn, jit_compile=jit)
            tf.nest.map_structure(np.asarray, compiled())
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(5):
                    out = compiled()
                tf.nest.map_structure(np.asarray, out)
                best = min(best, (time.perf_counter() - start) / 5)
            results[f"{name}{' XLA' if jit else ''}"] = flops / best / 1e9
    return results


def build_two_pass(config):
    """Our plain GAN with a D pass per player (G's update, then D's on the same fakes), as before `_one_pass_step`."""
    model = build_trainer(config)
    model.shares_d_pass = False
    return model


def training_variants(quick, only=None):
    """(name, config overrides, model_fn) for every timed variant, or for those named in `only`."""
    variants = [("peer (keras-io DCGAN)", {"model.mask_source": "none"}, build_peer)]
    if not quick:
        variants.append(
            ("peer (keras-io DCGAN) mixed_bfloat16", {"model.mask_source": "none", "train.dtype_policy": "mixed_bfloat16"}, build_peer)
        )
        variants.append(("baseline two D passes", {"model.mask_source": "none"}, build_two_pass))
    sources = ["learned"] if quick else ["learned", "gradcam", "saliency"]
    for jit in (False,) if quick else (False, True):
        variants.append((f"baseline{' XLA' if jit else ''}", {"model.mask_source": "none", "train.jit_compile": jit}, None))
        for source in sources:
            for k in (1,) if quick or source != "learned" else (1, 2, 3):
                variants.append(
                    (
                        f"{source} K={k}{' XLA' if jit else ''}",
                        # The MI term on the whole batch, as these rows have always run.
                        {"model.mask_source": source, "train.inner_steps": k, "train.jit_compile": jit, "train.mi_pairs": 0},
                        None,
                    )
                )
    # The MI term on 16 or 8 samples of the 64 (`train.mi_pairs`), and with the fixed
    # MI weight (`train.mi_weighting`; the default is balanced).
    for source in () if quick else ("learned", "gradcam"):
        for pairs in (16, 8):
            variants.append(
                (f"{source} K=1 mi_pairs={pairs}", {"model.mask_source": source, "train.mi_pairs": pairs}, None)
            )
        for pairs in (0, 16):
            variants.append(
                (
                    f"{source} K=1{' mi_pairs=16' if pairs else ''} fixed",
                    {"model.mask_source": source, "train.mi_pairs": pairs, "train.mi_weighting": "fixed"},
                    None,
                )
            )
    # The mechanisms that feed D's judgement back to G, on the `symbols` default
    # (Grad-CAM, 16 pairs): the per-cell verdict as the mask (with CutMix, with
    # the alignment estimator), the alignment estimator, the gradient reweighting,
    # the first mask drawn from a prior instead of D's pass on G(z, 1), and the
    # plain GAN with the per-cell verdict's loss (U-Net GAN's D, no mask to G).
    verdict = {"model.mask_source": "verdict", "train.terms": "verdict", "train.mi_pairs": 16}
    gradcam = {"model.mask_source": "gradcam", "train.mi_pairs": 16}
    for name, overrides in () if quick else (
        ("verdict K=1 mi_pairs=16", verdict),
        ("verdict K=1 mi_pairs=16 cutmix", {**verdict, "train.verdict_cutmix": 0.5}),
        ("verdict K=1 mi_pairs=16 alignment", {**verdict, "model.mi_estimator": "alignment"}),
        ("gradcam K=1 mi_pairs=16 alignment", {**gradcam, "model.mi_estimator": "alignment"}),
        ("gradcam K=1 mi_pairs=16 xai", {**gradcam, "train.g_gradient_mask": 1.0}),
        ("gradcam K=1 mi_pairs=16 blobs", {**gradcam, "model.first_mask": "blobs"}),
        # The digits default (learned masks, 8 pairs) with the prior.
        (
            "learned K=1 mi_pairs=8 blobs",
            {"model.mask_source": "learned", "train.mi_pairs": 8, "model.first_mask": "blobs"},
        ),
        (
            "gradcam K=1 mi_pairs=16 blobs alignment",
            {**gradcam, "model.first_mask": "blobs", "model.mi_estimator": "alignment"},
        ),
        ("verdict K=1 mi_pairs=16 blobs", {**verdict, "model.first_mask": "blobs"}),
        ("baseline verdict", {"model.mask_source": "none", "train.terms": "verdict"}),
        # G upsampling by resize-convolution, the form that serves fastest: the
        # plain GAN with that G, and the attention GAN with it and the prior.
        # In bfloat16: the verdict source and the symbols default with each first mask.
        ("verdict K=1 mi_pairs=16 mixed_bfloat16", {**verdict, "train.dtype_policy": "mixed_bfloat16"}),
        ("gradcam K=1 mi_pairs=16 mixed_bfloat16", {**gradcam, "train.dtype_policy": "mixed_bfloat16"}),
        (
            "gradcam K=1 mi_pairs=16 blobs mixed_bfloat16",
            {**gradcam, "model.first_mask": "blobs", "train.dtype_policy": "mixed_bfloat16"},
        ),
        ("baseline resize", {"model.mask_source": "none", "model.g_upsampling": "resize"}),
        (
            "gradcam K=1 mi_pairs=16 blobs resize",
            {**gradcam, "model.first_mask": "blobs", "model.g_upsampling": "resize"},
        ),
    ):
        variants.append((name, overrides, None))
    for name, source in () if quick else (
        ("baseline", "none"), ("learned K=1", "learned"), ("gradcam K=1", "gradcam"), ("saliency K=1", "saliency")
    ):
        if source in ("none", "learned"):
            variants.append(
                (f"{name} steps_per_execution=1", {"model.mask_source": source, "train.steps_per_execution": 1, "train.mi_pairs": 0}, None)
            )
        variants.append(
            (f"{name} mixed_bfloat16", {"model.mask_source": source, "train.dtype_policy": "mixed_bfloat16", "train.mi_pairs": 0}, None)
        )
    if only:
        unknown = sorted(set(only) - {name for name, _, _ in variants})
        if unknown:
            raise ValueError(f"Unknown variants {unknown}; valid: {[name for name, _, _ in variants]}")
        # The table's ratios need the peer and the baseline (with XLA, for XLA
        # rows; the peer in bfloat16, for bfloat16 rows).
        kept = {
            "peer (keras-io DCGAN)",
            "baseline",
            *(["baseline XLA"] if any("XLA" in n for n in only) else []),
            *(["peer (keras-io DCGAN) mixed_bfloat16"] if any("bfloat16" in n for n in only) else []),
        }
        variants = [v for v in variants if v[0] in set(only) | kept]
    return variants


def measure_training(steps, repeats, quick, conv_peak, only=None, common=None):
    """Times the training variants; `common`: config overrides for every one (e.g. another data set)."""
    keras.utils.set_random_seed(0)
    built = []
    for name, overrides, model_fn in training_variants(quick, only):
        config = make_config(num_examples=1024 if quick else 4096, **{**(common or {}), **overrides})
        built.append(build_variant(name, config, model_fn))
    time_variants(built, steps, repeats)
    baseline = {False: None, True: None}
    for variant in built:
        if variant.name in ("baseline", "baseline XLA"):
            baseline[variant.name.endswith("XLA")] = variant.best_step_seconds(steps)
    # Each row against the peer in its own dtype where that peer ran.
    peers = {v.dtype_policy: v.best_step_seconds(steps) for v in built if v.name.startswith("peer")}
    rows = []
    for variant in built:
        step = variant.best_step_seconds(steps)
        peer = peers.get(variant.dtype_policy, built[0].best_step_seconds(steps))
        xla = bool(variant.model.jit_compile)
        gflops = variant.flops_per_step / step / 1e9
        rows.append(
            {
                "variant": variant.name,
                "jit_compile": xla,
                "dtype_policy": variant.dtype_policy,
                "steps_per_execution": variant.steps_per_execution,
                "step_ms": 1000 * step,
                "median_step_ms": 1000 * float(np.median(variant.seconds)) / steps,
                "images_per_s": variant.batch_size / step,
                "vs_baseline": step / baseline[xla],
                "speed_vs_peer": peer / step,
                "gflop_per_step": variant.flops_per_step / 1e9,
                "gflop_per_s": gflops,
                "fraction_of_conv_peak": gflops / conv_peak,
                "traces_after_warmup": variant.traces_after_warmup,
                "traces_at_end": len(variant.traces),
                "all_seconds": variant.seconds,
            }
        )
    return rows


def count_training_flops(quick, only=None, common=None):
    """Floating-point operations per train step of every variant without XLA (exact, untimed).

    TensorFlow's profiler counts the traced step, so the figures do not depend
    on what else the machine runs, unlike the timings.
    """
    rows = []
    for name, overrides, model_fn in training_variants(quick, only):
        if overrides.get("train.jit_compile"):
            continue  # the profiler counts the graph, which XLA does not change
        config = make_config(num_examples=256, **{**(common or {}), **overrides})
        variant = build_variant(name, config, model_fn)
        rows.append({"variant": name, "gflop_per_step": variant.flops_per_step / 1e9})
    baseline = next(row["gflop_per_step"] for row in rows if row["variant"] == "baseline")
    for row in rows:
        row["vs_baseline"] = row["gflop_per_step"] / baseline
    return rows


def profile_training(steps, repeats, quick, only=None, common=None):
    """Op time per step by part of the step for every variant (`step_profile`).

    The variants are warmed up, then profiled in alternation, `repeats`
    rounds of `steps` steps each, as the timings are; each part's figure is
    its median over the rounds. TensorFlow runs one op at a time here (one
    inter-op thread, each op on every core): two ops that run side by side
    share the cores and each takes longer, so only one at a time makes the
    parts add up to the step.
    """
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError as error:
        raise RuntimeError("--profile sets TensorFlow's threads, so it runs in a process of its own") from error
    built = []
    for name, overrides, model_fn in training_variants(quick, only):
        if overrides.get("train.jit_compile"):
            continue  # XLA fuses ops into clusters whose names no longer say the part
        config = make_config(num_examples=1024 if quick else 4096, **{**(common or {}), **overrides})
        built.append(build_variant(name, config, model_fn))
        run_steps(built[-1], 2 * built[-1].steps_per_execution)
    rounds = {variant.name: [] for variant in built}
    for _ in range(repeats):
        for variant in built:
            rounds[variant.name].append(profile_steps(variant, steps))
    rows = []
    for name, profiles in rounds.items():
        parts = {part for profile in profiles for part in profile["parts"]}
        median = {part: float(np.median([p["parts"].get(part, 0.0) for p in profiles])) for part in parts}
        total = float(np.median([p["op_ms_per_step"] for p in profiles]))
        rows.append({"variant": name, "op_ms_per_step": total, "parts": median, "rounds": profiles})
    return rows


def profile_table(rows):
    """Parts as rows, variants as columns, in ms of op time per step."""
    parts = [f"{net} {way}" for net in ("G", "D", "MI estimator") for way in ("forward", "backward")]
    parts += [OPTIMIZERS, OTHER]
    lines = [
        "| part | " + " | ".join(r["variant"] for r in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for part in parts:
        lines.append(f"| {part} | " + " | ".join(f"{r['parts'].get(part, 0.0):.1f}" for r in rows) + " |")
    lines.append("| **op time per step** | " + " | ".join(f"**{r['op_ms_per_step']:.1f}**" for r in rows) + " |")
    return "\n".join(lines)


def measure_pipeline(batches, quick):
    results = {}
    for source in ("symbols", "digits", "colored_digits"):
        # digits has 1,797 images; symbols renders as many as asked.
        count = None if source != "symbols" else 1024 if quick else 4096
        config = make_config(num_examples=count, **{"data.source": source})
        dataset, _ = build_data(config)
        iterator = iter(dataset)
        next(iterator)  # fills the shuffle buffer and cache
        start = time.perf_counter()
        for _ in range(batches):
            batch = next(iterator)
        np.asarray(batch["images"])
        results[source] = batches * config.data.batch_size / (time.perf_counter() - start)
    return results


def tables(report):
    lines = ["| kernel | GFLOP/s |", "|---|---:|"]
    lines += [f"| {name} | {value:.0f} |" for name, value in report["peak_gflop_per_s"].items()]
    lines += [
        "",
        "| variant | XLA | steps/exec | step (ms) | median (ms) | images/s | vs baseline "
        "| speed vs peer (same dtype) | GFLOP/step | GFLOP/s | of conv peak | traces (warm-up, end) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["training"]:
        lines.append(
            f"| {r['variant']} | {'on' if r['jit_compile'] else 'off'} | {r['steps_per_execution']} "
            f"| {r['step_ms']:.1f} | {r['median_step_ms']:.1f} | {r['images_per_s']:.0f} | {r['vs_baseline']:.2f}x "
            f"| {r['speed_vs_peer']:.2f}x | {r['gflop_per_step']:.1f} | {r['gflop_per_s']:.0f} "
            f"| {100 * r['fraction_of_conv_peak']:.0f}% | {r['traces_after_warmup']}, {r['traces_at_end']} |"
        )
    consumed = next(r["images_per_s"] for r in report["training"] if r["variant"] == "baseline")
    lines += ["", "| source | pipeline images/s | x what the baseline consumes |", "|---|---:|---:|"]
    for source, rate in report["pipeline_images_per_s"].items():
        lines.append(f"| {source} | {rate:.0f} | {rate / consumed:.1f}x |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best is kept")
    parser.add_argument("--quick", action="store_true", help="a smoke run: no XLA, three variants, small data")
    parser.add_argument(
        "--flops", action="store_true", help="only count each variant's FLOPs per step (no timing)"
    )
    parser.add_argument(
        "--profile", action="store_true",
        help="only profile: op time per step by part (G, D, estimator, optimizers, rest), median of --repeats rounds of --steps",
    )
    parser.add_argument(
        "--variants", type=lambda text: [v.strip() for v in text.split(",") if v.strip()],
        help="time only these training variants (comma-separated names of the table)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a config override for every variant, e.g. data.source=digits",
    )
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "speed.json"))
    args = parser.parse_args(argv)
    if args.steps % 10:
        parser.error("--steps should be a multiple of 10 (the default steps_per_execution)")
    load = os.getloadavg()
    command = "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.flops:
        rows = count_training_flops(args.quick, args.variants, parse_overrides(args.set))
        text = "| variant | GFLOP/step | vs baseline |\n|---|---:|---:|\n" + "\n".join(
            f"| {r['variant']} | {r['gflop_per_step']:.1f} | {r['vs_baseline']:.2f}x |" for r in rows
        )
        write_report({"command": command, "training": rows}, args.out, text)
        return rows
    if args.profile:
        rows = profile_training(args.steps, args.repeats, args.quick, args.variants, parse_overrides(args.set))
        report = {"command": command, "load_average_before": load, "training": rows, "load_average_after": os.getloadavg()}
        write_report(report, args.out, profile_table(rows))
        return rows
    peak = measure_peak(args.repeats, args.quick)
    conv_peak = max(value for name, value in peak.items() if name.startswith("conv") and "XLA" not in name)
    report = {
        "command": command,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            # Other work on the machine while timing: 1-, 5- and 15-minute load.
            "load_average_before": load,
        },
        "peak_gflop_per_s": peak,
        "conv_peak_gflop_per_s": conv_peak,
        # The pipeline first: it is quick, and a failure there should not
        # cost the long training measurements.
        "pipeline_images_per_s": measure_pipeline(20 if args.quick else 200, args.quick),
    }
    report["training"] = measure_training(
        args.steps, args.repeats, args.quick, conv_peak, args.variants, parse_overrides(args.set)
    )
    report["machine"]["load_average_after"] = os.getloadavg()
    write_report(report, args.out, tables(report))
    return report


if __name__ == "__main__":
    main()
