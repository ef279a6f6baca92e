"""Super-resolution metrics (keras_attngan.metrics.super_resolution) against hand computations."""

import numpy as np
import pytest
import tensorflow as tf

from keras_attngan.metrics import super_resolution as sr


def test_y_psnr_with_border_crop_matches_a_hand_computation():
    truth = np.full((24, 24, 3), 100, np.uint8)
    ours = truth.copy()
    ours[8, 8] += 10  # inside the crop: Y rises by 10 * (65.481 + 128.553 + 24.966) / 255
    ours[1, 1] = 255  # in the 4-pixel border: cropped away
    values = sr.compare(ours, truth, 4)
    difference = 10 * 219.0 / 255
    expected = 10 * np.log10(255.0**2 / (difference**2 / (16 * 16)))
    assert values["psnr_y"] == pytest.approx(expected, abs=1e-9)
    # RGB: the same pixel differs by 10 in each of 3 channels of 16 x 16 x 3 values.
    assert values["psnr_rgb"] == pytest.approx(10 * np.log10(255.0**2 / (100.0 / 256)), abs=1e-9)


def test_luma_is_bt601_studio_range():
    np.testing.assert_allclose(sr.luma(np.array([[0, 0, 0], [255, 255, 255]], np.uint8)), [16.0, 235.0])


def test_ssim_matches_tensorflow_and_is_one_for_equal_images():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (24, 24)).astype(np.float64)
    ours = np.clip(truth + rng.normal(0, 20, truth.shape), 0, 255)
    assert sr.ssim(truth, truth) == pytest.approx(1.0)
    expected = float(tf.image.ssim(tf.constant(ours[..., None]), tf.constant(truth[..., None]), 255.0))
    assert sr.ssim(ours, truth) == pytest.approx(expected, abs=1e-5)


def test_high_frequency_ratio_is_low_for_blur_one_for_truth_and_high_for_noise():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    blurred = tf.image.resize(tf.image.resize(truth[None].astype(np.float32), (8, 8), antialias=True), (32, 32), "bicubic")
    blurred = np.clip(np.round(blurred.numpy()[0]), 0, 255).astype(np.uint8)
    assert sr.compare(truth, truth, 4)["hf_ratio"] == pytest.approx(1.0)
    assert sr.compare(blurred, truth, 4)["hf_ratio"] < 0.3
    smooth = np.full((32, 32, 3), 128, np.uint8) + np.arange(32, dtype=np.uint8)[:, None, None]
    noisy = np.clip(smooth + rng.normal(0, 30, smooth.shape), 0, 255).astype(np.uint8)
    assert sr.compare(noisy, smooth, 4)["hf_ratio"] > 10


def test_images_must_match_and_exceed_the_border_and_window():
    with pytest.raises(ValueError, match="one shape"):
        sr.compare(np.zeros((32, 32, 3), np.uint8), np.zeros((32, 30, 3), np.uint8), 4)
    with pytest.raises(ValueError, match="border"):
        sr.compare(np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16, 3), np.uint8), 4)
