"""InfoGAN's information term: Q recovers G's codes, G makes them recoverable."""

import itertools
import math

import keras
import numpy as np
from keras import ops

from keras_attngan.core.latent import LatentSpec
from keras_attngan.networks.q_head import QHead
from keras_attngan.terms.base import Contribution, LossTerm
from keras_attngan.trainers.replicas import update_moving_average

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
# Decay of the per-step average of each sub-head's IIC information by which
# Q picks the sub-head its codes read: about the last hundred D updates.
SUBHEAD_DECAY = 0.99
# The six orders of the RGB channels, one of which `colour_jitter` gives each image.
CHANNEL_ORDERS = np.array(list(itertools.permutations(range(3))), np.int32)


def categorical_nll(logits, values):
    """Mean ``-log Q(c | x)`` of a categorical code: the cross-entropy of Q's logits."""
    return ops.mean(
        keras.losses.sparse_categorical_crossentropy(values, logits, from_logits=True)
    )


def gaussian_nll(mean, log_std, values):
    """Mean ``-log Q(c | x)`` of a continuous code under Q's Gaussian (mean, log-std).

    ``log_std + (c - mean)**2 / (2 std**2) + log(2 pi) / 2``, in nats. The
    original InfoGAN code fixes the std at 1; learning it makes the bound
    tight for codes Q recovers well (Chen et al., 2016, section 5: "we
    simply treat Q(c|x) as a factored Gaussian").
    """
    values = ops.cast(values, "float32")
    scaled = (values - mean) * ops.exp(-log_std)
    return ops.mean(log_std + 0.5 * ops.square(scaled) + HALF_LOG_TWO_PI)


def information_losses(q, categories, values):
    """(Sum of the categorical NLLs, sum of the continuous NLLs) of Q's outputs `q`."""
    categorical = sum((categorical_nll(q["logits"][n], c) for n, c in categories.items()), 0.0)
    continuous = sum(
        (gaussian_nll(q["mean"][n], q["log_std"][n], v) for n, v in values.items()), 0.0
    )
    return categorical, continuous


def clustering_information(logits):
    """``H(mean_x Q(c | x)) - mean_x H(Q(c | x))``: the information Q's categories carry about x.

    Regularized information maximization (Krause et al., 2010; as CatGAN,
    Springenberg, 2016, and IMSAT, Hu et al., 2017, train an unsupervised
    classifier): high when Q is confident on each image (low conditional
    entropy) and uses every category equally over the batch (high marginal
    entropy). In nats, between 0 and log K. The marginal is the batch's
    (each replica's under a distribution strategy), as IMSAT estimates it
    per minibatch.
    """
    logits = ops.cast(logits, "float32")
    log_p = ops.log_softmax(logits, axis=-1)
    p = ops.exp(log_p)
    conditional = ops.mean(-ops.sum(p * log_p, axis=-1))
    marginal = ops.mean(p, axis=0)
    marginal_entropy = -ops.sum(marginal * ops.log(marginal + 1e-12))
    return marginal_entropy - conditional


def invariant_information(logits, augmented_logits):
    """IIC's objective (Ji et al., 2019, equation 3): ``I(y; y')`` of two views' assignments.

    ``P = mean_x Q(y | x) Q(y' | x')^T``, the joint distribution of the
    categories of an image x and of its augmented copy x', symmetrized; the
    information ``sum P log(P / (P_y P_y'))`` is log K when each image and its
    copy fall in the same category and the K categories are used equally, and
    0 when the two assignments are independent. Maximizing it makes the
    categories invariant to the augmentation and balanced without a separate
    entropy term. In nats.
    """
    p = ops.softmax(ops.cast(logits, "float32"), axis=-1)
    q = ops.softmax(ops.cast(augmented_logits, "float32"), axis=-1)
    joint = ops.matmul(ops.transpose(p), q) / ops.cast(ops.shape(p)[0], "float32")
    joint = ops.maximum(0.5 * (joint + ops.transpose(joint)), 1e-12)
    rows = ops.sum(joint, axis=1, keepdims=True)
    cols = ops.sum(joint, axis=0, keepdims=True)
    return ops.sum(joint * (ops.log(joint) - ops.log(rows) - ops.log(cols)))


