"""Training throughput of the attention GAN against its plain-GAN baseline.

    python benchmarks/train_throughput.py                 # full table (a few minutes)
    python benchmarks/train_throughput.py --steps 4 --repeats 1 --out /tmp/r.json  # smoke

Every variant trains `configs/symbols_*.py` on the real `symbols` pipeline.
All variants are built first, compiled and warmed up, then timed in
alternation, round after round, in this one process, and each reports its
best round: CPU timings drift by tens of percent between runs, and
alternating exposes every variant to the same drift. Writes a JSON file and
prints a Markdown table (the one in benchmarks/README.md).
"""

import argparse
import json
import os
import platform
import sys
import time

import keras
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from configs import symbols_attn, symbols_baseline  # noqa: E402
from keras_attngan.config import validate_config  # noqa: E402
from keras_attngan.experiment import build_data, build_trainer  # noqa: E402

VARIANTS = [
    # (name, config module, inner_steps, jit_compile)
    ("baseline", symbols_baseline, 1, False),
    ("baseline", symbols_baseline, 1, True),
    ("attention K=1", symbols_attn, 1, False),
    ("attention K=1", symbols_attn, 1, True),
    ("attention K=3", symbols_attn, 3, False),
    ("attention K=3", symbols_attn, 3, True),
]


def _build(module, inner_steps, jit, steps_per_execution):
    config = module.get_config()
    config.train.inner_steps = inner_steps
    config.train.jit_compile = jit
    config.train.steps_per_execution = steps_per_execution
    config.data.num_examples = 4096
    validate_config(config)
    dataset, source = build_data(config)
    config.data.channels = source.channels
    return build_trainer(config), dataset, config.data.batch_size


def run(steps, repeats, steps_per_execution):
    """Measures every variant; returns a list of result dicts."""
    keras.utils.set_random_seed(0)
    built = []
    for name, module, inner_steps, jit in VARIANTS:
        model, dataset, batch_size = _build(module, inner_steps, jit, steps_per_execution)
        model.fit(dataset, steps_per_epoch=steps_per_execution, epochs=1, verbose=0, shuffle=False)
        built.append((name, inner_steps, jit, model, dataset, batch_size))
    seconds = [[] for _ in built]
    for _ in range(repeats):
        for index, (_, _, _, model, dataset, _) in enumerate(built):
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
            seconds[index].append(time.perf_counter() - start)
    baseline = {jit: min(s) for (name, _, jit, *_), s in zip(built, seconds) if name == "baseline"}
    results = []
    for (name, inner_steps, jit, model, _, batch_size), times in zip(built, seconds):
        best = min(times)
        results.append(
            {
                "variant": name,
                "inner_steps": inner_steps,
                "jit_compile": bool(model.jit_compile),
                "batch_size": batch_size,
                "steps": steps,
                "step_ms": 1000 * best / steps,
                "images_per_s": batch_size * steps / best,
                "step_time_vs_baseline": best / baseline[jit],
                "all_seconds": times,
            }
        )
    return results


def table(results):
    lines = [
        "| variant | XLA | step (ms) | images/s | step time / baseline |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['variant']} | {'on' if r['jit_compile'] else 'off'} | {r['step_ms']:.1f} "
            f"| {r['images_per_s']:.0f} | {r['step_time_vs_baseline']:.2f}x |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed steps per round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the best is kept")
    parser.add_argument("--steps_per_execution", type=int, default=10)
    parser.add_argument(
        "--out", default=os.path.join(ROOT, "benchmarks", "results", "train_throughput.json")
    )
    args = parser.parse_args()
    if args.steps % args.steps_per_execution:
        parser.error("--steps should be a multiple of --steps_per_execution")
    results = run(args.steps, args.repeats, args.steps_per_execution)
    report = {
        "command": "python benchmarks/train_throughput.py " + " ".join(sys.argv[1:]),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "gpus": len(tf.config.list_physical_devices("GPU")),
        },
        "results": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(table(results))
    print(f"\nWrote {args.out}")


if __name__ == "__main__":
    main()
