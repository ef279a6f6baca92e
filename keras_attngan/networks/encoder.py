"""The encoder E of the latent-space regularizer (the `encoder` loss term).

E maps an image (a fake G(Z) or a target Y) to a latent representation the
size of Z. Two kinds, in `ENCODERS`:

- ``conv``: strided convolutions down to a bottleneck, then an upscaling
  layer back up to Z's size. Always trained from scratch, by the encoder
  term's own optimizer (`keras_attngan.terms.LatentRegularizer`).
- ``vgg``: VGG19's first blocks, then the same upscaling head.
  With a weights file (``train.encoder_weights``: the Keras ImageNet weights,
  ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``, which the user
  downloads once) the VGG trunk is loaded from it and frozen, and only the
  head trains; without one the whole encoder trains from scratch. Nothing is
  ever downloaded here.

Z is either a vector ``(latent_dim,)`` (the unconditional GAN) or a low-res
image ``(h, w, c)`` (super-resolution). For a vector the head pools
the bottleneck and a dense layer lifts it to Z's size; for an image the
upscaling layer brings the bottleneck to Z's resolution and a 1x1
convolution to its channels, fully convolutionally.
"""

import math
import os

import keras
from keras import layers

from keras_attngan.core.registry import lookup
from keras_attngan.networks.layers import DynamicUpsampling

# The VGG19 layers E keeps: two blocks (4 convolutions and 2 poolings, stride
# 4) are enough for the low-level statistics a patch's super-resolution is
# judged by, and keep E cheap on a CPU.
VGG_LAST_LAYER = "block2_pool"
VGG_STRIDE = 4
# Caffe's BGR means of ImageNet, which the Keras VGG weights expect.
_VGG_MEAN_BGR = (103.939, 116.779, 123.68)


def _check_latent_shape(latent_shape):
    # An image Z may leave its height and width open (None): E is fully
    # convolutional there, and only Z's channels fix its weights.
    latent_shape = tuple(None if d is None else int(d) for d in latent_shape)
    if len(latent_shape) not in (1, 3) or latent_shape[-1] is None or min(d or 1 for d in latent_shape) < 1:
        raise ValueError(
            "`latent_shape` should be Z's shape without the batch: (latent_dim,) or "
            f"(height, width, channels). Received: latent_shape={latent_shape!r}"
        )
    return latent_shape


def _head(features, stride, latent_shape, width, wrap):
    """E's last layers: the bottleneck (at `stride`) up to Z's size."""
    if len(latent_shape) == 1:
        pooled = layers.GlobalAveragePooling2D(name="pool")(features)
        # The upscaling layer for a vector Z: from `width` pooled channels up
        # to latent_dim values.
        return wrap(layers.Dense(latent_shape[0], name="upscale"))(pooled)
    # An image Z (the low-res input): the bottleneck is at 1/stride of the
    # high-res input, Z at 1/scale, so an upscaling layer of stride/scale
    # restores Z's resolution for any input size.
    x = DynamicUpsampling(stride, name="upscale")(features)
    x = wrap(layers.Conv2D(width, 3, padding="same", name="upscale_conv"))(x)
    x = layers.LeakyReLU(0.2)(x)
    return wrap(layers.Conv2D(latent_shape[-1], 1, name="project"))(x)


def _wrapper(spectral):
    """Spectral normalization of E's weight layers, or nothing (the Lipschitz choice)."""
    if not spectral:
        return lambda layer: layer
    return lambda layer: layers.SpectralNormalization(layer, name=f"sn_{layer.name}")


def build_conv_encoder(image_shape, latent_shape, width=32, scale=1, spectral=False, weights=None, name="encoder"):
    """The ``conv`` E: strided convolutions, then an upscaling layer to Z's size.

    Args:
        image_shape: ``(S, S, C)`` of G's outputs and the targets; the height
            and width may be None (any size) when Z is an image.
        latent_shape: Z's shape, ``(latent_dim,)`` or ``(S / scale, S / scale, C)``.
        width: channels of the first convolution (doubled at the next).
        scale: for an image Z, how many times smaller Z is than the input
            (the super-resolution factor, 2 or 4); ignored for a vector Z.
        spectral: wrap every weight layer in spectral normalization, so E is
            1-Lipschitz per layer (the ``spectral`` Lipschitz mechanisms).
        weights: must be None: the conv encoder has no pretrained weights.
        name: model name.

    Returns:
        A functional `keras.Model` from images ``[B, S, S, C]`` to ``[B, *latent_shape]``.
    """
    latent_shape = _check_latent_shape(latent_shape)
    if weights is not None:
        raise ValueError(
            "`train.encoder_weights` is for train.encoder='vgg' only; the conv encoder "
            f"trains from scratch. Received: train.encoder_weights={weights!r}"
        )
    wrap = _wrapper(spectral)
    # Downsample past Z's resolution (one stage more than the scale) so the
    # upscaling layer always has a factor of 2 to restore.
    stages = 2 if len(latent_shape) == 1 else int(math.log2(scale)) + 1
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    for stage in range(stages):
        x = wrap(layers.Conv2D(width * 2**stage, 4, strides=2, padding="same", name=f"conv_{stage}"))(x)
        x = layers.LeakyReLU(0.2, name=f"lrelu_{stage}")(x)
    stride = 2**stages if len(latent_shape) == 1 else 2**stages // scale
    outputs = _head(x, stride, latent_shape, width, wrap)
    return keras.Model(images, outputs, name=name)


