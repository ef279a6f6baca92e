"""The verdict mask source: D's per-cell decoder, its loss term, and the trainer around them."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_estimator, real_dataset, tiny_config

from keras_attngan.core import losses
from keras_attngan.core.latent import LatentSpec
from keras_attngan.export import deploy
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.terms import verdict as verdict_module
from keras_attngan.terms.verdict import Verdict, cutmix_masks
from keras_attngan.trainers.attention import AttnGAN
from keras_attngan.training.validation import validate_config


def _images(count=3, size=SIZE, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, CHANNELS)).astype(np.float32)


def _trainer(weight_d=1.0, weight_g=1.0, loss="non_saturating", jit=False, **options):
    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=True)
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="verdict")
    term = Verdict.from_networks(
        generator, discriminator, weight_d=weight_d, weight_g=weight_g, name="verdict", **options
    )
    model = AttnGAN(
        generator, discriminator, LatentSpec(LATENT), mi_estimator=make_estimator(), seed=0, terms=[term]
    )
    model.compile(
        keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5), loss=loss,
        jit_compile=jit, steps_per_execution=2,
    )
    return model


@pytest.mark.parametrize("architecture", ["dcgan", "sndcgan", "resnet"])
@pytest.mark.parametrize("cells", [8, 16])
def test_the_decoder_gives_a_logit_per_cell_on_every_architecture(architecture, cells):
    discriminator = Discriminator(32, CHANNELS, width=4, attention="verdict", architecture=architecture, verdict_cells=cells)
    outputs = discriminator(_images(size=32))
    assert outputs["cell_logits"].shape == (3, cells, cells, 1)
    assert outputs["cell_logits"].dtype == "float32"
    # The decoder adds its own variables and shares none of the trunk's.
    plain = Discriminator(32, CHANNELS, width=4, attention="gradcam", architecture=architecture)
    stages = int(math.log2(cells // 4))
    # Per stage a 1x1 projection and a 3x3 convolution, then the logits: kernels and biases.
    assert len(discriminator.trainable_variables) == len(plain.trainable_variables) + 2 * (2 * stages + 1)


@pytest.mark.parametrize("cells", [4, 12, 32])
def test_a_cell_count_the_trunk_cannot_give_is_refused(cells):
    with pytest.raises(ValueError, match=f"`verdict_cells` should be 4 \\* 2\\*\\*n .* at most image_size / 2 = 16. Received: verdict_cells={cells}"):
        Discriminator(32, CHANNELS, width=4, attention="verdict", verdict_cells=cells)


def test_the_mask_is_the_probability_of_fake_per_cell():
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="verdict", mask_normalization="minmax")
    images = _images()
    outputs = discriminator(images)
    cells = outputs["cell_logits"].numpy()
    fake = tf.image.resize(tf.sigmoid(-cells), (SIZE, SIZE), method="bilinear").numpy()
    low, high = fake.min(axis=(1, 2, 3), keepdims=True), fake.max(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(outputs["attention"], (fake - low) / (high - low + 1e-6), atol=1e-5)
    # A cell D calls more real gets a lower mask: the mask marks what looks fake.
    pooled = outputs["attention"].numpy().reshape(3, SIZE // 2, 2, SIZE // 2, 2).mean(axis=(2, 4))
    for sample in range(3):
        assert np.corrcoef(pooled[sample].ravel(), cells[sample].ravel())[0, 1] < -0.8


def test_the_per_cell_loss_on_hand_made_logits():
    term = Verdict(weight_d=2.0, weight_g=3.0)
    zeros = tf.zeros((2, 4, 4, 1))
    ctx = {"real_outputs": {"cell_logits": zeros}, "fake_outputs": {"cell_logits": zeros}, "loss": losses.non_saturating}
    d = term.d_terms(ctx)
    np.testing.assert_allclose(d.losses["d_verdict"], 2.0 * 2 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(d.metrics["verdict_real"], 0.5)
    ctx["real_outputs"] = None  # the G step passes none unless the loss reads them
    np.testing.assert_allclose(term.g_terms(ctx).losses["g_verdict"], 3.0 * math.log(2), rtol=1e-6)
    # Hinge: cells beyond the margin cost D nothing; G's side is -mean(fake).
    ctx = {
        "real_outputs": {"cell_logits": tf.fill((2, 4, 4, 1), 2.0)},
        "fake_outputs": {"cell_logits": tf.fill((2, 4, 4, 1), -2.0)},
        "loss": losses.hinge,
    }
    np.testing.assert_allclose(term.d_terms(ctx).losses["d_verdict"], 0.0)
    np.testing.assert_allclose(term.g_terms(ctx).losses["g_verdict"], 3.0 * 2.0)


def test_the_relativistic_g_side_reads_the_real_cells():
    term = Verdict(weight_g=1.0)
    fake = {"cell_logits": tf.zeros((2, 4, 4, 1))}
    real = {"cell_logits": tf.fill((2, 4, 4, 1), 3.0)}
    g = term.g_terms({"real_outputs": real, "fake_outputs": fake, "loss": losses.relativistic_average})
    # softplus(-(0 - 3)) + softplus(3 - 0)
    np.testing.assert_allclose(g.losses["g_verdict"], 2 * math.log1p(math.exp(3.0)), rtol=1e-6)


@pytest.mark.parametrize("key", ["weight_d", "weight_g", "consistency"])
def test_negative_weights_are_refused(key):
    with pytest.raises(ValueError, match=f"`{key}` should be >= 0"):
        Verdict(**{key: -1.0})


@pytest.mark.parametrize("options, message", [({"cutmix": 1.5}, "`cutmix` should be in"), ({"cutmix_warmup": -1}, "`cutmix_warmup`")])
def test_bad_cutmix_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        Verdict(**options)


def test_cutmix_masks_are_boxes_or_their_complements_and_half_real_on_average():
    masks = cutmix_masks(512, 16, keras.random.SeedGenerator(0)).numpy()[..., 0]
    assert masks.shape == (512, 16, 16) and set(np.unique(masks)) <= {0.0, 1.0}

    def is_box(ones):  # a box of ones is the outer product of its rows and columns
        return np.array_equal(ones, np.outer(ones.any(axis=1), ones.any(axis=0)))

    assert all(is_box(mask) or is_box(1 - mask) for mask in masks)
    assert abs(masks.mean() - 0.5) < 0.05


def _mixing_ctx(real_cells, fake_cells, updates=10):
    def discriminator(images, training=None, return_attention=True):
        batch = images.shape[0]
        return {"logits": tf.zeros((batch, 1)), "cell_logits": tf.zeros((batch, 4, 4, 1))}

    return {
        "real": tf.ones((2, 8, 8, 1)),
        "fake": -tf.ones((2, 8, 8, 1)),
        "real_outputs": {"cell_logits": tf.fill((2, 4, 4, 1), real_cells)},
        "fake_outputs": {"cell_logits": tf.fill((2, 4, 4, 1), fake_cells)},
        "discriminator": discriminator,
        "loss": losses.non_saturating,
        "seed_generator": keras.random.SeedGenerator(0),
        "d_updates": tf.constant(updates, "int64"),
    }


def test_the_cutmix_terms_on_hand_made_logits(monkeypatch):
    # The left half real: its cells' target is 1, the right half's 0.
    left = np.zeros((2, 8, 8, 1), np.float32)
    left[:, :, :4] = 1.0
    monkeypatch.setattr(verdict_module, "cutmix_masks", lambda *args: tf.constant(left))
    term = Verdict(weight_d=1.0, cutmix=1.0, consistency=0.5)
    # D's zero logits on the mix: log 2 for the global "fake" target and for
    # every cell; the blend of the real (2) and fake (-2) cells is 2 on the
    # left and -2 on the right, so the consistency term is 0.5 * 4.
    np.testing.assert_allclose(term.mixed_loss(_mixing_ctx(2.0, -2.0)), 2 * math.log(2) + 0.5 * 4, rtol=1e-6)
    np.testing.assert_allclose(term.d_terms(_mixing_ctx(2.0, -2.0)).losses["d_cutmix"], 2 * math.log(2) + 2, rtol=1e-6)


def test_the_mix_probability_ramps_up_over_the_warmup():
    term = Verdict(cutmix=1.0, cutmix_warmup=100)
    assert float(term.d_terms(_mixing_ctx(0.0, 0.0, updates=0)).losses["d_cutmix"]) == 0.0
    assert float(term.d_terms(_mixing_ctx(0.0, 0.0, updates=100)).losses["d_cutmix"]) > 0.0
    assert float(Verdict().d_terms(_mixing_ctx(0.0, 0.0)).losses["d_cutmix"]) == 0.0


def test_the_term_needs_a_discriminator_with_the_decoder():
    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=True)
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="gradcam")
    with pytest.raises(ValueError, match="build D with `verdict_decoder=True` or the 'verdict' mask source"):
        Verdict.from_networks(generator, discriminator)


def _plain_trainer():
    """The plain GAN (G without a mask) with U-Net GAN's D: the control of the verdict source."""
    from keras_attngan.trainers.base import GAN

    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=False)
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="none", verdict_decoder=True)
    term = Verdict.from_networks(generator, discriminator, name="verdict")
    model = GAN(generator, discriminator, LatentSpec(LATENT), seed=0, terms=[term])
    model.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5), steps_per_execution=2)
    return model


