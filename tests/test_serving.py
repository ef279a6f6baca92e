import json
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_trainer, real_dataset

from keras_attngan import serving


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    model = make_trainer(inner_steps=2)
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    masks = root / "masks"
    masks.mkdir()
    np.savez(masks / "step_0000002.npz", inner_loop=np.zeros((2, 2, SIZE, SIZE, 1), np.uint8))
    path = serving.export(model, str(root / "export"), {"model": {"mask_source": "learned"}}, str(masks))
    return model, path, tf.saved_model.load(path)


def test_export_layout_and_metadata(exported):
    model, path, _ = exported
    assert os.path.basename(path) == "2"  # TF Serving version = train steps
    metadata = serving.load_metadata(path)
    assert metadata["latent_dim"] == LATENT and metadata["inner_steps"] == 2
    assert metadata["mask_source"] == "learned" and metadata["config"]["model"]["mask_source"] == "learned"
    assert metadata["logged_mask_steps"] == ["step_0000002"]
    with np.load(os.path.join(path, "assets", serving.MASKS_FILE)) as masks:
        assert masks["step_0000002/inner_loop"].shape == (2, 2, SIZE, SIZE, 1)
    assert serving.resolve_export(os.path.dirname(path)) == path


def test_signatures_match_the_model(exported):
    model, _, loaded = exported
    assert set(loaded.signatures) == {"serving_default", "generate", "explain"}
    z = tf.random.normal((3, LATENT), seed=4)
    images = loaded.signatures["serving_default"](z=z)["images"]
    np.testing.assert_allclose(images, model.synthesize({"z": z})["images"], atol=1e-5)

    mask = tf.random.uniform((3, SIZE, SIZE, 1), seed=5)
    generated = loaded.signatures["generate"](z=z, mask=mask)["images"]
    np.testing.assert_allclose(generated, model.generator({"z": z, "mask": mask}), atol=1e-5)

    explained = loaded.signatures["explain"](images=images)
    reference = model.discriminator(images)
    np.testing.assert_allclose(explained["logits"], reference["logits"], atol=1e-5)
    np.testing.assert_allclose(explained["score"], tf.sigmoid(reference["logits"]), atol=1e-5)
    np.testing.assert_allclose(explained["attention"], reference["attention"], atol=1e-5)


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
    loaded = tf.saved_model.load(serving.export(model, str(tmp_path)))
    z = tf.random.normal((2, LATENT))
    np.testing.assert_allclose(loaded.signatures["serving_default"](z=z)["images"], model.generator({"z": z}), atol=1e-5)
    assert set(loaded.signatures["generate"].structured_input_signature[1]) == {"z"}
    np.testing.assert_array_equal(loaded.signatures["explain"](images=tf.zeros((1, SIZE, SIZE, CHANNELS)))["attention"], 1.0)


def test_failed_export_leaves_the_existing_one_intact(tmp_path, monkeypatch):
    model = make_trainer()
    path = serving.export(model, str(tmp_path), version=7)
    before = sorted(os.listdir(path))

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        serving.export(model, str(tmp_path), version=7)
    assert sorted(os.listdir(path)) == before
    assert sorted(os.listdir(tmp_path)) == ["7"]  # no temporary left behind
    tf.saved_model.load(path)


def test_reexport_replaces_and_resolve_takes_the_newest(tmp_path):
    model = make_trainer()
    serving.export(model, str(tmp_path), version=3)
    serving.export(model, str(tmp_path), version=12)
    path = serving.export(model, str(tmp_path), version=12)
    assert sorted(os.listdir(tmp_path)) == ["12", "3"]
    assert serving.resolve_export(str(tmp_path)) == path
    with open(os.path.join(path, "assets", serving.METADATA_FILE)) as f:
        assert json.load(f)["train_steps"] == 12
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        serving.resolve_export(str(tmp_path / "nothing"))