def nuisance_transform(images, seed_generator, degrees=10.0, scale=0.1, shift=2.0, colour=False):
    """A random similarity transform per image: rotation, scale, shift (IIC's augmentation).

    Each image is rotated by up to `degrees` about its centre, scaled by a
    factor within ``1 +- scale`` and shifted by up to `shift` pixels in each
    direction, all drawn from `seed_generator` (the trainer's), read with
    bilinear interpolation and the border pixels extended outward (as
    `keras.ops.image.affine_transform` with ``fill_mode="nearest"``, written
    with gathers so that it compiles under XLA, where TensorFlow's projective
    transform kernel does not). With `colour`, `colour_jitter` follows.
    """
    draws = keras.random.uniform((ops.shape(images)[0], 4), minval=-1.0, maxval=1.0, seed=seed_generator)
    images = similarity_warp(images, draws, degrees, scale, shift)
    if colour:
        images = colour_jitter(images, keras.random.uniform((ops.shape(images)[0], 3), seed=seed_generator))
    return images


def colour_jitter(images, draws, saturation=1.0, contrast=0.5):
    """Random colour per RGB image: saturation, channel order, contrast (IIC's colour jitter).

    For data whose ink colour is a nuisance (`symbols`, `colored_digits`):
    each image moves towards its grey by up to `saturation` (1: fully grey),
    has its channels put in one of their six orders (red ink may become green
    or blue) and its contrast about its mean scaled by a factor within ``1 +-
    contrast`` (black ink may come near grey), then clipped to [-1, 1].

    Args:
        images: ``[B, H, W, 3]`` in [-1, 1].
        draws: ``[B, 3]`` in [0, 1): saturation, order, contrast.
    """
    images = ops.cast(images, "float32")
    grey = ops.mean(images, axis=-1, keepdims=True)
    kept = ops.reshape(1.0 - saturation * draws[:, 0], (-1, 1, 1, 1))
    images = grey + kept * (images - grey)
    order = ops.minimum(ops.cast(draws[:, 1] * len(CHANNEL_ORDERS), "int32"), len(CHANNEL_ORDERS) - 1)
    channels = ops.reshape(ops.take(ops.convert_to_tensor(CHANNEL_ORDERS), order, axis=0), (-1, 1, 1, 3))
    images = ops.take_along_axis(images, ops.broadcast_to(channels, ops.shape(images)), axis=-1)
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    factor = ops.reshape(1.0 + contrast * (2.0 * draws[:, 2] - 1.0), (-1, 1, 1, 1))
    return ops.clip(mean + factor * (images - mean), -1.0, 1.0)