def test_the_plain_gan_trains_the_decoder_with_the_term():
    model = _plain_trainer()
    outputs = model.discriminator(_images())
    assert outputs["cell_logits"].shape == (3, 8, 8, 1)
    before = _decoder_weights(model)
    history = model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0).history
    assert all(not np.allclose(a, b) for a, b in zip(before, _decoder_weights(model)))
    assert np.isfinite(history["g_verdict"][-1]) and 0 < history["verdict_real"][-1] < 1


def test_the_plain_gans_decoder_survives_save_and_load(tmp_path):
    model = _plain_trainer()
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    images = _images()
    np.testing.assert_allclose(
        restored.discriminator(images)["cell_logits"], model.discriminator(images)["cell_logits"], atol=1e-5
    )


def _decoder_weights(model):
    return [v.numpy().copy() for v in model.discriminator.verdict.trainable_variables]


@pytest.mark.parametrize("weight_d, moves", [(0.0, False), (1.0, True)])
def test_the_decoder_trains_with_d_through_the_term_alone(weight_d, moves):
    model = _trainer(weight_d=weight_d)
    before = _decoder_weights(model)
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    changed = [not np.allclose(a, b) for a, b in zip(before, _decoder_weights(model))]
    assert all(changed) if moves else not any(changed)


def test_the_per_cell_g_loss_reaches_g_and_not_d():
    model = _trainer()
    latent = {"z": tf.random.normal((4, LATENT), seed=2)}
    mask = tf.ones((4, SIZE, SIZE, 1))
    with tf.GradientTape(persistent=True) as tape:
        fake = model.generator({**latent, "mask": mask}, training=True)
        outputs = model.discriminator(fake, training=True)
        loss = model.terms[0].g_terms({"fake_outputs": outputs, "real_outputs": None, "loss": model.loss_fn}).losses["g_verdict"]
    generator_gradients = tape.gradient(loss, model.generator.trainable_variables)
    assert sum(float(tf.norm(g)) for g in generator_gradients if g is not None) > 0
    d_before = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    model._generator_inner_loop(tf.constant(_images(4)), latent)
    for before, variable in zip(d_before, model.discriminator.trainable_variables):
        np.testing.assert_array_equal(before, variable.numpy())


