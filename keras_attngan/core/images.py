"""Pictures for people: image grids, mask heat maps, overlays, PNG files."""

import os

import numpy as np
import tensorflow as tf

# Anchors of the "inferno" colour map (dark = ignored, bright = attended).
_INFERNO = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float32
)
_MIN_CELL = 64

# A 5x8 bitmap font (row 6 is the baseline, row 7 the descenders), so that
# labels render the same everywhere without a font file or an imaging library.
_FONT = {
    " ": "..... ..... ..... ..... ..... ..... ..... .....",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###. .....",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###. .....",
    "2": ".###. #...# ....# ...#. ..#.. .#... ##### .....",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###. .....",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#. .....",
    "5": "##### #.... ####. ....# ....# #...# .###. .....",
    "6": "..##. .#... #.... ####. #...# #...# .###. .....",
    "7": "##### ....# ...#. ..#.. .#... .#... .#... .....",
    "8": ".###. #...# #...# .###. #...# #...# .###. .....",
    "9": ".###. #...# #...# .#### ....# ...#. .##.. .....",
    "a": "..... ..... .###. ....# .#### #...# .#### .....",
    "b": "#.... #.... #.##. ##..# #...# #...# ####. .....",
    "c": "..... ..... .###. #.... #.... #...# .###. .....",
    "d": "....# ....# .##.# #..## #...# #...# .#### .....",
    "e": "..... ..... .###. #...# ##### #.... .###. .....",
    "f": "..##. .#..# .#... ###.. .#... .#... .#... .....",
    "g": "..... ..... .#### #...# #...# .#### ....# .###.",
    "h": "#.... #.... #.##. ##..# #...# #...# #...# .....",
    "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###. .....",
    "j": "...#. ..... ..##. ...#. ...#. ...#. #..#. .##..",
    "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#. .....",
    "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....",
    "m": "..... ..... ##.#. #.#.# #.#.# #...# #...# .....",
    "n": "..... ..... #.##. ##..# #...# #...# #...# .....",
    "o": "..... ..... .###. #...# #...# #...# .###. .....",
    "p": "..... ..... ####. #...# #...# ####. #.... #....",
    "q": "..... ..... .#### #...# #...# .#### ....# ....#",
    "r": "..... ..... #.##. ##..# #.... #.... #.... .....",
    "s": "..... ..... .###. #.... .###. ....# ####. .....",
    "t": ".#... .#... ###.. .#... .#... .#..# ..##. .....",
    "u": "..... ..... #...# #...# #...# #..## .##.# .....",
    "v": "..... ..... #...# #...# #...# .#.#. ..#.. .....",
    "w": "..... ..... #...# #...# #.#.# #.#.# .#.#. .....",
    "x": "..... ..... #...# .#.#. ..#.. .#.#. #...# .....",
    "y": "..... ..... #...# #...# #...# .#### ....# .###.",
    "z": "..... ..... ##### ...#. ..#.. .#... ##### .....",
    "A": ".###. #...# #...# ##### #...# #...# #...# .....",
    "B": "####. #...# #...# ####. #...# #...# ####. .....",
    "C": ".###. #...# #.... #.... #.... #...# .###. .....",
    "D": "###.. #..#. #...# #...# #...# #..#. ###.. .....",
    "E": "##### #.... #.... ####. #.... #.... ##### .....",
    "F": "##### #.... #.... ####. #.... #.... #.... .....",
    "G": ".###. #...# #.... #.### #...# #...# .#### .....",
    "H": "#...# #...# #...# ##### #...# #...# #...# .....",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###. .....",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##.. .....",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...# .....",
    "L": "#.... #.... #.... #.... #.... #.... ##### .....",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...# .....",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...# .....",
    "O": ".###. #...# #...# #...# #...# #...# .###. .....",
    "P": "####. #...# #...# ####. #.... #.... #.... .....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.# .....",
    "R": "####. #...# #...# ####. #.#.. #..#. #...# .....",
    "S": ".#### #.... #.... .###. ....# ....# ####. .....",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. .....",
    "U": "#...# #...# #...# #...# #...# #...# .###. .....",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#.. .....",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#. .....",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...# .....",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.. .....",
    "Z": "##### ....# ...#. ..#.. .#... #.... ##### .....",
    "_": "..... ..... ..... ..... ..... ..... ..... #####",
    "-": "..... ..... ..... ##### ..... ..... ..... .....",
    "=": "..... ..... ##### ..... ##### ..... ..... .....",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. ..... .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#. .....",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##.. .....",
    ",": "..... ..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. ..... .....",
    "'": "..#.. ..#.. .#... ..... ..... ..... ..... .....",
    "/": "..... ....# ...#. ..#.. .#... #.... ..... .....",
}