def similarity_warp(images, draws, degrees, scale, shift):
    """`nuisance_transform`'s warp for given `draws` in [-1, 1] ``[B, 4]``.

    Per image: rotation ``draws[:, 0] * degrees``, scale ``1 + draws[:, 1] *
    scale``, shift ``draws[:, 2:] * shift`` pixels (x, y).
    """
    images = ops.cast(images, "float32")
    batch, height, width, channels = ops.shape(images)[0], images.shape[1], images.shape[2], images.shape[3]
    angle = draws[:, 0] * (math.pi * degrees / 180.0)
    factor = 1.0 + scale * draws[:, 1]
    cos, sin = [ops.reshape(v / factor, (-1, 1, 1)) for v in (ops.cos(angle), ops.sin(angle))]
    x_shift, y_shift = [ops.reshape(shift * draws[:, i], (-1, 1, 1)) for i in (2, 3)]
    rows, columns = ops.meshgrid(
        ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"), indexing="ij"
    )
    # The output pixel (x, y) reads the input at the inverse transform of it,
    # relative to the centre; outside the image, at the nearest border pixel.
    x, y = columns - (width - 1) / 2.0, rows - (height - 1) / 2.0
    source_x = ops.clip(cos * x + sin * y + (width - 1) / 2.0 - x_shift, 0.0, width - 1.0)
    source_y = ops.clip(-sin * x + cos * y + (height - 1) / 2.0 - y_shift, 0.0, height - 1.0)
    x0, y0 = ops.floor(source_x), ops.floor(source_y)
    x1, y1 = ops.minimum(x0 + 1.0, width - 1.0), ops.minimum(y0 + 1.0, height - 1.0)
    flat = ops.reshape(images, (batch, height * width, channels))

    def pixels(y, x):
        index = ops.reshape(ops.cast(y * width + x, "int32"), (batch, height * width, 1))
        return ops.reshape(ops.take_along_axis(flat, index, axis=1), (batch, height, width, channels))

    wx, wy = ops.expand_dims(source_x - x0, -1), ops.expand_dims(source_y - y0, -1)
    top = (1.0 - wx) * pixels(y0, x0) + wx * pixels(y0, x1)
    bottom = (1.0 - wx) * pixels(y1, x0) + wx * pixels(y1, x1)
    return (1.0 - wy) * top + wy * bottom


def labelled_fraction_mask(images, fraction, seed=0):
    """Which examples of a batch count as labelled: a fixed `fraction` of all images.

    An image is labelled when a fixed hash of its pixels (a seeded random
    projection, its fractional part) falls below `fraction`, so the same
    images are labelled in every epoch and on every replica without the data
    pipeline carrying a flag; the labelled share of a data set is `fraction`
    up to sampling error.

    Returns:
        float32 ``[B]`` of 0/1.
    """
    if fraction >= 1:
        return ops.ones((ops.shape(images)[0],), "float32")
    shape = tuple(int(d) for d in images.shape[1:])
    projection = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    hashed = ops.sum(ops.cast(images, "float32") * projection, axis=tuple(range(1, len(shape) + 1)))
    uniform = ops.mod(ops.abs(hashed) * 97.0, 1.0)
    return ops.cast(uniform < fraction, "float32")


