"""The super-resolution G (keras_attngan.networks.upscaler) and the trainer's paired mode."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_attngan.gan import AttnGAN
from keras_attngan.latent import LatentSpec
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.layers import DynamicUpsampling
from keras_attngan.networks.upscaler import build_upscaler, upscale_factor
from keras_attngan.terms import LatentRegularizer

SIZE = 16


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def sr_trainer(scale=4, terms=True, mask_source="none"):
    """A compiled 16x16 super-resolution trainer, with the encoder term unless `terms` is False."""
    generator = build_upscaler(scale, 3, width=4, blocks=1)
    discriminator = Discriminator(SIZE, 3, width=4, attention=mask_source)
    term = [LatentRegularizer.from_networks(generator, discriminator, width=4, name="encoder")] if terms else []
    model = AttnGAN(generator, discriminator, LatentSpec(4), seed=0, terms=term)
    model.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    return model


@pytest.mark.parametrize("scale", [2, 4])
def test_untrained_upscaler_is_bilinear_interpolation_on_any_size(scale):
    generator = build_upscaler(scale, 3, width=4, blocks=1)
    assert upscale_factor(generator, 3) == scale
    for height, width in ((4, 4), (5, 7)):
        lowres = _images((1, height, width, 3))
        upscaled = generator({"lowres": lowres})
        expected = tf.image.resize(lowres, (height * scale, width * scale), method="bilinear")
        np.testing.assert_allclose(upscaled, expected, atol=1e-6)


def test_bad_scale_names_the_config_key():
    with pytest.raises(ValueError, match=r"data\.scale"):
        build_upscaler(3, 3)


def test_upscaler_and_its_layer_save_and_load(tmp_path):
    generator = build_upscaler(2, 3, width=4, blocks=1)
    generator.get_layer("detail").kernel.assign(0.1 * np.ones(generator.get_layer("detail").kernel.shape))
    path = str(tmp_path / "g.keras")
    generator.save(path)
    restored = keras.saving.load_model(path)
    lowres = {"lowres": _images((1, 6, 5, 3))}
    np.testing.assert_allclose(restored(lowres), generator(lowres), atol=1e-6)
    layer = DynamicUpsampling.from_config(DynamicUpsampling(3, name="up").get_config())
    assert layer.factor == 3 and layer(tf.zeros((1, 2, 3, 1))).shape == (1, 6, 9, 1)
    with pytest.raises(ValueError, match="factor"):
        DynamicUpsampling(0)


def test_paired_trainer_refuses_a_mask_source():
    with pytest.raises(ValueError, match=r"model\.mask_source='none'"):
        sr_trainer(mask_source="gradcam")


def test_paired_fit_step_with_the_encoder_term(tmp_path):
    model = sr_trainer()
    assert model.paired and model.scale == 4
    (term,) = model.terms
    assert term.latent_shape == (None, None, 3) and term.scale == 4
    targets = _images((8, SIZE, SIZE, 3))
    dataset = tf.data.Dataset.from_tensor_slices(
        {"images": targets, "lowres": tf.image.resize(targets, (4, 4), antialias=True)}
    ).batch(4, drop_remainder=True).repeat()
    history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert int(term.optimizer.iterations) == 2
    # call() takes a bare low-res batch as G's input.
    assert model(_images((1, 3, 5, 3))).shape == (1, 12, 20, 3)
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.paired and restored.scale == 4
    np.testing.assert_allclose(restored(targets[:1, :4, :4]), model(targets[:1, :4, :4]), atol=1e-6)
