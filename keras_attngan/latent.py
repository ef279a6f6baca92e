"""The latent space: what G's inputs other than the mask are sampled from."""

import keras
import numpy as np


def noise(num, latent_dim, seed):
    """The seeded z of `attngan synthesize` and `attngan evaluate`: float32 ``[num, latent_dim]``.

    NumPy, outside the graph, so that a seed names the same images in every
    process and for every exported format.
    """
    return np.random.default_rng(seed).standard_normal((num, latent_dim)).astype(np.float32)


@keras.saving.register_keras_serializable(package="keras_attngan")
class LatentSpec:
    """Describes and samples G's latent inputs.

    The noise vector z ~ N(0, I) and, for a class-conditional GAN, a class
    label drawn uniformly (the fake labels of Miyato and Koyama, 2018). The
    spec returns a dict of G inputs so that latent codes (InfoGAN, seeds
    002-003) join as new keys without changing the trainer.

    Args:
        noise_dim: size of z.
        num_classes: number of labels; > 0 adds the key ``"label"``.
    """

    def __init__(self, noise_dim, num_classes=0):
        if not isinstance(noise_dim, int) or noise_dim < 1:
            raise ValueError(
                f"`latent_dim` should be a positive integer. Received: latent_dim={noise_dim!r}"
            )
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(
                "`num_classes` should be an integer >= 0. "
                f"Received: num_classes={num_classes!r}"
            )
        self.noise_dim = noise_dim
        self.num_classes = num_classes

    def sample(self, batch_size, seed):
        """Draws a batch of latent inputs.

        Args:
            batch_size: number of samples.
            seed: a `keras.random.SeedGenerator` (the owner's; all randomness
                goes through it) or an int.

        Returns:
            ``{"z": [batch_size, noise_dim] float32}``, plus ``"label"``:
            int32 ``[batch_size]`` uniform in [0, num_classes) with classes.
        """
        latent = {"z": keras.random.normal((batch_size, self.noise_dim), seed=seed)}
        if self.num_classes:
            latent["label"] = keras.random.randint(
                (batch_size,), 0, self.num_classes, dtype="int32", seed=seed
            )
        return latent

    def get_config(self):
        return {"noise_dim": self.noise_dim, "num_classes": self.num_classes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