@keras.saving.register_keras_serializable(package="keras_attngan")
class VGGPreprocess(layers.Layer):
    """Images in [-1, 1], RGB, to the BGR, mean-subtracted 0-255 input of Keras' VGG."""

    def call(self, images):
        images = (images + 1.0) * 127.5
        return keras.ops.flip(images, axis=-1) - keras.ops.convert_to_tensor(_VGG_MEAN_BGR, images.dtype)


def build_vgg_encoder(image_shape, latent_shape, width=32, scale=1, spectral=False, weights=None, name="encoder"):
    """The ``vgg`` E: VGG19's first two blocks, then the same upscaling head.

    Args:
        image_shape: ``(S, S, 3)`` (VGG reads RGB); height and width may be None.
        latent_shape: Z's shape, ``(latent_dim,)`` or ``(S / scale, S / scale, C)``.
        width: channels of the head's convolution.
        scale: for an image Z, the super-resolution factor (2 or 4).
        spectral: spectral normalization on the head's weight layers (a
            frozen pretrained trunk is fixed; a trunk trained from scratch
            is wrapped too).
        weights: None (train all of E from scratch) or the path of
            Keras' ImageNet VGG19 "notop" weights file (the trunk is loaded
            from it and frozen).
        name: model name.

    Raises:
        ValueError: images that are not RGB.
        FileNotFoundError: a weights path that does not exist.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    latent_shape = _check_latent_shape(latent_shape)
    if image_shape[-1] != 3:
        raise ValueError(
            "train.encoder='vgg' reads RGB images: `data.channels` should be 3. "
            f"Received: data.channels={image_shape[-1]!r}"
        )
    if weights is not None and not os.path.isfile(weights):
        raise FileNotFoundError(
            f"`train.encoder_weights` should be the path of Keras' VGG19 ImageNet weights "
            f"(vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5). No file at {weights!r}"
        )
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    if weights is not None:
        vgg.load_weights(weights, skip_mismatch=False)
    trunk_layers = []
    for layer in vgg.layers[1:]:
        trunk_layers.append(layer)
        if layer.name == VGG_LAST_LAYER:
            break
    wrap_trunk = _wrapper(spectral and weights is None)
    images = keras.Input(tuple(image_shape), name="images")
    x = VGGPreprocess(name="vgg_preprocess")(images)
    for layer in trunk_layers:
        if isinstance(layer, layers.Conv2D):
            # A fresh layer per trunk layer, with the loaded weights, so
            # that the encoder is one functional graph that saves whole.
            clone = layers.Conv2D.from_config(layer.get_config())
            clone.build(layer.input.shape)
            clone.set_weights(layer.get_weights())
            clone.trainable = weights is None
            x = wrap_trunk(clone)(x)
        else:
            x = layers.MaxPooling2D.from_config(layer.get_config())(x)
    if len(latent_shape) == 1:
        stride = VGG_STRIDE
    else:
        if VGG_STRIDE % scale:
            raise ValueError(f"`data.scale` should divide {VGG_STRIDE} for train.encoder='vgg'. Received: data.scale={scale!r}")
        # The trunk is at 1/4 and Z at 1/scale: upscale by 4/scale (1 for x4,
        # where the upscaling layer keeps the resolution and only the 1x1
        # projection changes the size to Z's channels).
        stride = VGG_STRIDE // scale
    outputs = _head(x, stride, latent_shape, width, _wrapper(spectral))
    return keras.Model(images, outputs, name=name)


ENCODERS = {"conv": build_conv_encoder, "vgg": build_vgg_encoder}


def build_encoder(kind, image_shape, latent_shape, **options):
    """The encoder registered as `kind` (``train.encoder``) for these shapes.

    Raises:
        ValueError: an unknown kind, listing the registered ones.
    """
    return lookup(ENCODERS, kind, "train.encoder")(image_shape, latent_shape, **options)
