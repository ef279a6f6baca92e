import json
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_trainer, real_dataset

from keras_attngan.core import images as images_lib
from keras_attngan.core.latent import LatentSpec
from keras_attngan.export import loading, serving, versioning


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    model = make_trainer(inner_steps=2)
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    masks = root / "masks"
    masks.mkdir()
    np.savez(masks / "step_0000002.npz", inner_loop=np.zeros((2, 2, SIZE, SIZE, 1), np.uint8))
    path = serving.save_version(model, str(root / "export"), {"model": {"mask_source": "learned"}}, str(masks))
    return model, path, tf.saved_model.load(path)


@pytest.mark.slow
def test_export_layout_and_metadata(exported):
    model, path, _ = exported
    assert os.path.basename(path) == "2"  # TF Serving version = train steps
    metadata = loading.load_metadata(path)
    assert metadata["latent_dim"] == LATENT and metadata["inner_steps"] == 2
    assert metadata["mask_source"] == "learned" and metadata["config"]["model"]["mask_source"] == "learned"
    assert metadata["logged_mask_steps"] == ["step_0000002"]
    with np.load(os.path.join(path, "assets", serving.MASKS_FILE)) as masks:
        assert masks["step_0000002/inner_loop"].shape == (2, 2, SIZE, SIZE, 1)
    assert loading.resolve_export(os.path.dirname(path)) == path


@pytest.mark.slow
def test_signatures_match_the_model(exported):
    model, _, loaded = exported
    assert set(loaded.signatures) == {"serving_default", "sample", "generate", "explain"}
    z = tf.random.normal((3, LATENT), seed=4)
    served = loaded.signatures["serving_default"](z=z)
    images = served["images"]
    np.testing.assert_allclose(images, model.synthesize({"z": z})["images"], atol=1e-5)
    np.testing.assert_array_equal(served["images_uint8"], images_lib.to_uint8(images))

    mask = tf.random.uniform((3, SIZE, SIZE, 1), seed=5)
    generated = loaded.signatures["generate"](z=z, mask=mask)["images"]
    np.testing.assert_allclose(generated, model.generator({"z": z, "mask": mask}), atol=1e-5)

    explained = loaded.signatures["explain"](images=images)
    reference = model.discriminator(images)
    np.testing.assert_allclose(explained["logits"], reference["logits"], atol=1e-5)
    np.testing.assert_allclose(explained["score"], tf.sigmoid(reference["logits"]), atol=1e-5)
    np.testing.assert_allclose(explained["attention"], reference["attention"], atol=1e-5)


@pytest.mark.slow
def test_sample_draws_its_own_noise(exported):
    _, _, loaded = exported
    sample = loaded.signatures["sample"]
    first = sample(seed=tf.constant(3, tf.int64), count=tf.constant(2))
    again = sample(seed=tf.constant(3, tf.int64), count=tf.constant(2))
    other = sample(seed=tf.constant(4, tf.int64), count=tf.constant(2))
    np.testing.assert_array_equal(first["images"], again["images"])
    assert not np.allclose(first["z"], other["z"])
    np.testing.assert_allclose(
        first["images"], loaded.signatures["serving_default"](z=first["z"])["images"], atol=1e-6
    )
    assert first["images_uint8"].dtype == tf.uint8 and first["images_uint8"].shape == (2, SIZE, SIZE, CHANNELS)
    with pytest.raises(tf.errors.InvalidArgumentError, match="`count` must be >= 0"):
        sample(seed=tf.constant(3, tf.int64), count=tf.constant(-1))


@pytest.mark.slow
@pytest.mark.parametrize(
    "signature, inputs, shape",
    [
        ("serving_default", {"z": tf.zeros((0, LATENT))}, (0, SIZE, SIZE, CHANNELS)),
        ("generate", {"z": tf.zeros((0, LATENT)), "mask": tf.zeros((0, SIZE, SIZE, 1))}, (0, SIZE, SIZE, CHANNELS)),
        ("explain", {"images": tf.zeros((0, SIZE, SIZE, CHANNELS))}, (0, SIZE, SIZE, 1)),
    ],
)
def test_a_batch_of_zero_gives_an_empty_batch(exported, signature, inputs, shape):
    _, _, loaded = exported
    outputs = loaded.signatures[signature](**inputs)
    assert tuple(outputs["attention" if signature == "explain" else "images"].shape) == shape
    empty = loaded.signatures["sample"](seed=tf.constant(0, tf.int64), count=tf.constant(0))
    assert tuple(empty["images"].shape) == (0, SIZE, SIZE, CHANNELS)


