"""InfoGAN's Q head: recovers G's latent codes from D's features."""

import keras
from keras import layers, ops

# log-std is clipped to this range: a Q that drives its std to 0 on one code
# would make the Gaussian NLL (and G's gradient through it) explode.
LOG_STD_RANGE = (-5.0, 2.0)


@keras.saving.register_keras_serializable(package="keras_attngan")
class QHead(keras.layers.Layer):
    """The Q network of InfoGAN sharing D's trunk (Chen et al., 2016, section 6).

    A hidden layer (Dense, LeakyReLU 0.2, as the paper's FC-lReLU block) on
    D's ``features``, then per categorical code K logits, and per continuous
    code the mean and log-std of a factored Gaussian. Float32 throughout:
    the outputs feed softmaxes and exponentials under mixed precision too.

    Args:
        feature_dim: size of D's ``features``.
        categorical: ``{name: K}`` of the categorical codes.
        continuous: names of the continuous codes.
        width: units of the hidden layer.

    Call returns:
        ``{"logits": {name: [B, K]}, "mean": {name: [B]}, "log_std": {name: [B]}}``.
    """

    def __init__(self, feature_dim, categorical, continuous, width=128, **kwargs):
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        self.feature_dim = int(feature_dim)
        self.categorical = dict(categorical)
        self.continuous = list(continuous)
        self.width = int(width)
        self.hidden = layers.Dense(self.width, dtype="float32", name="q_hidden")
        self.hidden.build((None, self.feature_dim))
        outputs = sum(self.categorical.values()) + 2 * len(self.continuous)
        self.out = layers.Dense(outputs, dtype="float32", name="q_out")
        self.out.build((None, self.width))
        self.built = True

    def call(self, features):
        hidden = ops.leaky_relu(self.hidden(ops.cast(features, "float32")), 0.2)
        flat = self.out(hidden)
        result, start = {"logits": {}, "mean": {}, "log_std": {}}, 0
        for name, size in self.categorical.items():
            result["logits"][name] = flat[:, start : start + size]
            start += size
        for name in self.continuous:
            result["mean"][name] = flat[:, start]
            result["log_std"][name] = ops.clip(flat[:, start + 1], *LOG_STD_RANGE)
            start += 2
        return result

    def get_config(self):
        config = super().get_config()
        config.update(
            feature_dim=self.feature_dim,
            categorical=self.categorical,
            continuous=self.continuous,
            width=self.width,
        )
        return config