@pytest.mark.parametrize("loss, cutmix", [("non_saturating", 1.0), ("relativistic_average", 0.0)])
def test_fit_under_xla_reports_the_verdict(loss, cutmix):
    model = _trainer(loss=loss, jit=True, cutmix=cutmix)
    history = model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0).history
    assert (history["d_cutmix"][-1] > 0) is (cutmix > 0)
    for name in ("d_verdict", "g_verdict", "verdict_real", "verdict_fake"):
        assert np.isfinite(history[name][-1])
    assert 0 < history["verdict_real"][-1] < 1


def test_save_and_load_keep_the_decoder(tmp_path):
    model = _trainer()
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    images = _images()
    for name in ("cell_logits", "attention", "logits"):
        np.testing.assert_allclose(restored.discriminator(images)[name], model.discriminator(images)[name], atol=1e-5)
    assert [term.name for term in restored.terms] == ["verdict"]


@pytest.mark.slow
def test_export_explains_with_the_per_cell_map_in_every_runtime(tmp_path):
    model = _trainer()
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0)
    deployment = deploy.Deployment(deploy.export(model, str(tmp_path), "tflite,onnx", "float32"))
    images = _images(2)
    expected = model.discriminator(images)["attention"].numpy()
    for artifact in deployment.artifacts():
        explained = deployment.runner(artifact, "explain")({"images": images})["attention"]
        np.testing.assert_allclose(explained, expected, atol=1e-4)


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"model.mask_source": "verdict"}, "train.terms"),
        ({"train.terms": "verdict", "model.verdict_cells": 6}, "model.verdict_cells"),
        ({"model.mask_source": "verdict", "train.terms": "verdict", "model.verdict_cells": 16}, "model.verdict_cells"),
        ({"model.mask_source": "verdict", "train.terms": "verdict", "model.verdict_cells": 6}, "model.verdict_cells"),
        ({"model.mask_source": "verdict", "train.terms": "verdict", "train.verdict_weight_g": -1.0}, "train.verdict_weight_g"),
        ({"model.mask_source": "verdict", "train.terms": "verdict", "train.verdict_cutmix": 2.0}, "train.verdict_cutmix"),
    ],
)
def test_bad_verdict_configs_are_refused_with_the_key(overrides, key):
    with pytest.raises(ValueError, match=f"^`{key}` should be"):
        validate_config(tiny_config(**overrides))


def test_a_verdict_config_trains_from_the_cli_path(tmp_path):
    from keras_attngan.training.loop import train

    config = tiny_config(**{"model.mask_source": "verdict", "train.terms": "verdict"})
    validate_config(config)
    train(config, str(tmp_path))


def test_a_plain_gan_with_the_verdict_term_trains_from_the_cli_path(tmp_path):
    from keras_attngan.training.loop import train

    config = tiny_config(**{"model.mask_source": "none", "train.terms": "verdict"})
    validate_config(config)
    train(config, str(tmp_path))