@pytest.mark.slow
def test_non_finite_and_wrongly_typed_inputs_are_refused(exported):
    _, _, loaded = exported
    z = np.zeros((2, LATENT), np.float32)
    z[1, 3] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input 'z' holds NaN or Inf"):
        loaded.signatures["serving_default"](z=tf.constant(z))
    images = np.full((1, SIZE, SIZE, CHANNELS), np.inf, np.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input 'images' holds NaN or Inf"):
        loaded.signatures["explain"](images=tf.constant(images))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a float tensor but is a double"):
        loaded.signatures["serving_default"](z=tf.zeros((2, LATENT), tf.float64))
    # The signature still serves after the refusals.
    assert loaded.signatures["serving_default"](z=tf.zeros((1, LATENT)))["images"].shape[0] == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "signature, inputs",
    [
        ("serving_default", {"z": tf.zeros((2, LATENT + 1))}),
        ("generate", {"z": tf.zeros((2, LATENT)), "mask": tf.zeros((2, SIZE, SIZE, 3))}),
        ("explain", {"images": tf.zeros((2, SIZE * 2, SIZE * 2, CHANNELS))}),
    ],
)
def test_wrong_shapes_get_a_clear_error(exported, signature, inputs):
    _, _, loaded = exported
    with pytest.raises(tf.errors.InvalidArgumentError, match="is not compatible with expected shape"):
        loaded.signatures[signature](**inputs)


def test_baseline_export(tmp_path):
    model = make_trainer("none")
    loaded = tf.saved_model.load(serving.save_version(model, str(tmp_path)))
    z = tf.random.normal((2, LATENT))
    np.testing.assert_allclose(loaded.signatures["serving_default"](z=z)["images"], model.generator({"z": z}), atol=1e-5)
    assert set(loaded.signatures["generate"].structured_input_signature[1]) == {"z"}
    assert loaded.signatures["sample"](seed=tf.constant(1, tf.int64), count=tf.constant(3))["images"].shape[0] == 3
    np.testing.assert_array_equal(loaded.signatures["explain"](images=tf.zeros((1, SIZE, SIZE, CHANNELS)))["attention"], 1.0)


def test_sample_draws_the_noise_distribution_of_the_model(tmp_path):
    model = make_trainer("none", latent=LatentSpec(LATENT, noise_distribution="uniform"))
    loaded = tf.saved_model.load(serving.save_version(model, str(tmp_path)))
    z = loaded.signatures["sample"](seed=tf.constant(1, tf.int64), count=tf.constant(256))["z"].numpy()
    # Normal z would leave [-1, 1] in about a third of its 256 x LATENT values.
    assert np.abs(z).max() <= 1.0 and z.std() == pytest.approx(1 / np.sqrt(3), abs=0.05)


@pytest.mark.slow
def test_failed_export_leaves_the_existing_one_intact(tmp_path, monkeypatch):
    model = make_trainer()
    path = serving.save_version(model, str(tmp_path), version=7)
    before = sorted(os.listdir(path))

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        serving.save_version(model, str(tmp_path), version=7)
    assert sorted(os.listdir(path)) == before
    assert sorted(os.listdir(tmp_path)) == ["7"]  # no temporary left behind
    tf.saved_model.load(path)


@pytest.mark.slow
def test_reexport_takes_a_new_version_unless_overwrite(tmp_path):
    model = make_trainer()
    serving.save_version(model, str(tmp_path), version=3)
    serving.save_version(model, str(tmp_path), version=12)
    again = serving.save_version(model, str(tmp_path), version=12)
    assert os.path.basename(again) == "13"
    assert loading.resolve_export(str(tmp_path)) == again
    replaced = serving.save_version(model, str(tmp_path), version=12, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["12", "13", "3"]  # nothing staged is left
    with open(os.path.join(replaced, "assets", serving.METADATA_FILE)) as f:
        assert json.load(f)["train_steps"] == 0  # the model's own count, not the version
    tf.saved_model.load(replaced)
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        loading.resolve_export(str(tmp_path / "nothing"))


@pytest.mark.slow
def test_reexport_of_the_same_step_writes_nothing_unless_asked(tmp_path, monkeypatch):
    model = make_trainer()
    first = serving.save_version(model, str(tmp_path), version=3, renumber=False)
    before = {name: os.path.getmtime(os.path.join(first, name)) for name in os.listdir(first)}

    def no_save(*args, **kwargs):
        raise AssertionError("an existing version was written again")

    monkeypatch.setattr(serving, "save", no_save)
    with pytest.raises(versioning.VersionExistsError) as exists:
        serving.save_version(model, str(tmp_path), version=3, renumber=False)
    assert exists.value.path == first
    assert sorted(os.listdir(tmp_path)) == ["3"]  # no staging, no version 4
    assert {name: os.path.getmtime(os.path.join(first, name)) for name in os.listdir(first)} == before
    monkeypatch.undo()
    assert serving.save_version(model, str(tmp_path), version=3, overwrite=True, renumber=False) == first
