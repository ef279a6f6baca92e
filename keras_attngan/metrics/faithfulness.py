"""Is D's attention faithful? Deletion and insertion curves of its decision.

Petsiuk, Das & Saenko, 2018, "RISE: Randomized Input Sampling for Explanation
of Black-box Models", BMVC. A faithful saliency map ranks pixels by how much
the decision depends on them, so

- deletion: replacing the pixels by a baseline, most salient first, should
  make the decision collapse quickly: a LOW area under the curve is good;
- insertion: starting from the baseline and revealing the pixels, most
  salient first, should restore the decision quickly: a HIGH area is good.

What this module does exactly:

- pixels are spatial positions (all channels move together), ranked by
  decreasing saliency; ties (e.g. a flat mask) are broken in a seeded random
  order, so a uniform mask behaves like the random order;
- ``steps`` steps: at step t the first ``round(t * P / steps)`` of the P
  pixels are deleted (or inserted); the curve has ``steps + 1`` points, from
  fraction 0 to 1;
- the baseline is the **per-channel mean of the evaluated images** (the
  "dataset mean": for `symbols` close to the white background, so deleting a
  stroke paints it over with background). ``baseline="zeros"`` (mid grey in
  [-1, 1]) or any array broadcastable to an image can be given instead;
- the tracked score is **D's probability of the decision it made on the
  intact image**: ``sigmoid(s * logit)`` with ``s = +1`` if D called the
  image real (logit >= 0) and ``-1`` if it called it fake, so that for every
  image the curve starts at D's confidence in its own decision and deletion
  drives it towards 0 (the decision reversed) or 0.5 (no evidence either way);
- areas are trapezoids over the fraction of pixels in [0, 1], averaged over
  images;
- three orders are compared: D's ``attention`` mask, a seeded ``random``
  order (the chance level) and ``gradient`` saliency ``max_c |d logit /
  d x|`` (Simonyan et al., 2014), a model-agnostic reference explanation.

D can be an in-memory `Discriminator` (or any callable returning a dict with
``logits`` and ``attention``), a loaded export (its ``explain`` signature) or
that signature itself.
"""

import numpy as np
import tensorflow as tf

DEFAULT_STEPS = 16
BASELINES = ("mean", "zeros")
ORDERS = ("attention", "random", "gradient")


def as_explainer(model):
    """Wraps D as ``fn(images tensor, labels=None) -> {"logits": [B, 1], "attention": [B, S, S, 1]}``.

    Args:
        model: a `Discriminator` or any callable returning such a dict; a
            SavedModel loaded with `tf.saved_model.load` (its ``explain``
            signature is used); or that signature (a concrete function taking
            ``images``, and ``label`` for a class-conditional model).

    Returns:
        A callable on float32 tensors; `labels` (int ``[B]``) only for a
        class-conditional D, None otherwise.
    """
    signatures = getattr(model, "signatures", None)
    if signatures is not None and "explain" in signatures:
        model = signatures["explain"]
    if isinstance(model, tf.types.experimental.ConcreteFunction):
        signature = model
        return lambda images, labels=None: signature(
            images=images, **({} if labels is None else {"label": tf.constant(labels, tf.int32)})
        )
    if not callable(model):
        raise ValueError(
            "`model` should be a Discriminator, a callable returning {'logits', "
            "'attention'}, a loaded export or its 'explain' signature. "
            f"Received: model={model!r}"
        )
    return lambda images, labels=None: model(images, **({} if labels is None else {"labels": labels}))


def gradient_saliency(logit_fn, images):
    """``max_c |d logit / d x|`` per pixel, ``[B, S, S]``."""
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = tf.reduce_sum(logit_fn(images))
    gradients = tape.gradient(logits, images)
    if gradients is None:
        raise ValueError("D's logits are not differentiable with respect to its input.")
    return tf.reduce_max(tf.abs(gradients), axis=-1).numpy()


def _baseline(images, baseline):
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ValueError(
                f"`baseline` should be one of {list(BASELINES)} or an array. "
                f"Received: baseline={baseline!r}"
            )
        if baseline == "zeros":
            return np.zeros((1, 1, 1, images.shape[-1]), np.float32)
        return images.mean(axis=(0, 1, 2), keepdims=True).astype(np.float32)
    return np.broadcast_to(np.asarray(baseline, np.float32), images.shape[1:])[None]


def _ranks(saliency, rng):
    """Rank of each pixel (0 = most salient), ties in random order; ``[B, P]``."""
    flat = saliency.reshape(len(saliency), -1)
    ranks = np.empty(flat.shape, dtype=np.int64)
    for row, values in enumerate(flat):
        order = np.lexsort((rng.random(values.shape), -values))
        ranks[row, order] = np.arange(values.size)
    return ranks


