"""What an attention mask has to say: its contrast, entropy and diversity.

A mask can only inform G if it has content: it must vary over the image
(contrast, low spatial entropy) and between images (diversity). These
statistics are computed in the train step for TensorBoard and by the
mask-usage metrics; masks are ``[B, H, W, 1]`` in [0, 1].
"""

import math

from keras import ops

_EPS = 1e-6


def mask_statistics(masks):
    """Batch statistics of masks, each a scalar.

    Returns:
        dict with

        - ``mask_mean``: mean value;
        - ``mask_contrast``: spatial standard deviation, averaged over samples
          (0 for a flat mask);
        - ``mask_entropy``: entropy of the mask read as a distribution over
          pixels (``s / sum(s)``), divided by ``log(H * W)``: 1 for a flat
          mask, 0 for a single pixel;
        - ``mask_diversity``: standard deviation across the batch, averaged
          over pixels (0 when every image gets the same mask).
    """
    masks = ops.cast(masks, "float32")
    pixels = ops.reshape(masks, (ops.shape(masks)[0], -1))
    distribution = pixels / (ops.sum(pixels, axis=1, keepdims=True) + _EPS)
    entropy = -ops.sum(distribution * ops.log(distribution + _EPS), axis=1)
    size = math.log(float(masks.shape[1] * masks.shape[2]))
    return {
        "mask_mean": ops.mean(pixels),
        "mask_contrast": ops.mean(ops.std(pixels, axis=1)),
        "mask_entropy": ops.mean(entropy) / size,
        "mask_diversity": ops.mean(ops.std(pixels, axis=0)),
    }
