"""The mask recurrence: G draws, D looks, D's attention is G's next mask (docs/method.md).

Free functions over G and D, shared by the trainers, the export and the
callbacks: ``x_0 = G(z, 1)``, ``s_k = D(x_{k-1})``'s attention, ``x_k = G(z, s_k)``.
"""

from keras import ops

from keras_attngan.core.first_masks import Recurrence, uniform_mask
from keras_attngan.core.latent import generator_inputs


def generate(generator, latent, mask, training=False):
    """``x = G(z, s)``, or ``G(z)`` without a mask source (`mask` None)."""
    latent = generator_inputs(latent)
    return generator(latent if mask is None else {**latent, "mask": mask}, training=training)


def generate_pair(generator, latent, mask_a, mask_b, pairs=None, training=False):
    """``(G(z, s_a), G(z, s_b))`` from one G call, the first on only `pairs` samples.

    The inner loop's change ``G(z, s) - G(z, s_prev)`` must be what the mask
    changes in the exported G. In training mode batch normalization
    normalizes each call by its own batch: two calls subtract from each
    output its own batch's mean mask effect, so their difference keeps only
    how each sample's mask departs from the batch's, and G learned to carry
    the mutual information there. It vanished in inference mode, where the
    moving statistics subtract nothing per batch (`benchmarks/batch_statistics.py`
    measures the bound in both modes; docs/design.md, note 2c). One call
    normalizes both parts alike, as inference does.

    Args:
        pairs: how many samples (the first) get ``G(z, s_a)``; None: all.
            Every sample gets ``G(z, s_b)``. Fewer pairs cost less: each
            is a G forward and backward pass more for one sample.

    Returns:
        ``G(z[:pairs], s_a[:pairs])`` and ``G(z, s_b)``.
    """
    first = slice(None) if pairs is None else slice(None, pairs)
    both = {
        key: ops.concatenate([value[first], value], axis=0) for key, value in generator_inputs(latent).items()
    }
    both["mask"] = ops.concatenate([mask_a[first], ops.cast(mask_b, mask_a.dtype)], axis=0)
    images = generator(both, training=training)
    split = ops.shape(mask_a[first])[0]
    return images[:split], images[split:]


def mask_step(generator, discriminator, latent, mask, training=False):
    """One step of the recurrence: ``x = G(z, s)`` and D's outputs on x.

    A class-conditional D judges x as an image of the class G drew it for
    (``latent["label"]``).

    D's attention on x is the next step's mask, so a step costs one
    G pass and one D pass, and the train step reads the same D outputs for
    G's adversarial loss. Without a mask source (`mask` None) D returns no
    attention.

    Returns:
        (x, D's outputs on x).
    """
    images = generate(generator, latent, mask, training)
    outputs = discriminator(
        images,
        training=training,
        return_attention=mask is not None,
        **labelled(latent.get("label")),
    )
    return images, outputs


def synthesize(generator, discriminator, latent, steps, training=False, first_mask=None):
    """Synthesizes images the way the inner loop trains G to.

    ``s_1`` is the first mask (`keras_attngan.core.first_masks`; the seed's:
    D's attention on ``x_0 = G(z, uniform mask)``), then for k = 1..steps
    ``x_k = G(z, s_k)`` and, but for the last, ``s_{k+1} = D(x_k)``'s
    attention. With mask source ``none`` this is ``G(z)``.

    Args:
        generator: G.
        discriminator: D.
        latent: dict of G's latent inputs, e.g. ``{"z": z}`` (and
            ``"prior"`` for a first mask drawn from a prior).
        steps: number of mask refinements K (0 gives the uniform-mask image).
        training: Keras training flag for both networks.
        first_mask: a `keras_attngan.core.first_masks.FirstMask`; None is the
            seed's recurrence.

    Returns:
        ``{"images": x_K, "masks": [B, K, S, S, 1] (s_1..s_K),
        "trajectory": [B, K + 1, S, S, C] (x_0..x_K)}``; without a mask
        source, masks and trajectory hold only what exists (no masks); a
        first mask from a prior draws no ``x_0``, so its trajectory is
        ``x_1..x_K``.
    """
    if not discriminator.mask_source.uses_mask:
        images = generate(generator, latent, None, training)
        return {"images": images, "trajectory": images[:, None]}
    if steps == 0:
        mask = uniform_mask(ops.shape(latent["z"])[0], discriminator.image_size)
        images = generate(generator, latent, mask, training)
        return {"images": images, "trajectory": images[:, None]}

    def draw(mask):
        images, outputs = mask_step(generator, discriminator, latent, mask, training)
        return images, outputs["attention"]

    mask, first_image = (first_mask or Recurrence())(latent, discriminator.image_size, draw)
    masks, trajectory = [mask], [] if first_image is None else [first_image]
    for _ in range(steps - 1):
        images, mask = draw(mask)
        masks.append(mask)
        trajectory.append(images)
    # x_K: D's verdict on the last image is not needed.
    images = generate(generator, latent, mask, training)
    trajectory.append(images)
    return {"images": images, "trajectory": ops.stack(trajectory, axis=1), "masks": ops.stack(masks, axis=1)}


def labelled(labels):
    """D's keyword arguments for `labels` (None: an unconditional D keeps its label-free call)."""
    return {} if labels is None else {"labels": labels}


def joined(first, second):
    """Two batches' labels as one batch's; None for an unconditional GAN."""
    return None if first is None else ops.concatenate([first, second], axis=0)



class LabelledDiscriminator:
    """D with a batch's labels bound, for code that calls D on images alone (penalties).

    Every attribute is D's; a call passes the bound labels (None for an
    unconditional D).
    """

    def __init__(self, discriminator, labels):
        self._discriminator = discriminator
        self._labels = labels

    def __call__(self, images, **kwargs):
        return self._discriminator(images, **labelled(self._labels), **kwargs)

    def __getattr__(self, name):
        return getattr(self._discriminator, name)

