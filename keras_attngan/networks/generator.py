"""The generator G(z, s): an architecture's body, modulated by D's attention mask."""

import keras

from keras_attngan.networks.architectures import get_architecture, num_stages
from keras_attngan.networks.layers import MaskModulation
from keras_attngan.networks.normalizations import get_normalization

# num_stages is re-exported: callers validate image sizes through it.
__all__ = ["build_generator", "num_stages"]


def build_generator(
    latent_dim,
    image_size,
    channels,
    width=64,
    use_mask=True,
    name="generator",
    architecture="dcgan",
    normalization="batch",
    num_classes=0,
    code_dim=0,
    upsampling="default",
):
    """Builds G, a functional model called as ``G({"z": z, "mask": s, "label": y, "codes": c})``.

    The body comes from `architecture` (a key of
    `keras_attngan.networks.architectures.ARCHITECTURES`; ``dcgan``: z ->
    dense 4x4 -> [transposed conv 2x, batch norm, mask modulation, ReLU] per
    stage -> tanh image in [-1, 1]). Wherever the body normalizes, the mask
    modulates the features (G takes z AND the mask), so it
    does at every resolution.

    Args:
        latent_dim: size of the noise vector z.
        image_size: output height and width (4 * 2**n).
        channels: output channels (1 or 3).
        width: channels of the last hidden stage; stage i has width * 2**i.
        use_mask: False builds G without the mask input (mask source
            `none`, the baseline).
        name: model name.
        architecture: a key of `ARCHITECTURES`.
        normalization: a key of
            `keras_attngan.networks.normalizations.NORMALIZATIONS`;
            ``conditional_batch`` makes G class-conditional.
        num_classes: number of labels of a ``conditional_batch`` G, which
            takes the integer input ``"label"`` ``[B]``.
        code_dim: size of InfoGAN's codes input ``"codes"`` ``[B, code_dim]``
            (`keras_attngan.core.latent.LatentSpec.encode`); 0 builds G without
            it. The codes join z at G's input, as in Chen et al. (2016).
        upsampling: how G doubles its resolution, a key of
            `keras_attngan.networks.upsampling.UPSAMPLINGS`, or
            ``"default"`` (the architecture's own).

    Returns:
        A `keras.Model` from a dict of inputs to ``[B, S, S, channels]``.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    stages = num_stages(image_size)
    body = get_architecture(architecture)
    norm = get_normalization(normalization, num_classes)
    z = keras.Input((latent_dim,), name="z")
    inputs = {"z": z}
    if use_mask:
        inputs["mask"] = keras.Input((image_size, image_size, 1), name="mask")
    if norm.needs_labels:
        inputs["label"] = keras.Input((), dtype="int32", name="label")
    if code_dim:
        inputs["codes"] = keras.Input((code_dim,), name="codes")

    def condition(x, stage):
        layer = norm.layer(f"bn_{stage}")
        if layer is not None:
            x = layer([x, inputs["label"]]) if norm.needs_labels else layer(x)
        if use_mask:
            x = MaskModulation(name=f"modulation_{stage}")([x, inputs["mask"]])
        return x

    first = keras.layers.Concatenate(name="z_codes")([z, inputs["codes"]]) if code_dim else z
    images = body.generator(first, stages, channels, width, norm, condition, upsampling)
    return keras.Model(inputs, images, name=name)
