"""Super-resolution of whole images with an export, in tiles.

G is fully convolutional, so an image of any size can be upscaled in one
call; one too large for memory is cut into tiles of `tile` low-res pixels,
each run with a `margin` of its neighbours' pixels that is cropped off the
result. With the margin at least G's receptive-field radius
(`keras_attngan.networks.upscaler.receptive_radius`: 11 low-res pixels for
4 residual blocks), the stitched image equals the one-call image up to float
rounding. Tiles also bound the latency of each call, and a progress bar
counts them.

`self_ensemble` averages G over the eight flips and rotations of its input
(the geometric self-ensemble of EDSR+, Lim et al., 2017): eight times the
work for a sharper estimate; benchmarks/README.md measures what it adds.
"""

import sys

import numpy as np
import tensorflow as tf

from keras_attngan.core import images as images_lib
from keras_attngan.export import deploy, loading

DEFAULT_TILE = 128
DEFAULT_MARGIN = 16


def self_ensemble(run):
    """`run` averaged over the 8 rotations and flips of its input, each mapped back.

    Args:
        run: float32 ``[1, h, w, C]`` -> ``[1, h * scale, w * scale, C]``.

    Returns:
        A function of the same signature, calling `run` eight times.
    """

    def averaged(lowres):
        total = 0.0
        for turns in range(4):
            for flip in (False, True):
                view = np.rot90(lowres, turns, axes=(1, 2))
                view = view[:, :, ::-1] if flip else view
                output = np.asarray(run(np.ascontiguousarray(view)))
                output = output[:, :, ::-1] if flip else output
                total = total + np.rot90(output, -turns, axes=(1, 2))
        return (total / 8.0).astype(np.float32)

    return averaged


def upscale_tiled(run, lowres, scale, tile=DEFAULT_TILE, margin=DEFAULT_MARGIN, progress=None):
    """Upscales one image tile by tile.

    Args:
        run: float32 ``[1, h, w, C]`` -> ``[1, h * scale, w * scale, C]``.
        lowres: float32 ``[H, W, C]`` in [-1, 1].
        scale: the model's factor.
        tile: side of a tile, in low-res pixels (>= 1).
        margin: context around each tile, in low-res pixels (>= 0).
        progress: called as ``progress(done, total)`` after each tile, or None.

    Returns:
        float32 ``[H * scale, W * scale, C]``.
    """
    if tile < 1 or margin < 0:
        raise ValueError(f"`--tile` should be >= 1 and `--margin` >= 0. Received: tile={tile}, margin={margin}")
    height, width, channels = lowres.shape
    result = np.empty((height * scale, width * scale, channels), np.float32)
    corners = [(top, left) for top in range(0, height, tile) for left in range(0, width, tile)]
    for done, (top, left) in enumerate(corners, start=1):
        bottom, right = min(top + tile, height), min(left + tile, width)
        outer_top, outer_left = max(top - margin, 0), max(left - margin, 0)
        outer = lowres[outer_top : min(bottom + margin, height), outer_left : min(right + margin, width)]
        upscaled = np.asarray(run(outer[None]))[0]
        row, column = (top - outer_top) * scale, (left - outer_left) * scale
        result[top * scale : bottom * scale, left * scale : right * scale] = upscaled[
            row : row + (bottom - top) * scale, column : column + (right - left) * scale
        ]
        if progress is not None:
            progress(done, len(corners))
    return result


def progress_bar(stream=None, width=30):
    """A `upscale_tiled` progress callback drawing ``[=====     ] 5/10 tiles`` on `stream` (stderr)."""
    stream = stream or sys.stderr

    def show(done, total):
        filled = width * done // total
        end = "\n" if done == total else ""
        stream.write(f"\r[{'=' * filled}{' ' * (width - filled)}] {done}/{total} tiles{end}")
        stream.flush()

    return show


def read_image(path):
    """A PNG/JPEG file as float32 ``[H, W, C]`` in [-1, 1] (alpha dropped)."""
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False).numpy()
    if image.shape[-1] in (2, 4):
        image = image[..., :-1]
    return image.astype(np.float32) / 127.5 - 1.0


def upscale_file(
    model,
    input_path,
    output_path,
    artifact="savedmodel",
    tile=DEFAULT_TILE,
    margin=DEFAULT_MARGIN,
    progress=None,
    ensemble=False,
):
    """Upscales the image at `input_path` with the export `model` and writes a PNG.

    Args:
        model: an export directory (or TF Serving base path) of a
            super-resolution model.
        input_path: the low-res image (PNG, JPEG, BMP or GIF).
        output_path: the PNG to write.
        artifact: ``savedmodel`` or a converted artifact of the export
            (``tflite/float32``, ``onnx``, ...).
        tile: see `upscale_tiled`.
        margin: see `upscale_tiled`.
        progress: see `upscale_tiled` (`progress_bar` draws one).
        ensemble: run the model as its `self_ensemble` (8 times the work).

    Returns:
        The output's shape ``(H * scale, W * scale, C)``.

    Raises:
        ValueError: an export that does not upscale, an image whose
            channels the model does not read, or one smaller than the margin
            (before any model work).
    """
    deployment = deploy.Deployment(model)
    metadata = loading.load_metadata(deployment.path)
    if not metadata.get("scale"):
        raise ValueError(f"`--model` should be a super-resolution export (data.scale > 0); {deployment.path!r} generates from noise.")
    lowres = read_image(input_path)
    if lowres.shape[-1] != metadata["channels"]:
        raise ValueError(
            f"`--input` should have {metadata['channels']} channel(s), as the model was trained on. "
            f"Received: {input_path!r} with {lowres.shape[-1]}"
        )
    if min(lowres.shape[:2]) < margin:
        raise ValueError(
            f"`--input` should be at least --margin={margin} pixels on each side (the context a tile "
            f"reads), or use a smaller --margin. Received: {input_path!r} of {lowres.shape[1]}x{lowres.shape[0]}"
        )
    if artifact not in deployment.artifacts():
        raise ValueError(f"`--artifact` should be one of {deployment.artifacts()}. Received: --artifact={artifact!r}")
    runner = deployment.runner(artifact, "serving_default")
    run = lambda rows: runner({"lowres": rows})["images"]  # noqa: E731
    upscaled = upscale_tiled(self_ensemble(run) if ensemble else run, lowres, metadata["scale"], tile, margin, progress)
    images_lib.write_png(output_path, images_lib.to_uint8(upscaled[None], rgb=True)[0])
    return upscaled.shape
