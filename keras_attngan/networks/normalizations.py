"""Normalizations of G's and D's layers, chosen from a registry (`NORMALIZATIONS`).

A normalization acts at up to two places around each weight layer (a
convolution or dense layer) of an architecture:

- ``wrap(layer)`` replaces the weight layer (spectral normalization
  reparametrizes the weights themselves);
- ``layer(name)`` is the layer applied to the weight layer's output, or
  None (batch, layer and conditional batch normalization).

Two attributes say what the rest of the library must know about it:

- ``batch_statistics``: the output of a sample depends on the others in its
  batch, so a per-example gradient penalty (`keras_attngan.core.penalties`:
  ``wgan_gp``, ``dragan``, ``r1``) is wrong in D (Gulrajani et al., 2017,
  section 4, recommend layer normalization instead);
- ``needs_labels``: the layer is called as ``layer([x, labels])`` with
  integer class labels ``[B]`` (the class-conditional generator).

The registry is a plain dict (name -> class); `get_normalization` turns a
name into an instance.
"""

import keras
from keras import layers, ops

from keras_attngan.core.registry import lookup


@keras.saving.register_keras_serializable(package="keras_attngan")
class ConditionalBatchNormalization(layers.Layer):
    """Batch normalization whose scale and shift are chosen by the class label.

    ``y = gamma[c] * (x - mean) / sqrt(var + eps) + beta[c]``: batch
    normalization without its own affine parameters, then a per-class
    ``gamma`` and ``beta`` looked up in two embeddings of the label ``c``
    (conditional batch normalization: de Vries et al., 2017, "Modulating
    early visual processing by language"; the class-conditional G of Miyato
    and Koyama, 2018, "cGANs with projection discriminator"). ``gamma``
    starts at 1 and ``beta`` at 0, so an untrained layer is plain batch
    normalization for every class.

    Args:
        num_classes: number of labels (>= 1).
        momentum: batch normalization's moving-average momentum.
        epsilon: batch normalization's variance epsilon.

    Call arguments:
        inputs: a list ``[x, labels]``; x ``[B, ..., C]``, labels integer ``[B]``.
        training: Keras training flag (batch statistics, or the moving ones).
    """

    def __init__(self, num_classes, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                "`num_classes` should be an integer >= 1. "
                f"Received: num_classes={num_classes!r}"
            )
        self.num_classes = num_classes
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape):
        features_shape, _ = input_shape
        channels = int(features_shape[-1])
        self.normalize = layers.BatchNormalization(
            momentum=self.momentum,
            epsilon=self.epsilon,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="normalize",
        )
        self.normalize.build(features_shape)
        self.gamma = layers.Embedding(
            self.num_classes, channels, embeddings_initializer="ones", name="gamma"
        )
        self.beta = layers.Embedding(
            self.num_classes, channels, embeddings_initializer="zeros", name="beta"
        )
        self.gamma.build((None,))
        self.beta.build((None,))

    def call(self, inputs, training=None):
        x, labels = inputs
        x = self.normalize(x, training=training)
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        # [B, C] -> [B, 1, ..., 1, C] to broadcast over the spatial axes.
        shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gamma = ops.reshape(ops.cast(self.gamma(labels), x.dtype), shape)
        beta = ops.reshape(ops.cast(self.beta(labels), x.dtype), shape)
        return gamma * x + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, momentum=self.momentum, epsilon=self.epsilon)
        return config


class Normalization:
    """No normalization; the interface every normalization implements (module docstring).

    Args:
        num_classes: number of labels, for the class-conditional ones.
    """

    batch_statistics = False
    needs_labels = False

    def __init__(self, num_classes=0):
        self.num_classes = num_classes

    def wrap(self, layer):
        """The weight layer to use in place of `layer`."""
        return layer

    def layer(self, name):
        """The layer applied to a weight layer's output, or None."""
        return None


class BatchNorm(Normalization):
    """Batch normalization (Ioffe and Szegedy, 2015): DCGAN's G."""

    batch_statistics = True

    def layer(self, name):
        return layers.BatchNormalization(name=name)


class LayerNorm(Normalization):
    """Layer normalization (Ba et al., 2016) over each sample's features ``[H, W, C]``.

    Per sample, so it is the normalization a D with a gradient penalty can
    use (Gulrajani et al., 2017).
    """

    def layer(self, name):
        return layers.LayerNormalization(axis=(1, 2, 3), name=name)


class SpectralNorm(Normalization):
    """Spectral normalization (Miyato et al., 2018): each weight divided by its largest singular value.

    Keras' `keras.layers.SpectralNormalization` runs one power iteration per
    training call and writes the normalized kernel back into the layer, so a
    network called with ``training=True`` keeps every layer 1-Lipschitz.
    """

    def wrap(self, layer):
        # The wrapper computes in the layer's dtype: a float32 classifier stays
        # float32 under a mixed-precision policy.
        return layers.SpectralNormalization(
            layer, dtype=layer.dtype_policy, name=f"sn_{layer.name}"
        )


class ConditionalBatchNorm(Normalization):
    """`ConditionalBatchNormalization`: per-class scale and shift (class-conditional G)."""

    batch_statistics = True
    needs_labels = True

    def __init__(self, num_classes=0):
        if num_classes < 1:
            raise ValueError(
                "`conditional_batch` normalization needs the number of classes. "
                f"Received: num_classes={num_classes!r}"
            )
        super().__init__(num_classes)

    def layer(self, name):
        return ConditionalBatchNormalization(self.num_classes, name=name)


NORMALIZATIONS = {
    "none": Normalization,
    "batch": BatchNorm,
    "layer": LayerNorm,
    "spectral": SpectralNorm,
    "conditional_batch": ConditionalBatchNorm,
}


def get_normalization(name, num_classes=0):
    """A new instance of the normalization registered as `name`.

    Raises:
        ValueError: `name` is not a key of `NORMALIZATIONS` (the message lists them).
    """
    return lookup(NORMALIZATIONS, name, "normalization")(num_classes)
