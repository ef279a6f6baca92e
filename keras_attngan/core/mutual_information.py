"""Mutual-information estimators of the mask term (the mask against the change it causes).

The inner loop maximizes the mutual information between D's current mask ``s``
and the change ``dx = x_cur - x_prev`` it causes in G's output. Both are
continuous maps, read here on **cells**: the mask and the change are averaged
over ``cell_size x cell_size`` squares, so an estimator sees ``C = (S /
cell_size)**2`` numbers per mask (G's modulation and D's learned mask work at
that scale; a per-pixel bound on soft values carries next to nothing, which the
first implementation measured).

Every estimator is a layer ``estimator(mask, change) -> MutualInformation``
with its own variables (trained with G by the inner loop) and the same three
numbers, in nats per mask. ``change`` may hold fewer samples (N) than
``mask`` (B, `train.mi_pairs`): the first N masks caused the N changes, and
the other masks are further draws of the mask an estimator may use as
negatives (InfoNCE with ``negatives="masks"``); the others ignore them.

- ``loss``: what G (weighted by ``lambda_mi``) and the estimator minimize;
- ``bound``: a lower bound on the mutual information (for ``barber_agakov``,
  on the sum over cells of per-cell mutual informations);
- ``ceiling``: the most the bound can reach, so ``bound / ceiling`` reads as
  the fraction of the attainable information carried.

`MI_ESTIMATORS` is the registry; `get_mi_estimator` builds one by name.
"""

import math
from typing import NamedTuple

import keras
import tensorflow as tf
from keras import layers, ops

from keras_attngan.core.registry import lookup


class MutualInformation(NamedTuple):
    """The MI term of one inner-loop iteration (all in nats per mask)."""

    loss: object
    bound: object
    ceiling: object


def to_cells(maps, cell_size):
    """Averages ``[B, S, S, C]`` maps over cells and flattens: ``[B, (S / cell_size)**2]``.

    Channels are averaged too (a change is a change in any colour).
    """
    maps = ops.mean(ops.cast(maps, "float32"), axis=-1, keepdims=True)
    if cell_size > 1:
        maps = ops.average_pool(maps, cell_size, strides=cell_size)
    return ops.reshape(maps, (ops.shape(maps)[0], -1))


def standardize(values):
    """Zero mean, unit variance over the last axis; a flat row stays zero."""
    centred = values - ops.mean(values, axis=-1, keepdims=True)
    # The epsilon sits inside the square root: sqrt's gradient at an exactly
    # flat row (no change at all) would be infinite, and 0 * inf is NaN.
    scale = ops.sqrt(ops.mean(ops.square(centred), axis=-1, keepdims=True) + 1e-12)
    return centred / scale


