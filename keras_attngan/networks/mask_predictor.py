"""Q(s | dx): the variational distribution of the mask mutual-information term."""

import keras
from keras import layers


def build_mask_predictor(image_size, channels, width=16, name="mask_predictor"):
    """Builds Q, which predicts D's mask from the change it caused in G's output.

    Seed 000, claims 4-5: the mutual information between the current mask and
    ``dx = x_cur - x_prev`` is bounded below through a variational Q
    (see `keras_attngan.regularizers.mask_mutual_information`). G's mask
    modulation acts locally, so Q is a small fully convolutional network whose
    receptive field (7x7, via a dilated middle layer) covers the footprint of
    one modulation cell at input resolution; it returns per-pixel Bernoulli
    logits.

    Args:
        image_size: height and width of the images.
        channels: image channels.
        width: hidden channels.
        name: model name.

    Returns:
        A `keras.Model` from ``[B, S, S, channels]`` to logits ``[B, S, S, 1]``.
    """
    change = keras.Input((image_size, image_size, channels), name="change")
    x = layers.Conv2D(width, 3, padding="same", name="conv_0")(change)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(width, 3, padding="same", dilation_rate=2, name="conv_1")(x)
    x = layers.LeakyReLU(0.2)(x)
    logits = layers.Conv2D(1, 1, dtype="float32", name="logits")(x)
    return keras.Model(change, logits, name=name)