@keras.saving.register_keras_serializable(package="keras_attngan")
class Information(LossTerm):
    """InfoGAN's variational mutual-information term (Chen et al., 2016, equations 4-6).

    A `QHead` on D's ``features`` predicts the codes G drew each fake from.
    ``L_I = sum_c w_c E[-log Q(c | G(z, c))]`` (cross-entropy for categorical
    codes, weight `weight_categorical`; Gaussian NLL for continuous codes,
    `weight_continuous`) joins D's loss on the fakes of each D update (it
    trains Q and the shared trunk, as in the paper, where Q shares all
    convolutional layers with D) and G's loss in every inner-loop iteration
    (it trains G to make its codes recoverable). ``info_bound = H(c) - sum
    of the unweighted NLLs`` is the paper's lower bound L_I on I(c; G(z, c)),
    reported per step.

    Supervised and semi-supervised categories: with
    `supervised_code` naming a categorical code whose K is the data's
    number of classes, D's step adds ``weight_supervised`` times the
    cross-entropy of Q on the *real* images against their labels, on a
    fixed `label_fraction` of the images (`labelled_fraction_mask`). Q then
    reads class k as code value k, and G, trained to make its code
    recoverable by that Q, draws class k when given code value k.

    Clustered categories: with `weight_clustering` > 0, D's step also
    trains Q to cluster the *real* images with each unsupervised categorical
    code, maximizing `clustering_information` (confident on each image, every
    value used equally). Unsupervised InfoGAN leaves what the categorical
    code means to G: on `digits` it split some classes over two values and
    merged others (benchmarks/README.md, *InfoGAN control*). Q's categories
    of the real data are then what the code's values must draw.

    Invariant categories: with `weight_invariant` > 0, D's step also
    maximizes, for each unsupervised categorical code, IIC's information
    between Q's categories of each real image and of a copy under a random
    rotation, scale and shift (`invariant_information`,
    `nuisance_transform`; Ji et al., 2019): the categories become what
    survives the nuisance, which for digits is the class (with
    `colour_jitter` the copies also get a random colour, so that the colour
    is a nuisance too). With `overclusters`
    > 0, Q's auxiliary overclustering head (`keras_attngan.networks.q_head.QHead`)
    is trained on the same pairs, its information added to the term's: IIC's
    way of shaping the layer the codes read. With `subheads` > 1, each
    unsupervised code has that many sub-heads (IIC's remedy for a clustering
    that settles in a poor optimum): every sub-head learns to read G's codes
    on the fakes and maximizes the invariant information on the real pairs
    (the term's is their mean), and the codes' ``logits`` (G's target, the
    bound, the accuracy) are the sub-head whose information, averaged over
    the recent D updates, is highest. Reading G's codes keeps the sub-heads'
    values aligned with G's, so a change of sub-head does not relabel them.

    Cost: one more D pass on the fakes in each D update and each G
    iteration (Q reads its own pass, as the rotation term does), and with
    supervision or clustering one on the real batch in each D update.

    Reported: ``d_info`` and ``g_info`` (the weighted terms), ``info_bound``
    (nats, at most ``info_entropy`` = H(c)), with categorical codes
    ``info_accuracy`` (Q's accuracy on the fakes' categorical codes), and
    with supervision ``q_supervised`` (the weighted real-image term) and
    ``q_accuracy`` (on the labelled real images of the batch), with
    clustering ``q_clustering`` (the weighted term) and ``q_real_information``
    (`clustering_information` on the real batch, summed over the codes),
    with invariance ``q_invariant`` (the weighted term) and
    ``q_invariant_information`` (`invariant_information` of the codes' logits,
    summed over the codes), with overclustering ``q_overcluster_information``
    (the auxiliary head's) and with sub-heads ``q_subhead`` (the selected one).

    Args:
        latent: the trainer's `keras_attngan.LatentSpec` (or its config),
            with at least one code.
        feature_dim: size of D's ``features``.
        weight_categorical, weight_continuous, weight_supervised,
            weight_clustering, weight_invariant: >= 0.
        supervised_code: name of the categorical code the labels supervise;
            "" for none.
        separate_heads: one Q hidden layer per kind of code, and the
            real-image terms stopped at D's features.
        label_fraction: in (0, 1]: the share of real images whose label is used.
        width: units of Q's hidden layer.
        overclusters: categories of Q's overclustering head for the
            invariance term (0: none; needs `weight_invariant` > 0 and an
            unsupervised categorical code).
        subheads: Q's sub-heads per unsupervised categorical code (1: one;
            more needs `weight_invariant` > 0).
        colour_jitter: the invariance term's copies also get a random
            colour (`colour_jitter`; RGB images only).
    """

    CONFIG_KEYS = {
        "weight_categorical": "info_weight_categorical",
        "weight_continuous": "info_weight_continuous",
        "weight_supervised": "info_weight_supervised",
        "weight_clustering": "info_weight_clustering",
        "weight_invariant": "info_weight_invariant",
        "supervised_code": "info_supervised_code",
        "label_fraction": "info_label_fraction",
        "width": "info_q_width",
        "separate_heads": "info_separate_heads",
        "overclusters": "info_overclusters",
        "subheads": "info_subheads",
        "colour_jitter": "info_colour_jitter",
    }
    player = "d"

    def __init__(
        self,
        latent,
        feature_dim,
        weight_categorical=1.0,
        weight_continuous=0.1,
        weight_supervised=1.0,
        weight_clustering=0.0,
        weight_invariant=0.0,
        supervised_code="",
        label_fraction=1.0,
        width=128,
        separate_heads=False,
        overclusters=0,
        subheads=1,
        colour_jitter=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent = latent if isinstance(latent, LatentSpec) else LatentSpec.from_config(latent)
        if not self.latent.code_dim:
            raise ValueError(
                "`train.terms` 'info' needs latent codes: set model.categorical_codes and/or "
                "model.continuous_codes. Received: model.categorical_codes='', "
                "model.continuous_codes=''"
            )
        for key, value in (
            ("info_weight_categorical", weight_categorical),
            ("info_weight_continuous", weight_continuous),
            ("info_weight_supervised", weight_supervised),
            ("info_weight_clustering", weight_clustering),
            ("info_weight_invariant", weight_invariant),
        ):
            if not value >= 0:
                raise ValueError(f"`train.{key}` should be >= 0. Received: train.{key}={value!r}")
        categorical = {c.name: c.num_values for c in self.latent.categorical}
        if supervised_code and supervised_code not in categorical:
            raise ValueError(
                "`train.info_supervised_code` should be '' or one of the categorical codes "
                f"{list(categorical)}. Received: train.info_supervised_code={supervised_code!r}"
            )
        if not 0 < label_fraction <= 1:
            raise ValueError(
                "`train.info_label_fraction` should be in (0, 1]. "
                f"Received: train.info_label_fraction={label_fraction!r}"
            )
        if overclusters and not (weight_invariant > 0 and self._unsupervised(supervised_code)):
            raise ValueError(
                "`train.info_overclusters` trains a head on the invariance term's pairs: it needs "
                "train.info_weight_invariant > 0 and an unsupervised categorical code. Received: "
                f"train.info_overclusters={overclusters!r}, train.info_weight_invariant={weight_invariant!r}"
            )
        if not (overclusters == int(overclusters) and overclusters >= 0):
            raise ValueError(
                "`train.info_overclusters` should be an integer >= 0 (0 = off). "
                f"Received: train.info_overclusters={overclusters!r}"
            )
        if not (subheads == int(subheads) and subheads >= 1):
            raise ValueError(
                f"`train.info_subheads` should be an integer >= 1. Received: train.info_subheads={subheads!r}"
            )
        if subheads > 1 and not (weight_invariant > 0 and self._unsupervised(supervised_code)):
            raise ValueError(
                "`train.info_subheads` picks among sub-heads by the invariance term's information: it "
                "needs train.info_weight_invariant > 0 and an unsupervised categorical code. Received: "
                f"train.info_subheads={subheads!r}, train.info_weight_invariant={weight_invariant!r}"
            )
        if subheads > 1 and supervised_code:
            # The sub-heads cover every categorical code, and only the selected one
            # would learn the labels.
            raise ValueError(
                "`train.info_subheads` > 1 needs every categorical code unsupervised: set "
                "train.info_supervised_code='' or train.info_subheads=1. Received: "
                f"train.info_subheads={subheads!r}, train.info_supervised_code={supervised_code!r}"
            )
        self.feature_dim = int(feature_dim)
        self.weight_categorical = float(weight_categorical)
        self.weight_continuous = float(weight_continuous)
        self.weight_supervised = float(weight_supervised)
        self.weight_clustering = float(weight_clustering)
        self.weight_invariant = float(weight_invariant)
        self.supervised_code = supervised_code
        self.label_fraction = float(label_fraction)
        self.width = int(width)
        self.separate_heads = bool(separate_heads)
        self.overclusters = int(overclusters)
        self.subheads = int(subheads)
        self.colour_jitter = bool(colour_jitter)
        self.q = QHead(
            feature_dim,
            categorical,
            [c.name for c in self.latent.continuous],
            width,
            separate=self.separate_heads,
            overclusters=self.overclusters,
            subheads=self.subheads,
            name="q_head",
        )
        self.built = True

    @property
    def reported(self):
        names = ["d_info", "g_info", "info_bound", "info_entropy"]
        if self.latent.categorical:
            names.append("info_accuracy")
        if self.supervised_code:
            names += ["q_supervised", "q_accuracy"]
        if self.weight_clustering and self.unsupervised_codes:
            names += ["q_clustering", "q_real_information"]
        if self.weight_invariant and self.unsupervised_codes:
            names += ["q_invariant", "q_invariant_information"]
        if self.overclusters:
            names.append("q_overcluster_information")
        if self.subheads > 1:
            names.append("q_subhead")
        return tuple(names)

    def _unsupervised(self, supervised_code):
        return [c.name for c in self.latent.categorical if c.name != supervised_code]

    @property
    def unsupervised_codes(self):
        """The categorical codes no labels supervise: those Q clusters the real images with."""
        return self._unsupervised(self.supervised_code)

    @classmethod
    def from_networks(cls, generator, discriminator, latent=None, **options):
        """A Q head sized to D's ``features`` (read from one D pass) for `latent`'s codes."""
        size, channels = discriminator.image_size, discriminator.channels
        if options.get("colour_jitter") and channels != 3:
            raise ValueError(
                "`train.info_colour_jitter` changes the colours of RGB images; these have "
                f"{channels} channel(s): set it to False. Received: train.info_colour_jitter=True"
            )
        features = discriminator(ops.zeros((1, size, size, channels)), return_attention=False)
        return cls(latent, int(features["features"].shape[-1]), **options)

    def features(self, discriminator, images):
        """D's ``features`` of `images`, in training mode as the step runs D."""
        return discriminator(images, training=True, return_attention=False)["features"]

    def predict(self, discriminator, images):
        """Q's outputs on `images` (through D's trunk)."""
        return self.q(self.features(discriminator, images))

    def fake_terms(self, discriminator, fake, codes, every_subhead=False):
        """(Weighted L_I, the bound, Q's categorical accuracy) on fakes drawn with `codes`.

        With `every_subhead` (D's step), the categorical NLL is the mean over
        Q's sub-heads, so that each learns to read G's codes; the bound and
        the accuracy are always the selected sub-head's.
        """
        categories, values = self.latent.decode(codes)
        q = self.predict(discriminator, fake)
        categorical, continuous = information_losses(q, categories, values)
        if every_subhead and "subhead_logits" in q:
            categorical = sum(
                (
                    ops.mean(ops.stack([categorical_nll(logits, categories[n]) for logits in ops.unstack(stacked)]))
                    for n, stacked in q["subhead_logits"].items()
                ),
                0.0,
            )
        weighted = self.weight_categorical * categorical + self.weight_continuous * continuous
        bound = self.latent.entropy - (categorical + continuous)
        accuracy = None
        if categories:
            correct = [
                ops.cast(ops.equal(ops.cast(ops.argmax(q["logits"][n], -1), "int32"), c), "float32")
                for n, c in categories.items()
            ]
            accuracy = ops.mean(ops.stack(correct))
        return weighted, bound, accuracy

    def fake_metrics(self, bound, accuracy):
        metrics = {"info_bound": bound, "info_entropy": ops.convert_to_tensor(self.latent.entropy)}
        if accuracy is not None:
            metrics["info_accuracy"] = accuracy
        return metrics

    def supervised(self, q_real, real, labels):
        """(Mean CE of Q's supervised code on the labelled real images, its accuracy there).

        `q_real` is Q's outputs on the real batch `real`.
        """
        labelled = labelled_fraction_mask(real, self.label_fraction)
        logits = q_real["logits"][self.supervised_code]
        labels = ops.cast(labels, "int32")
        per_example = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        count = ops.maximum(ops.sum(labelled), 1.0)
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(logits, -1), "int32"), labels), "float32")
        return ops.sum(per_example * labelled) / count, ops.sum(correct * labelled) / count

    def d_terms(self, ctx):
        # The bound is reported from G's step, on the fakes of the G it trains.
        weighted, _, _ = self.fake_terms(
            ctx["discriminator"], ctx["fake"], ctx["latent"]["codes"], every_subhead=True
        )
        losses = {"d_info": weighted}
        metrics = {}
        if self.supervised_code and ctx.get("labels") is None:
            raise ValueError(
                "`train.info_supervised_code` needs labelled data: the batches carry no "
                f"labels. Received: train.info_supervised_code={self.supervised_code!r}"
            )
        clustered = self.unsupervised_codes if self.weight_clustering or self.weight_invariant else []
        if self.supervised_code or clustered:
            # One pass on the real batch serves all three.
            features = self.features(ctx["discriminator"], ctx["real"])
            q_real = self.q(features)
            q_clustered = self.q(ops.stop_gradient(features)) if self.separate_heads else q_real
        if self.supervised_code:
            cross_entropy, q_accuracy = self.supervised(q_real, ctx["real"], ctx["labels"])
            losses["q_supervised"] = self.weight_supervised * cross_entropy
            metrics["q_accuracy"] = q_accuracy
        if clustered and self.weight_clustering:
            information = sum(clustering_information(q_clustered["logits"][n]) for n in clustered)
            losses["q_clustering"] = -self.weight_clustering * information
            metrics["q_real_information"] = information
        if clustered and self.weight_invariant:
            copies = nuisance_transform(ctx["real"], ctx["seed_generator"], colour=self.colour_jitter)
            augmented = self.features(ctx["discriminator"], ops.cast(copies, ctx["real"].dtype))
            q_augmented = self.q(ops.stop_gradient(augmented) if self.separate_heads else augmented)
            information = sum(
                invariant_information(q_clustered["logits"][n], q_augmented["logits"][n]) for n in clustered
            )
            objective = information
            if self.subheads > 1:
                objective = self._track_subheads(q_clustered, q_augmented, clustered)
                metrics["q_subhead"] = ops.cast(self.q.selected_subhead, "float32")
            overcluster = 0.0
            if self.overclusters:
                overcluster = invariant_information(q_clustered["overcluster"], q_augmented["overcluster"])
                metrics["q_overcluster_information"] = overcluster
            losses["q_invariant"] = -self.weight_invariant * (objective + overcluster)
            metrics["q_invariant_information"] = information
        return Contribution(losses, metrics)

    def _track_subheads(self, q_real, q_augmented, codes):
        """The sub-heads' mean invariant information; updates the average that selects one."""
        per_subhead = ops.stack(
            [
                sum(
                    invariant_information(ops.take(q_real["subhead_logits"][n], h, axis=0),
                                          ops.take(q_augmented["subhead_logits"][n], h, axis=0))
                    for n in codes
                )
                for h in range(self.subheads)
            ]
        )
        update_moving_average([self.q.subhead_information], [ops.stop_gradient(per_subhead)], SUBHEAD_DECAY)
        return ops.mean(per_subhead)

    def g_terms(self, ctx):
        weighted, bound, accuracy = self.fake_terms(
            ctx["discriminator"], ctx["fake"], ctx["latent"]["codes"]
        )
        return Contribution({"g_info": weighted}, self.fake_metrics(bound, accuracy))

    def get_config(self):
        config = super().get_config()
        config.update(
            latent=self.latent.get_config(),
            feature_dim=self.feature_dim,
            weight_categorical=self.weight_categorical,
            weight_continuous=self.weight_continuous,
            weight_supervised=self.weight_supervised,
            weight_clustering=self.weight_clustering,
            weight_invariant=self.weight_invariant,
            separate_heads=self.separate_heads,
            overclusters=self.overclusters,
            subheads=self.subheads,
            colour_jitter=self.colour_jitter,
            supervised_code=self.supervised_code,
            label_fraction=self.label_fraction,
            width=self.width,
        )
        return config
