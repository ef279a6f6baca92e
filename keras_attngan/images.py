"""Pictures for people: image grids, mask heat maps, overlays, PNG files."""

import os

import numpy as np
import tensorflow as tf

# Anchors of the "inferno" colour map (dark = ignored, bright = attended).
_INFERNO = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32
)
_MIN_CELL = 64


def to_uint8(images, rgb=False):
    """Maps images in [-1, 1] to uint8 ``[N, H, W, C]``; `rgb` makes C = 3."""
    images = np.asarray(images, np.float32)
    images = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    if rgb and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def colorize(masks):
    """Maps masks in [0, 1] (``[N, H, W, 1]``) to uint8 RGB heat maps."""
    values = np.clip(np.asarray(masks, np.float32)[..., 0], 0.0, 1.0)
    position = values * (len(_INFERNO) - 1)
    low = np.floor(position).astype(int).clip(0, len(_INFERNO) - 2)
    fraction = (position - low)[..., None]
    colours = _INFERNO[low] * (1.0 - fraction) + _INFERNO[low + 1] * fraction
    return np.round(colours).astype(np.uint8)


def overlay(images, masks, alpha=0.5):
    """Blends mask heat maps over images (claim 7: the mask as a spatial overlay).

    Args:
        images: ``[N, H, W, C]`` in [-1, 1].
        masks: ``[N, H, W, 1]`` in [0, 1].
        alpha: weight of the heat map.

    Returns:
        uint8 ``[N, H, W, 3]``.
    """
    base = to_uint8(images, rgb=True).astype(np.float32)
    blended = (1.0 - alpha) * base + alpha * colorize(masks).astype(np.float32)
    return np.round(blended).astype(np.uint8)


def grid(cells, columns=None, pad=2):
    """Tiles uint8 ``[N, H, W, 3]`` cells row by row into one uint8 image.

    Small cells are enlarged (nearest neighbour) to at least 64 pixels so a
    32x32 sample stays legible.
    """
    cells = np.asarray(cells)
    count, height, width, _ = cells.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    factor = max(1, _MIN_CELL // max(height, width))
    cells = cells.repeat(factor, axis=1).repeat(factor, axis=2)
    height, width = height * factor, width * factor
    canvas = np.full(
        (rows * (height + pad) + pad, columns * (width + pad) + pad, 3), 255, np.uint8
    )
    for index, cell in enumerate(cells):
        row, column = divmod(index, columns)
        top, left = pad + row * (height + pad), pad + column * (width + pad)
        canvas[top : top + height, left : left + width] = cell
    return canvas


def write_png(path, image):
    """Writes a uint8 ``[H, W, 3]`` image as PNG atomically (temporary, rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    tf.io.write_file(temporary, tf.io.encode_png(image))
    os.replace(temporary, path)
