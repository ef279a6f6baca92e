"""Seed 001's super-resolution benchmark: PSNR / SSIM on held-out patches, and export speed.

Variants (all `configs/photos_sr_x4.py` but the budget):

- ``bicubic``: the low-res patch upscaled bicubically (no training);
- ``no_encoder``: G trained with E present but ``train.encoder_mu2=0`` (E's latent
  difference does not reach G: the ablation);
- ``encoder``: G trained with E constraining it (the config's mu2).

Each trained variant runs for every seed; PSNR and SSIM (``tf.image.psnr`` / ``ssim`` on
uint8 images, max 255, as the export serves them) are averaged over `--num_test` crops of
the photographs' held-out region (``data.split=test``) and summarized over seeds as mean and
95% t-interval. The export's speed is the ``upscale`` signature's output megapixels per
second on one `--speed_side` x `--speed_side` low-res image (best of `--speed_repeats`).

Resumable: each (variant, seed) run trains in ``OUT_DIR/runs/VARIANT_seedN`` (itself
resumed from its checkpoints) and writes ``OUT_DIR/VARIANT_seedN.json``; a rerun skips the
finished ones and rewrites ``OUT_DIR/summary.json`` and the table.

    python benchmarks/super_resolution.py --steps 300 --seeds 3 --out_dir benchmarks/results/super_resolution
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from configs import photos_sr_x4  # noqa: E402
from keras_attngan.data import downscale, load_source  # noqa: E402
from keras_attngan.study import format_interval, interval  # noqa: E402
from keras_attngan.training import train  # noqa: E402

TRAINED = {"no_encoder": {"train.encoder_mu2": 0.0}, "encoder": {}}
VARIANTS = ("bicubic", *TRAINED)


def config_for(variant, seed, steps, smoke):
    config = photos_sr_x4.get_config("smoke" if smoke else None)
    config.seed = seed
    config.train.steps = steps
    config.train.steps_per_epoch = steps
    config.train.steps_per_execution = 1 if smoke else 10
    config.log.scalars_every = config.log.images_every = config.log.checkpoint_every = steps
    for key, value in TRAINED[variant].items():
        section, field = key.split(".")
        config[section][field] = value
    return config


def held_out(image_size, scale, count):
    """(targets, low-res) float32 in [-1, 1]: crops of the photographs' test region."""
    data = load_source("photos", image_size=image_size, seed=12345, num_examples=count, split="test")
    images = np.stack([e["images"] for e in data.dataset.as_numpy_iterator()]).astype(np.float32)
    targets = tf.constant(images / 127.5 - 1.0)
    return targets, downscale(targets, scale)


def _uint8(images):
    return tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def quality(upscaled, targets):
    """Mean PSNR (dB) and SSIM of uint8 images against the targets."""
    ours, truth = _uint8(upscaled), _uint8(targets)
    return {
        "psnr": float(tf.reduce_mean(tf.image.psnr(ours, truth, 255))),
        "ssim": float(tf.reduce_mean(tf.image.ssim(ours, truth, 255))),
    }


def export_speed(upscale, side, channels, repeats):
    """Output megapixels per second of the upscale signature on one side x side image."""
    lowres = tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, side, side, channels)), tf.float32)
    images = upscale(lowres=lowres)["images"]  # warm-up (traces nothing: a SavedModel)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        upscale(lowres=lowres)["images"].numpy()
        best = min(best, time.perf_counter() - start)
    return images.shape[1] * images.shape[2] / 1e6 / best


def run_one(variant, seed, args, targets, lowres):
    """The result of one (variant, seed): trains (or resumes) and measures."""
    if variant == "bicubic":
        size = targets.shape[1:3]
        return quality(tf.image.resize(lowres, size, method="bicubic"), targets)
    config = config_for(variant, seed, args.steps, args.smoke)
    workdir = os.path.join(args.out_dir, "runs", f"{variant}_seed{seed}")
    start = time.perf_counter()
    _, export = train(config, workdir)
    seconds = time.perf_counter() - start
    upscale = tf.saved_model.load(export).signatures["upscale"]
    result = quality(upscale(lowres=lowres)["images"], targets)
    result.update(
        train_seconds=seconds,
        steps=args.steps,
        export=export,
        megapixels_per_s=export_speed(upscale, args.speed_side, targets.shape[-1], args.speed_repeats),
    )
    return result


def summary(results):
    return {
        variant: {
            metric: interval([r[metric] for r in runs if metric in r])
            for metric in ("psnr", "ssim", "megapixels_per_s")
        }
        for variant, runs in results.items()
    }


def markdown(table, args):
    lines = [
        f"x4, {args.num_test} held-out 32x32 crops, {args.steps} steps, seeds {args.seeds} "
        "(mean ± 95% t-interval; bicubic has no seed)",
        "",
        "| variant | PSNR (dB) | SSIM | export MP/s |",
        "|---|---:|---:|---:|",
    ]
    for variant, stats in table.items():
        lines.append(
            f"| {variant} | {format_interval(stats['psnr'], 2, 'f')} | "
            f"{format_interval(stats['ssim'], 3, 'f')} | {format_interval(stats['megapixels_per_s'], 3, 'g')} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--num_test", type=int, default=256)
    parser.add_argument("--speed_side", type=int, default=128)
    parser.add_argument("--speed_repeats", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--smoke", action="store_true", help="the config's tiny :smoke networks (tests)")
    parser.add_argument("--out_dir", default=os.path.join(ROOT, "benchmarks", "results", "super_resolution"))
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"--variants should be names from {list(VARIANTS)}; received {unknown}")
    config = photos_sr_x4.get_config("smoke" if args.smoke else None)
    targets, lowres = held_out(config.data.image_size, config.data.scale, args.num_test)
    os.makedirs(args.out_dir, exist_ok=True)
    results = {}
    for variant in variants:
        for seed in [0] if variant == "bicubic" else range(args.seeds):
            path = os.path.join(args.out_dir, f"{variant}_seed{seed}.json")
            if os.path.exists(path):
                with open(path) as f:
                    result = json.load(f)
            else:
                result = run_one(variant, seed, args, targets, lowres)
                with open(path + ".tmp", "w") as f:
                    json.dump(result, f, indent=2)
                os.replace(path + ".tmp", path)
            results.setdefault(variant, []).append(result)
    table = summary(results)
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump({"args": vars(args), "summary": table}, f, indent=2)
    text = markdown(table, args)
    print(text)
    return table


if __name__ == "__main__":
    main()
