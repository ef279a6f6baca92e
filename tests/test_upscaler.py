"""The super-resolution G (keras_attngan.networks.upscaler) and the trainer's paired mode."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_attngan.core.latent import LatentSpec
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.layers import DynamicUpsampling
from keras_attngan.networks.upscaler import (
    BicubicUpsampling,
    build_upscaler,
    receptive_radius,
    upscale_factor,
)
from keras_attngan.terms import LatentRegularizer
from keras_attngan.trainers.super_resolution import SuperResolutionGAN

SIZE = 16


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def sr_trainer(scale=4, terms=True, mask_source="none", **options):
    """A compiled 16x16 super-resolution trainer, with the encoder term unless `terms` is False."""
    generator = build_upscaler(scale, 3, width=4, blocks=1)
    discriminator = Discriminator(SIZE, 3, width=4, attention=mask_source)
    term = [LatentRegularizer.from_networks(generator, discriminator, width=4, name="encoder")] if terms else []
    model = SuperResolutionGAN(generator, discriminator, LatentSpec(4), seed=0, terms=term, **options)
    model.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    return model


@pytest.mark.parametrize("scale", [2, 4])
def test_untrained_upscaler_is_exactly_bicubic_interpolation_on_any_size(scale):
    generator = build_upscaler(scale, 3, width=4, blocks=1)
    assert upscale_factor(generator, 3) == scale
    for height, width in ((4, 4), (5, 7), (1, 3)):
        lowres = _images((2, height, width, 3))
        upscaled = generator({"lowres": lowres})
        # The bicubic row of every SR table: tf.image.resize, borders included.
        expected = tf.image.resize(lowres, (height * scale, width * scale), method="bicubic")
        np.testing.assert_allclose(upscaled, expected, atol=1e-5)


def test_bicubic_layer_reproduces_a_constant_and_a_ramp():
    layer = BicubicUpsampling(4, 1)
    np.testing.assert_allclose(layer(tf.fill((1, 3, 5, 1), 0.3)), tf.fill((1, 12, 20, 1), 0.3), atol=1e-6)
    # Cubic convolution is exact on linear functions away from the clamped borders.
    ramp = tf.reshape(tf.range(8, dtype=tf.float32), (1, 1, 8, 1)) * tf.ones((1, 8, 1, 1))
    upscaled = layer(ramp)[0, 16, 8:-8, 0]
    expected = (np.arange(16) + 8 + 0.5) / 4 - 0.5
    np.testing.assert_allclose(upscaled, expected, atol=1e-5)


def test_residual_branch_changes_the_output_once_trained():
    generator = build_upscaler(2, 3, width=4, blocks=1)
    detail = generator.get_layer("detail")
    detail.kernel.assign(np.random.default_rng(0).normal(0, 0.1, detail.kernel.shape))
    lowres = _images((1, 5, 5, 3))
    bicubic = tf.image.resize(lowres, (10, 10), method="bicubic")
    assert float(tf.reduce_max(tf.abs(generator({"lowres": lowres}) - bicubic))) > 1e-3
    assert receptive_radius(1) == 5


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


@pytest.mark.slow
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


def _paired_dataset(count=8, batch=4):
    targets = _images((count, SIZE, SIZE, 3))
    lowres = tf.image.resize(targets, (4, 4), method="bicubic", antialias=True)
    return tf.data.Dataset.from_tensor_slices({"images": targets, "lowres": lowres}).batch(batch).repeat()


@pytest.mark.slow
def test_pixel_phase_switches_to_adversarial_at_the_configured_step_and_after_a_resume(tmp_path):
    model = sr_trainer(terms=True, sr_pretrain_steps=3, sr_adversarial_weight=0.01)
    (term,) = model.terms
    d_weights = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    g_weights = [w.numpy().copy() for w in model.generator.trainable_weights]
    model.fit(_paired_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    # Pixel phase: G moved; D and E rested, but the step counter advanced.
    assert int(model.train_steps) == 2 and float(model.window_trackers["sr_phase"].result()) == 0
    assert float(model.window_trackers["sr_pixel"].result()) > 0
    assert any(np.any(w.numpy() != v) for w, v in zip(model.generator.trainable_weights, g_weights))
    assert all(np.array_equal(w.numpy(), v) for w, v in zip(model.discriminator.trainable_weights, d_weights))
    assert int(term.optimizer.iterations) == 0
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.sr_pretrain_steps == 3 and restored.sr_adversarial_weight == 0.01
    assert int(restored.train_steps) == 2
    phases = []

    class Phases(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            phases.append(float(restored.window_trackers["sr_phase"].result()))
            restored.window_trackers["sr_phase"].reset_state()

    restored.fit(_paired_dataset(), steps_per_epoch=3, epochs=1, verbose=0, callbacks=[Phases()])
    # Step 2 (0-based) is the last pixel step, 3 and 4 are adversarial.
    assert phases == [0.0, 1.0, 1.0]
    assert int(restored.terms[0].optimizer.iterations) == 2
    assert not all(
        np.array_equal(w.numpy(), v) for w, v in zip(restored.discriminator.trainable_weights, d_weights)
    )


def test_pretrain_and_weight_arguments_are_checked():
    with pytest.raises(ValueError, match=r"train\.sr_pretrain_steps"):
        sr_trainer(terms=False, sr_pretrain_steps=-1)
    with pytest.raises(ValueError, match=r"train\.sr_adversarial_weight"):
        sr_trainer(terms=False, sr_adversarial_weight=-0.5)