def _change_network(width, outputs, name):
    """A small fully convolutional net read by the learned critics (7x7 receptive field)."""
    return keras.Sequential(
        [
            layers.Conv2D(width, 3, padding="same", name="conv_0"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(width, 3, padding="same", dilation_rate=2, name="conv_1"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(outputs, 1, dtype="float32", name="out"),
        ],
        name=name,
    )


class MIEstimator(layers.Layer):
    """Base of the estimators: cells, validation and config.

    Args:
        cell_size: side of the square cells both maps are averaged over.
        width: hidden channels of a learned network on the change.
    """

    def __init__(self, cell_size=8, width=16, **kwargs):
        # float32 under any global policy: a bound is a log-sum-exp of
        # differences of scores, which bfloat16's 8 bits of mantissa blur, and
        # a bfloat16 layer would cast its float32 inputs (masks) down.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not isinstance(cell_size, int) or cell_size < 1:
            raise ValueError(
                f"`cell_size` should be an integer >= 1. Received: cell_size={cell_size!r}"
            )
        self.cell_size = cell_size
        self.width = width

    #: The smallest batch the estimator works with.
    min_batch_size = 1
    #: What the estimator reads beside the mask: ``"change"`` (G's change
    #: ``dx``) or ``"attention"`` (D's mask of G's new image).
    reads = "change"
    #: Constructor argument -> key of the `model` config section that sets it.
    CONFIG_KEYS = {}

    def build(self, mask_shape, change_shape):
        self._shapes = (tuple(mask_shape), tuple(change_shape))
        self.built = True

    def get_build_config(self):
        # Built by `build_mi_estimator`, not by a first call, so the shapes
        # are recorded here for `.keras` save / load.
        return {"mask_shape": self._shapes[0], "change_shape": self._shapes[1]}

    def build_from_config(self, config):
        self.build(config["mask_shape"], config["change_shape"])

    def get_config(self):
        config = super().get_config()
        config.update(cell_size=self.cell_size, width=self.width)
        return config


@keras.saving.register_keras_serializable(package="keras_attngan")
class InfoNCE(MIEstimator):
    """InfoNCE (van den Oord et al., 2018): which change in the batch did my mask cause?

    For a batch of pairs ``(s_i, dx_i)`` and a critic ``f``,
    ``I(s; dx) >= log B - E_i[-log softmax_j f(s_i, dx_j)]_{j=i}`` for any
    critic (Poole et al., 2019), so the bound needs no entropy of the mask and
    its ceiling is ``log B``.

    The critic is ``f(s, dx) = t * <u(s), v(dx)> / C``, a scaled correlation
    over the C cells, with ``u`` the standardized cell mask, ``v`` the
    standardized cell map of the change, and ``t = exp(log_t)`` a learned
    temperature (clipped to ``max_temperature``). `critic` chooses ``v``:

    - ``"locality"`` (default): the cell mean of ``|dx|``. The critic is then
      monotone in the change's magnitude: G raises the bound only by changing
      its output *where its own mask is high* and not where other samples'
      masks are, i.e. by following the map D gives it. Nothing but ``t`` is
      learned, so the bound cannot be met by reading the sample's identity
      from ``dx``.
    - ``"learned"``: a small convolutional network of ``dx``. More general
      (any sign, any feature of the change), and so blind to whether the
      change sits where D looked.

    `negatives` chooses the softmax's candidates (both bound the same
    information, Poole et al., 2019):

    - ``"changes"`` (default): each mask against the N changes, "which
      change did my mask cause?"; ceiling ``log N``;
    - ``"masks"``: each change against all B masks, "which mask caused my
      change?"; ceiling ``log B``. When only N < B samples have a change
      (`train.mi_pairs`), the other masks still serve as negatives, so the
      bound keeps the whole batch's ceiling at no extra G pass.

    Args:
        critic: ``"locality"`` or ``"learned"``.
        negatives: ``"changes"`` or ``"masks"``.
        max_temperature: upper clip of ``t``; the correlation lies in [-1, 1],
            so the scores lie in [-t, t].
        **kwargs: `MIEstimator` arguments.
    """

    CRITICS = ("locality", "learned")
    NEGATIVES = ("changes", "masks")
    CONFIG_KEYS = {"critic": "mi_critic", "negatives": "mi_negatives"}
    min_batch_size = 2

    def __init__(self, critic="locality", max_temperature=50.0, negatives="changes", **kwargs):
        super().__init__(**kwargs)
        if critic not in self.CRITICS:
            raise ValueError(
                f"`critic` should be one of {list(self.CRITICS)}. Received: critic={critic!r}"
            )
        if negatives not in self.NEGATIVES:
            raise ValueError(
                f"`negatives` should be one of {list(self.NEGATIVES)}. "
                f"Received: negatives={negatives!r}"
            )
        self.critic = critic
        self.negatives = negatives
        self.max_temperature = max_temperature
        self.change_network = (
            _change_network(self.width, 1, "critic") if critic == "learned" else None
        )

    #: ``log t = TEMPERATURE_RATE * variable``: the temperature moves this
    #: many times faster than the inner loop's learning rate, so it follows
    #: the signal within tens of steps, not thousands.
    TEMPERATURE_RATE = 100.0

    def build(self, mask_shape, change_shape):
        # Starts at t = 5: a perfect match (correlation 1 against 0) then
        # wins its row with clearly more than chance.
        self.log_temperature = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(math.log(5.0) / self.TEMPERATURE_RATE),
            name="log_temperature",
        )
        if self.change_network is not None:
            self.change_network.build(change_shape)
        super().build(mask_shape, change_shape)

    def temperature(self):
        return ops.minimum(
            ops.exp(self.TEMPERATURE_RATE * self.log_temperature), self.max_temperature
        )

    def correlations(self, mask, change):
        """``[B, N]``: the critic's correlation of mask i with change j, before the temperature."""
        u = standardize(to_cells(mask, self.cell_size))
        if self.change_network is None:
            # |dx|, not a smoothed sqrt(dx^2 + eps): its gradient is +-1 for
            # any change however small, so a G that barely uses the mask yet
            # still learns where to put its change.
            magnitude = ops.abs(ops.cast(change, "float32"))
        else:
            magnitude = self.change_network(change)
        v = standardize(to_cells(magnitude, self.cell_size))
        return ops.matmul(u, ops.transpose(v)) / ops.cast(ops.shape(u)[1], "float32")

    @staticmethod
    def bound_at(correlations, temperature, negatives="changes"):
        """The InfoNCE term for a ``[B, N]`` correlation matrix (mask i, change j).

        Mask i matches change i. With ``negatives="changes"`` (square, B =
        N) row i is mask i against every change; with ``"masks"`` column j
        is change j against every mask.
        """
        scores = temperature * correlations
        axis = 1 if negatives == "changes" else 0
        loss = ops.mean(ops.logsumexp(scores, axis=axis) - ops.diagonal(scores))
        ceiling = ops.log(ops.cast(ops.shape(correlations)[axis], "float32"))
        return MutualInformation(loss, ceiling - loss, ceiling)

    def call(self, mask, change):
        if self.negatives == "changes":
            mask = mask[: ops.shape(change)[0]]
        return self.bound_at(self.correlations(mask, change), self.temperature(), self.negatives)

    def get_config(self):
        config = super().get_config()
        config.update(
            critic=self.critic, max_temperature=self.max_temperature, negatives=self.negatives
        )
        return config


@keras.saving.register_keras_serializable(package="keras_attngan")
class BarberAgakov(MIEstimator):
    """Barber & Agakov (2003) with a continuous Q: ``I(s; dx) >= H(s) + E[log q(s | dx)]``.

    Per cell c, Q predicts the cell's mask value from the change with a
    logistic distribution of learned location and scale, truncated to [0, 1]
    (a Gaussian-like continuous density on the mask's range; logistic
    because its CDF is a sigmoid). The mask value is read at ``levels``
    levels (the resolution at which a mask value is worth telling apart), so
    ``q`` is the truncated logistic's probability of the observed level's
    interval (a discretized logistic as in Salimans et al., 2017, PixelCNN++,
    renormalized on [0, 1] so that a flat Q spreads its mass evenly instead of
    parking it on the two outer levels), and ``H(s_c)`` is the plug-in
    entropy of the batch's levels. Summing the per-cell bounds gives

        bound = sum_c H(s_c) - E[-sum_c log q(s_c | dx)]  <=  ceiling = sum_c H(s_c),

    a lower bound on ``sum_c I(s_c; dx)`` (per-cell informations, which count
    information shared by cells once per cell). Only the cross-entropy depends
    on G and Q: it is the loss. ``ceiling`` is zero when every sample's cell
    falls in the same level: masks that do not differ between images carry
    nothing to inform.

    Args:
        levels: number of equal intervals of [0, 1] a mask value is read at.
        **kwargs: `MIEstimator` arguments.
    """

    CONFIG_KEYS = {"levels": "mi_levels"}

    def __init__(self, levels=8, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(levels, int) or levels < 2:
            raise ValueError(f"`levels` should be an integer >= 2. Received: levels={levels!r}")
        self.levels = levels
        self.change_network = _change_network(self.width, 2, "q") if self.reads == "change" else None

    def build(self, mask_shape, change_shape):
        if self.change_network is not None:
            self.change_network.build(change_shape)
        super().build(mask_shape, change_shape)

    def decoder(self, change):
        """Q's per-cell location in [0, 1] and log scale, each ``[N, cells]``."""
        parameters = self.change_network(change)
        location = ops.sigmoid(to_cells(parameters[..., :1], self.cell_size))
        # Smoothly bounded to [-6, 0] (a hard clip would stop the gradient
        # for good once the network overshoots): scales from 0.0025 to 1.
        log_scale = -6.0 * ops.sigmoid(to_cells(parameters[..., 1:], self.cell_size))
        return location, log_scale

    def call(self, mask, change):
        levels = float(self.levels)
        cells = to_cells(mask[: ops.shape(change)[0]], self.cell_size)
        level = ops.clip(ops.floor(cells * levels), 0.0, levels - 1.0)
        location, log_scale = self.decoder(change)
        inverse_scale = ops.exp(-log_scale)
        upper = ((level + 1.0) / levels - location) * inverse_scale
        lower = (level / levels - location) * inverse_scale
        # Truncated to [0, 1]: the levels' probabilities sum to 1.
        log_q = _log_sigmoid_difference(upper, lower) - _log_sigmoid_difference(
            (1.0 - location) * inverse_scale, -location * inverse_scale
        )
        cross_entropy = -ops.mean(ops.sum(log_q, axis=1))
        frequencies = ops.mean(
            ops.one_hot(ops.cast(level, "int32"), self.levels, dtype="float32"), axis=0
        )
        entropy = -ops.sum(frequencies * ops.log(ops.maximum(frequencies, 1e-12)))
        return MutualInformation(cross_entropy, entropy - cross_entropy, entropy)

    def get_config(self):
        config = super().get_config()
        config.update(levels=self.levels)
        return config


@keras.saving.register_keras_serializable(package="keras_attngan")
class Alignment(BarberAgakov):
    """Barber & Agakov's bound with D's attention as the decoder: does D see the mask G was given?

    EqGAN-SA (Wang et al., 2022, "Improving GAN Equilibrium by Raising
    Spatial Awareness") feeds G a spatial map and trains G so that D's
    Grad-CAM on the result matches it. In the seed's terms that is a
    mutual-information bound between the mask ``s`` G received and D's mask
    ``a`` of the image G drew with it: ``I(s; a) >= H(s) + E[log q(s | a)]``,
    with q read off D's attention instead of a network of the change. Per
    cell, q is `BarberAgakov`'s truncated, discretized logistic with its
    location at D's attention on that cell, calibrated by a learned monotone
    map ``sigmoid(w * logit(a) + b)`` (identity at the start), and one
    learned scale: only these three numbers are the estimator's, so the
    bound rises only where D's own attention recovers the mask. G's gradient
    reaches it through D's attention on G's image (D is not updated in G's
    step), which is what makes G draw what D attends to where the mask
    points. ``bound`` and ``ceiling`` are `BarberAgakov`'s, in nats per mask.

    Args:
        levels: number of equal intervals of [0, 1] a mask value is read at.
        **kwargs: `MIEstimator` arguments (``width`` is unused).
    """

    reads = "attention"

    def __init__(self, levels=8, **kwargs):
        super().__init__(levels=levels, **kwargs)
        # (w, b) of the calibration; the scale's logit.
        self.calibration = self.add_weight(
            shape=(2,), initializer=keras.initializers.Constant([1.0, 0.0]), name="calibration"
        )
        self.scale_logit = self.add_weight(shape=(), initializer="zeros", name="scale_logit")

    def decoder(self, attention):
        cells = ops.clip(to_cells(attention, self.cell_size), 1e-4, 1.0 - 1e-4)
        logit = ops.log(cells) - ops.log1p(-cells)
        location = ops.sigmoid(self.calibration[0] * logit + self.calibration[1])
        log_scale = -6.0 * ops.sigmoid(self.scale_logit) * ops.ones_like(location)
        return location, log_scale


def _log_sigmoid_difference(a, b):
    """``log(sigmoid(a) - sigmoid(b))`` for ``a > b``, stable in both tails.

    ``sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(b - a))``.
    """
    return (
        -ops.softplus(-a) - ops.softplus(b) + ops.log(-ops.expm1(ops.minimum(b - a, -1e-6)))
    )


MI_ESTIMATORS = {"infonce": InfoNCE, "barber_agakov": BarberAgakov, "alignment": Alignment}


def _norm(gradient):
    """The gradient's norm over the global batch.

    Under a `tf.distribute` strategy each replica holds its slice of the
    batch: the squares are summed over the replicas, so every replica uses
    the weight one device would compute (each replica's loss is the mean of
    its slice; the common 1 / replicas factor cancels in the ratio).
    """
    squares = ops.sum(ops.square(ops.cast(gradient, "float32")))
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        squares = context.all_reduce("sum", squares)
    return ops.sqrt(squares)


def fixed_weight(lambda_mi, adversarial_gradient, mi_gradient):
    """The MI term's weight in G's loss is `lambda_mi` itself (the gradients are not read)."""
    del adversarial_gradient, mi_gradient
    return ops.convert_to_tensor(lambda_mi, "float32")


def balanced_weight(lambda_mi, adversarial_gradient, mi_gradient):
    """A weight that gives the MI term `lambda_mi` times the adversarial loss's pull on G.

    The locality critic standardizes ``|dx|``, so the bound is blind to the
    change's scale and its gradient grows as ``1 / |dx|``; with the learned
    temperature on top, a fixed weight let it outweigh the adversarial loss
    in G's own layers, most of all on the mask modulations
    (`benchmarks/mi_gradients.py`), and G's FID stopped improving
    (docs/design.md, note 2e, has the measurements). Here the weight is ``lambda_mi * |dL_adv / dx| / |dL_mi / d(dx)|``,
    the ratio of the two gradients' norms at G's output (the change's
    gradient reaches both of its G passes), held constant (no gradient), as
    VQGAN's adaptive weight balances its GAN loss (Esser et al., 2021) but at
    the image. The trainer has both gradients anyway (it differentiates G
    once, from its output: `AttnGAN._generator_gradients`), so the weight
    costs two norms.
    Early in training, while G's output hardly depends on the mask, the MI
    gradient is near zero and the weight very large (the `mi_weight` scalar
    reads 1e6 or more in the first steps); the weighted gradient is still
    `lambda_mi` times the adversarial one. Where the MI gradient is exactly
    zero (G ignores the mask: its modulation starts at zero; an all-zero
    Grad-CAM mask) there is nothing to weigh, and the weight is 0 rather
    than the adversarial norm over a division guard.

    Args:
        lambda_mi: the MI term's share of G's gradient at its output.
        adversarial_gradient: G's loss's gradient with respect to G's output
            (the adversarial loss and any loss terms).
        mi_gradient: the MI loss's gradient with respect to G's output (for
            an estimator of the change ``dx``, its gradient at ``dx`` on the
            paired samples, zero on the others).
    """
    mi_norm = _norm(mi_gradient)
    ratio = ops.where(mi_norm > 0, _norm(adversarial_gradient) / ops.maximum(mi_norm, 1e-30), 0.0)
    return lambda_mi * ops.stop_gradient(ratio)


# How the MI term is weighted in G's loss: ``fn(lambda_mi, adversarial_gradient,
# mi_gradient) -> weight``, from the two gradients at G's output.
MI_WEIGHTINGS = {"fixed": fixed_weight, "balanced": balanced_weight}


def build_mi_estimator(kind, image_size, channels, **kwargs):
    """Builds (weights included) the estimator registered as `kind`.

    Args:
        kind: a key of `MI_ESTIMATORS`.
        image_size: side of the masks and images.
        channels: image channels.
        **kwargs: the estimator's arguments (``cell_size``, ``width``, ...).

    Raises:
        ValueError: listing the registered names when `kind` is unknown, or
            when ``cell_size`` does not divide `image_size`.
    """
    estimator = lookup(MI_ESTIMATORS, kind, "mi_estimator")(**kwargs)
    if image_size % estimator.cell_size:
        raise ValueError(
            f"`cell_size` should divide the image size {image_size}. "
            f"Received: cell_size={estimator.cell_size}"
        )
    estimator.build((None, image_size, image_size, 1), (None, image_size, image_size, channels))
    return estimator
