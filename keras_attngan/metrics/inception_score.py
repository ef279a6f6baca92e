"""Inception Score (IS) from any classifier's class probabilities.

Salimans et al., 2016, "Improved Techniques for Training GANs", NeurIPS:
``IS = exp(E_x KL(p(y|x) || p(y)))``, with p(y) the mean of p(y|x) over the
samples. It is high when each sample is confidently classified (low entropy
p(y|x)) and the classes are balanced (high entropy p(y)); it lies in
``[1, number of classes]``. As in the reference code, the samples are cut
into `splits` consecutive parts, IS is computed on each and the mean and
standard deviation over parts are reported.

The score depends entirely on the classifier: with Inception-v3 (ImageNet
classes) it says little about images of another domain, which is why the
built-in data uses the domain classifier's softmax (see `extractors`).
"""

import numpy as np
from scipy.special import rel_entr

DEFAULT_SPLITS = 10
_TOLERANCE = 1e-3


def inception_score_from_probabilities(probabilities, splits=DEFAULT_SPLITS):
    """IS with splits.

    Args:
        probabilities: ``[N, K]`` class probabilities (rows sum to 1), in the
            order the samples were drawn.
        splits: number of consecutive parts (1 <= splits <= N).

    Returns:
        dict: ``mean`` and ``std`` of the per-split scores, ``splits``,
        ``num_classes``.

    Raises:
        ValueError: not probabilities, or more splits than samples.
    """
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(
            "`probabilities` should be a 2-D array [num_samples, num_classes] with at least "
            f"2 classes. Received: probabilities.shape={p.shape}"
        )
    if p.min(initial=0.0) < 0 or not np.allclose(p.sum(axis=1), 1.0, atol=_TOLERANCE):
        raise ValueError(
            "`probabilities` should be non-negative with rows summing to 1 (a softmax, not "
            "logits). Received: values in "
            f"[{p.min():.3g}, {p.max():.3g}], "
            f"row sums in [{p.sum(1).min():.3g}, {p.sum(1).max():.3g}]"
        )
    if not isinstance(splits, (int, np.integer)) or not 1 <= splits <= len(p):
        raise ValueError(
            f"`splits` should be an integer between 1 and the number of samples ({len(p)}). "
            f"Received: splits={splits!r}"
        )
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        # rel_entr(p, q) = p log(p / q), and 0 where p = 0.
        scores.append(np.exp(rel_entr(part, marginal).sum(axis=1).mean()))
    return {
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "splits": int(splits),
        "num_classes": int(p.shape[1]),
    }
