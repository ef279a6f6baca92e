"""The encoder term (keras_attngan.terms.encoder) and the Lipschitz bound."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_trainer, real_dataset, tiny_config

from keras_attngan.core import lipschitz
from keras_attngan.terms import LatentRegularizer
from keras_attngan.terms.encoder import (
    absolute_distance,
    rms_distance,
    squared_distance,
)
from keras_attngan.training.build import build_trainer
from keras_attngan.training.experiment import (
    Workdir,
    checkpoint_manager,
    restore_trainer,
)
from keras_attngan.training.validation import validate_config


def _images(count=2, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (count, SIZE, SIZE, CHANNELS)), "float32")


def _term(**options):
    options = {"width": 4, **options}
    return LatentRegularizer((SIZE, SIZE, CHANNELS), (LATENT,), name="encoder", **options)


def _encoder_trainer(**options):
    generator_probe = make_trainer("none", inner_steps=1)
    term = LatentRegularizer.from_networks(
        generator_probe.generator, generator_probe.discriminator, width=4, name="encoder", **options
    )
    return make_trainer("none", inner_steps=1, terms=[term])


def _constant_encoder(term, value_of):
    """Makes E(x) = value_of(x) (an exact, known encoder) for known-value tests."""
    term.encoder = keras.layers.Lambda(value_of)


def test_distances_known_values():
    a = tf.constant([[0.0, 2.0], [1.0, 1.0]])
    b = tf.constant([[0.0, 0.0], [1.0, 4.0]])
    np.testing.assert_allclose(squared_distance(a, b), [2.0, 4.5])
    np.testing.assert_allclose(absolute_distance(a, b), [1.0, 1.5])
    np.testing.assert_allclose(rms_distance(a, b), np.sqrt([2.0, 4.5]), rtol=1e-6)
    # Unpaired: the batch means [0.5, 1.5] and [0.5, 2.0] are compared.
    np.testing.assert_allclose(squared_distance(a, b, paired=False), [0.125])


def test_encoder_loss_known_value():
    # E(x) = 2x: E's latent difference is mean((2 fake - 2 real)^2) = 4 * pixel MSE.
    term = _term(lipschitz="none")
    _constant_encoder(term, lambda x: 2.0 * x)
    fake, real = tf.fill((2, SIZE, SIZE, CHANNELS), 0.5), tf.zeros((2, SIZE, SIZE, CHANNELS))
    own = term.own_terms({"fake": fake, "real": real, "paired": True})
    np.testing.assert_allclose(own.losses["e_latent"], 1.0)
    np.testing.assert_allclose(own.losses["e_lipschitz"], 0.0)
    np.testing.assert_allclose(own.metrics["pixel_distance"], 0.5)
    np.testing.assert_allclose(own.metrics["lipschitz_violations"], 0.0)


def test_generator_loss_of_claim_7_known_value():
    # adversarial + mu1 * |G(z) - y| + mu2 * ||E(G(z)) - E(y)||^2, E(x) = 3x:
    # pixel 0.5, latent (1.5)^2 = 2.25.
    term = _term(mu1=2.0, mu2=0.1, lipschitz="none")
    _constant_encoder(term, lambda x: 3.0 * x)
    fake, real = tf.fill((2, SIZE, SIZE, CHANNELS), -0.5), tf.zeros((2, SIZE, SIZE, CHANNELS))
    g = term.g_terms({"fake": fake, "real": real, "paired": True})
    np.testing.assert_allclose(g.losses["g_pixel"], 2.0 * 0.5)
    np.testing.assert_allclose(g.losses["g_latent"], 0.1 * 2.25, rtol=1e-6)
    adversarial = 0.7
    np.testing.assert_allclose(adversarial + sum(g.losses.values()), 0.7 + 1.0 + 0.225, rtol=1e-6)


def test_lipschitz_penalty_is_zero_when_the_bound_holds_and_positive_when_not():
    np.testing.assert_allclose(lipschitz.violation(tf.constant([1.0, 2.0]), tf.constant([1.0, 4.0]), 0.5), [0.5, 0.0])
    fake, real = tf.fill((2, SIZE, SIZE, CHANNELS), 0.5), tf.zeros((2, SIZE, SIZE, CHANNELS))
    holds = _term(lipschitz="penalty", lipschitz_k=1.0, lipschitz_weight=3.0)
    _constant_encoder(holds, lambda x: 2.0 * x)  # latent RMS 1.0 >= pixel RMS 0.5
    own = holds.own_terms({"fake": fake, "real": real, "paired": True})
    np.testing.assert_allclose(own.losses["e_lipschitz"], 0.0)
    broken = _term(lipschitz="penalty", lipschitz_k=1.0, lipschitz_weight=3.0)
    _constant_encoder(broken, lambda x: 0.5 * x)  # latent RMS 0.25 < 0.5
    own = broken.own_terms({"fake": fake, "real": real, "paired": True})
    np.testing.assert_allclose(own.losses["e_lipschitz"], 3.0 * 0.25, rtol=1e-5)
    np.testing.assert_allclose(own.metrics["lipschitz_violations"], 1.0)
    # A constant E (the trivial minimum of E's objective) violates the bound for any imperfect fake.
    collapsed = _term(lipschitz="penalty")
    _constant_encoder(collapsed, lambda x: 0.0 * x)
    assert float(collapsed.own_terms({"fake": fake, "real": real, "paired": True}).losses["e_lipschitz"]) > 0
    assert float(_term(lipschitz="spectral").penalty(tf.ones(2), tf.zeros(2))) == 0.0


def test_lipschitz_choices_are_a_registry_with_a_dotted_key():
    assert set(lipschitz.LIPSCHITZ) == {"none", "penalty", "spectral", "spectral_penalty"}
    with pytest.raises(ValueError, match=r"train\.encoder_lipschitz.*'none'"):
        _term(lipschitz="bounded")
    spectral = _term(lipschitz="spectral")
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in spectral.encoder.layers)
    assert not any(isinstance(layer, keras.layers.SpectralNormalization) for layer in _term(lipschitz="penalty").encoder.layers)


def test_encoder_trains_only_in_its_own_step_with_its_own_optimizer():
    model = _encoder_trainer()
    (term,) = model.terms
    real, latent = _images(4), model.latent.sample(4, model.seed_generator)
    encoder_before = [v.numpy() for v in term.encoder.trainable_variables]
    model._generator_inner_loop(real, latent)  # G's step: E is a constant
    for a, v in zip(encoder_before, term.encoder.trainable_variables):
        np.testing.assert_array_equal(a, v.numpy())
    assert int(term.optimizer.iterations) == 0
    generator_before = [v.numpy() for v in model.generator.trainable_variables]
    stats = model._own_steps({"real": real, "fake": _images(4, seed=1), "paired": False})
    assert set(stats) == {"e_latent", "e_lipschitz", "latent_distance", "pixel_distance", "lipschitz_violations"}
    assert int(term.optimizer.iterations) == 1
    assert any(not np.allclose(a, v.numpy()) for a, v in zip(encoder_before, term.encoder.trainable_variables))
    for a, v in zip(generator_before, model.generator.trainable_variables):
        np.testing.assert_array_equal(a, v.numpy())  # E's step moves E only
    # E's variables are neither G's nor D's: no other optimizer touches them.
    encoder_ids = {id(v) for v in term.trainable_variables}
    assert not encoder_ids & {id(v) for v in model.generator_variables + model.discriminator_variables}


def test_latent_difference_reaches_g_in_g_step():
    model = _encoder_trainer(mu1=0.0, lipschitz="none")
    latent = model.latent.sample(4, model.seed_generator)
    with tf.GradientTape() as tape:
        fake = model.generator(latent, training=True)
        g = model.terms[0].g_terms({"fake": fake, "real": _images(4), "paired": False})
    gradients = tape.gradient(g.losses["g_latent"], model.generator.trainable_variables)
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


@pytest.mark.slow
def test_fit_with_the_encoder_term_and_save_load(tmp_path):
    model = _encoder_trainer(mu2=0.5)
    history = model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    assert set(LatentRegularizer.reported) <= set(history.history)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model) and isinstance(restored.terms[0], LatentRegularizer)
    assert restored.terms[0].get_config() == model.terms[0].get_config()
    for a, b in zip(model.terms[0].encoder.weights, restored.terms[0].encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    z = {"z": tf.random.normal((2, LATENT), seed=1)}
    np.testing.assert_allclose(restored(z), model(z), atol=1e-6)


def test_encoder_config_is_validated_and_checkpointed(tmp_path):
    config = tiny_config("symbols_baseline", **{"train.terms": "encoder", "train.encoder_width": 4})
    config.data.channels = CHANNELS
    validate_config(config)
    for key, value in (("encoder_mu2", -1.0), ("encoder_lipschitz", "x"), ("encoder", "resnet"), ("encoder_lipschitz_k", 0.0)):
        bad = tiny_config("symbols_baseline", **{"train.terms": "encoder", f"train.{key}": value})
        with pytest.raises(ValueError, match=rf"train\.{key}"):
            validate_config(bad)
    missing = tiny_config(
        "symbols_baseline",
        **{"train.terms": "encoder", "train.encoder": "vgg", "train.encoder_weights": str(tmp_path / "no.h5")},
    )
    with pytest.raises(ValueError, match=r"train\.encoder_weights.*no\.h5"):
        validate_config(missing)
    model = build_trainer(config)
    (term,) = model.terms
    model._own_steps({"real": _images(4), "fake": _images(4, seed=1), "paired": False})
    workdir = Workdir(str(tmp_path / "run"))
    checkpoint_manager(model, workdir.checkpoints).save()
    restored, _, _ = restore_trainer(config, workdir)
    for a, b in zip(term.encoder.weights, restored.terms[0].encoder.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(restored.terms[0].optimizer.iterations) == int(term.optimizer.iterations) == 1
    # A changed E learning rate (accepted with --allow_config_change) wins over the checkpoint's.
    config.train.encoder_learning_rate = 1e-3
    changed, _, _ = restore_trainer(config, workdir)
    assert float(changed.terms[0].optimizer.learning_rate) == pytest.approx(1e-3)
