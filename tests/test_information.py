"""The MI estimators: known values, a toy problem where the bound rises, a shuffled control."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, SIZE, make_estimator

from keras_attngan.core.mutual_information import (
    MI_ESTIMATORS,
    MI_WEIGHTINGS,
    BarberAgakov,
    InfoNCE,
    build_mi_estimator,
    standardize,
    to_cells,
)


def _masks(count, seed=0):
    """Masks with content: one bright 4x4 cell per sample, at a random place."""
    rng = np.random.default_rng(seed)
    masks = np.full((count, SIZE, SIZE, 1), 0.1, np.float32)
    for i, (row, col) in enumerate(rng.integers(0, SIZE // 4, (count, 2))):
        masks[i, 4 * row : 4 * row + 4, 4 * col : 4 * col + 4] = 1.0
    return masks


def test_to_cells_averages_cells_and_channels():
    maps = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2)
    cells = np.asarray(to_cells(maps, 2))
    expected = maps.mean(-1).reshape(2, 2, 2, 2, 2).mean(axis=(2, 4)).reshape(2, 4)
    np.testing.assert_allclose(cells, expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(standardize(np.ones((1, 4)))), 0.0)


def test_mi_weightings_known_values():
    adversarial = np.array([[3.0, 4.0]], np.float32)  # norm 5
    mi = np.array([[0.0, 0.0, 0.5]], np.float32)  # norm 0.5
    np.testing.assert_allclose(float(MI_WEIGHTINGS["balanced"](0.5, adversarial, mi)), 5.0)
    assert float(MI_WEIGHTINGS["fixed"](0.5, adversarial, mi)) == 0.5
    # Scale-free: the MI gradient times its weight always has lambda_mi times
    # the adversarial gradient's norm, however small the MI gradient.
    for scale in (1e-6, 1.0, 1e3):
        weight = float(MI_WEIGHTINGS["balanced"](2.0, adversarial, scale * mi))
        np.testing.assert_allclose(weight * 0.5 * scale, 2.0 * 5.0, rtol=1e-5)
    # No MI gradient at all (an untrained G changes nothing): finite, not NaN.
    assert np.isfinite(float(MI_WEIGHTINGS["balanced"](1.0, adversarial, 0 * mi)))


def test_infonce_known_values():
    estimator = make_estimator("infonce")
    estimator.log_temperature.assign(np.log(10.0) / estimator.TEMPERATURE_RATE)
    masks = _masks(4)
    # Changes exactly where the masks are: correlation 1 on the diagonal.
    matched = np.asarray(estimator(masks, np.repeat(masks, CHANNELS, -1)))
    u = np.asarray(standardize(to_cells(masks, 4)))
    scores = 10.0 * u @ u.T / u.shape[1]
    expected = np.mean(np.log(np.exp(scores).sum(1)) - np.diag(scores))
    np.testing.assert_allclose(matched[0], expected, rtol=1e-4)
    np.testing.assert_allclose(matched[2], np.log(4.0), rtol=1e-6)  # the ceiling
    np.testing.assert_allclose(matched[1], np.log(4.0) - expected, rtol=1e-4)
    # No change at all: every score is 0, the bound is exactly 0.
    flat = estimator(masks, np.zeros((4, SIZE, SIZE, CHANNELS), np.float32))
    np.testing.assert_allclose(float(flat.bound), 0.0, atol=1e-6)


@pytest.mark.parametrize("pairs", [4, 2])
def test_infonce_against_every_mask_known_values(pairs):
    """negatives="masks": each of the N changes against all B masks; ceiling log B."""
    estimator = make_estimator("infonce", negatives="masks")
    estimator.log_temperature.assign(np.log(10.0) / estimator.TEMPERATURE_RATE)
    masks = _masks(4)
    result = estimator(masks, np.repeat(masks[:pairs], CHANNELS, -1))
    u = np.asarray(standardize(to_cells(masks, 4)))
    scores = 10.0 * u @ u[:pairs].T / u.shape[1]  # [B, N]: mask i, change j
    expected = np.mean(np.log(np.exp(scores).sum(0)) - np.diag(scores))
    np.testing.assert_allclose(float(result.loss), expected, rtol=1e-4)
    np.testing.assert_allclose(float(result.ceiling), np.log(4.0), rtol=1e-6)
    # The default reads the first N masks against the N changes: ceiling log N.
    default = make_estimator("infonce")
    default.log_temperature.assign(estimator.log_temperature)
    np.testing.assert_allclose(
        float(default(masks, np.repeat(masks[:pairs], CHANNELS, -1)).ceiling), np.log(pairs)
    )


def test_barber_agakov_known_values():
    estimator = make_estimator("barber_agakov", levels=4)
    masks = _masks(8)
    result = estimator(masks, np.zeros((8, SIZE, SIZE, CHANNELS), np.float32))
    # Cell values are 0.1 (level 0) or 1.0 (level 3): the ceiling is the summed
    # plug-in entropy of those two levels per cell.
    levels = np.asarray(to_cells(masks, 4)) >= 0.75
    p = levels.mean(0)
    entropy = -(p * np.log(np.where(p > 0, p, 1)) + (1 - p) * np.log(np.where(p < 1, 1 - p, 1)))
    np.testing.assert_allclose(float(result.ceiling), entropy.sum(), rtol=1e-5)
    np.testing.assert_allclose(float(result.bound), float(result.ceiling - result.loss), rtol=1e-6)
    # Levels' probabilities sum to one, so the cross-entropy is positive and
    # equals -log q of the observed levels.
    assert float(result.loss) > 0


def test_discretized_logistic_levels_sum_to_one():
    """Q's probabilities of the levels of one cell sum to 1 (the truncation renormalizes)."""
    single = build_mi_estimator("barber_agakov", 4, 1, cell_size=4, width=4, levels=5)
    change = np.random.default_rng(2).normal(size=(1, 4, 4, 1)).astype(np.float32)
    mass = sum(
        np.exp(-float(single(np.full((1, 4, 4, 1), (level + 0.5) / 5, np.float32), change).loss))
        for level in range(5)
    )
    np.testing.assert_allclose(mass, 1.0, rtol=1e-4)


