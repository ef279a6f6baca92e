"""Costs of robustness and scale: memory over a long run, checkpoints, determinism, mirrored.

    python benchmarks/robustness.py [--quick] [--out benchmarks/results/robustness.json]

Measures, on this machine's CPU:

- resident memory (RSS) sampled through a long `attngan train` run (the
  driver with all its callbacks): it must not grow with the steps;
- checkpoint save and restore time and size for the default config;
- how long a resumed run takes to reach its data position (the skip);
- the step time with `train.deterministic` off and on;
- images/s with `train.strategy=mirrored` on 1 and on 2 logical CPU devices
  (a child process: TF fixes its devices when it starts);
- the bytes of G's, D's and Q's gradients, which each step all-reduces
  (what limits scaling to more devices, see benchmarks/README.md).

CPU timings here drift by tens of percent: each time is the best of several
rounds.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import apply_overrides, make_config, write_report  # noqa: E402


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_over_a_long_run(steps):
    """RSS sampled every 0.5 s through `training.train`; compares the run's quarters."""
    from keras_attngan.training.loop import train

    config = make_config(num_examples=2048)
    apply_overrides(config, {
        "data.batch_size": 16, "model.g_width": 16, "model.d_width": 16, "model.q_width": 8,
        "model.latent_dim": 16, "train.steps": steps, "train.steps_per_epoch": steps // 10,
        "train.steps_per_execution": 5, "log.scalars_every": 20, "log.images_every": steps // 5,
        "log.checkpoint_every": steps // 5, "log.num_images": 16, "log.export_on_end": False,
    })  # fmt: skip
    samples, done = [], threading.Event()

    def sample():
        start = time.time()
        while not done.is_set():
            samples.append((time.time() - start, _rss_mb()))
            time.sleep(0.5)

    thread = threading.Thread(target=sample)
    workdir = tempfile.mkdtemp(prefix="robustness-memory-")
    thread.start()
    try:
        train(config, workdir)
    finally:
        done.set()
        thread.join()
        shutil.rmtree(workdir, ignore_errors=True)
    quarter = max(1, len(samples) // 4)
    second, last = samples[quarter : 2 * quarter], samples[-quarter:]
    return {
        "steps": steps,
        "seconds": round(samples[-1][0], 1),
        "peak_rss_mb": round(max(r for _, r in samples), 1),
        "peak_rss_mb_second_quarter": round(max(r for _, r in second), 1),
        "peak_rss_mb_last_quarter": round(max(r for _, r in last), 1),
    }


def checkpoint_costs(repeats):
    """Save and restore time (best of `repeats`) and size of the default config's checkpoint."""
    from keras_attngan.training.build import build_trainer
    from keras_attngan.training.experiment import checkpoint_manager

    config = make_config()
    config.data.channels = 3
    model = build_trainer(config)
    directory = tempfile.mkdtemp(prefix="robustness-ckpt-")
    try:
        manager = checkpoint_manager(model, directory, max_to_keep=2, config=config)
        saves, restores = [], []
        for index in range(repeats):
            start = time.perf_counter()
            path = manager.save(checkpoint_number=index)
            saves.append(time.perf_counter() - start)
            start = time.perf_counter()
            manager.checkpoint.restore(path).assert_existing_objects_matched()
            restores.append(time.perf_counter() - start)
        size = sum(os.path.getsize(p) for p in (path + ".index", path + ".data-00000-of-00001"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {
        "config": "configs/symbols_attn.py (32x32, widths 64)",
        "save_ms": round(1000 * min(saves), 1),
        "restore_ms": round(1000 * min(restores), 1),
        "size_mb": round(size / 2**20, 2),
    }


def resume_skip_seconds(steps_list):
    """Seconds from building the stream at step n to its first batch (batch 64, symbols)."""
    from keras_attngan.training.build import build_data, training_batches

    config = make_config(num_examples=20000)
    _, source = build_data(config)
    result = {}
    for steps in steps_list:
        start = time.perf_counter()
        next(iter(training_batches(config, source, steps)))
        result[str(steps)] = round(time.perf_counter() - start, 2)
    return result


def _time_fit(model, dataset, steps, rounds):
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)  # trace and warm up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / steps


def determinism_cost(steps, rounds):
    """Step time of the default config with `train.deterministic` off and on.

    Also records what Keras does to `jit_compile=True` when determinism is
    on (it turns XLA off).
    """
    from keras_attngan.training.build import build_data, build_trainer, set_determinism

    rows = {}
    for deterministic in (False, True, False, True):  # twice each: drift shows
        config = make_config(**{"train.deterministic": deterministic})
        config.data.channels = 3
        dataset, _ = build_data(config)
        ms = _time_fit(build_trainer(config), dataset, steps, rounds)
        key = "on" if deterministic else "off"
        rows[key] = {"step_ms": round(min(ms, rows.get(key, {}).get("step_ms", ms)), 1)}
        asked = make_config(**{"train.deterministic": deterministic, "train.jit_compile": True})
        asked.data.channels = 3
        rows[key]["jit_compile_when_asked"] = bool(build_trainer(asked).jit_compile)
    set_determinism(make_config())
    return rows


def gradient_bytes():
    """Bytes of the gradients one train step all-reduces (float32), per network."""
    from keras_attngan.training.build import build_trainer

    config = make_config()
    config.data.channels = 3
    model = build_trainer(config)
    count = lambda network: sum(int(v.numpy().size) for v in network.trainable_variables)  # noqa: E731
    params = {"G": count(model.generator), "D": count(model.discriminator)}
    if model.mi_estimator is not None:
        params["Q"] = count(model.mi_estimator)
    k = config.train.inner_steps
    per_step = 4 * (params["D"] + k * (params["G"] + params.get("Q", 0)))
    return {"parameters": params, "inner_steps": k, "all_reduced_mb_per_step": round(per_step / 2**20, 2)}


def mirrored_child(steps, rounds, out):
    """In a fresh process: images/s of the default config on 1 and 2 logical CPU devices."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from keras_attngan.training.build import build_data, build_trainer

    rows = {}
    for strategy in ("default", "mirrored", "default", "mirrored"):
        config = make_config(**{"train.strategy": strategy, "train.steps_per_execution": 1})
        config.data.channels = 3
        dataset, _ = build_data(config)
        model = build_trainer(config)
        ms = _time_fit(model, dataset, steps, rounds)
        replicas = model.distribute_strategy.num_replicas_in_sync
        name = f"{strategy} ({replicas} device{'s' if replicas > 1 else ''})"
        best = min(ms, rows.get(name, {}).get("step_ms", ms))
        rows[name] = {"step_ms": round(best, 1), "images_per_s": round(config.data.batch_size * 1000 / best)}
    with open(out, "w") as f:
        json.dump(rows, f)


def mirrored_throughput(steps, rounds):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, __file__, "--mirrored_child", out.name, "--steps", str(steps),
                   "--rounds", str(rounds)]  # fmt: skip
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run(command, check=True, env=env, cwd=ROOT)
        with open(out.name) as f:
            return json.load(f)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="A few steps of each (tests).")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "robustness.json"))
    parser.add_argument("--steps", type=int, default=30, help="Steps per timed round.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed rounds (best is kept).")
    parser.add_argument("--long_steps", type=int, default=3000, help="Steps of the memory run.")
    parser.add_argument("--mirrored_child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mirrored_child:
        return mirrored_child(args.steps, args.rounds, args.mirrored_child)
    if args.quick:
        args.steps, args.rounds, args.long_steps = 10, 1, 50
    import tensorflow as tf

    report = {
        "device": "CPU",
        "cpu_count": os.cpu_count(),
        "versions": {"tensorflow": tf.__version__},
        "memory": memory_over_a_long_run(args.long_steps),
        "checkpoint": checkpoint_costs(2 if args.quick else 5),
        "resume_skip_seconds": resume_skip_seconds([0, 100] if args.quick else [0, 3000, 30000]),
        "deterministic": determinism_cost(args.steps, args.rounds),
        "mirrored": mirrored_throughput(args.steps, args.rounds),
        "gradients": gradient_bytes(),
    }
    m, c, d = report["memory"], report["checkpoint"], report["deterministic"]
    text = "\n\n".join([
        _table(["steps", "seconds", "peak RSS MB", "2nd quarter", "last quarter"],
               [[m["steps"], m["seconds"], m["peak_rss_mb"], m["peak_rss_mb_second_quarter"],
                 m["peak_rss_mb_last_quarter"]]]),
        _table(["checkpoint", "save ms", "restore ms", "MB"],
               [[c["config"], c["save_ms"], c["restore_ms"], c["size_mb"]]]),
        _table(["resume at step", "seconds to first batch"], list(report["resume_skip_seconds"].items())),
        _table(["train.deterministic", "step ms", "jit_compile=True gives"],
               [[k, v["step_ms"], v["jit_compile_when_asked"]] for k, v in d.items()]),
        _table(["strategy", "step ms", "images/s"],
               [[k, v["step_ms"], v["images_per_s"]] for k, v in report["mirrored"].items()]),
        _table(["gradients", "value"],
               [[k, v] for k, v in report["gradients"]["parameters"].items()]
               + [["all-reduced MB per step", report["gradients"]["all_reduced_mb_per_step"]]]),
    ])  # fmt: skip
    write_report(report, args.out, text)
    return report


if __name__ == "__main__":
    main()
