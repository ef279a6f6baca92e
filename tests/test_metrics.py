"""Metrics against their definitions: closed forms, independent formulas, toy models.

Tiny, seeded and offline: no Inception weights (a small model is injected),
no downloads.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_attngan.data import render_symbols
from keras_attngan.metrics import (
    FeatureStatistics,
    InceptionExtractor,
    KerasExtractor,
    categorical_code_accuracy,
    continuous_code_correlation,
    correlation_ratio,
    deletion_insertion,
    fid_from_features,
    frechet_distance,
    get_domain_classifier,
    improved_precision_recall,
    inception_score_from_probabilities,
    intra_class_fid,
    kid_from_features,
    mask_faithfulness,
    mmd2_unbiased,
    reference_statistics,
    traversal_control,
)
from keras_attngan.metrics.control import digit_factors
from keras_attngan.metrics.suite import parse_metrics

# --- FID -------------------------------------------------------------------


def test_fid_of_two_gaussians_equals_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    var1, var2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    # Diagonal covariances: Tr (S1 S2)^(1/2) = sum sqrt(v1 v2).
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(
        expected, rel=1e-9
    )

    # Full covariances, checked with an independent formula:
    # Tr (S1 S2)^(1/2) = sum sqrt(eig(S1^(1/2) S2 S1^(1/2))), via eigh only.
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + np.eye(5), b @ b.T + np.eye(5)
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(w)) @ v.T
    trace_root = np.sum(np.sqrt(np.linalg.eigvalsh(root1 @ s2 @ root1)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_root
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_fid_of_identical_sets_is_zero_and_fid_is_symmetric():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 6)), rng.normal(1.0, 2.0, size=(300, 6))
    assert abs(fid_from_features(x, x)) < 1e-6
    assert fid_from_features(x, y) == pytest.approx(fid_from_features(y, x), rel=1e-9)
    assert fid_from_features(x, y) > 10


def test_streaming_statistics_equal_numpy_on_the_concatenation():
    rng = np.random.default_rng(2)
    # A large offset: raw sums of squares would lose digits here.
    batches = [rng.normal(1e4, 1.0, size=(n, 4)) for n in (1, 7, 0, 64, 3)]
    stats = FeatureStatistics()
    for batch in batches:
        stats.update(batch.reshape(-1, 4))
    everything = np.concatenate(batches)
    assert stats.count == len(everything)
    np.testing.assert_allclose(stats.mean, everything.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(
        stats.covariance, np.cov(everything, rowvar=False), rtol=1e-9, atol=1e-12
    )
    again = FeatureStatistics.from_moments(stats.mean, stats.covariance, stats.count)
    np.testing.assert_allclose(again.covariance, stats.covariance)


def test_fid_needs_two_samples_and_warns_below_the_dimension():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="at least 2 samples"):
        fid_from_features(rng.normal(size=(1, 3)), rng.normal(size=(5, 3)))
    with pytest.raises(ValueError, match="same extractor"):
        fid_from_features(rng.normal(size=(5, 3)), rng.normal(size=(5, 4)))
    with pytest.warns(UserWarning, match="more samples than dimensions"):
        fid_from_features(rng.normal(size=(4, 8)), rng.normal(size=(50, 8)))


def test_intra_class_fid_is_the_mean_of_per_class_fids():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(60, 3))
    labels = np.repeat([0, 1, 2], 20)
    fake = real + np.where(labels[:, None] == 1, 1.0, 0.0)  # class 1 shifted by 1 per dimension
    result = intra_class_fid(real, labels, fake, labels)
    assert result["per_class"][0] == pytest.approx(0, abs=1e-6)
    assert result["per_class"][1] == pytest.approx(3.0, rel=1e-6)
    assert result["mean"] == pytest.approx(1.0, rel=1e-6)
    dropped = intra_class_fid(real, labels, fake[labels != 2], labels[labels != 2])
    assert dropped["skipped_classes"] == [2] and dropped["counts"][2] == [20, 0]


# --- KID -------------------------------------------------------------------


def test_kid_kernel_and_estimator_match_the_formula_on_tiny_data():
    x = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]])
    y = np.array([[0.0, 1.0, 1.0], [2.0, 0.0, -1.0], [1.0, 1.0, 1.0]])

    def k(a, b):
        return (sum(ai * bi for ai, bi in zip(a, b, strict=True)) / 3 + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_estimator_is_unbiased_for_one_distribution():
    rng = np.random.default_rng(5)
    unbiased, biased = [], []
    for _ in range(400):
        x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
        unbiased.append(mmd2_unbiased(x, y))
        kxx, kyy, kxy = ((a @ b.T / 4 + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    # The V-statistic (diagonal kept) is clearly positive: the bias KID removes.
    assert np.mean(biased) > 10 * standard_error

    real, fake = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    same = kid_from_features(real, fake, num_subsets=50, subset_size=100)
    shifted = kid_from_features(real, fake + 1.0, num_subsets=50, subset_size=100)
    assert abs(same["mean"]) < 3 * same["std"] and shifted["mean"] > 5 * shifted["std"]
    assert same["subset_size"] == 100 and same["num_subsets"] == 50


def test_kid_rejects_subsets_larger_than_the_samples():
    rng = np.random.default_rng(6)
    with pytest.raises(
        ValueError, match="subset_size.*at most the number of real .20. and fake .30."
    ):
        kid_from_features(rng.normal(size=(20, 2)), rng.normal(size=(30, 2)), subset_size=25)
    with pytest.raises(ValueError, match="subset_size.*>= 2"):
        kid_from_features(rng.normal(size=(20, 2)), rng.normal(size=(30, 2)), subset_size=1)


# --- Inception Score ------------------------------------------------------------


def test_inception_score_extremes():
    one_hot = np.eye(4)[np.arange(40) % 4]
    assert inception_score_from_probabilities(one_hot, splits=1)["mean"] == pytest.approx(4.0)
    split = inception_score_from_probabilities(one_hot, splits=5)  # each split of 8 is balanced
    assert split["mean"] == pytest.approx(4.0) and split["std"] == pytest.approx(0.0, abs=1e-12)
    identical = np.tile([0.7, 0.2, 0.1], (30, 1))
    assert inception_score_from_probabilities(identical, splits=3)["mean"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows summing to 1"):
        inception_score_from_probabilities(np.full((10, 3), 2.0))
    with pytest.raises(ValueError, match="splits"):
        inception_score_from_probabilities(one_hot, splits=41)


# --- Precision / recall -----------------------------------------------------------


def test_precision_recall_identical_disjoint_and_half():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(200, 5))
    assert improved_precision_recall(real, real.copy(), batch_size=64) == {
        "precision": 1.0,
        "recall": 1.0,
        "k": 3,
    }
    far = real + 100.0
    assert improved_precision_recall(real, far) == {"precision": 0.0, "recall": 0.0, "k": 3}
    # Half the fakes on the real manifold, half far away: precision 1/2;
    # the fakes cover every real sample, so recall stays 1.
    half = np.concatenate([real[:100], far[:100]])
    result = improved_precision_recall(real, half, k=3)
    assert result["precision"] == pytest.approx(0.5) and result["recall"] > 0.45
    with pytest.raises(ValueError, match="k=3 needs k . 1 samples"):
        improved_precision_recall(real[:3], real)


# --- Control (latent codes) ---------------------------------------------------------


def test_hungarian_matching_recovers_a_permuted_labelling():
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 5, 500)
    permutation = np.array([3, 0, 4, 1, 2])
    result = categorical_code_accuracy(permutation[labels], labels)
    assert result["accuracy"] == 1.0
    assert result["mapping"] == {int(permutation[c]): c for c in range(5)}
    noisy = permutation[labels].copy()
    noisy[:50] = (noisy[:50] + 1) % 5
    assert categorical_code_accuracy(noisy, labels)["accuracy"] == pytest.approx(0.9)


def test_continuous_code_correlation_with_a_symbols_factor():
    rotation = render_symbols(300, image_size=8, seed=0)["factors"]["rotation"]
    rng = np.random.default_rng(9)
    assert continuous_code_correlation(-3 * rotation + rng.normal(0, 0.01, 300), rotation) > 0.95
    assert continuous_code_correlation(np.exp(rotation), rotation, "spearman") == pytest.approx(1.0)
    assert continuous_code_correlation(rng.normal(size=300), rotation, "pearson") < 0.2
    with pytest.raises(ValueError, match="method"):
        continuous_code_correlation(rotation, rotation, "kendall")


def test_traversal_control_known_values_and_what_it_ignores():
    steps = np.linspace(-1, 1, 7)
    rng = np.random.default_rng(0)
    offsets = rng.normal(0, 5, (40, 1))
    # Each traversal has its own level (the rest of the latent) and rises with the code:
    # control is complete, though across traversals the level swamps the code.
    rising = offsets + np.exp(steps)
    assert traversal_control(steps, rising) == pytest.approx(1.0)
    assert continuous_code_correlation(np.tile(steps, 40), rising.ravel()) < 0.5
    assert traversal_control(steps, -rising) == pytest.approx(1.0)
    # Half rise, half fall: no consistent control.
    assert traversal_control(steps, np.concatenate([rising[:20], -rising[20:]])) == pytest.approx(0.0, abs=1e-12)
    assert traversal_control(steps, offsets + rng.normal(size=(40, 7))) < 0.2
    # Undefined or constant traversals are left out; none left: None.
    with_gaps = rising.copy()
    with_gaps[:5, 3] = np.nan
    with_gaps[5:10] = 1.0
    assert traversal_control(steps, with_gaps) == pytest.approx(1.0)
    assert traversal_control(steps, np.full((3, 7), np.nan)) is None
    with pytest.raises(ValueError, match="code_values"):
        traversal_control([0.0, 0.0, 0.0], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="factors"):
        traversal_control(steps, np.zeros((2, 6)))


def test_correlation_ratio_known_values_and_an_unordered_factor():
    # Classes 0, 1 with codes {0, 2} and {4, 6}: between SS 2 * 2 * 2^2 = 16, total 16 + 4 = 20.
    assert correlation_ratio([0, 2, 4, 6], [0, 0, 1, 1]) == pytest.approx(np.sqrt(16 / 20))
    colour = render_symbols(400, image_size=8, seed=0)["factors"]["colour"]
    rng = np.random.default_rng(3)
    # A code that places the colours out of order: |Spearman| misses part of it, eta does not.
    code = np.array([0.0, 2.0, -2.0, 1.0])[colour] + rng.normal(0, 0.05, 400)
    assert correlation_ratio(code, colour) > 0.99 and continuous_code_correlation(code, colour) < 0.2
    assert correlation_ratio(rng.permutation(code), colour) < 0.2
    with pytest.raises(ValueError, match="groups"):
        correlation_ratio(code, colour.astype(np.float32))


def _bar(width, shear=0.0, length=24, size=32, supersample=8):
    """A bright bar on black in [-1, 1], ``[S, S, 1]``: `width` pixels wide, `length` tall,
    centred, drawn as ``x = centre + shear * y`` (y upwards), anti-aliased by supersampling."""
    centres = (np.arange(size * supersample) + 0.5) / supersample
    row, column = np.meshgrid(centres, centres, indexing="ij")
    axis = size / 2 + shear * (size / 2 - row)
    inside = (np.abs(column - axis) < width / 2) & (np.abs(row - size / 2) < length / 2)
    coverage = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return (2 * coverage - 1)[..., None]


def test_digit_factors_slant_is_the_shear_of_the_stroke():
    slant = digit_factors(np.stack([_bar(3, shear) for shear in (0.0, 0.3, -0.2, 0.5)]))["slant"]
    assert abs(slant[0]) < 1e-6
    np.testing.assert_allclose(slant[1:], [0.3, -0.2, 0.5], atol=0.01)


def test_digit_factors_thickness_doubles_with_the_stroke():
    thickness = digit_factors(np.stack([_bar(3), _bar(6), _bar(3, shear=0.4)]))["thickness"]
    # About the width in pixels; the stroke's ends make it grow a little less than in proportion.
    assert 2.5 < thickness[0] < 3.5
    assert 1.7 < thickness[1] / thickness[0] < 2.2
    assert thickness[2] == pytest.approx(thickness[0], rel=0.1)  # slant is not thickness


def test_digit_factors_read_the_ink_in_any_colour_and_none_without_it():
    grey = np.stack([_bar(4, 0.2), -np.ones((32, 32, 1))])
    # colored_digits: intensity times a colour of full value, so the brightest channel is the ink.
    coloured = (grey + 1) * np.array([0.2, 1.0, 0.5]) - 1
    for name, values in digit_factors(grey).items():
        assert np.isnan(values[1])  # no ink, no stroke
        assert digit_factors(coloured)[name][0] == pytest.approx(values[0])
    # A faint haze over the background is not ink.
    hazy = digit_factors(np.maximum(grey[:1], -0.85))
    assert hazy["slant"][0] == pytest.approx(0.2, abs=0.01)
    assert hazy["thickness"][0] == pytest.approx(digit_factors(grey[:1])["thickness"][0])
    with pytest.raises(ValueError, match="images"):
        digit_factors(grey[..., 0])


def test_digit_factors_follow_a_code_that_draws_them():
    rng = np.random.default_rng(5)
    code = rng.uniform(-1, 1, 200)
    sheared = digit_factors(np.stack([_bar(3, 0.4 * c) for c in code]))
    assert continuous_code_correlation(code, sheared["slant"]) > 0.99
    assert continuous_code_correlation(rng.permutation(code), sheared["slant"]) < 0.2
    assert continuous_code_correlation(code, sheared["thickness"]) < 0.2
    thickened = digit_factors(np.stack([_bar(4 + 2 * c) for c in code]))
    assert continuous_code_correlation(code, thickened["thickness"]) > 0.99
    assert continuous_code_correlation(rng.permutation(code), thickened["thickness"]) < 0.2


# --- Faithfulness ---------------------------------------------------------------------

REGION = (slice(2, 6), slice(3, 7))


class _RegionD(keras.Model):
    """Toy D: the logit is a quarter of the sum of a known 4x4 region; attention marks it."""

    def call(self, images):
        logits = 0.25 * keras.ops.sum(images[:, REGION[0], REGION[1], :], axis=(1, 2, 3))[:, None]
        mask = np.zeros((1, 10, 10, 1), np.float32)
        mask[:, REGION[0], REGION[1]] = 1.0
        return {
            "logits": logits,
            "attention": keras.ops.tile(mask, (keras.ops.shape(images)[0], 1, 1, 1)),
        }


def _region_images():
    rng = np.random.default_rng(10)
    images = rng.uniform(-1, 1, (12, 10, 10, 1)).astype(np.float32)
    images[:, REGION[0], REGION[1]] = rng.uniform(0.3, 1.0, (12, 4, 4, 1))
    return images


def test_deletion_and_insertion_favour_the_decisive_pixels():
    model, images = _RegionD(), _region_images()
    truth = np.zeros(images.shape[:3], np.float32)
    truth[:, REGION[0], REGION[1]] = 1.0
    random_mask = np.random.default_rng(11).random(images.shape[:3])

    def logit_fn(batch):
        return model(batch)["logits"]

    good = deletion_insertion(logit_fn, images, truth, steps=10, baseline="zeros")
    bad = deletion_insertion(logit_fn, images, random_mask, steps=10, baseline="zeros")
    assert good["deletion_auc"] < bad["deletion_auc"] - 0.1
    assert good["insertion_auc"] > bad["insertion_auc"] + 0.1
    assert good["insertion_auc"] > good["deletion_auc"]
    assert len(good["deletion_curve"]) == 11
    # Deleting everything leaves the zero baseline: logit 0, score 0.5.
    assert good["deletion_curve"][-1] == pytest.approx(0.5) and good["insertion_curve"][
        0
    ] == pytest.approx(0.5)


def test_mask_faithfulness_compares_attention_random_and_gradient():
    result = mask_faithfulness(_RegionD(), _region_images(), steps=10, baseline="zeros")
    for order in ("attention", "gradient"):
        assert result[order]["deletion_auc"] < result["random"]["deletion_auc"]
        assert result[order]["insertion_auc"] > result["random"]["insertion_auc"]
    assert result["settings"]["num_images"] == 12 and result["settings"]["steps"] == 10
    with pytest.raises(ValueError, match="baseline"):
        mask_faithfulness(_RegionD(), _region_images(), baseline="blur")


# --- Extractors and reference statistics ------------------------------------------------


def _pool_extractor(name="pool4"):
    """A cheap deterministic extractor: 4x4 average pooled pixels."""
    return KerasExtractor(
        lambda x: tf.reshape(tf.image.resize(x, (4, 4), method="area"), (tf.shape(x)[0], -1)), name
    )


def test_reference_statistics_are_computed_once_and_reused(tmp_path, monkeypatch):
    extractor = _pool_extractor()
    calls = []
    original = extractor.features
    monkeypatch.setattr(
        extractor, "features", lambda images: calls.append(len(images)) or original(images)
    )
    options = dict(image_size=8, num_examples=40, cache_dir=str(tmp_path), batch_size=16)
    first = reference_statistics(extractor, "symbols", **options)
    assert sum(calls) == 40 and not first.from_cache and os.path.exists(first.path)
    second = reference_statistics(extractor, "symbols", **options)
    assert sum(calls) == 40 and second.from_cache and second.path == first.path
    np.testing.assert_array_equal(second.statistics.covariance, first.statistics.covariance)
    assert second.features is None and second.image_shape == (8, 8, 3)
    # Features wanted but not cached: computed once more, then cached too.
    with_features = reference_statistics(extractor, "symbols", keep_features=True, **options)
    assert sum(calls) == 80 and with_features.features.shape == (40, 48)
    assert reference_statistics(extractor, "symbols", keep_features=True, **options).from_cache
    assert sum(calls) == 80
    # Another key (here the number of examples) is another entry.
    other = reference_statistics(extractor, "symbols", **{**options, "num_examples": 32})
    assert other.path != first.path and sum(calls) == 112
    assert other.describe()["extractor"] == "pool4" and other.describe()["num_examples"] == 32


@pytest.mark.slow
def test_domain_classifier_trains_beats_chance_and_is_cached(tmp_path):
    settings = dict(cache_dir=str(tmp_path), num_examples=300, steps=120)
    classifier = get_domain_classifier("symbols", 16, **settings)
    assert classifier.held_out_accuracy > 0.8  # chance: 1/3
    with open(next(tmp_path.glob("domain_classifiers/*/metadata.json"))) as f:
        metadata = json.load(f)
    assert metadata["held_out_accuracy"] == classifier.held_out_accuracy
    assert metadata["num_held_out"] == 60 and metadata["num_train"] == 240
    images = render_symbols(10, 16, seed=5)["images"].astype(np.float32) / 127.5 - 1
    features, probabilities = classifier.features_and_probabilities(images)
    assert features.shape == (10, 64)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    again = get_domain_classifier("symbols", 16, **settings)
    assert again.name == classifier.name and again.held_out_accuracy == classifier.held_out_accuracy
    np.testing.assert_allclose(again.features(images), features, rtol=1e-5, atol=1e-6)
    assert again.describe()["held_out_accuracy"] == classifier.held_out_accuracy
    with pytest.raises(ValueError, match="trained on images \\[16, 16, 3\\]"):
        classifier.features(np.zeros((2, 8, 8, 3), np.float32))


def test_domain_classifier_needs_labels(tmp_path):
    path = tmp_path / "unlabelled.npz"
    np.savez(path, images=np.zeros((20, 8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match="labelled source.*--extractor inception"):
        get_domain_classifier(f"npz:{path}", 8, cache_dir=str(tmp_path))


def test_inception_extractor_with_an_injected_model():
    seen = []
    inputs = keras.Input((299, 299, 3))
    outputs = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(5, 8, strides=8)(inputs))
    small = keras.Model(inputs, outputs)

    def model(images):
        seen.append(images.shape)
        return small(images)

    extractor = InceptionExtractor(model=model, name="tiny-inception", batch_size=4)
    features = extractor.features(np.random.default_rng(0).uniform(-1, 1, (6, 16, 16, 1)))
    assert features.shape == (6, 5) and seen[0][1:] == (299, 299, 3)  # grey -> RGB, 299x299
    assert (
        extractor.describe()["name"] == "tiny-inception"
        and extractor.describe()["input_size"] == 299
    )
    with pytest.raises(ValueError, match="name"):
        InceptionExtractor(model=small)


def test_missing_inception_weights_say_how_to_provide_them(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no file at .*--inception_weights PATH"):
        InceptionExtractor(weights=str(tmp_path / "missing.h5"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="downloads are off.*inception_v3_weights"):
        InceptionExtractor(allow_download=False)


def test_unknown_metric_names_list_the_valid_ones():
    assert parse_metrics("fid, kid,fid") == ("fid", "kid")
    with pytest.raises(ValueError, match="fid, kid, is, pr, intra_fid, coverage, faithfulness.*unknown: fdi"):
        parse_metrics("fid,fdi")


@pytest.mark.slow
def test_the_metrics_package_imports_nothing_of_the_trainer():
    trainer = [f"keras_attngan.{name}" for name in ("experiment", "gan", "training", "serving")]
    code = (
        "import sys, keras_attngan.metrics, keras_attngan.metrics.suite\n"
        f"print([m for m in {trainer!r} if m in sys.modules])"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]"


def _coverage_inputs(real_labels, fake_classes, classes):
    from types import SimpleNamespace

    from keras_attngan.metrics.suite import Inputs, MetricOptions

    probabilities = np.eye(classes)[np.asarray(fake_classes)] * 0.9 + 0.1 / classes
    return Inputs(
        subject=None,
        reference=SimpleNamespace(labels=np.asarray(real_labels)),
        fake=SimpleNamespace(probabilities=probabilities),
        latent={},
        num=len(fake_classes),
        seed=0,
        options=MetricOptions(),
    )


def test_coverage_compares_each_class_share_of_the_fakes_with_the_real_data():
    from keras_attngan.metrics.suite import METRICS, scalars

    real = [0] * 50 + [1] * 25 + [2] * 25
    fake = [0] * 40 + [1] * 55 + [2] * 5  # class 1 over-drawn, class 2 nearly dropped
    value = METRICS["coverage"].compute(_coverage_inputs(real, fake, 3))
    np.testing.assert_allclose(value["real_shares"], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(value["fake_shares"], [0.4, 0.55, 0.05])
    assert value["min_ratio"] == pytest.approx(0.2) and value["max_ratio"] == pytest.approx(2.2)
    assert value["within"] == pytest.approx(1 / 3)  # only class 0 (ratio 0.8) is inside [0.5, 1.5]
    assert scalars({"coverage": value}) == {
        "coverage/min_ratio": value["min_ratio"],
        "coverage/max_ratio": value["max_ratio"],
        "coverage/within": value["within"],
    }
    balanced = METRICS["coverage"].compute(_coverage_inputs(real, real, 3))
    assert balanced["within"] == 1.0 and balanced["min_ratio"] == balanced["max_ratio"] == 1.0


def test_coverage_refuses_unlabelled_real_data():
    from keras_attngan.metrics.suite import METRICS

    with pytest.raises(ValueError, match="`coverage` needs labelled real data"):
        METRICS["coverage"].compute(_coverage_inputs([0] * 10, [0] * 5 + [1] * 5, 2))


def test_every_metric_says_what_it_needs():
    from keras_attngan.metrics.suite import METRICS, NEEDS_CLASSIFIER, NEEDS_FEATURES

    assert NEEDS_FEATURES == {"kid", "pr", "intra_fid"}
    assert NEEDS_CLASSIFIER == {"is", "intra_fid", "coverage"}
    assert all(hasattr(metric, "compute") and hasattr(metric, "flatten") for metric in METRICS.values())
