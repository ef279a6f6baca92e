"""What a config may choose, and what its check needs to know of each choice.

The registries themselves (`keras_attngan.core.losses.LOSSES`,
`keras_attngan.core.mask_sources.MASK_SOURCES`, ...) hold Keras layers and
TensorFlow functions. This module holds their names, in the order they are
offered, and the few facts `keras_attngan.training.validation.validate_config` reads (does
a mask source give G a mask, how large a batch an MI estimator needs, ...),
so that a config is checked, and a bad value refused, before TensorFlow is
imported. tests/test_choices.py holds each of them to its registry.
"""

import math

from keras_attngan.core.errors import refuse

LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares", "relativistic_average")
PENALTIES = ("none", "wgan_gp", "dragan", "r1", "l2")
# Penalties computed per example: batch statistics in D would mix the examples.
PER_EXAMPLE_PENALTIES = ("wgan_gp", "dragan", "r1")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
LR_DECAYS = ("constant", "cosine")

# Mask source -> whether G receives its mask (and the MI term runs).
MASK_SOURCES = {"learned": True, "gradcam": True, "saliency": True, "verdict": True, "none": False}
# Mask sources whose map is D's per-cell verdict: D carries the decoder, and
# the 'verdict' loss term trains it.
VERDICT_SOURCES = ("verdict",)
MASK_NORMALIZATIONS = ("peak", "minmax")
# Where the inner loop's first mask comes from -> the uniform numbers per
# sample it is drawn from (the latent input "prior"; 1 + 3 per blob).
FIRST_MASKS = {"recurrence": 0, "blobs": 13}

# MI estimator -> the smallest batch it can estimate on.
MI_ESTIMATORS = {"infonce": 2, "barber_agakov": 1, "alignment": 1}
MI_WEIGHTINGS = ("fixed", "balanced")
MI_CRITICS = ("locality", "learned")
MI_NEGATIVES = ("changes", "masks")

ARCHITECTURES = ("dcgan", "sndcgan", "resnet")
# How G doubles its resolution; "default" is each architecture's own.
UPSAMPLINGS = ("transposed", "resize", "subpixel")


class Normalization:
    """What the config check needs of a normalization."""

    def __init__(self, needs_labels=False, batch_statistics=False):
        self.needs_labels = needs_labels
        self.batch_statistics = batch_statistics


NORMALIZATIONS = {
    "none": Normalization(),
    "batch": Normalization(batch_statistics=True),
    "layer": Normalization(),
    "spectral": Normalization(),
    "conditional_batch": Normalization(needs_labels=True, batch_statistics=True),
}

TERMS = ("rotation", "encoder", "info", "verdict")
ENCODERS = ("conv", "vgg")
LIPSCHITZ = ("spectral_penalty", "penalty", "spectral", "none")

# What `attngan evaluate` and `attngan study` can compute, and on which features.
METRICS = ("fid", "kid", "is", "pr", "intra_fid", "coverage", "faithfulness", "mask_usage")
EXTRACTORS = ("domain", "inception")

# Data source kind -> the template shown to users; a template with a ":"
# takes the text after the colon (a TFDS name, a path).
SOURCES = {
    "symbols": "symbols",
    "digits": "digits",
    "colored_digits": "colored_digits",
    "photos": "photos",
    "photo_folder": "photo_folder:PATH",
    "tfds": "tfds:NAME",
    "folder": "folder:PATH",
    "npz": "npz:PATH",
}

# The networks' smallest resolution: each stage doubles it up to the image size.
BASE_SIZE = 4


def parse_source(source):
    """Splits a `data.source` string into (kind, argument).

    Args:
        source: one of the `SOURCES` templates, e.g. ``"symbols"``,
            ``"tfds:cifar10"``, ``"folder:/data/faces"``.

    Returns:
        ``(kind, argument)``: argument is the NAME or PATH after the colon, or
        None for sources without one.

    Raises:
        ValueError: `source` matches no template.
    """
    if isinstance(source, str):
        kind, colon, argument = source.partition(":")
        if kind in SOURCES:
            takes_argument = ":" in SOURCES[kind]
            if (bool(argument) if takes_argument else not colon):
                return kind, argument or None
    raise ValueError(
        f"`data.source` should be one of {', '.join(SOURCES.values())}. "
        f"Received: data.source={source!r}"
    )


def num_stages(image_size):
    """Number of 2x up- (G) or down-sampling (D) stages for `image_size`.

    Both networks work between 4x4 and `image_size`, doubling each stage, so
    the size must be 4 * 2**n with n >= 1.

    Raises:
        ValueError: naming `image_size` when the architecture cannot make it.
    """
    stages = math.log2(image_size / BASE_SIZE) if image_size > 0 else -1
    if stages < 1 or stages != int(stages):
        raise ValueError(
            "`image_size` should be 4 * 2**n with n >= 1 (8, 16, 32, 64, ...) "
            "because the networks double the resolution from 4x4 at each "
            f"stage. Received: image_size={image_size}"
        )
    return int(stages)


def parse_terms(text):
    """The term names of a ``train.terms`` value (``"a,b"``; empty for none).

    Raises:
        ValueError: an unknown or repeated name, listing the registered ones.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if any(name not in TERMS for name in names) or len(set(names)) != len(names):
        refuse("train.terms", text, f"distinct names from {sorted(TERMS)}, comma-separated")
    return names
