"""Architectures of G's body and D's trunk, chosen from a registry (`ARCHITECTURES`).

An architecture supplies two pieces; everything the attention method needs
stays in the networks that use them:

- ``generator(z, stages, channels, width, normalization, condition,
  upsampling)`` builds G's layers on the functional input z and returns
  the tanh image, doubling the resolution with the `upsampling` entry
  (``"default"``: the architecture's own, `Architecture.default_upsampling`).
  It calls ``condition(x, name)`` wherever it normalizes a feature map:
  `keras_attngan.networks.generator.build_generator` supplies it, and it
  applies G's normalization (with the labels of a class-conditional G) and
  the mask modulation, so every architecture carries G's mask input at
  every resolution it normalizes at.
- ``discriminator_trunk(image_size, channels, width, normalization)``
  returns D's trunk, a layer from images to feature maps ``[B, 4, 4, C]``.
  The `keras_attngan.networks.Discriminator` owns the head on those cells
  (the attention gate, the classifier, the projection of a conditional D),
  so every architecture carries every mask source.

Stage ``i`` of D has ``width * 2**i`` channels and G mirrors it, so
``model.g_width`` and ``model.d_width`` mean the same in every architecture.
The registry is a plain dict (name -> instance).
"""

import keras
from keras import layers

from keras_attngan.core.choices import BASE_SIZE, num_stages
from keras_attngan.core.registry import lookup
from keras_attngan.networks.layers import convolution
from keras_attngan.networks.upsampling import get_upsampling


def _images_input(image_size, channels):
    """D's input: float32 images under any dtype policy.

    Each layer casts to its own compute dtype, so this costs nothing in mixed
    bfloat16; an input that took the policy's dtype (as a Sequential built
    under it does) would keep casting to bfloat16 in a graph traced to
    compute in float32, as the export's are.
    """
    return keras.Input((image_size, image_size, channels), dtype="float32", name="images")


def _normalized(normalization, name):
    """`normalization`'s layer after a D convolution, as a list (empty when it has none)."""
    layer = normalization.layer(name)
    return [] if layer is None else [layer]


def _project(z, filters, normalization):
    """z -> the 4x4 feature map G starts from."""
    x = normalization.wrap(
        layers.Dense(BASE_SIZE * BASE_SIZE * filters, use_bias=False, name="project")
    )(z)
    return layers.Reshape((BASE_SIZE, BASE_SIZE, filters))(x)


def _to_image(x):
    # float32 output keeps images exact under a mixed-precision policy.
    return layers.Activation("tanh", dtype="float32", name="images")(x)


class Architecture:
    """What every architecture shares: how its G upsamples (`keras_attngan.networks.upsampling`).

    Attributes:
        default_upsampling: the upsampling of ``upsampling="default"``.
    """

    default_upsampling = "transposed"

    def upsampling(self, name):
        """The `keras_attngan.networks.upsampling` entry `name`, ``default``: this architecture's own."""
        return get_upsampling(self.default_upsampling if name == "default" else name)


class DCGAN(Architecture):
    """DCGAN (Radford et al., 2016): strided (transposed) 4x4 convolutions.

    G: z -> dense 4x4 -> [transposed conv 2x, normalization, ReLU] per stage
    -> tanh. D: [conv 4x4 stride 2, normalization (not after the first,
    as in DCGAN), LeakyReLU 0.2] per stage down to 4x4.
    """

    def generator(self, z, stages, channels, width, normalization, condition, upsampling="default"):
        upsample = self.upsampling(upsampling)
        filters = width * 2 ** (stages - 1)
        x = _project(z, filters, normalization)
        x = layers.ReLU(name="relu_0")(condition(x, "0"))
        for stage in range(1, stages):
            filters //= 2
            x = upsample(normalization, filters, f"up_{stage}", use_bias=False)(x)
            x = layers.ReLU(name=f"relu_{stage}")(condition(x, str(stage)))
        x = upsample(normalization, channels, "to_image")(x)
        return _to_image(x)



    def discriminator_trunk(self, image_size, channels, width, normalization):
        stages = num_stages(image_size)
        return keras.Sequential(
            [
                _images_input(image_size, channels),
                *(
                    layer
                    for stage in range(stages)
                    for layer in (
                        convolution(normalization, width * 2**stage, 4, f"down_{stage}", strides=2),
                        *(_normalized(normalization, f"norm_{stage}") if stage else []),
                        layers.LeakyReLU(0.2, name=f"lrelu_{stage}"),
                    )
                ),
            ],
            name="trunk",
        )


