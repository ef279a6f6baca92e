"""SS-GAN's rotation term: D's features predict by how much its input was rotated."""

import keras
from keras import layers, ops

from keras_attngan.terms.base import Contribution, LossTerm

NUM_ROTATIONS = 4


def rotations(images):
    """The batch rotated by 0, 90, 180 and 270 degrees, and the rotation of each image.

    Returns:
        (``[4B, S, S, C]``: all images at 0 degrees, then all at 90, ...;
        labels ``[4B]`` in 0..3).
    """
    rotated = [ops.rot90(images, k=k, axes=(1, 2)) for k in range(NUM_ROTATIONS)]
    labels = ops.repeat(ops.arange(NUM_ROTATIONS, dtype="int32"), ops.shape(images)[0])
    return ops.concatenate(rotated, axis=0), labels


@keras.saving.register_keras_serializable(package="keras_attngan")
class Rotation(LossTerm):
    """The auxiliary rotation loss of SS-GAN (Chen et al., 2019, "Self-Supervised GANs
    via Auxiliary Rotation Loss", equation 2).

    A linear head on D's ``features`` classifies the rotation (0, 90, 180,
    270 degrees) of every image of a batch rotated all four ways. D's loss
    adds ``weight_d`` times the cross-entropy on rotated real images (the
    paper's beta), and G's loss ``weight_g`` times the cross-entropy on
    rotated fakes (alpha): D learns features that know which way is up on
    real images, and G is pushed to make images whose rotation those
    features recognise. The defaults are compare_gan's (``SSGAN``:
    ``weight_rotation_loss_d=1.0``, ``weight_rotation_loss_g=0.2``). The
    head trains with D, in D's step only, as in compare_gan; unlike it, every
    image of the batch is rotated (compare_gan rotates a configurable
    subset), which costs a D pass on four times the batch in each step.

    Reported: ``d_rotation`` and ``g_rotation`` (the weighted terms) and
    ``rotation_accuracy`` on real and ``rotation_accuracy_fake`` on fake
    images (chance is 0.25).

    Args:
        feature_dim: size of D's ``features``.
        weight_d: weight of the real-image rotation loss in D's loss (>= 0).
        weight_g: weight of the fake-image rotation loss in G's loss (>= 0).
    """

    CONFIG_KEYS = {"weight_d": "rotation_weight_d", "weight_g": "rotation_weight_g"}
    player = "d"
    reported = ("d_rotation", "rotation_accuracy", "g_rotation", "rotation_accuracy_fake")

    def __init__(self, feature_dim, weight_d=1.0, weight_g=0.2, **kwargs):
        super().__init__(**kwargs)
        for key, value in (("weight_d", weight_d), ("weight_g", weight_g)):
            if not value >= 0:
                raise ValueError(f"`{key}` should be >= 0. Received: {key}={value!r}")
        self.feature_dim = feature_dim
        self.weight_d = float(weight_d)
        self.weight_g = float(weight_g)
        # float32: the logits feed a softmax under mixed precision too.
        self.head = layers.Dense(NUM_ROTATIONS, dtype="float32", name="rotation_head")
        self.head.build((None, feature_dim))
        self.built = True

    @classmethod
    def from_networks(cls, generator, discriminator, latent=None, **options):
        """A rotation head sized to D's ``features`` (read from one D pass); `latent` is unused."""
        size, channels = discriminator.image_size, discriminator.channels
        features = discriminator(ops.zeros((1, size, size, channels)), return_attention=False)
        return cls(int(features["features"].shape[-1]), **options)

    def loss(self, discriminator, images):
        """(Mean cross-entropy of the rotation prediction, its accuracy) on `images`."""
        rotated, labels = rotations(images)
        features = discriminator(rotated, training=True, return_attention=False)["features"]
        logits = self.head(ops.cast(features, "float32"))
        cross_entropy = ops.mean(
            keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        )
        correct = ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), labels)
        return cross_entropy, ops.mean(ops.cast(correct, "float32"))

    def d_terms(self, ctx):
        cross_entropy, accuracy = self.loss(ctx["discriminator"], ctx["real"])
        return Contribution(
            {"d_rotation": self.weight_d * cross_entropy}, {"rotation_accuracy": accuracy}
        )

    def g_terms(self, ctx):
        cross_entropy, accuracy = self.loss(ctx["discriminator"], ctx["fake"])
        return Contribution(
            {"g_rotation": self.weight_g * cross_entropy}, {"rotation_accuracy_fake": accuracy}
        )

    def get_config(self):
        config = super().get_config()
        config.update(feature_dim=self.feature_dim, weight_d=self.weight_d, weight_g=self.weight_g)
        return config
