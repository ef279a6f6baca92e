"""Mask-usage metrics: about 0 for a G that ignores the mask, high for one that copies it."""

import numpy as np
import pytest
from conftest import SIZE, make_trainer, real_dataset
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan.core.mask_statistics import mask_statistics
from keras_attngan.metrics.mask_usage import mask_usage
from keras_attngan.training import callbacks

LATENT = 8


def _explain(images):
    """A toy D whose mask covers the brightest quadrant of the image (content-dependent)."""
    half = SIZE // 2
    brightness = images.mean(axis=-1)
    quadrants = [(r, c) for r in (0, half) for c in (0, half)]
    masks = np.full(images.shape[:3] + (1,), 0.05, np.float32)
    for i, image in enumerate(brightness):
        r, c = max(quadrants, key=lambda rc: image[rc[0] : rc[0] + half, rc[1] : rc[1] + half].mean())
        masks[i, r : r + half, c : c + half] = 1.0
    return masks


def _base(z):
    """A toy G's image: a smooth random pattern per z."""
    grid = np.linspace(-1, 1, SIZE, dtype=np.float32)
    return np.tanh(
        z[:, 0, None, None] * grid[None, :, None] + z[:, 1, None, None] * grid[None, None, :]
    )[..., None].repeat(3, axis=-1)


def _z(count=64):
    return np.random.default_rng(0).standard_normal((count, LATENT)).astype(np.float32)


def test_a_generator_that_ignores_the_mask_scores_zero():
    result = mask_usage(lambda mask: _base(_z()), _explain, 64, SIZE, cell_size=4, group_size=32)
    assert result["mask_effect"] == 0.0 and result["swap_effect"] == 0.0
    assert result["content_sensitivity"] == 0.0
    assert result["locality_gain"] == 0.0
    assert abs(result["mi_bound"]) < 1e-6
    np.testing.assert_allclose(result["mi_ceiling"], np.log(32), rtol=1e-6)


def test_a_generator_that_uses_the_mask_as_a_switch_has_no_content_sensitivity():
    def switch(z, mask):
        uniform = np.all(mask == 1.0, axis=(1, 2, 3))
        return _base(z) + np.where(uniform, 0.0, 0.3)[:, None, None, None]

    result = mask_usage(lambda mask: switch(_z(), mask), _explain, 64, SIZE, cell_size=4, group_size=32)
    assert result["mask_effect"] > 0.2
    assert result["content_sensitivity"] < 1e-6
    assert abs(result["locality_gain"]) < 1e-6


def test_a_generator_that_paints_its_mask_scores_high():
    def painter(z, mask):
        # Darkens where its mask stands out; a uniform mask stands out nowhere.
        return _base(z) - 0.5 * (mask - mask.mean(axis=(1, 2, 3), keepdims=True))

    result = mask_usage(lambda mask: painter(_z(), mask), _explain, 64, SIZE, cell_size=4, group_size=32)
    assert result["content_sensitivity"] > 0.5
    assert result["locality_own"] > 0.8
    assert result["locality_gain"] > 0.5
    # Only 4 masks exist (one per quadrant), so I(mask; change) <= log 4 < log 32:
    # the bound gets close to that, the most the change can tell.
    assert 0.9 * np.log(4) < result["mi_bound"] <= np.log(4) + 1e-3


def test_mask_statistics_known_values():
    flat = np.ones((2, 4, 4, 1), np.float32)
    stats = {k: float(v) for k, v in mask_statistics(flat).items()}
    assert stats == pytest.approx(
        {"mask_mean": 1.0, "mask_contrast": 0.0, "mask_entropy": 1.0, "mask_diversity": 0.0},
        abs=1e-5,
    )
    spots = np.zeros((2, 4, 4, 1), np.float32)
    spots[0, 0, 0] = spots[1, 3, 3] = 1.0
    stats = {k: float(v) for k, v in mask_statistics(spots).items()}
    assert stats["mask_entropy"] == pytest.approx(0.0, abs=1e-4)
    assert stats["mask_contrast"] == pytest.approx(np.std([1.0] + [0.0] * 15), rel=1e-5)
    assert stats["mask_diversity"] == pytest.approx(2 * 0.5 / 16, rel=1e-5)


@pytest.mark.slow
def test_mask_usage_callback_writes_scalars(tmp_path):
    model = make_trainer(inner_steps=1)
    usage = callbacks.MaskUsage(str(tmp_path), every=2, num=8, cell_size=4)
    model.fit(real_dataset(), steps_per_epoch=4, epochs=1, verbose=0, callbacks=[usage])
    assert sorted(usage.results) == [2, 4]
    accumulator = event_accumulator.EventAccumulator(
        str(tmp_path / "mask_usage"), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    tags = set(accumulator.Tags()["tensors"])
    names = {"content_sensitivity", "locality_gain", "mi_bound", "mi_ceiling", "mask_entropy"}
    assert {f"mask_usage/{name}" for name in names} <= tags
    assert [event.step for event in accumulator.Tensors("mask_usage/locality_gain")] == [2, 4]


def test_mask_usage_of_a_model_without_a_mask_is_refused_before_any_work():
    from keras_attngan.metrics.suite import check_mask_usage
    from keras_attngan.training.subject import subject_from_model

    subject = subject_from_model(make_trainer("none"))
    assert subject.generate_with_mask is None
    with pytest.raises(ValueError, match="mask_usage.*mask source 'none'"):
        check_mask_usage(subject)