class SNDCGAN(DCGAN):
    """The standard CNN of SN-GAN (Miyato et al., 2018, table 3); G as DCGAN.

    D: per stage a 3x3 stride-1 and a 4x4 stride-2 convolution, then a 3x3
    convolution at 4x4, all with LeakyReLU 0.1. The spectral normalization
    of the paper is `model.d_normalization=spectral` (`configs/
    symbols_sndcgan.py`), as in compare_gan, where architecture and
    normalization are separate choices.
    """

    def discriminator_trunk(self, image_size, channels, width, normalization):
        stages = num_stages(image_size)
        convolutions = [
            (width * 2**stage, kernel, strides, f"{name}_{stage}")
            for stage in range(stages)
            for kernel, strides, name in ((3, 1, "conv"), (4, 2, "down"))
        ] + [(width * 2**stages, 3, 1, f"conv_{stages}")]
        return keras.Sequential(
            [
                _images_input(image_size, channels),
                *(
                    layer
                    for index, (filters, kernel, strides, name) in enumerate(convolutions)
                    for layer in (
                        convolution(normalization, filters, kernel, name, strides=strides),
                        *(_normalized(normalization, f"norm_{name}") if index else []),
                        layers.LeakyReLU(0.1, name=f"lrelu_{name}"),
                    )
                ),
            ],
            name="trunk",
        )


class ResNet(Architecture):
    """The ResNet GAN of Miyato et al. (2018, appendix B.4) and compare_gan (32x32 and 64x64).

    G: z -> dense 4x4 -> one up-block per stage -> normalization, ReLU, 3x3
    conv -> tanh. An up-block (Gulrajani et al., 2017) is ``shortcut(x) +
    residual(x)`` with the shortcut ``conv1x1(upsample(x))`` and the residual
    ``conv3x3(ReLU(norm(conv3x3(upsample(ReLU(norm(x)))))))``.

    D: one down-block per stage to 4x4, then ReLU. The first block is the
    "optimized" one (conv, ReLU, conv, average pool; shortcut average pool,
    conv1x1), the others ``ReLU, conv, ReLU, conv, average pool`` with the
    shortcut ``average pool(conv1x1(x))``. The paper sums the last features
    over space; here D's head reads the 4x4 cells (the gate and Grad-CAM
    explain D through them), as in DCGAN.
    """

    default_upsampling = "resize"

    def generator(self, z, stages, channels, width, normalization, condition, upsampling="default"):
        upsample = self.upsampling(upsampling)
        filters = width * 2 ** (stages - 1)
        x = _project(z, filters, normalization)
        for stage in range(stages):
            out = max(filters // 2, width)
            shortcut = layers.UpSampling2D(name=f"up_{stage}_skip_upsample")(x)
            shortcut = convolution(normalization, out, 1, f"up_{stage}_skip")(shortcut)
            h = layers.ReLU(name=f"up_{stage}_relu_a")(condition(x, f"{stage}a"))
            h = upsample(normalization, out, f"up_{stage}_conv_a")(h)
            h = layers.ReLU(name=f"up_{stage}_relu_b")(condition(h, f"{stage}b"))
            h = convolution(normalization, out, 3, f"up_{stage}_conv_b")(h)
            x = layers.Add(name=f"up_{stage}")([shortcut, h])
            filters = out
        x = layers.ReLU(name="relu_out")(condition(x, "out"))
        return _to_image(convolution(normalization, channels, 3, "to_image")(x))

    def discriminator_trunk(self, image_size, channels, width, normalization):
        images = _images_input(image_size, channels)

        def conv(x, filters, kernel, name):
            x = convolution(normalization, filters, kernel, name)(x)
            for layer in _normalized(normalization, f"{name}_norm"):
                x = layer(x)
            return x

        x = images
        for stage in range(num_stages(image_size)):
            filters, name = width * 2**stage, f"down_{stage}"
            # The optimized first block: no ReLU on the image, pool before the skip conv.
            h = x if stage == 0 else layers.ReLU(name=f"{name}_relu_a")(x)
            h = conv(h, filters, 3, f"{name}_conv_a")
            h = layers.ReLU(name=f"{name}_relu_b")(h)
            h = conv(h, filters, 3, f"{name}_conv_b")
            h = layers.AveragePooling2D(2, name=f"{name}_pool")(h)
            if stage == 0:
                shortcut = layers.AveragePooling2D(2, name=f"{name}_skip_pool")(x)
                shortcut = convolution(normalization, filters, 1, f"{name}_skip")(shortcut)
            else:
                shortcut = convolution(normalization, filters, 1, f"{name}_skip")(x)
                shortcut = layers.AveragePooling2D(2, name=f"{name}_skip_pool")(shortcut)
            x = layers.Add(name=name)([shortcut, h])
        return keras.Model(images, layers.ReLU(name="relu_out")(x), name="trunk")


ARCHITECTURES = {"dcgan": DCGAN(), "sndcgan": SNDCGAN(), "resnet": ResNet()}


def get_architecture(name):
    """The architecture registered as `name`.

    Raises:
        ValueError: `name` is not a key of `ARCHITECTURES` (the message lists them).
    """
    return lookup(ARCHITECTURES, name, "architecture")
