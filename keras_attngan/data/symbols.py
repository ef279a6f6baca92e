"""`symbols`: procedural check marks, crosses and circles.

Three classes of hand-drawn-looking marks - check mark (✓), cross (×) and
circle (○, the Japanese "maru") - with known generative factors: rotation,
stroke thickness, scale, position and colour. Because every factor is known,
the attention maps and the latent code of a trained GAN can be checked against
ground truth, which real datasets cannot offer.

Rendering is analytic and vectorised: each pixel centre is mapped into the
symbol's canonical frame, its distance to the strokes is computed in closed
form, and the distance becomes an anti-aliased coverage. No rasteriser, no
fonts, nothing to download.
"""

import numpy as np

from keras_attngan.data.base import from_arrays

CLASS_NAMES = ("check", "cross", "circle")
COLOUR_NAMES = ("red", "blue", "black", "grey")
_COLOURS = np.array(
    [(220, 30, 30), (30, 60, 220), (20, 20, 20), (128, 128, 128)], dtype=np.float32
)
DEFAULT_NUM_EXAMPLES = 20_000

# Factor ranges, as fractions of the image size (rotation in radians).
ROTATION_RANGE = (-0.5, 0.5)
SCALE_RANGE = (0.55, 0.85)
THICKNESS_RANGE = (0.06, 0.12)
OFFSET_RANGE = (-0.12, 0.12)

# Strokes live in a canonical frame where the symbol's scale spans [-0.5, 0.5].
# Every stroke point stays within radius 0.35 of the centre, so that at the
# largest scale, thickness and offset, in any rotation, the mark (and its
# half-pixel anti-aliased edge) still fits inside the image.
_CHECK_SEGMENTS = (((-0.28, 0.02), (-0.09, 0.22)), ((-0.09, 0.22), (0.25, -0.24)))
_CROSS_SEGMENTS = (((-0.245, -0.245), (0.245, 0.245)), ((-0.245, 0.245), (0.245, -0.245)))
_CIRCLE_RADIUS = 0.31

# Argument order of `_render` after the label.
_FACTOR_ORDER = ("rotation", "thickness", "scale", "x", "y", "colour")

# Images rendered per vectorised step: bounds the float32 temporaries to a few
# tens of MB whatever `num_examples` is.
_CHUNK = 2048


def _segment_distance(u, v, a, b):
    """Distance from points (u, v) to the segment a-b, elementwise."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(u - ax - t * dx, v - ay - t * dy)


def _canonical_distance(label, u, v):
    """Distance to the strokes of class `label`, in canonical units."""
    if CLASS_NAMES[label] == "circle":
        return np.abs(np.hypot(u, v) - _CIRCLE_RADIUS)
    segments = _CHECK_SEGMENTS if CLASS_NAMES[label] == "check" else _CROSS_SEGMENTS
    return np.minimum(*(_segment_distance(u, v, a, b) for a, b in segments))


def _render(label, rotation, thickness, scale, x, y, colour, image_size):
    """Renders one class's images: factor arrays ``[n]`` -> uint8 ``[n, S, S, 3]``."""
    size = float(image_size)
    centres = np.arange(image_size, dtype=np.float32) + 0.5
    # Offsets of each pixel centre from each symbol centre, in pixels; x to the
    # right, y down (image rows).
    dx = centres[None, None, :] - (size / 2 + x * size)[:, None, None]
    dy = centres[None, :, None] - (size / 2 + y * size)[:, None, None]
    cos, sin = np.cos(rotation)[:, None, None], np.sin(rotation)[:, None, None]
    # Inverse rotation, so a positive angle turns the symbol counter-clockwise
    # as displayed, then inverse scale into the canonical frame.
    pixels_per_unit = (scale * size)[:, None, None]
    u = (cos * dx - sin * dy) / pixels_per_unit
    v = (sin * dx + cos * dy) / pixels_per_unit
    # Rotation and uniform scale preserve distances up to the scale factor, so
    # the canonical distance converts back to pixels exactly.
    distance = _canonical_distance(label, u, v) * pixels_per_unit
    half_thickness = (thickness * size / 2)[:, None, None]
    coverage = np.clip(half_thickness - distance + 0.5, 0.0, 1.0)[..., None]
    ink = _COLOURS[colour][:, None, None, :]
    images = 255.0 * (1.0 - coverage) + ink * coverage
    return np.round(images).astype(np.uint8)


def render_symbols(num_examples, image_size=32, seed=0):
    """Renders `num_examples` random symbols, deterministically from `seed`.

    Classes are balanced (they differ by at most one image) and shuffled.
    Factors are drawn independently and uniformly: rotation in [-0.5, 0.5]
    rad, scale in [0.55, 0.85] and thickness in [0.06, 0.12] of the image
    size, centre offset x, y in [-0.12, 0.12] of the image size, and one of
    the colours red, blue, black, grey, drawn on a white background.

    Args:
        num_examples: how many images to render (>= 1).
        image_size: height and width in pixels.
        seed: seed for labels and factors; the same seed gives the same images.

    Returns:
        dict with ``"images"`` uint8 ``[N, S, S, 3]``, ``"labels"`` int32
        ``[N]`` (0 = check, 1 = cross, 2 = circle) and ``"factors"``: name ->
        ``[N]`` array for ``"rotation"`` (radians, float32), ``"thickness"``,
        ``"scale"`` (fractions of the image, float32), ``"x"``, ``"y"``
        (centre offset, fraction of the image, float32) and ``"colour"``
        (int32 index into `COLOUR_NAMES`).
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(num_examples) % len(CLASS_NAMES)).astype(np.int32)
    factors = {
        "rotation": rng.uniform(*ROTATION_RANGE, num_examples).astype(np.float32),
        "thickness": rng.uniform(*THICKNESS_RANGE, num_examples).astype(np.float32),
        "scale": rng.uniform(*SCALE_RANGE, num_examples).astype(np.float32),
        "x": rng.uniform(*OFFSET_RANGE, num_examples).astype(np.float32),
        "y": rng.uniform(*OFFSET_RANGE, num_examples).astype(np.float32),
        "colour": rng.integers(0, len(COLOUR_NAMES), num_examples).astype(np.int32),
    }
    images = np.empty((num_examples, image_size, image_size, 3), dtype=np.uint8)
    for label in range(len(CLASS_NAMES)):
        indices = np.flatnonzero(labels == label)
        for start in range(0, len(indices), _CHUNK):
            chunk = indices[start : start + _CHUNK]
            images[chunk] = _render(
                label, *(factors[name][chunk] for name in _FACTOR_ORDER), image_size
            )
    return {"images": images, "labels": labels, "factors": factors}


def load_symbols(*, image_size, seed, num_examples):
    """The `symbols` source: `render_symbols` wrapped as `SourceData`.

    Args:
        image_size: height and width in pixels.
        seed: rendering seed.
        num_examples: how many images, or None for `DEFAULT_NUM_EXAMPLES`.

    Returns:
        SourceData with 3 channels, 3 classes and the factors.
    """
    rendered = render_symbols(
        DEFAULT_NUM_EXAMPLES if num_examples is None else num_examples, image_size, seed
    )
    return from_arrays(
        rendered["images"], rendered["labels"], len(CLASS_NAMES), factors=rendered["factors"]
    )
