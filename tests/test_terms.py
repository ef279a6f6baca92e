"""Loss terms: the registry, SS-GAN's rotation term, and their place in the train step."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_trainer, real_dataset, tiny_config

from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.terms import TERMS, Rotation, parse_terms
from keras_attngan.terms.rotation import rotations
from keras_attngan.training.build import build_trainer
from keras_attngan.training.config import default_config
from keras_attngan.training.experiment import (
    Workdir,
    checkpoint_manager,
    restore_trainer,
)
from keras_attngan.training.validation import validate_config


def _rotation_trainer(**kwargs):
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="none")
    term = Rotation.from_networks(None, discriminator, weight_d=1.0, weight_g=0.5, name="rotation")
    return make_trainer("none", inner_steps=1, terms=[term], **kwargs)


def _images(count=2, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (count, SIZE, SIZE, CHANNELS)), "float32")


def test_rotations_turn_each_image_by_k_quarter_turns():
    images = tf.reshape(tf.range(2 * 2 * 2, dtype="float32"), (2, 2, 2, 1))
    rotated, labels = rotations(images)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(rotated[:2], images)
    np.testing.assert_array_equal(rotated[2], np.rot90(images[0], 1, axes=(0, 1)))
    np.testing.assert_array_equal(rotated[6:], np.rot90(images, 3, axes=(1, 2)))


def test_rotation_loss_known_value():
    # A head with a zero kernel and bias b predicts softmax(b) for every image:
    # the cross-entropy is logsumexp(b) - mean(b) (each rotation is a quarter
    # of the labels) and argmax(b) is right on a quarter of them.
    discriminator = Discriminator(SIZE, CHANNELS, width=4, attention="none")
    term = Rotation.from_networks(None, discriminator)
    bias = np.array([1.0, 0.0, -1.0, 2.0], "float32")
    term.head.kernel.assign(np.zeros(term.head.kernel.shape, "float32"))
    term.head.bias.assign(bias)
    cross_entropy, accuracy = term.loss(discriminator, _images())
    expected = math.log(np.exp(bias).sum()) - bias.mean()
    np.testing.assert_allclose(cross_entropy, expected, rtol=1e-6)
    np.testing.assert_allclose(accuracy, 0.25)
    d = term.d_terms({"discriminator": discriminator, "real": _images()})
    np.testing.assert_allclose(d.losses["d_rotation"], expected, rtol=1e-6)
    g = term.g_terms({"discriminator": discriminator, "fake": _images()})
    np.testing.assert_allclose(g.losses["g_rotation"], 0.2 * expected, rtol=1e-6)


def test_the_head_trains_in_the_d_step_and_its_loss_reaches_g_in_the_g_step():
    model = _rotation_trainer()
    head = model.terms[0].head
    real, latent = _images(4), model.latent.sample(4, model.seed_generator)
    before = [v.numpy() for v in head.weights]
    model._generator_inner_loop(real, latent)
    for a, v in zip(before, head.weights):
        np.testing.assert_array_equal(a, v.numpy())  # D's head is frozen in G's step
    model._discriminator_step(real, _images(4, seed=1))
    assert all(not np.allclose(a, v.numpy()) for a, v in zip(before, head.weights))

    with tf.GradientTape() as tape:
        fake = model.generator(latent, training=True)
        g = model.terms[0].g_terms({"discriminator": model.discriminator, "fake": fake})
    gradients = tape.gradient(g.losses["g_rotation"], model.generator.trainable_variables)
    assert all(g is not None for g in gradients)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


@pytest.mark.slow
def test_fit_with_the_rotation_term_under_xla_and_save_load(tmp_path):
    model = _rotation_trainer(ema_decay=0.9, compile_kwargs={"jit_compile": True, "steps_per_execution": 2})
    history = model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    assert set(Rotation.reported) <= set(history.history)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model) and isinstance(restored.terms[0], Rotation)
    assert (restored.terms[0].weight_d, restored.terms[0].weight_g) == (1.0, 0.5)
    for a, b in zip(model.terms[0].weights, restored.terms[0].weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = {"z": tf.random.normal((2, LATENT), seed=1)}
    np.testing.assert_allclose(restored(z), model(z), atol=1e-6)


def test_train_terms_config_is_validated_with_its_dotted_key():
    assert parse_terms(" rotation ,") == ["rotation"] and parse_terms("") == []
    assert set(TERMS) == {"rotation", "encoder", "info", "verdict"}
    for bad in ("rotation,nope", "rotation,rotation"):
        config = default_config()
        config.train.terms = bad
        with pytest.raises(ValueError, match=r"train\.terms.*\['encoder', 'info', 'rotation', 'verdict'\]"):
            validate_config(config)
    config = default_config()
    config.train.rotation_weight_g = -1.0
    with pytest.raises(ValueError, match=r"train\.rotation_weight_g"):
        validate_config(config)


def test_build_trainer_builds_the_configured_terms_and_checkpoints_them(tmp_path):
    config = tiny_config(**{"train.terms": "rotation", "train.rotation_weight_g": 0.7})
    config.data.channels = CHANNELS
    model = build_trainer(config)
    (term,) = model.terms
    assert isinstance(term, Rotation) and (term.weight_d, term.weight_g) == (1.0, 0.7)
    # Moved away from the seeded initial values a rebuilt trainer starts from.
    term.head.bias.assign([1.0, 2.0, 3.0, 4.0])
    workdir = Workdir(str(tmp_path))
    checkpoint_manager(model, workdir.checkpoints).save()
    restored, _, _ = restore_trainer(config, workdir)
    np.testing.assert_array_equal(restored.terms[0].head.bias.numpy(), [1.0, 2.0, 3.0, 4.0])
