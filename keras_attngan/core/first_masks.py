"""Where the inner loop's first mask comes from (`model.first_mask`; docs/method.md).

The recurrence ``x_k = G(z, s_k)``, ``s_{k+1} = D(x_k)``'s attention needs a
first mask ``s_1``. Each entry of `FIRST_MASKS` gives it with one interface,
``first_mask(latent, size, draw) -> (s_1, x_0 or None)``, where ``draw(mask)``
is one step of the recurrence, ``(G(z, mask), D's attention on it)``, which a
first mask may call or not:

- ``"recurrence"`` (the seed's method): ``s_1`` is D's attention on ``x_0 =
  G(z, 1)``, the image drawn with the uniform mask. It costs one G and one D
  forward pass per batch, at training and at serving time.
- ``"blobs"``: ``s_1`` is drawn from a prior of Gaussian blobs (one, two or
  four, at random centres and widths), as EqGAN-SA feeds its generator
  random heatmaps (Wang et al., 2022, "Improving GAN Equilibrium by Raising
  Spatial Awareness"). It needs neither pass. The prior draws its blobs from
  uniform numbers, the latent input ``"prior"`` (`LatentSpec`'s
  ``prior_dim``, `noise_dim` here): drawn with z during training, an input
  of the export's ``serving_default`` (and drawn by ``sample``), so the same
  request gives the same image in every runtime.

D's mask of a real image is not offered: serving would need a data set.
"""

from keras_attngan.core import choices

# The blob counts the prior draws from, equally often.
BLOB_COUNTS = (1, 2, 4)
# Blob widths (the Gaussian's standard deviation), as a fraction of the image side.
BLOB_WIDTHS = (0.08, 0.25)


def uniform_mask(batch_size, size):
    """The mask that weights all parts equally, where the recurrence starts."""
    from keras import ops

    return ops.ones((batch_size, size, size, 1))


class FirstMask:
    """Gives the inner loop's first mask.

    Attributes:
        name: the registry key.
        noise_dim: uniform numbers per sample the mask is drawn from (the
            latent input ``"prior"``); 0 for a mask that needs none.
    """

    name = None
    noise_dim = 0

    def __call__(self, latent, size, draw):
        """Returns ``(s_1, x_0)``: the first mask ``[B, size, size, 1]`` and the image it came from (or None).

        Args:
            latent: G's latent inputs (with ``"prior"`` when `noise_dim` > 0).
            size: the mask's side.
            draw: ``draw(mask) -> (G(z, mask), D's attention on it)``.
        """
        raise NotImplementedError


class Recurrence(FirstMask):
    """The seed's start: D's attention on the image drawn with the uniform mask."""

    name = "recurrence"

    def __call__(self, latent, size, draw):
        from keras import ops

        image, attention = draw(uniform_mask(ops.shape(latent["z"])[0], size))
        return attention, image


class Blobs(FirstMask):
    """A prior of Gaussian blobs: 1, 2 or 4 at uniform centres, each as wide as a uniform draw of `BLOB_WIDTHS`.

    Each sample's ``"prior"`` row holds the count's draw, then per blob its
    centre (x, y) and its width. The mask is the largest blob value at each
    pixel, so every blob peaks at 1 and the mask stays in [0, 1] like D's.
    """

    name = "blobs"
    noise_dim = choices.FIRST_MASKS["blobs"]

    def __call__(self, latent, size, draw):
        return blob_masks(latent["prior"], size), None


def blob_masks(noise, size):
    """The blob prior's masks ``[B, size, size, 1]`` from uniform numbers ``[B, 1 + 3 * max(BLOB_COUNTS)]``."""
    from keras import ops

    noise = ops.cast(noise, "float32")
    most = max(BLOB_COUNTS)
    count_index = ops.minimum(ops.floor(noise[:, :1] * len(BLOB_COUNTS)), len(BLOB_COUNTS) - 1)
    count = ops.take(ops.convert_to_tensor(BLOB_COUNTS, "float32"), ops.cast(count_index, "int32"))
    blobs = ops.reshape(noise[:, 1:], (-1, most, 3))
    # Blob i is drawn when i < count: [B, most].
    drawn = ops.cast(ops.arange(most, dtype="float32")[None, :] < count, "float32")
    low, high = BLOB_WIDTHS
    width = low + (high - low) * blobs[:, :, 2]
    # Pixel centres in [0, 1]: [size].
    grid = (ops.arange(size, dtype="float32") + 0.5) / size
    dy = grid[None, None, :, None] - blobs[:, :, 1, None, None]
    dx = grid[None, None, None, :] - blobs[:, :, 0, None, None]
    heat = ops.exp(-(dx**2 + dy**2) / (2.0 * width[:, :, None, None] ** 2))
    mask = ops.max(heat * drawn[:, :, None, None], axis=1)
    return mask[..., None]


FIRST_MASKS = {cls.name: cls for cls in (Recurrence, Blobs)}
