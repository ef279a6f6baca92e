"""Super-resolution benchmark: PSNR / SSIM / sharpness on held-out whole photographs, and upscale speed.

Rows, per scale (`configs/photos_sr_x4.py`, `configs/photos_sr_x2.py`, budgets from the flags):

- ``bicubic``: ``tf.image.resize(method="bicubic")`` of the low-res image (no training);
- ``untrained``: the untrained G (bicubic plus a zero residual: equal to the row above);
- ``pixel``: G after ``--pixel_steps`` of the L1 phase alone (the PSNR model);
- ``pixel_x8``: the same G run as its geometric self-ensemble (EDSR+,
  `keras_attngan.apps.tiling.self_ensemble`: the mean over the 8 flips and
  rotations of the input, 8 times the inference work; no training of its own);
- ``gan``: the pixel checkpoint continued for ``--gan_steps`` adversarial steps with the
  config's encoder term (mu1 pixel, mu2 latent);
- ``gan_no_encoder``: the same with ``train.encoder_mu2 = 0`` (E trains but does not reach G:
  the ablation).

Metrics (`keras_attngan.metrics.super_resolution`): PSNR and SSIM on the BT.601 Y channel
and on RGB, `scale` pixels cropped from each border, per held-out photograph (the `photos`
test split, whole images cropped to a multiple of the scale), and the high-frequency
energy ratio (output over ground truth, above the low-res Nyquist frequency). Each seed's
value is the mean over the images; rows give mean and 95% t-interval over seeds.

Speed: `keras_attngan.apps.tiling.upscale_tiled` with the x4 pixel export on a 512x512 image
(scikit-image's ``camera``, which no split contains, as RGB) to 2048x2048, in seconds per
output megapixel (best of `--speed_repeats`); the same image downscaled x4 and brought back
is scored against bicubic.

Resumable: the pixel run of each (scale, seed) trains in ``OUT_DIR/runs/xS_pixel_seedN``; each
GAN variant starts from a copy of its checkpoints; every finished (scale, row, seed) writes
``OUT_DIR/xS_ROW_seedN.json`` and is skipped by a rerun, which rewrites ``summary.json``,
``table.md`` and the side-by-side picture ``side_by_side_x4.png``.

    python benchmarks/super_resolution.py --scales 4,2 --seeds 3 --pixel_steps 1500 --gan_steps 500
"""

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from configs import photos_sr_x2, photos_sr_x4  # noqa: E402
from keras_attngan.apps.study import format_interval, interval  # noqa: E402
from keras_attngan.apps.tiling import self_ensemble, upscale_tiled  # noqa: E402
from keras_attngan.core import images as images_lib  # noqa: E402
from keras_attngan.data import downscale  # noqa: E402
from keras_attngan.data.photos import split_photographs  # noqa: E402
from keras_attngan.metrics import super_resolution as sr_metrics  # noqa: E402
from keras_attngan.networks.upscaler import build_upscaler  # noqa: E402
from keras_attngan.training.loop import train  # noqa: E402

CONFIGS = {4: photos_sr_x4, 2: photos_sr_x2}
GAN_ROWS = {"gan": {}, "gan_no_encoder": {"train.encoder_mu2": 0.0}}
ROWS = ("bicubic", "untrained", "pixel", "pixel_x8", *GAN_ROWS)
# Rows that read or continue the pixel row's run.
AFTER_PIXEL = ("pixel_x8", *GAN_ROWS)
METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "hf_ratio")


def config_for(scale, seed, pixel_steps, total_steps, smoke, overrides=None):
    config = CONFIGS[scale].get_config("smoke" if smoke else None)
    config.seed = seed
    config.train.sr_pretrain_steps = pixel_steps
    config.train.steps = total_steps
    config.train.steps_per_execution = 1 if smoke else 10
    config.train.steps_per_epoch = config.train.steps_per_execution
    config.log.scalars_every = config.train.steps_per_execution
    config.log.images_every = config.log.checkpoint_every = total_steps
    for key, value in (overrides or {}).items():
        section, field = key.split(".")
        config[section][field] = value
    return config


