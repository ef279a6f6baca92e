"""The generator G(z, s): DCGAN-style, modulated by D's attention mask."""

import math

import keras
from keras import layers

from keras_attngan.networks.layers import MaskModulation

_BASE_SIZE = 4


def num_stages(image_size):
    """Number of 2x up- (G) or down-sampling (D) stages for `image_size`.

    Both networks work between 4x4 and `image_size`, doubling each stage, so
    the size must be 4 * 2**n with n >= 1.

    Raises:
        ValueError: naming `image_size` when the architecture cannot make it.
    """
    stages = math.log2(image_size / _BASE_SIZE) if image_size > 0 else -1
    if stages < 1 or stages != int(stages):
        raise ValueError(
            "`image_size` should be 4 * 2**n with n >= 1 (8, 16, 32, 64, ...) "
            "because the networks double the resolution from 4x4 at each "
            f"stage. Received: image_size={image_size}"
        )
    return int(stages)


def build_generator(
    latent_dim, image_size, channels, width=64, use_mask=True, name="generator"
):
    """Builds G, a functional model called as ``G({"z": z, "mask": s})``.

    z -> dense 4x4 -> [transposed conv 2x, batch norm, mask modulation, ReLU]
    per stage -> tanh image in [-1, 1]. The mask modulates the features at
    every resolution (seed 000, claim 1: G takes z AND the mask).

    Args:
        latent_dim: size of the noise vector z.
        image_size: output height and width (4 * 2**n).
        channels: output channels (1 or 3).
        width: channels of the last hidden stage; stage i has width * 2**i.
        use_mask: False builds the plain DCGAN generator ``G({"z": z})``
            (mask source `none`, the baseline).
        name: model name.

    Returns:
        A `keras.Model` from a dict of inputs to ``[B, S, S, channels]``.
    """
    stages = num_stages(image_size)
    z = keras.Input((latent_dim,), name="z")
    inputs = {"z": z}
    if use_mask:
        mask = keras.Input((image_size, image_size, 1), name="mask")
        inputs["mask"] = mask

    def normalize_modulate_activate(x, stage):
        x = layers.BatchNormalization(name=f"bn_{stage}")(x)
        if use_mask:
            x = MaskModulation(name=f"modulation_{stage}")([x, mask])
        return layers.ReLU(name=f"relu_{stage}")(x)

    filters = width * 2 ** (stages - 1)
    x = layers.Dense(_BASE_SIZE * _BASE_SIZE * filters, use_bias=False, name="project")(z)
    x = layers.Reshape((_BASE_SIZE, _BASE_SIZE, filters))(x)
    x = normalize_modulate_activate(x, 0)
    for stage in range(1, stages):
        filters //= 2
        x = layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=False, name=f"up_{stage}"
        )(x)
        x = normalize_modulate_activate(x, stage)
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="to_image")(x)
    # float32 output keeps images exact under a mixed-precision policy.
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name=name)
