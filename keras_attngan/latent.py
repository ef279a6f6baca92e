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

    Today the latent space is the noise vector z ~ N(0, I). The spec returns a
    dict of G inputs so that latent codes (InfoGAN, seeds 002-003) and labels
    join as new keys without changing the trainer.

    Args:
        noise_dim: size of z.
    """

    def __init__(self, noise_dim):
        if not isinstance(noise_dim, int) or noise_dim < 1:
            raise ValueError(
                f"`latent_dim` should be a positive integer. Received: latent_dim={noise_dim!r}"
            )
        self.noise_dim = noise_dim

    def sample(self, batch_size, seed):
        """Draws a batch of latent inputs.

        Args:
            batch_size: number of samples.
            seed: a `keras.random.SeedGenerator` (the owner's; all randomness
                goes through it) or an int.

        Returns:
            ``{"z": [batch_size, noise_dim] float32}``.
        """
        return {"z": keras.random.normal((batch_size, self.noise_dim), seed=seed)}

    def get_config(self):
        return {"noise_dim": self.noise_dim}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