def deletion_insertion(
    logit_fn, images, saliency, steps=DEFAULT_STEPS, baseline="mean", seed=0, batch_size=256
):
    """Deletion and insertion curves of one saliency map per image.

    Args:
        logit_fn: images ``[B, S, S, C]`` (float32 tensor) -> logits ``[B]``
            or ``[B, 1]``.
        images: ``[N, S, S, C]`` in [-1, 1].
        saliency: ``[N, S, S]`` or ``[N, S, S, 1]``, larger = more important.
        steps: number of steps (>= 1); curves have ``steps + 1`` points.
        baseline: ``"mean"`` (per-channel mean of `images`), ``"zeros"`` or
            an array broadcastable to one image.
        seed: seed of the tie-breaking order.
        batch_size: images per call of `logit_fn`.

    Returns:
        dict: ``deletion_auc``, ``insertion_auc`` (means over images),
        ``deletion_curve`` and ``insertion_curve`` (mean scores per step,
        ``steps + 1`` floats).
    """
    # Over 60 lines only for its docstring, which documents every argument.
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise ValueError(f"`images` should be [N, S, S, C]. Received: images.shape={images.shape}")
    saliency = np.asarray(saliency, np.float32)
    if saliency.ndim == 4:
        saliency = saliency[..., 0]
    if saliency.shape != images.shape[:3]:
        raise ValueError(
            "`saliency` should have one value per pixel of `images` [N, S, S]. "
            f"Received: saliency.shape={saliency.shape}, images.shape={images.shape}"
        )
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"`steps` should be an integer >= 1. Received: steps={steps!r}")
    fill = _baseline(images, baseline)
    ranks = _ranks(saliency, np.random.default_rng(seed)).reshape(images.shape[:3] + (1,))
    pixels = images.shape[1] * images.shape[2]
    counts = np.round(np.arange(steps + 1) * pixels / steps).astype(np.int64)

    def logits(batch):
        return np.concatenate(
            [
                np.reshape(logit_fn(tf.constant(batch[i : i + batch_size])), [-1])
                for i in range(0, len(batch), batch_size)
            ]
        )

    decision = np.where(logits(images) >= 0, 1.0, -1.0)
    curves = {"deletion": [], "insertion": []}
    for count in counts:
        hidden = ranks < count
        for name, variant in (
            ("deletion", np.where(hidden, fill, images)),
            ("insertion", np.where(hidden, images, fill)),
        ):
            curves[name].append(1.0 / (1.0 + np.exp(-decision * logits(variant))))
    result = {}
    for name, points in curves.items():
        points = np.stack(points, axis=1)  # [N, steps + 1]
        # Trapezoids of width 1 / steps (np.trapezoid needs numpy 2).
        areas = (points[:, :-1] + points[:, 1:]).sum(axis=1) / (2.0 * steps)
        result[f"{name}_auc"] = float(areas.mean())
        result[f"{name}_curve"] = [float(v) for v in points.mean(axis=0)]
    return result


def mask_faithfulness(
    model, images, steps=DEFAULT_STEPS, baseline="mean", seed=0, batch_size=256, orders=ORDERS
):
    """Deletion / insertion areas of D's attention against random and gradient orders.

    Args:
        model: D; see `as_explainer`.
        images: ``[N, S, S, C]`` in [-1, 1] (real or generated).
        steps: see `deletion_insertion`.
        baseline: see `deletion_insertion`.
        seed: seed of the random order and of tie-breaking.
        batch_size: images per call of D.
        orders: which of `ORDERS` to compute.

    Returns:
        dict: ``{order: {"deletion_auc", "insertion_auc", "deletion_curve",
        "insertion_curve"}}`` plus ``"settings"`` (steps, baseline, score,
        num_images). For a faithful mask, deletion_auc is below and
        insertion_auc above the random order's.
    """
    unknown = sorted(set(orders) - set(ORDERS))
    if unknown:
        raise ValueError(f"`orders` should be a subset of {list(ORDERS)}. Received: {unknown}")
    explain = as_explainer(model)
    images = np.asarray(images, np.float32)

    def logit_fn(batch):
        return tf.reshape(explain(batch)["logits"], [-1])

    saliency = {}
    if "attention" in orders:
        saliency["attention"] = np.concatenate(
            [
                np.asarray(explain(tf.constant(images[i : i + batch_size]))["attention"])
                for i in range(0, len(images), batch_size)
            ]
        )
    if "random" in orders:
        saliency["random"] = np.random.default_rng(seed + 1).random(images.shape[:3])
    if "gradient" in orders:
        saliency["gradient"] = np.concatenate(
            [
                gradient_saliency(logit_fn, images[i : i + batch_size])
                for i in range(0, len(images), batch_size)
            ]
        )
    result = {
        order: deletion_insertion(
            logit_fn, images, saliency[order], steps, baseline, seed, batch_size
        )
        for order in orders
    }
    result["settings"] = {
        "steps": int(steps),
        "baseline": baseline if isinstance(baseline, str) else "array",
        "score": "sigmoid(s * logit), s = sign of D's logit on the intact image",
        "num_images": int(len(images)),
    }
    return result