def _fit(estimator, masks, changes, steps=1000, shuffle=False):
    """Trains the estimator's variables on the pairs; `shuffle` re-pairs them at every step."""
    optimizer = keras.optimizers.Adam(1e-2)
    variables = estimator.trainable_variables
    optimizer.build(variables)
    masks, changes = tf.constant(masks), tf.constant(changes)

    def paired(seed):
        order = tf.random.experimental.stateless_shuffle(tf.range(len(changes)), seed=[0, seed])
        return tf.gather(changes, order) if shuffle else changes

    @tf.function
    def fit():  # one graph: a Python loop of 1000 calls costs more than the maths
        for step in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = estimator(masks, paired(step)).loss
            optimizer.apply(tape.gradient(loss, variables), variables)

    fit()
    return estimator(masks, paired(steps))


# barber_agakov's Q must learn a location and a scale per cell; on this toy it
# reaches 0.39 of its ceiling in 500 steps and plateaus there (infonce's critics
# pass 0.5: the learned one reaches 0.77 in 300 steps).
@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, kwargs, fraction, steps",
    [
        ("infonce", {}, 0.5, 1000),
        ("infonce", {"critic": "learned"}, 0.5, 300),
        ("infonce", {"negatives": "masks"}, 0.5, 1000),
        ("barber_agakov", {}, 0.3, 500),
    ],
)
def test_bound_rises_toward_its_ceiling_and_stays_near_zero_when_shuffled(kind, kwargs, fraction, steps):
    """A toy G whose change is a known function of the mask, then changes drawn
    independently of the masks (a fresh pairing at every step: a fixed
    shuffled pairing is still a function a learned critic can memorize)."""
    masks = _masks(32)
    changes = np.repeat(0.5 * masks - 0.05, CHANNELS, -1)  # change where the mask is
    keras.utils.set_random_seed(0)
    learned = _fit(make_estimator(kind, **kwargs), masks, changes, steps)
    keras.utils.set_random_seed(0)
    shuffled = _fit(make_estimator(kind, **kwargs), masks, changes, steps, shuffle=True)
    ceiling = float(learned.ceiling)
    assert float(learned.bound) > fraction * ceiling
    # The shuffled pairs carry no information: the bound stays near zero
    # (it may dip below: it is a lower bound).
    assert float(shuffled.bound) < 0.15 * ceiling


