"""How G doubles its resolution, chosen from a registry (`UPSAMPLINGS`).

Each entry is ``fn(normalization, filters, name, use_bias) -> layer``: a
callable from ``[B, h, w, C]`` to ``[B, 2h, 2w, filters]``, built from Keras
layers so that G stays a serializable functional model, with its
convolution wrapped by G's normalization (spectral normalization).

- ``transposed``: a 4x4 transposed convolution of stride 2 (DCGAN,
  Radford et al., 2016);
- ``resize``: nearest-neighbour upsampling, then a 3x3 convolution
  (Odena et al., 2016, "Deconvolution and checkerboard artifacts"): no
  uneven overlap, so no checkerboard, and a plain convolution in every
  runtime (LiteRT's transposed convolutions are slow at batch 1,
  `benchmarks/README.md`, *Deployment*);
- ``subpixel``: a 3x3 convolution to four times the channels, then a
  depth-to-space shuffle (Shi et al., 2016): the convolution runs at the
  low resolution.

An architecture's own choice is ``default``: `keras_attngan.networks.architectures`
resolves it (``transposed`` for ``dcgan`` and ``sndcgan``, ``resize`` for
``resnet``), so the layers of existing models keep their names.
"""

from keras_attngan.core.registry import lookup
from keras_attngan.networks.layers import DepthToSpace, NearestUpsampling, convolution


def transposed(normalization, filters, name, use_bias=True):
    return convolution(normalization, filters, 4, name, strides=2, use_bias=use_bias, transpose=True)


def resize(normalization, filters, name, use_bias=True):
    upsample = NearestUpsampling(name=f"{name}_resize")
    conv = convolution(normalization, filters, 3, name, use_bias=use_bias)
    return lambda x: conv(upsample(x))


def subpixel(normalization, filters, name, use_bias=True):
    conv = convolution(normalization, 4 * filters, 3, name, use_bias=use_bias)
    shuffle = DepthToSpace(2, name=f"{name}_shuffle")
    return lambda x: shuffle(conv(x))


UPSAMPLINGS = {"transposed": transposed, "resize": resize, "subpixel": subpixel}


def get_upsampling(name):
    """The upsampling registered as `name`.

    Raises:
        ValueError: `name` is not a key of `UPSAMPLINGS` (the message lists them).
    """
    return lookup(UPSAMPLINGS, name, "g_upsampling")
