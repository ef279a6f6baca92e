import math

import numpy as np
import tensorflow as tf

from keras_attngan.regularizers import binary_entropy, mask_mutual_information


def test_uninformative_q_gives_zero_bound():
    mask = np.full((4, 8, 8, 1), 0.5, np.float32)
    result = mask_mutual_information(mask, np.zeros_like(mask))
    np.testing.assert_allclose(result.loss, math.log(2), rtol=1e-6)
    np.testing.assert_allclose(result.bound, 0.0, atol=1e-6)


def test_perfect_q_reaches_the_entropy_of_the_mask():
    # Half the samples attend everywhere, half nowhere: H(a) = log 2 per pixel.
    mask = np.concatenate([np.ones((2, 4, 4, 1)), np.zeros((2, 4, 4, 1))]).astype(np.float32)
    q_logits = (mask * 2 - 1) * 30.0
    result = mask_mutual_information(mask, q_logits)
    assert float(result.loss) < 1e-10
    np.testing.assert_allclose(result.bound, math.log(2), rtol=1e-5)


def test_bound_never_exceeds_marginal_entropy():
    rng = np.random.default_rng(0)
    mask = rng.uniform(size=(6, 5, 5, 1)).astype(np.float32)
    q_logits = rng.normal(size=mask.shape).astype(np.float32)
    result = mask_mutual_information(mask, q_logits)
    entropy = binary_entropy(mask.mean(axis=0)).numpy().mean()
    assert float(result.bound) <= entropy + 1e-6
    np.testing.assert_allclose(float(result.bound), entropy - float(result.loss), rtol=1e-5)


def test_a_perfect_q_reaches_the_ceiling_of_soft_masks():
    rng = np.random.default_rng(1)
    mask = rng.uniform(0.2, 0.8, size=(8, 4, 4, 1)).astype(np.float32)
    exact = np.log(mask / (1 - mask))  # q = s exactly
    result = mask_mutual_information(mask, exact)
    np.testing.assert_allclose(float(result.bound), float(result.ceiling), atol=1e-5)
    expected = binary_entropy(mask.mean(axis=0)).numpy().mean() - binary_entropy(mask).numpy().mean()
    np.testing.assert_allclose(float(result.ceiling), expected, rtol=1e-5)
    # Identical masks carry no information: the ceiling is 0.
    same = np.repeat(mask[:1], 8, axis=0)
    np.testing.assert_allclose(float(mask_mutual_information(same, exact[:1].repeat(8, 0)).ceiling), 0.0, atol=1e-6)


def test_gradient_is_prediction_error():
    mask = tf.constant([[[[0.9]], [[0.1]]]], tf.float32)  # [1, 2, 1, 1]
    q_logits = tf.Variable(tf.zeros_like(mask))
    with tf.GradientTape() as tape:
        loss = mask_mutual_information(mask, q_logits).loss
    gradient = tape.gradient(loss, q_logits)
    # d mean(BCE) / d logit = (sigmoid(logit) - s) / number of pixels.
    np.testing.assert_allclose(gradient.numpy().ravel(), [(0.5 - 0.9) / 2, (0.5 - 0.1) / 2], rtol=1e-6)


def test_binary_entropy_is_finite_at_the_edges():
    values = binary_entropy(np.array([0.0, 0.5, 1.0], np.float32)).numpy()
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values[1], math.log(2), rtol=1e-6)
