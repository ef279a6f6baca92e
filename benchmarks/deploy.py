"""Deployment speed: the exported generator on each runtime, with sizes and parity.

    python benchmarks/deploy.py                      # about 5 minutes on 2 CPU cores
    python benchmarks/deploy.py --quick --out /tmp/deploy.json   # a smoke run
    python benchmarks/deploy.py --set model.first_mask=blobs --out /tmp/blobs.json   # another model

Exports the default model of `configs/symbols_attn.py` (32x32x3, latent 64,
widths 64, its mask source, K = 1; `--set` changes it) with every format and
TFLite quantization (`keras_attngan.export.deploy.export`), then times
``serving_default`` (z -> images, the K mask refinements included: G, D, G
with the seed's first mask, G alone with a prior's and K = 1) through each
artifact's `Deployment.runner`, the interface users call (input checks
included):

- latency at batch 1: median and p99 over `--calls` calls per round, and the
  GFLOP/s that median achieves (the FLOPs of one image counted by TF's
  profiler on the traced synthesis);
- throughput at batch 64: images/s over `--batches` calls per round.

Artifacts are timed in alternation, round after round, in one process, and
each reports its best round (lowest median; highest throughput): timings on a
shared CPU drift by tens of percent over minutes. Weights are the untrained
initial ones: speed does not depend on them, and parity is measured on them
(the figures come from the export's own verification, 16 images).
"""

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import count_flops, make_config, write_report  # noqa: E402

from keras_attngan.apps.study import parse_overrides  # noqa: E402
from keras_attngan.export import (
    deploy,
    onnx,  # noqa: E402
)
from keras_attngan.training.build import build_trainer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
QUANTIZATIONS = ["float32", "float16", "dynamic_int8", "int8"]


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="batch-1 calls per round")
    parser.add_argument("--batches", type=int, default=10, help="batch-64 calls per round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT and ONNX Runtime threads")
    parser.add_argument("--quick", action="store_true", help="16x16, small widths: a smoke run")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a config override of the exported model, e.g. model.first_mask=blobs (repeatable)",
    )
    parser.add_argument("--out", default=os.path.join(HERE, "results", "deploy_quiet", "default.json"))
    return parser.parse_args(argv)


def build_model(quick, overrides):
    if quick:
        overrides = {"data.image_size": 16, "model.g_width": 8, "model.d_width": 8, **overrides}
    config = make_config(**overrides)
    config.data.channels = 3
    model = build_trainer(config)
    # Builds the networks' weights (the trainer builds them on first use).
    model.synthesize(model.latent.sample(1, 0))
    return model, config


def time_round(run, inputs, calls):
    """Seconds of each of `calls` calls."""
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        run(inputs)
        seconds.append(time.perf_counter() - start)
    return np.array(seconds)


def measure(deployment, artifacts, latent, args):
    runners = {
        artifact: deployment.runner(artifact, "serving_default", num_threads=args.threads)
        for artifact in artifacts
    }
    one = latent.inputs_numpy(1, seed=0)
    batch = latent.inputs_numpy(64, seed=1)
    for run in runners.values():  # warm-up: first calls allocate and plan
        for _ in range(5):
            run(one)
        run(batch)
    rounds = {artifact: {"latency": [], "throughput": []} for artifact in artifacts}
    for index in range(args.repeats):
        print(f"round {index + 1}/{args.repeats}, load average {os.getloadavg()[0]:.1f}", flush=True)
        for artifact, run in runners.items():
            seconds = time_round(run, one, args.calls)
            rounds[artifact]["latency"].append(
                {"median_ms": 1e3 * float(np.median(seconds)), "p99_ms": 1e3 * float(np.percentile(seconds, 99))}
            )
            seconds = time_round(run, batch, args.batches)
            rounds[artifact]["throughput"].append(64 * args.batches / float(seconds.sum()))
    return {
        artifact: {
            "latency_b1": min(entry["latency"], key=lambda r: r["median_ms"]),
            "images_per_s_b64": max(entry["throughput"]),
            "rounds": entry,
        }
        for artifact, entry in rounds.items()
    }


