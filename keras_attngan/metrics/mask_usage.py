"""Does G use what D's mask says? Content sensitivity, locality and the MI bound.

Measured from outside, through ``generate(z, mask)`` and ``explain(images)``
only (an export's signatures or the in-memory networks), on the first step of
the inner loop: ``x0 = G(z, 1)`` (uniform mask),
``s = D(x0)``'s mask, ``x1 = G(z, s)``, and ``x1' = G(z, s')`` with ``s'``
another sample's mask (the batch rolled by one, so every sample gets a mask
that is not its own):

- ``content_sensitivity = mean|x1' - x1| / mean|x1 - x0|``: how much the
  output depends on *which* mask it gets, relative to how much it depends on
  getting a mask at all. About 0 for a G that reads the mask as an on/off
  switch; about 1 or more for one that reads it as a map.
- ``locality_gain = mean_i corr(|x1_i - x0_i|, s_i) - mean_i corr(|x1_i -
  x0_i|, s'_i)``: Pearson correlations over pixels (channels averaged) of the
  change with its own mask and with a swapped one. Positive when G changes
  its output *where its mask points*, beyond what any mask's typical shape
  explains; 0 for a G that ignores the mask's layout.
- ``mi_bound`` and ``mi_ceiling``: the InfoNCE bound with the locality critic
  (`keras_attngan.core.mutual_information.InfoNCE`) on groups of ``group_size`` pairs
  ``(s, x1 - x0)``, with the temperature that maximizes it on a fixed grid
  (an estimator of the information the change carries about the mask that
  needs no trained network); the ceiling is ``log(group_size)`` nats.
- the statistics of the masks themselves (`keras_attngan.core.mask_statistics`).
"""

import numpy as np

from keras_attngan.core.mask_statistics import mask_statistics
from keras_attngan.core.mutual_information import InfoNCE, MutualInformation

TEMPERATURES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


def _pixel_correlations(changes, masks):
    """Per-sample Pearson correlation over pixels, 0 where either map is flat.

    A map is flat when its spread is below float32 rounding of its values
    (1e-5 of their magnitude): rounding noise has no place to correlate.
    """
    a = changes.reshape(len(changes), -1).astype(np.float64)
    b = masks.reshape(len(masks), -1).astype(np.float64)

    def centred(x):
        deviations = x - x.mean(axis=1, keepdims=True)
        flat = deviations.std(axis=1) <= 1e-5 * np.abs(x).mean(axis=1) + 1e-12
        return deviations, flat

    (a, flat_a), (b, flat_b) = centred(a), centred(b)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    correlation = (a * b).sum(axis=1) / np.maximum(norms, 1e-300)
    return np.where(flat_a | flat_b, 0.0, correlation)


def infonce_bound(masks, changes, cell_size, group_size):
    """The best InfoNCE locality bound over `TEMPERATURES`, averaged over groups.

    Returns:
        `MutualInformation` of floats (loss at the best temperature).
    """
    critic = InfoNCE(cell_size=cell_size)  # the locality critic has no weights of its own
    results = []
    for start in range(0, len(masks) - group_size + 1, group_size):
        group = slice(start, start + group_size)
        correlations = critic.correlations(masks[group], changes[group])
        bounds = [InfoNCE.bound_at(correlations, t) for t in TEMPERATURES]
        results.append(max((MutualInformation(*map(float, b)) for b in bounds), key=lambda b: b.bound))
    return MutualInformation(*(float(np.mean(values)) for values in zip(*results)))


def mask_usage(generate, explain, num, image_size, cell_size=8, group_size=64):
    """Mask-usage metrics of a generator and its discriminator (see the module doc).

    Args:
        generate: ``fn(mask [N, S, S, 1]) -> images``: G on `num` fixed
            latent inputs, one mask each (float arrays; images in [-1, 1]).
        explain: ``fn(images [N, S, S, C]) -> masks [N, S, S, 1]`` in [0, 1]:
            D on the images of those latent inputs (a class-conditional D
            with their labels).
        num: the number of latent inputs N, >= 2.
        image_size: side of the images and masks.
        cell_size: cell side of the MI bound.
        group_size: pairs per InfoNCE group (at most N).

    Returns:
        dict of floats: ``content_sensitivity``, ``mask_effect``
        (``mean|x1 - x0|``), ``swap_effect`` (``mean|x1' - x1|``),
        ``locality_own``, ``locality_swapped``, ``locality_gain``,
        ``mi_bound``, ``mi_ceiling``, and the mask statistics.
    """
    if num < 2:
        raise ValueError(f"`num` should be at least 2 latent inputs. Received: {num}")
    uniform = np.ones((num, image_size, image_size, 1), np.float32)
    x0 = np.asarray(generate(uniform), np.float32)
    masks = np.asarray(explain(x0), np.float32)
    x1 = np.asarray(generate(masks), np.float32)
    swapped = np.roll(masks, 1, axis=0)
    x1_swapped = np.asarray(generate(swapped), np.float32)
    change = np.abs(x1 - x0).mean(axis=-1)
    mask_effect = float(np.abs(x1 - x0).mean())
    swap_effect = float(np.abs(x1_swapped - x1).mean())
    own = _pixel_correlations(change, masks[..., 0])
    other = _pixel_correlations(change, swapped[..., 0])
    bound = infonce_bound(masks, x1 - x0, cell_size, min(group_size, num))
    return {
        "content_sensitivity": swap_effect / max(mask_effect, 1e-12),
        "mask_effect": mask_effect,
        "swap_effect": swap_effect,
        "locality_own": float(own.mean()),
        "locality_swapped": float(other.mean()),
        "locality_gain": float(own.mean() - other.mean()),
        "mi_bound": bound.bound,
        "mi_ceiling": bound.ceiling,
        **{name: float(value) for name, value in mask_statistics(masks).items()},
    }
