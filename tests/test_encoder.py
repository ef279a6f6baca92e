"""The encoders of the latent-space regularizer (keras_attngan.networks.encoder): shapes, weights, save/load."""

import keras
import numpy as np
import pytest

from keras_attngan.networks.encoder import ENCODERS, VGGPreprocess, build_encoder


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


@pytest.mark.parametrize("spectral", [False, True])
def test_conv_encoder_output_has_the_size_of_a_vector_z(spectral):
    encoder = build_encoder("conv", (16, 16, 3), (8,), width=4, spectral=spectral)
    assert encoder(_images((2, 16, 16, 3))).shape == (2, 8)
    assert any(layer.name.endswith("upscale") for layer in encoder.layers)  # up to Z's size


@pytest.mark.parametrize("kind", sorted(ENCODERS))
@pytest.mark.parametrize("scale", [2, 4])
def test_encoders_map_any_high_res_size_to_the_low_res_size(kind, scale):
    encoder = build_encoder(kind, (None, None, 3), (None, None, 3), width=4, scale=scale)
    for height, width in ((16, 16), (32, 24)):
        assert encoder(_images((1, height, width, 3))).shape == (1, height // scale, width // scale, 3)


def test_vgg_encoder_loads_a_weights_file_and_freezes_its_trunk(tmp_path):
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    path = str(tmp_path / "vgg19_notop.weights.h5")
    vgg.save_weights(path)
    encoder = build_encoder("vgg", (None, None, 3), (4, 4, 3), width=4, scale=4, weights=path)
    conv = encoder.get_layer("block1_conv1")
    np.testing.assert_array_equal(conv.kernel.numpy(), vgg.get_layer("block1_conv1").kernel.numpy())
    trainable = {v.path.split("/")[0] for v in encoder.trainable_variables}
    assert not any(name.startswith("block") for name in trainable)
    scratch = build_encoder("vgg", (None, None, 3), (4, 4, 3), width=4, scale=4)
    assert len(scratch.trainable_variables) > len(encoder.trainable_variables)


def test_bad_encoder_arguments_name_the_config_key(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train\.encoder_weights.*nowhere\.h5"):
        build_encoder("vgg", (16, 16, 3), (8,), weights=str(tmp_path / "nowhere.h5"))
    with pytest.raises(ValueError, match=r"data\.channels"):
        build_encoder("vgg", (16, 16, 1), (8,))
    with pytest.raises(ValueError, match=r"train\.encoder_weights"):
        build_encoder("conv", (16, 16, 3), (8,), weights="x.h5")
    with pytest.raises(ValueError, match=r"train\.encoder.*\['conv', 'vgg'\]"):
        build_encoder("resnet", (16, 16, 3), (8,))


@pytest.mark.parametrize("kind", sorted(ENCODERS))
def test_encoders_save_and_load(kind, tmp_path):
    encoder = build_encoder(kind, (None, None, 3), (None, None, 3), width=4, scale=2, spectral=True)
    path = str(tmp_path / "encoder.keras")
    encoder.save(path)
    restored = keras.saving.load_model(path)
    images = _images((1, 16, 16, 3))
    np.testing.assert_allclose(restored(images), encoder(images), atol=1e-5)


def test_vgg_preprocess_config_round_trip():
    layer = VGGPreprocess(name="p")
    clone = VGGPreprocess.from_config(layer.get_config())
    white = np.ones((1, 1, 1, 3), "float32")
    np.testing.assert_allclose(clone(white)[0, 0, 0], 255.0 - np.array([103.939, 116.779, 123.68]), rtol=1e-6)