def held_out(scale):
    """``{name: (target float32 [1, H, W, 3] in [-1, 1], low-res)}``: whole test photographs."""
    pairs = {}
    for name, image in split_photographs("test").items():
        height, width = (image.shape[0] // scale) * scale, (image.shape[1] // scale) * scale
        target = tf.constant(image[None, :height, :width].astype(np.float32) / 127.5 - 1.0)
        pairs[name] = (target, downscale(target, scale))
    return pairs


def score(upscale, pairs, scale):
    """Per-image metrics of `upscale` (low-res batch -> high-res batch) and their mean over images."""
    per_image = {}
    for name, (target, lowres) in pairs.items():
        ours = sr_metrics.to_uint8(np.asarray(upscale(lowres))[0])
        per_image[name] = sr_metrics.compare(ours, sr_metrics.to_uint8(target.numpy()[0]), scale)
    mean = {metric: float(np.mean([values[metric] for values in per_image.values()])) for metric in METRICS}
    return {**mean, "images": per_image}


def bicubic(lowres, scale):
    return tf.image.resize(lowres, (lowres.shape[1] * scale, lowres.shape[2] * scale), method="bicubic")


def _signature(export):
    function = tf.saved_model.load(export).signatures["upscale"]
    return lambda lowres: function(lowres=tf.constant(lowres, tf.float32))["images"]


def _train_from(source, workdir, config):
    """Trains `config` in `workdir`, first copying `source`'s checkpoints there (once)."""
    if source and not os.path.exists(workdir):
        shutil.copytree(os.path.join(source, "checkpoints"), os.path.join(workdir, "checkpoints"))
        shutil.copy(os.path.join(source, "config.json"), os.path.join(workdir, "config.json"))
    start = time.perf_counter()
    _, export = train(config, workdir, allow_config_change=bool(source))
    return export, time.perf_counter() - start


def run_one(scale, row, seed, args, pairs):
    """The result of one (scale, row, seed): trains (or resumes) and measures."""
    if row == "bicubic":
        return score(lambda lowres: bicubic(lowres, scale), pairs, scale)
    if row == "untrained":
        config = CONFIGS[scale].get_config("smoke" if args.smoke else None)
        tf.keras.utils.set_random_seed(seed)
        generator = build_upscaler(scale, 3, config.model.g_width, blocks=config.model.sr_blocks)
        return score(lambda lowres: generator({"lowres": lowres}), pairs, scale)
    if row == "pixel_x8":
        with open(os.path.join(args.out_dir, f"x{scale}_pixel_seed{seed}.json")) as f:
            pixel = json.load(f)
        export = os.path.join(args.out_dir, pixel["export"])
        result = score(self_ensemble(_signature(export)), pairs, scale)
        result.update(steps=pixel["steps"], export=pixel["export"])
        return result
    runs = os.path.join(args.out_dir, "runs")
    pixel_dir = os.path.join(runs, f"x{scale}_pixel_seed{seed}")
    if row == "pixel":
        config = config_for(scale, seed, args.pixel_steps, args.pixel_steps, args.smoke, args.set)
        export, seconds = _train_from(None, pixel_dir, config)
        steps = args.pixel_steps
    else:
        total = args.pixel_steps + args.gan_steps
        config = config_for(scale, seed, args.pixel_steps, total, args.smoke, {**args.set, **GAN_ROWS[row]})
        # The pixel run must exist first: `main` runs rows in order.
        export, seconds = _train_from(pixel_dir, os.path.join(runs, f"x{scale}_{row}_seed{seed}"), config)
        steps = args.gan_steps
    result = score(_signature(export), pairs, scale)
    result.update(train_seconds=seconds, steps=steps, export=os.path.relpath(export, args.out_dir))
    return result


def speed(export, side, repeats, tile, ensemble=False):
    """Seconds per output megapixel of tiled upscaling of a side x side photograph, and its quality.

    With `ensemble`, of the model's geometric self-ensemble (8 runs a tile).
    """
    from skimage import data as skimage_data

    camera = np.repeat(skimage_data.camera()[:side, :side, None], 3, axis=-1).astype(np.float32) / 127.5 - 1.0
    run = self_ensemble(_signature(export)) if ensemble else _signature(export)
    upscale_tiled(run, camera[:tile, :tile], 4, tile=tile)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        upscaled = upscale_tiled(run, camera, 4, tile=tile)
        best = min(best, time.perf_counter() - start)
    megapixels = upscaled.shape[0] * upscaled.shape[1] / 1e6
    # The same photograph downscaled x4 and brought back, against bicubic.
    target = tf.constant(camera[None])
    lowres = downscale(target, 4)
    truth = sr_metrics.to_uint8(camera)
    ours = sr_metrics.to_uint8(upscale_tiled(run, lowres.numpy()[0], 4, tile=tile))
    reference = sr_metrics.to_uint8(bicubic(lowres, 4).numpy()[0])
    return {
        "input": f"{side}x{side}",
        "output": f"{upscaled.shape[1]}x{upscaled.shape[0]}",
        "seconds": best,
        "seconds_per_megapixel": best / megapixels,
        "megapixels_per_second": megapixels / best,
        "camera_x4_psnr_y": sr_metrics.compare(ours, truth, 4)["psnr_y"],
        "camera_x4_bicubic_psnr_y": sr_metrics.compare(reference, truth, 4)["psnr_y"],
    }


def side_by_side(path, pairs, exports, scale, name, box):
    """Writes crops (LR nearest-enlarged, bicubic, pixel, GAN, ground truth) side by side as a PNG."""
    target, lowres = pairs[name]
    top, left, size = box
    small = lowres[:, top // scale : (top + size) // scale, left // scale : (left + size) // scale]
    columns = [tf.image.resize(small, (size, size), method="nearest")]
    columns.append(bicubic(lowres, scale)[:, top : top + size, left : left + size])
    for export in exports:
        columns.append(_signature(export)(lowres)[:, top : top + size, left : left + size])
    columns.append(target[:, top : top + size, left : left + size])
    cells = [np.kron(sr_metrics.to_uint8(np.asarray(c)[0]), np.ones((2, 2, 1), np.uint8)) for c in columns]
    gap = np.full((cells[0].shape[0], 4, 3), 255, np.uint8)
    row = np.concatenate([x for cell in cells for x in (cell, gap)][:-1], axis=1)
    images_lib.write_png(path, row)


def summary(results):
    return {
        key: {metric: interval([r[metric] for r in runs]) for metric in METRICS}
        for key, runs in results.items()
    }


def _speed_line(title, result):
    return (
        f"{title}, x4, {result['input']} -> {result['output']}: "
        f"{result['seconds']:.2f} s, {result['seconds_per_megapixel']:.2f} s per output "
        f"megapixel ({result['megapixels_per_second']:.2f} MP/s). The same photograph "
        f"downscaled x4 and brought back: {result['camera_x4_psnr_y']:.2f} dB Y "
        f"(bicubic {result['camera_x4_bicubic_psnr_y']:.2f} dB)."
    )


def markdown(table, per_image, steps, speed_result):
    lines = [
        "Held-out whole photographs, Y channel and RGB with a border of `scale` pixels cropped; "
        "mean ± 95% t-interval over seeds of the per-seed mean over images (bicubic and untrained "
        "have no seed); steps: the row's own (L1 steps for pixel, adversarial steps after them for gan)",
        "",
        "| scale | row | seeds | steps | PSNR Y (dB) | SSIM Y | PSNR RGB (dB) | SSIM RGB | HF energy ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, stats in table.items():
        scale, row = key.split("/")
        lines.append(
            f"| {scale} | {row} | {stats['psnr_y']['n']} | {steps.get(key, '-')} | "
            f"{format_interval(stats['psnr_y'], 2, 'f')} | "
            f"{format_interval(stats['ssim_y'], 4, 'f')} | {format_interval(stats['psnr_rgb'], 2, 'f')} | "
            f"{format_interval(stats['ssim_rgb'], 4, 'f')} | {format_interval(stats['hf_ratio'], 3, 'f')} |"
        )
    lines += ["", "Per image (PSNR Y, dB; mean over seeds):", "", "| scale | row | " + " | ".join(per_image["names"]) + " |"]
    lines.append("|---|---|" + "---:|" * len(per_image["names"]))
    for key, values in per_image["rows"].items():
        scale, row = key.split("/")
        lines.append(f"| {scale} | {row} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    titles = {"single": "Tiled upscaling", "self_ensemble": "Tiled upscaling with the self-ensemble"}
    for kind, result in (speed_result or {}).items():
        lines += ["", _speed_line(titles[kind], result)]
    return "\n".join(lines)


def _load_or_run(path, compute):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    result = compute()
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    return result


def _override(item):
    """``KEY=VALUE`` -> (key, value), the value read as JSON where it parses (numbers), else text."""
    key, sep, value = item.partition("=")
    if not sep or key.count(".") != 1:
        raise ValueError(f"should be section.key=value, e.g. train.lr_decay=cosine; received {item!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="4,2")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pixel_steps", type=int, default=1500)
    parser.add_argument("--gan_steps", type=int, default=500)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--speed_side", type=int, default=512)
    parser.add_argument("--speed_tile", type=int, default=128)
    parser.add_argument("--speed_repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="the configs' tiny :smoke networks (tests)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every trained row, e.g. train.lr_decay=cosine (repeatable; JSON values)",
    )
    parser.add_argument("--out_dir", default=os.path.join(ROOT, "benchmarks", "results", "super_resolution"))
    args = parser.parse_args(argv)
    try:
        args.set = dict(_override(item) for item in args.set)
    except ValueError as error:
        parser.error(f"--set: {error}")
    rows = [r for r in args.rows.split(",") if r]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"--rows should be names from {list(ROWS)}; received {unknown}")
    if any(row in AFTER_PIXEL for row in rows) and "pixel" not in rows:
        parser.error(f"--rows: {list(AFTER_PIXEL)} read the pixel row's runs; add 'pixel'")
    scales = [int(s) for s in args.scales.split(",") if s]
    os.makedirs(os.path.join(args.out_dir, "runs"), exist_ok=True)
    results, per_image, exports = {}, {"names": None, "rows": {}}, {}
    for scale in scales:
        pairs = held_out(scale)
        per_image["names"] = list(pairs)
        for row in rows:
            for seed in [0] if row in ("bicubic", "untrained") else range(args.seeds):
                path = os.path.join(args.out_dir, f"x{scale}_{row}_seed{seed}.json")
                result = _load_or_run(path, lambda: run_one(scale, row, seed, args, pairs))
                print(f"x{scale} {row} seed {seed}: PSNR Y {result['psnr_y']:.2f} dB, HF ratio {result['hf_ratio']:.3f}", flush=True)
                results.setdefault(f"x{scale}/{row}", []).append(result)
                if "export" in result:
                    exports[(scale, row, seed)] = os.path.join(args.out_dir, result["export"])
            runs = results[f"x{scale}/{row}"]
            per_image["rows"][f"x{scale}/{row}"] = [
                float(np.mean([r["images"][name]["psnr_y"] for r in runs])) for name in pairs
            ]
    table = summary(results)
    speed_result = None
    if (4, "pixel", 0) in exports and not args.smoke:
        speed_result = {
            kind: _load_or_run(
                os.path.join(args.out_dir, file),
                lambda ensemble=ensemble: speed(
                    exports[(4, "pixel", 0)], args.speed_side, args.speed_repeats, args.speed_tile, ensemble
                ),
            )
            for kind, file, ensemble in (
                ("single", "speed.json", False),
                ("self_ensemble", "speed_self_ensemble.json", True),
            )
        }
    if (4, "gan", 0) in exports:
        pairs = held_out(4)
        name = next(iter(pairs))
        size = min(96, pairs[name][0].shape[1] // 4 * 4)
        side_by_side(
            os.path.join(args.out_dir, "side_by_side_x4.png"),
            pairs,
            [exports[(4, "pixel", 0)], exports[(4, "gan", 0)]],
            4,
            name,
            (pairs[name][0].shape[1] // 2 - size // 2, pairs[name][0].shape[2] // 2 - size // 2, size),
        )
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump({"args": vars(args), "summary": table, "per_image_psnr_y": per_image, "speed": speed_result}, f, indent=2)
    steps = {key: runs[0].get("steps", "-") for key, runs in results.items()}
    text = markdown(table, per_image, steps, speed_result)
    with open(os.path.join(args.out_dir, "table.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return table


if __name__ == "__main__":
    main()