GLYPH_HEIGHT = 8
_GLYPH_WIDTH = 5
_LABEL_MARGIN = 4
_GLYPHS = {
    character: np.array([[pixel == "#" for pixel in row] for row in rows.split()])
    for character, rows in _FONT.items()
}


def _glyph(character):
    if character not in _GLYPHS:
        raise ValueError(
            "Labels can use ASCII letters, digits, spaces and "
            f"{''.join(c for c in _GLYPHS if not c.isalnum() and c != ' ')}. "
            f"Received: {character!r}"
        )
    return _GLYPHS[character]


def text(string, scale=1):
    """Renders `string` in the built-in 5x8 font: bool ``[8 * scale, W]``, True = ink.

    Glyphs are 5 pixels wide with 1 pixel between them, all times `scale`, so
    ``W = (6 * len(string) - 1) * scale`` (0 for the empty string).
    """
    if not string:
        return np.zeros((GLYPH_HEIGHT * scale, 0), bool)
    gap = np.zeros((GLYPH_HEIGHT, 1), bool)
    pieces = []
    for character in string:
        pieces += [_glyph(character), gap]
    ink = np.concatenate(pieces[:-1], axis=1)
    return ink.repeat(scale, axis=0).repeat(scale, axis=1)


def text_width(string, scale=1):
    """The width in pixels of `text(string, scale)`."""
    return max(0, (len(string) * (_GLYPH_WIDTH + 1) - 1) * scale)


def label_height(scale=2):
    """Height of one label strip of `grid`: 8 font rows times `scale`, and 4 pixels above and below."""
    return GLYPH_HEIGHT * scale + 2 * _LABEL_MARGIN


def _strip(width, spans):
    """A white uint8 strip `width` pixels wide with each ``(string, left, right)`` of `spans`
    drawn in black, centred between the pixel columns `left` and `right`.

    The letters are twice the font's size when every string fits its span
    so, else its size (and cut to the span when one is still too wide).
    """
    scale = 2 if all(text_width(s, 2) <= right - left for s, left, right in spans) else 1
    strip = np.full((label_height(scale), width, 3), 255, np.uint8)
    for string, left, right in spans:
        ink = text(string, scale)[:, : right - left]
        start = left + (right - left - ink.shape[1]) // 2
        block = strip[_LABEL_MARGIN : _LABEL_MARGIN + ink.shape[0], start : start + ink.shape[1]]
        block[ink] = 0
    return strip


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
    """Blends mask heat maps over images (the mask as a spatial overlay).

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


def grid(cells, columns=None, pad=2, labels=None, caption=None):
    """Tiles uint8 ``[N, H, W, 3]`` cells row by row into one uint8 image.

    Small cells are enlarged (nearest neighbour) to at least 64 pixels so a
    32x32 sample stays legible.

    Args:
        cells: uint8 ``[N, H, W, 3]``.
        columns: cells per row; default: a square grid.
        pad: white pixels around and between the cells.
        labels: one string per column, drawn in black centred above it, in
            a white strip `label_height(scale)` pixels high on top of the
            grid; `scale` is 2 (10x16-pixel letters) when every label fits
            its column so, else 1 (and a label too wide even then is cut).
        caption: one string drawn across the top, in a strip of its own
            above the labels (same sizes, the whole width for room).

    Returns:
        uint8 ``[rows * (H' + pad) + pad + strips, columns * (W' + pad) + pad, 3]``
        with ``H', W'`` the enlarged cell size and ``strips`` the heights of
        the caption and label strips (0 without them).
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
    strips = []
    if caption is not None:
        strips.append(_strip(canvas.shape[1], [(caption, pad, canvas.shape[1] - pad)]))
    if labels is not None:
        labels = list(labels)
        if len(labels) != columns:
            raise ValueError(
                f"`labels` should have one string per column ({columns}). Received: {labels!r}"
            )
        spans = [
            (label, pad + c * (width + pad), pad + c * (width + pad) + width)
            for c, label in enumerate(labels)
        ]
        strips.append(_strip(canvas.shape[1], spans))
    return np.concatenate(strips + [canvas], axis=0)


def write_png(path, image):
    """Writes a uint8 ``[H, W, 3]`` image as PNG atomically (temporary, rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    tf.io.write_file(temporary, tf.io.encode_png(image))
    os.replace(temporary, path)
