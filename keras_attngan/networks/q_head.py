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
    With `separate`, the categorical and the continuous codes each read D's
    features through a hidden layer of their own, so that what trains the
    categories alone (a clustering of the real images) leaves the continuous
    codes' layer as their own loss makes it. With `overclusters`, the
    categorical layer also feeds an auxiliary head of that many categories,
    IIC's overclustering head (Ji et al., 2019): trained on the same pairs
    of views, it asks the shared layer for finer invariant groups than the
    codes' K, which the codes' heads then read. With `subheads` > 1, the
    categorical codes get that many output layers on the same hidden layer,
    IIC's sub-heads: each may settle on a different clustering, and
    ``logits`` are the sub-head with the highest ``subhead_information``
    (an average the `Information` term keeps of each sub-head's IIC
    information), so that the codes follow the clustering that keeps the
    most information without a label choosing it.

    Args:
        feature_dim: size of D's ``features``.
        categorical: ``{name: K}`` of the categorical codes.
        continuous: names of the continuous codes.
        width: units of the hidden layer (of each, with `separate`).
        separate: one hidden layer per kind of code instead of a shared one.
        overclusters: categories of the auxiliary head (0: none).
        subheads: output layers of the categorical codes (1: one).

    Call returns:
        ``{"logits": {name: [B, K]}, "mean": {name: [B]}, "log_std": {name: [B]}}``,
        with `overclusters` also ``"overcluster": [B, overclusters]``, with
        `subheads` > 1 also ``"subhead_logits": {name: [subheads, B, K]}``
        (``logits`` is the selected one of them).
    """

    def __init__(
        self, feature_dim, categorical, continuous, width=128, separate=False, overclusters=0, subheads=1, **kwargs
    ):
        super().__init__(dtype="float32", **{k: v for k, v in kwargs.items() if k != "dtype"})
        self.feature_dim = int(feature_dim)
        self.categorical = dict(categorical)
        self.continuous = list(continuous)
        self.width = int(width)
        self.separate = bool(separate)
        self.overclusters = int(overclusters)
        self.subheads = int(subheads)
        categorical_outputs = sum(self.categorical.values())
        continuous_outputs = 2 * len(self.continuous)
        # The shared layers keep their names and attributes (checkpoints read them).
        shared_outputs = categorical_outputs if self.separate else categorical_outputs + continuous_outputs
        self.hidden, self.out = self._branch("q_hidden", "q_out", shared_outputs)
        self.hidden_continuous = self.out_continuous = None
        if self.separate:
            self.hidden_continuous, self.out_continuous = self._branch(
                "q_continuous_hidden", "q_continuous_out", continuous_outputs
            )
        self.out_overcluster = None
        if self.overclusters:
            self.out_overcluster = layers.Dense(self.overclusters, dtype="float32", name="q_overcluster_out")
            self.out_overcluster.build((None, self.width))
        self.out_subheads, self.subhead_information = [], None
        if self.subheads > 1:
            for index in range(1, self.subheads):
                out = layers.Dense(categorical_outputs, dtype="float32", name=f"q_subhead_out_{index}")
                out.build((None, self.width))
                self.out_subheads.append(out)
            self.subhead_information = self.add_weight(
                shape=(self.subheads,), initializer="zeros", trainable=False, name="subhead_information"
            )
        self.built = True

    @property
    def selected_subhead(self):
        """Index of the sub-head whose logits are ``logits`` (0 with one)."""
        if self.subhead_information is None:
            return ops.convert_to_tensor(0, "int32")
        return ops.cast(ops.argmax(self.subhead_information), "int32")

    def _branch(self, hidden_name, out_name, outputs):
        """A built (hidden, out) pair of Dense layers; (None, None) for no outputs."""
        if not outputs:
            return None, None
        hidden = layers.Dense(self.width, dtype="float32", name=hidden_name)
        hidden.build((None, self.feature_dim))
        out = layers.Dense(outputs, dtype="float32", name=out_name)
        out.build((None, self.width))
        return hidden, out

    def call(self, features):
        features = ops.cast(features, "float32")
        branches = [(self.hidden, self.out), (self.hidden_continuous, self.out_continuous)]
        activations = [(ops.leaky_relu(hidden(features), 0.2), out) for hidden, out in branches if hidden is not None]
        flat = ops.concatenate([out(activation) for activation, out in activations], axis=-1)
        result, start = {"logits": {}, "mean": {}, "log_std": {}}, 0
        if self.out_overcluster is not None:
            # The first layer is the categorical codes' (or the shared one).
            result["overcluster"] = self.out_overcluster(activations[0][0])
        subhead_flats = [out(activations[0][0]) for out in self.out_subheads]
        if subhead_flats:
            result["subhead_logits"] = {}
        for name, size in self.categorical.items():
            result["logits"][name] = flat[:, start : start + size]
            if subhead_flats:
                stacked = ops.stack([result["logits"][name]] + [f[:, start : start + size] for f in subhead_flats])
                result["subhead_logits"][name] = stacked
                result["logits"][name] = ops.take(stacked, self.selected_subhead, axis=0)
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
            separate=self.separate,
            overclusters=self.overclusters,
            subheads=self.subheads,
        )
        return config