@pytest.mark.slow
def test_alignment_bound_rises_when_d_attention_recovers_the_mask_and_not_when_shuffled():
    """D's attention a monotone distortion of the mask G was given: the calibrated
    decoder recovers it; attention unrelated to the mask carries nothing."""
    masks = _masks(32)
    attention = np.clip(0.8 * masks + 0.1, 0.0, 1.0) ** 2
    keras.utils.set_random_seed(0)
    learned = _fit(make_estimator("alignment"), masks, attention, 500)
    keras.utils.set_random_seed(0)
    shuffled = _fit(make_estimator("alignment"), masks, attention, 500, shuffle=True)
    ceiling = float(learned.ceiling)
    assert float(learned.bound) > 0.3 * ceiling
    assert float(shuffled.bound) < 0.15 * ceiling


def test_alignment_starts_as_the_identity_decoder_of_d_attention():
    """Untrained, q's location on each cell is D's attention there: attention equal
    to the mask scores better than attention equal to its complement."""
    estimator = make_estimator("alignment")
    masks = _masks(8)
    assert estimator.reads == "attention"
    assert float(estimator(masks, masks).loss) < float(estimator(masks, 1.0 - masks).loss)


def test_locality_critic_rewards_changes_where_the_mask_is_not_elsewhere():
    estimator = make_estimator("infonce")
    masks = _masks(16)
    where = np.repeat(masks, CHANNELS, -1)
    elsewhere = np.repeat(1.1 - masks, CHANNELS, -1)  # the change avoids the mask
    assert float(estimator(masks, where).bound) > 1.0
    assert float(estimator(masks, elsewhere).bound) < 0.0


@pytest.mark.parametrize("kind", sorted(MI_ESTIMATORS))
def test_save_load_round_trip(kind, tmp_path):
    estimator = make_estimator(kind)
    masks = _masks(4)
    changes = np.random.default_rng(0).normal(size=(4, SIZE, SIZE, CHANNELS)).astype(np.float32)
    inputs = [keras.Input((SIZE, SIZE, 1)), keras.Input((SIZE, SIZE, CHANNELS))]
    model = keras.Model(inputs, estimator(*inputs).loss)
    path = str(tmp_path / "estimator.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(
        np.asarray(restored([masks, changes])), np.asarray(model([masks, changes])), rtol=1e-6
    )
    config = estimator.get_config()
    assert type(estimator).from_config(config).get_config() == config


def test_bad_estimator_arguments():
    with pytest.raises(ValueError, match=r"one of \['infonce', 'barber_agakov', 'alignment'\].*'mine'"):
        build_mi_estimator("mine", SIZE, CHANNELS)
    with pytest.raises(ValueError, match="cell_size.*divide.*16.*Received: cell_size=3"):
        build_mi_estimator("infonce", SIZE, CHANNELS, cell_size=3)
    with pytest.raises(ValueError, match="critic.*locality.*Received: critic='cosine'"):
        InfoNCE(critic="cosine")
    with pytest.raises(ValueError, match="negatives.*'changes', 'masks'.*Received: negatives='all'"):
        InfoNCE(negatives="all")
    with pytest.raises(ValueError, match="levels.*Received: levels=1"):
        BarberAgakov(levels=1)


def test_the_balanced_weight_is_the_gradient_norm_ratio_and_zero_without_an_mi_gradient():
    from keras_attngan.core.mutual_information import balanced_weight

    adversarial = np.full((2, 3), 2.0, np.float32)  # norm sqrt(6 * 4)
    mi = np.full((2, 3), 0.5, np.float32)  # norm sqrt(6 * 0.25)
    assert float(balanced_weight(0.5, adversarial, mi)) == pytest.approx(0.5 * 4.0)
    # G ignores the mask at first (its modulation starts at zero): nothing to weigh.
    assert float(balanced_weight(0.5, adversarial, np.zeros_like(mi))) == 0.0
