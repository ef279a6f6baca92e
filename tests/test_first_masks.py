"""Where the inner loop's first mask comes from: the seed's recurrence, or a prior of blobs."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import LATENT, SIZE, make_trainer, real_dataset

from keras_attngan.core import first_masks
from keras_attngan.core.latent import PRIOR, LatentSpec
from keras_attngan.export import serving

BLOBS = first_masks.FIRST_MASKS["blobs"].noise_dim


def _noise(count_draw, blobs):
    """One prior row: the count's draw, then (x, y, width draw) per blob, unused blobs far away."""
    rows = list(blobs) + [(0.0, 0.0, 0.0)] * (max(first_masks.BLOB_COUNTS) - len(blobs))
    return np.asarray([[count_draw] + [v for blob in rows for v in blob]], np.float32)


def test_one_blob_is_a_gaussian_at_its_centre_with_its_width():
    size = 32
    mask = np.asarray(first_masks.blob_masks(_noise(0.1, [(0.25, 0.75, 0.5)]), size))[0, :, :, 0]
    low, high = first_masks.BLOB_WIDTHS
    width = (low + high) / 2
    centres = (np.arange(size) + 0.5) / size
    y, x = np.meshgrid(centres, centres, indexing="ij")
    expected = np.exp(-((x - 0.25) ** 2 + (y - 0.75) ** 2) / (2 * width**2))
    np.testing.assert_allclose(mask, expected, rtol=1e-5, atol=1e-6)
    assert np.unravel_index(mask.argmax(), mask.shape) in {(23, 7), (24, 8), (23, 8), (24, 7)}


@pytest.mark.parametrize("count_draw, drawn", [(0.1, 1), (0.5, 2), (0.9, 4), (0.999999, 4)])
def test_the_count_draw_picks_one_two_or_four_blobs(count_draw, drawn):
    corners = [(0.1, 0.1, 0.0), (0.9, 0.9, 0.0), (0.1, 0.9, 0.0), (0.9, 0.1, 0.0)]
    mask = np.asarray(first_masks.blob_masks(_noise(count_draw, corners), 40))[0, :, :, 0]
    peaks = [mask[int(y * 40), int(x * 40)] for x, y, _ in corners]
    assert [p > 0.9 for p in peaks] == [True] * drawn + [False] * (4 - drawn)
    assert 0.0 <= mask.min() and mask.max() <= 1.0


def test_the_latent_spec_draws_the_prior_beside_z_and_keeps_z():
    spec = LatentSpec(LATENT, prior_dim=BLOBS)
    latent = spec.sample(5, 3)
    assert latent[PRIOR].shape == (5, BLOBS)
    assert 0.0 <= float(tf.reduce_min(latent[PRIOR])) and float(tf.reduce_max(latent[PRIOR])) < 1.0
    inputs = spec.inputs_numpy(4, 7)
    np.testing.assert_array_equal(inputs["z"], LatentSpec(LATENT).inputs_numpy(4, 7)["z"])
    np.testing.assert_array_equal(inputs[PRIOR], spec.inputs_numpy(4, 7)[PRIOR])
    assert LatentSpec.from_config(spec.get_config()).prior_dim == BLOBS


def test_a_trainer_refuses_a_latent_without_its_prior():
    with pytest.raises(ValueError, match=r"latent.prior_dim.*13.*first_mask='blobs'.*Received: latent.prior_dim=0"):
        make_trainer(first_mask="blobs")
    with pytest.raises(ValueError, match=r"first_mask.*'recurrence', 'blobs'"):
        make_trainer(first_mask="real")


@pytest.fixture(scope="module")
def blob_model():
    model = make_trainer(inner_steps=2, first_mask="blobs", latent=LatentSpec(LATENT, prior_dim=BLOBS))
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    return model


def test_the_prior_is_the_first_mask_and_needs_no_first_pass(blob_model):
    latent = blob_model.latent.sample(3, 1)
    result = blob_model.synthesize(latent)
    # K = 2: s_1 from the prior, s_2 = D(x_1); no x_0 was drawn.
    assert result["masks"].shape[1] == 2 and result["trajectory"].shape[1] == 2
    np.testing.assert_allclose(result["masks"][:, 0], first_masks.blob_masks(latent[PRIOR], SIZE), atol=1e-6)
    generator_inputs = {"z": latent["z"], "mask": result["masks"][:, 1]}
    np.testing.assert_allclose(result["images"], blob_model.generator(generator_inputs), atol=1e-5)
    # The recurrence draws x_0 and starts from D's mask of it.
    seed_model = make_trainer(inner_steps=2)
    assert seed_model.synthesize({"z": latent["z"]})["trajectory"].shape[1] == 3


def test_the_first_update_trains_g_on_the_prior(blob_model):
    latent = blob_model.latent.sample(4, 2)
    real = next(iter(real_dataset()))
    _, _, (mask, next_mask) = blob_model._generator_update(real, latent, None, blob_model._initial_state(latent, 4))
    np.testing.assert_allclose(mask, first_masks.blob_masks(latent[PRIOR], SIZE), atol=1e-6)
    assert next_mask.shape == (4, SIZE, SIZE, 1)


@pytest.mark.slow
def test_the_export_takes_the_prior_and_serves_what_the_model_synthesizes(blob_model, tmp_path):
    path = serving.save_version(blob_model, str(tmp_path / "export"))
    loaded = tf.saved_model.load(path)
    inputs = {k: tf.constant(v) for k, v in blob_model.latent.inputs_numpy(3, 5).items()}
    served = loaded.signatures["serving_default"](**inputs)["images"]
    np.testing.assert_allclose(served, blob_model.synthesize(inputs)["images"], atol=1e-5)
    sampled = loaded.signatures["sample"](seed=tf.constant(3, tf.int64), count=tf.constant(2))
    assert sampled[PRIOR].shape == (2, BLOBS)
    again = loaded.signatures["serving_default"](z=sampled["z"], prior=sampled[PRIOR])["images"]
    np.testing.assert_allclose(sampled["images"], again, atol=1e-5)


@pytest.mark.slow
def test_mask_usage_reads_a_model_with_a_prior_in_memory_and_exported(blob_model, tmp_path):
    from keras_attngan.apps.evaluation import load_subject
    from keras_attngan.metrics.suite import MetricOptions, mask_usage_of
    from keras_attngan.training.subject import subject_from_model

    options = MetricOptions(mask_usage_num=8, mask_usage_cell_size=4)
    in_memory = mask_usage_of(subject_from_model(blob_model), 0, options)
    exported = mask_usage_of(load_subject(serving.save_version(blob_model, str(tmp_path / "export"))), 0, options)
    # The metrics give the mask themselves: the prior draws nothing, and both subjects agree.
    for name in ("content_sensitivity", "locality_gain"):
        assert np.isfinite(in_memory[name])
        np.testing.assert_allclose(exported[name], in_memory[name], atol=1e-3)


@pytest.mark.slow
def test_a_run_with_the_prior_logs_its_masks_and_exports_the_prior_input(tmp_path):
    from conftest import tiny_config

    from keras_attngan.export import loading
    from keras_attngan.training.loop import train

    train(tiny_config(**{"model.first_mask": "blobs"}), str(tmp_path))
    export = loading.resolve_export(str(tmp_path / "export"))
    inputs = tf.saved_model.load(export).signatures["serving_default"].structured_input_signature[1]
    assert inputs[PRIOR].shape.as_list() == [None, BLOBS]
    assert loading.load_metadata(export)["first_mask"] == "blobs"
    assert (tmp_path / "samples" / "inner_loop.png").exists()
