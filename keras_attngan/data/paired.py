"""Paired low-res / high-res batches for super-resolution.

Any source's images at ``data.image_size`` are the high-res targets Y (for
`photos`, random crops of photographs); each batch gains their bicubic,
antialiased downscales by ``data.scale``: the low-res inputs Z of G.
"""

import tensorflow as tf


def check_divisible(height, width, scale, key="data.image_size"):
    """Refuses a size `scale` does not divide, naming `key`.

    Raises:
        ValueError: height or width not a multiple of `scale`.
    """
    for side in (height, width):
        if side is not None and int(side) % scale:
            raise ValueError(
                f"`{key}` should be a multiple of the scale {scale} (the low-res image is "
                f"1/{scale} of it). Received: {key}={height}x{width}"
            )


def downscale(images, scale):
    """Bicubic, antialiased downscale of ``[B, H, W, C]`` images in [-1, 1] by `scale`.

    The result is clipped to [-1, 1]: bicubic overshoots at edges, and G
    never sees values a real low-res image cannot hold.
    """
    height, width = images.shape[1], images.shape[2]
    check_divisible(height, width, scale)
    size = tf.shape(images)[1:3] // scale
    small = tf.image.resize(images, size, method="bicubic", antialias=True)
    return tf.clip_by_value(small, -1.0, 1.0)


def pair_batches(dataset, scale):
    """Adds ``"lowres"``, the `downscale` of ``"images"``, to every batch of `dataset`."""
    return dataset.map(
        lambda batch: {**batch, "lowres": downscale(batch["images"], scale)},
        num_parallel_calls=tf.data.AUTOTUNE,
    )