def table(results, report, flops):
    lines = [
        "| artifact | size (KiB) | batch 1 median (ms) | batch 1 p99 (ms) | batch 1 GFLOP/s "
        "| batch 64 (images/s) | batch 64 (ms/image) | max abs diff (images) | PSNR (dB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for artifact, row in results.items():
        if artifact == "savedmodel":
            size, diff, psnr = report["savedmodel_bytes"], "reference", "reference"
        else:
            size = report["artifacts"][artifact]["serving_default"]["bytes"]
            figures = report["parity"][artifact]["serving_default"]["images"]
            diff, psnr = f"{figures['max_abs_diff']:.1e}", f"{figures['psnr_db']:.1f}"
        latency = row["latency_b1"]
        lines.append(
            f"| {artifact} | {size / 1024:.0f} | {latency['median_ms']:.2f} | {latency['p99_ms']:.2f} "
            f"| {flops / latency['median_ms'] / 1e6:.0f} | {row['images_per_s_b64']:.0f} "
            f"| {1e3 / row['images_per_s_b64']:.2f} | {diff} | {psnr} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse(argv)
    if args.quick:
        args.calls, args.batches, args.repeats = min(args.calls, 20), min(args.batches, 2), min(args.repeats, 1)
    model, config = build_model(args.quick, parse_overrides(args.set))
    one = model.latent.inputs_numpy(1, seed=0)
    latent_spec = {name: tf.TensorSpec(value.shape, value.dtype) for name, value in one.items()}
    flops = count_flops(lambda latent: model.synthesize(latent)["images"], latent_spec)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as base:
        start = time.perf_counter()
        try:
            path = deploy.export(model, base, "savedmodel,tflite,onnx", QUANTIZATIONS)
        except deploy.DeploymentError as error:  # timed without them; `failures` says why
            path = error.path
        export_seconds = time.perf_counter() - start
        deployment = deploy.Deployment(path)
        report = deploy.load_report(path)
        results = measure(deployment, deployment.artifacts(), model.latent, args)
    fastest = min(results, key=lambda a: results[a]["latency_b1"]["median_ms"])
    float_paths = ["savedmodel", "tflite/float32", "onnx"]
    fastest_float = min(float_paths, key=lambda a: results[a]["latency_b1"]["median_ms"])
    output = {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
            "python": platform.python_version(),
            # Other work on the machine while timing: 1-, 5- and 15-minute load.
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "flops_per_image": flops,
        "model": {
            "image_size": config.data.image_size,
            "latent_dim": config.model.latent_dim,
            "g_width": config.model.g_width,
            "d_width": config.model.d_width,
            "inner_steps": config.train.inner_steps,
            "mask_source": config.model.mask_source,
            "first_mask": config.model.first_mask,
            "g_upsampling": config.model.g_upsampling,
            "overrides": args.set,
        },
        "settings": vars(args),
        "onnx_opset": onnx.OPSET,
        "export_seconds": export_seconds,
        "results": results,
        "fastest": fastest,
        "fastest_float": fastest_float,
        "parity": report["parity"],
        "failures": report["failures"],
        "sizes": {
            "savedmodel": report["savedmodel_bytes"],
            **{a: report["artifacts"][a]["serving_default"]["bytes"] for a in report["artifacts"]},
        },
    }
    text = table(results, report, flops) + (
        f"\n\nFastest at batch 1: {fastest}; fastest float path: {fastest_float} "
        f"({results[fastest_float]['latency_b1']['median_ms']:.2f} ms/image). "
        f"{flops / 1e9:.3f} GFLOP per image. Export took {export_seconds:.0f} s."
    ) + "".join(f"\nNot measured, {artifact}: {why}" for artifact, why in report["failures"].items())
    write_report(output, args.out, text)
    return output


if __name__ == "__main__":
    main()
