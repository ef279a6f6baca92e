"""InfoGAN's information term: Q head, losses, MI bound, supervision, and the trainer."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, SIZE
from conftest import info_spec as _spec
from conftest import make_info_trainer as _info_trainer
from conftest import real_dataset

from keras_attngan.core.latent import CategoricalCode, LatentSpec
from keras_attngan.networks.q_head import QHead
from keras_attngan.terms import Information
from keras_attngan.terms.infogan import (
    categorical_nll,
    colour_jitter,
    clustering_information,
    gaussian_nll,
    information_losses,
    invariant_information,
    labelled_fraction_mask,
    nuisance_transform,
    similarity_warp,
)


def _images(count=4, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (count, SIZE, SIZE, CHANNELS)), "float32")


class _FixedFeatures:
    """A D stand-in whose ``features`` are given: isolates Q's arithmetic."""

    def __init__(self, features):
        self.features = features

    def __call__(self, images, **kwargs):
        return {"features": self.features}


def test_information_losses_known_values():
    np.testing.assert_allclose(categorical_nll(tf.zeros((5, 4)), tf.constant([0, 1, 2, 3, 0])), math.log(4), rtol=1e-6)
    # mean 0, std 2, value 2: log 2 + (2 / 2)**2 / 2 + log(2 pi) / 2.
    nll = gaussian_nll(tf.zeros(1), tf.fill((1,), math.log(2.0)), tf.constant([2.0]))
    np.testing.assert_allclose(nll, math.log(2.0) + 0.5 + 0.5 * math.log(2 * math.pi), rtol=1e-6)
    np.testing.assert_allclose(
        gaussian_nll(tf.constant([1.0, -1.0]), tf.zeros(2), tf.constant([1.0, -1.0])), 0.5 * math.log(2 * math.pi), rtol=1e-6
    )


def test_mi_bound_known_value_with_a_zero_q():
    # A Q with zero output weights predicts uniform categories and N(0, 1)
    # for each continuous code: the bound is H(c) - log K - E[c^2/2 + log(2 pi)/2] per code.
    spec = _spec()
    term = Information(spec, feature_dim=5, weight_categorical=2.0, weight_continuous=0.5, width=3)
    term.q.out.kernel.assign(tf.zeros_like(term.q.out.kernel))
    term.q.out.bias.assign(tf.zeros_like(term.q.out.bias))
    values = {"width": np.array([0.5, -1.0]), "tilt": np.array([1.0, 2.0])}
    codes = spec.encode({"digit": np.array([0, 2])}, values)
    weighted, bound, accuracy = term.fake_terms(_FixedFeatures(tf.ones((2, 5))), None, codes)
    continuous = sum(np.mean(0.5 * v**2) for v in values.values()) + math.log(2 * math.pi)
    expected_bound = math.log(3) + math.log(2) + 0.5 * math.log(2 * math.pi * math.e) - math.log(3) - continuous
    np.testing.assert_allclose(bound, expected_bound, rtol=1e-5)
    np.testing.assert_allclose(weighted, 2.0 * math.log(3) + 0.5 * continuous, rtol=1e-5)
    np.testing.assert_allclose(accuracy, 0.5)  # argmax of equal logits is 0: right on one of two


def test_q_trains_in_d_step_and_the_information_loss_reaches_g():
    model = _info_trainer()
    term = model.terms[0]
    real, latent = _images(), model.latent.sample(4, model.seed_generator)
    before = [v.numpy() for v in term.q.weights]
    model._generator_inner_loop(real, latent)
    for a, v in zip(before, term.q.weights):
        np.testing.assert_array_equal(a, v.numpy())  # Q trains with D, not in G's step
    fake = model.generator(latent)
    model._discriminator_step(real, fake, fake_latent=latent)
    assert all(not np.allclose(a, v.numpy()) for a, v in zip(before, term.q.weights))
    with tf.GradientTape() as tape:
        fake = model.generator(latent, training=True)
        loss = term.g_terms({"discriminator": model.discriminator, "fake": fake, "latent": latent}).losses["g_info"]
    gradients = tape.gradient(loss, model.generator.trainable_variables)
    assert all(g is not None for g in gradients)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


def test_supervised_mode_uses_the_labels():
    model = _info_trainer(supervised_code="digit")
    term, real = model.terms[0], _images(8)
    latent = model.latent.sample(8, model.seed_generator)
    context = {"discriminator": model.discriminator, "real": real, "fake": real, "latent": latent}
    losses = [
        term.d_terms({**context, "labels": tf.fill((8,), label)}).losses["q_supervised"] for label in range(3)
    ]
    assert len({round(float(loss), 6) for loss in losses}) == 3
    with pytest.raises(ValueError, match="info_supervised_code.*labels"):
        term.d_terms({**context, "labels": None})
    # The trainer hands the data's labels to the term (an unconditional GAN too).
    stats = model._discriminator_step(real, real, fake_latent=latent, data_labels=tf.fill((8,), 2))
    np.testing.assert_allclose(stats["q_supervised"], losses[2], rtol=1e-4)


def test_clustering_information_known_values():
    confident = tf.constant([[9.0, -9.0, -9.0], [-9.0, 9.0, -9.0], [-9.0, -9.0, 9.0]] * 2)
    np.testing.assert_allclose(clustering_information(confident), math.log(3), rtol=1e-4)
    np.testing.assert_allclose(clustering_information(tf.zeros((6, 3))), 0.0, atol=1e-6)  # unsure
    np.testing.assert_allclose(clustering_information(confident[:1] * tf.ones((6, 1))), 0.0, atol=1e-4)  # one value
    # Two values, each image 3:1 sure of its own: log 2 - H(3/4, 1/4).
    split = tf.constant([[math.log(3.0), 0.0], [0.0, math.log(3.0)]])
    np.testing.assert_allclose(
        clustering_information(split), math.log(2) + 0.75 * math.log(0.75) + 0.25 * math.log(0.25), rtol=1e-5
    )


@pytest.mark.slow
@pytest.mark.parametrize("separated", [True, False])
def test_clustering_finds_the_groups_of_the_real_data_and_none_in_noise(separated):
    """Q trained on the clustering loss alone: on two separated blobs its two values are
    the blobs (information near log 2); on one blob with arbitrary halves, it cannot find them."""
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1], 64)
    centres = np.where(group[:, None] == 0, -3.0, 3.0) if separated else 0.0
    features = tf.constant(centres + rng.standard_normal((128, 5)), "float32")
    spec = LatentSpec(4, categorical=[CategoricalCode("group", 2)])
    term = Information(spec, 5, weight_categorical=0.0, weight_clustering=1.0, width=8)
    optimizer = keras.optimizers.Adam(1e-2)
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = term.d_terms(
                {"discriminator": _FixedFeatures(features), "real": features, "fake": features,
                 "latent": {"codes": tf.zeros((128, spec.code_dim))}}
            ).losses["q_clustering"]
        optimizer.apply(tape.gradient(loss, term.q.trainable_variables), term.q.trainable_variables)
    logits = term.q(features)["logits"]["group"]
    values = np.argmax(logits, -1)
    agreement = max(np.mean(values == group), np.mean(values == 1 - group))
    if separated:
        assert agreement == 1.0 and set(values) == {0, 1}
        np.testing.assert_allclose(float(clustering_information(logits)), math.log(2), atol=0.05)
    else:
        assert agreement < 0.75


def test_clustering_trains_q_on_the_real_images_in_d_step():
    model = _info_trainer(weight_clustering=1.0)
    term, real = model.terms[0], _images(8)
    assert term.unsupervised_codes == ["digit"] and "q_real_information" in term.reported
    latent = model.latent.sample(8, model.seed_generator)
    context = {"discriminator": model.discriminator, "real": real, "fake": real, "latent": latent}
    with tf.GradientTape() as tape:
        loss = term.d_terms(context).losses["q_clustering"]
    trunk = [v for v in model.discriminator.trainable_variables if "trunk" in v.path]
    assert trunk
    gradients = tape.gradient(loss, term.q.trainable_variables + trunk)  # Q and D's shared trunk
    assert all(g is not None for g in gradients)
    stats = model._discriminator_step(real, real, fake_latent=latent)
    assert 0 <= float(stats["q_real_information"]) <= math.log(3) + 1e-5
    np.testing.assert_allclose(stats["q_clustering"], -stats["q_real_information"], rtol=1e-5)
    # Off by default; a supervised code is not clustered.
    default = _info_trainer()
    assert "q_clustering" not in default.terms[0].reported
    assert "q_clustering" not in default.terms[0].d_terms({**context, "discriminator": default.discriminator}).losses
    assert _info_trainer(weight_clustering=1.0, supervised_code="digit").terms[0].unsupervised_codes == []
    with pytest.raises(ValueError, match=r"train\.info_weight_clustering.*-1"):
        Information(_spec(), 5, weight_clustering=-1.0)


def test_invariant_information_known_values():
    sharp = 50.0 * np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    # Each image and its copy in the same category, the categories balanced: log K.
    np.testing.assert_allclose(invariant_information(sharp, sharp), math.log(3), atol=1e-4)
    # The views are exchangeable (the joint is symmetrized): a copy whose
    # categories swap two of them carries as much, a cyclic shift less.
    np.testing.assert_allclose(invariant_information(sharp, sharp[:, [1, 0, 2]]), math.log(3), atol=1e-4)
    assert float(invariant_information(sharp, sharp[:, [1, 2, 0]])) < math.log(3) - 0.5
    # Independent assignments (every pair of categories as likely): none.
    a = 50.0 * np.eye(3, dtype=np.float32)[np.repeat([0, 1, 2], 3)]
    b = 50.0 * np.eye(3, dtype=np.float32)[np.tile([0, 1, 2], 3)]
    np.testing.assert_allclose(invariant_information(a, b), 0.0, atol=1e-4)
    # Uniform assignments carry nothing either.
    np.testing.assert_allclose(invariant_information(np.zeros((4, 3)), np.zeros((4, 3))), 0.0, atol=1e-6)


def test_the_nuisance_transform_is_seeded_and_keeps_what_it_moves():
    images = _images(6)
    first = nuisance_transform(images, keras.random.SeedGenerator(3)).numpy()
    again = nuisance_transform(images, keras.random.SeedGenerator(3)).numpy()
    np.testing.assert_array_equal(first, again)
    assert first.shape == images.shape and not np.allclose(first, images)
    # No rotation, scale or shift: the identity.
    same = nuisance_transform(images, keras.random.SeedGenerator(3), degrees=0.0, scale=0.0, shift=0.0)
    np.testing.assert_allclose(same, images, atol=1e-5)


def test_the_nuisance_warp_is_keras_affine_transform_with_nearest_fill_and_compiles_under_xla():
    """The gathers reproduce TensorFlow's projective transform kernel (which XLA lacks)."""
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (5, 12, 10, 3)), "float32")
    draws = tf.constant(np.random.default_rng(1).uniform(-1, 1, (5, 4)), "float32")
    angle, factor = draws[:, 0] * math.pi / 6.0, 1.0 + 0.3 * draws[:, 1]
    cos, sin = tf.cos(angle) / factor, tf.sin(angle) / factor
    cx, cy = 4.5, 5.5
    transform = tf.stack(
        [cos, sin, cx - cos * cx - sin * cy - 3.0 * draws[:, 2],
         -sin, cos, cy + sin * cx - cos * cy - 3.0 * draws[:, 3], tf.zeros_like(cos), tf.zeros_like(cos)],
        axis=1,
    )
    expected = keras.ops.image.affine_transform(images, transform, fill_mode="nearest")
    np.testing.assert_allclose(similarity_warp(images, draws, 30.0, 0.3, 3.0), expected, atol=1e-5)
    compiled = tf.function(lambda x, d: similarity_warp(x, d, 30.0, 0.3, 3.0), jit_compile=True)
    np.testing.assert_allclose(compiled(images, draws), expected, atol=1e-5)


def test_colour_jitter_known_values():
    red = np.full((1, 4, 4, 3), -1.0, np.float32)
    red[..., 0] = 1.0
    red[0, :2] = 1.0  # a white half, as `symbols`' background
    images = tf.constant(np.repeat(red, 3, axis=0))
    # Draws: (saturation, order, contrast). No change in saturation or contrast, the
    # identity order: the image itself; full desaturation: its grey.
    same = colour_jitter(images, tf.constant([[0.0, 0.0, 0.5]] * 3))
    np.testing.assert_allclose(same, images, atol=1e-6)
    grey = colour_jitter(images, tf.constant([[1.0, 0.0, 0.5]] * 3)).numpy()
    np.testing.assert_allclose(grey, np.repeat(images.numpy().mean(-1, keepdims=True), 3, -1), atol=1e-6)
    # The orders: red ink becomes each primary; order draws cover all six.
    orders = colour_jitter(images, tf.constant([[0.0, 0.0, 0.5], [0.0, 0.4, 0.5], [0.0, 0.99, 0.5]])).numpy()
    assert [int(np.argmax(o[3, 0])) for o in orders] == [0, 1, 2]
    # Contrast 1.5 about the mean, clipped to [-1, 1].
    mean = images.numpy()[:1].mean()
    strong = colour_jitter(images[:1], tf.constant([[0.0, 0.0, 1.0]])).numpy()
    np.testing.assert_allclose(strong, np.clip(mean + 1.5 * (images.numpy()[:1] - mean), -1, 1), atol=1e-6)
    # In the transform, after the warp: seeded.
    seeded = [nuisance_transform(images, keras.random.SeedGenerator(5), colour=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*seeded)


def test_colour_jitter_is_refused_for_grey_images():
    from keras_attngan.networks.discriminator import Discriminator

    with pytest.raises(ValueError, match=r"train\.info_colour_jitter.*1 channel"):
        Information.from_networks(None, Discriminator(SIZE, 1, width=4), _spec(), weight_invariant=1.0,
                                  colour_jitter=True)


def test_invariant_clustering_separates_two_shapes_under_the_nuisance_and_pairs_no_unrelated_images():
    """A linear Q on centred pixels trained on IIC alone: a vertical and a horizontal
    bar, each seen under random rotations, scales and shifts, fall in two categories
    (information log 2); the assignments of two unrelated batches share none."""
    size = 16
    shapes = np.zeros((2, size, size, 1), np.float32)
    shapes[0, 4:12, 7:9] = 1.0
    shapes[1, 7:9, 4:12] = 1.0
    kinds = np.tile([0, 1], 32)
    images = shapes[kinds] * 2.0 - 1.0
    mean = images.mean(axis=0)

    def flat(batch):
        return tf.reshape(batch - mean, (64, -1))

    head = keras.layers.Dense(2)
    head.build((None, size * size))
    optimizer = keras.optimizers.Adam(0.05)
    seed = keras.random.SeedGenerator(0)
    for _ in range(60):
        augmented = nuisance_transform(images, seed)
        with tf.GradientTape() as tape:
            loss = -invariant_information(head(flat(images)), head(flat(augmented)))
        optimizer.apply(tape.gradient(loss, head.trainable_variables), head.trainable_variables)
    np.testing.assert_allclose(-float(loss), math.log(2), atol=0.01)
    assigned = np.argmax(head(flat(images)).numpy(), axis=-1)
    assert max(np.mean(assigned == kinds), np.mean(assigned != kinds)) == 1.0
    rng = np.random.default_rng(0)
    unrelated = [rng.uniform(-1, 1, (64, size * size)).astype(np.float32) for _ in range(2)]
    assert float(invariant_information(head(unrelated[0]), head(unrelated[1]))) < 0.02


def test_invariance_trains_q_on_the_real_images_in_d_step():
    model = _info_trainer(weight_invariant=1.0)
    term, real = model.terms[0], _images(8)
    assert {"q_invariant", "q_invariant_information"} <= set(term.reported)
    latent = model.latent.sample(8, model.seed_generator)
    context = {
        "discriminator": model.discriminator, "real": real, "fake": real, "latent": latent,
        "seed_generator": model.seed_generator,
    }
    with tf.GradientTape() as tape:
        loss = term.d_terms(context).losses["q_invariant"]
    trunk = [v for v in model.discriminator.trainable_variables if "trunk" in v.path]
    gradients = tape.gradient(loss, term.q.trainable_variables + trunk + model.generator.trainable_variables)
    assert all(g is not None for g in gradients[: len(term.q.trainable_variables) + len(trunk)])
    assert all(g is None for g in gradients[len(term.q.trainable_variables) + len(trunk) :])  # not G
    stats = model._discriminator_step(real, real, fake_latent=latent)
    np.testing.assert_allclose(stats["q_invariant"], -stats["q_invariant_information"], rtol=1e-5)
    with pytest.raises(ValueError, match=r"train\.info_weight_invariant.*-1"):
        Information(_spec(), 5, weight_invariant=-1.0)


@pytest.mark.parametrize("weight", ["weight_clustering", "weight_invariant"])
def test_separate_heads_keep_the_real_image_terms_off_the_trunk_and_the_continuous_layer(weight):
    model = _info_trainer(**{weight: 1.0, "separate_heads": True})
    term, real = model.terms[0], _images(8)
    q = term.q
    assert q.separate and q.hidden_continuous is not None
    latent = model.latent.sample(8, model.seed_generator)
    context = {
        "discriminator": model.discriminator, "real": real, "fake": real, "latent": latent,
        "seed_generator": model.seed_generator,
    }
    name = {"weight_clustering": "q_clustering", "weight_invariant": "q_invariant"}[weight]
    trunk = [v for v in model.discriminator.trainable_variables if "trunk" in v.path]
    categorical = q.hidden.trainable_variables + q.out.trainable_variables
    continuous = q.hidden_continuous.trainable_variables + q.out_continuous.trainable_variables
    with tf.GradientTape() as tape:
        loss = term.d_terms(context).losses[name]
    gradients = tape.gradient(loss, categorical + continuous + trunk)
    assert all(g is not None and np.any(g.numpy()) for g in gradients[: len(categorical)])
    # None or zeros (Q's outputs are sliced from one concatenation).
    assert all(g is None or not np.any(g.numpy()) for g in gradients[len(categorical) :])
    # The fakes' information loss still trains the trunk and both layers.
    with tf.GradientTape() as tape:
        loss = term.d_terms(context).losses["d_info"]
    assert all(g is not None for g in tape.gradient(loss, categorical + continuous + trunk))


def test_separate_heads_give_each_kind_of_code_its_own_layer_and_round_trip():
    shared = QHead(5, {"digit": 3}, ["width", "tilt"], width=4)
    separate = QHead(5, {"digit": 3}, ["width", "tilt"], width=4, separate=True)
    features = tf.random.normal((6, 5), seed=2)
    before = separate(features)
    # Zeroing the continuous layer moves the continuous outputs only.
    for variable in separate.out_continuous.trainable_variables:
        variable.assign(tf.zeros_like(variable))
    after = separate(features)
    np.testing.assert_allclose(after["logits"]["digit"], before["logits"]["digit"])
    np.testing.assert_allclose(after["mean"]["width"], 0.0)
    assert {k: v.shape for k, v in shared(features)["logits"].items()} == {"digit": (6, 3)}
    restored = QHead.from_config(separate.get_config())
    assert restored.separate and restored.hidden_continuous is not None
    assert QHead(5, {}, ["width"], width=4, separate=True).hidden is None


def test_label_fraction_marks_a_fixed_share_of_the_images():
    images = _images(4000, seed=3)
    labelled = labelled_fraction_mask(images, 0.25).numpy()
    assert abs(labelled.mean() - 0.25) < 0.03
    np.testing.assert_array_equal(labelled_fraction_mask(images[:10], 0.25), labelled[:10])  # per image
    np.testing.assert_array_equal(labelled_fraction_mask(images[:3], 1.0), [1, 1, 1])


def test_q_head_and_term_config_round_trip():
    head = QHead(5, {"digit": 3}, ["width"], width=4)
    restored = QHead.from_config(head.get_config())
    restored.set_weights(head.get_weights())
    features = tf.random.normal((2, 5), seed=0)
    np.testing.assert_allclose(restored(features)["logits"]["digit"], head(features)["logits"]["digit"])
    assert set(head(features)) == {"logits", "mean", "log_std"}
    term = Information(_spec(), 5, supervised_code="digit", label_fraction=0.5, weight_clustering=0.3, width=4)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(term))
    assert again.get_config() == term.get_config()
    with pytest.raises(ValueError, match=r"train\.info_supervised_code.*\['digit'\]"):
        Information(_spec(), 5, supervised_code="width")


@pytest.mark.parametrize(
    "mask_source, jit_compile",
    [
        ("none", False),
        # Both methods in one model, under XLA: ~30 s on a laptop CPU.
        pytest.param("learned", True, marks=pytest.mark.slow),
    ],
)
def test_fit_and_save_load(tmp_path, mask_source, jit_compile):
    model = _info_trainer(
        mask_source, {"jit_compile": jit_compile}, supervised_code="digit", label_fraction=0.5
    )
    data = tf.data.Dataset.from_tensor_slices(
        {"images": _images(16).numpy(), "labels": np.arange(16, dtype="int32") % 3}
    ).batch(4).repeat()
    history = model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    assert set(model.terms[0].reported) <= set(history.history)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored.terms[0], Information) and restored.latent.get_config() == model.latent.get_config()
    for a, b in zip(model.terms[0].weights, restored.terms[0].weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    latent = model.latent.sample(2, 1)
    np.testing.assert_allclose(restored(latent), model(latent), atol=1e-5)


@pytest.mark.slow
def test_train_the_supervised_symbols_config_end_to_end(tmp_path):
    from conftest import tiny_config

    from keras_attngan.apps import synthesis
    from keras_attngan.training.loop import train

    config = tiny_config("symbols_infogan", **{"train.info_label_fraction": 0.5})
    workdir, export = train(config, str(tmp_path / "run"))
    for name in ("category_shape", "traversal_c1_c2", "traversal_c2_c3"):
        assert os.path.exists(os.path.join(workdir.samples, f"{name}.png"))
    images, _ = synthesis.from_export(export, 2, category=2, codes=["c3=-2"])
    assert images.shape == (2, 16, 16, 3)


@pytest.mark.slow
def test_train_the_iic_digits_config_end_to_end_under_xla(tmp_path):
    from conftest import tiny_config

    from keras_attngan.apps import study, synthesis
    from keras_attngan.training.callbacks import train_tag
    from keras_attngan.training.loop import train

    config = tiny_config("digits_infogan", "iic", **{"train.jit_compile": True, "train.info_overclusters": 6})
    workdir, export = train(config, str(tmp_path / "run"))
    logs = os.path.join(workdir.logs, "train")
    for name in ("q_subhead", "q_invariant_information", "q_overcluster_information", "info_bound"):
        curve = study.scalar_curve(logs, train_tag(name))
        assert curve and all(np.isfinite(v) for v in curve.values()), name
    selected = study.scalar_curve(logs, train_tag("q_subhead")).values()
    assert all(0 <= v <= config.train.info_subheads - 1 for v in selected)
    images, _ = synthesis.from_export(export, 2, category=3)
    assert images.shape == (2, 16, 16, 1)


def test_a_supervised_code_must_match_the_data_classes():
    from conftest import tiny_config

    from keras_attngan.training.build import check_labels

    config = tiny_config("symbols_infogan", **{"model.categorical_codes": "shape:4"})

    class Source:
        num_classes = 3

    with pytest.raises(ValueError, match=r"train\.info_supervised_code.*3.*K=4"):
        check_labels(config, Source())


def test_a_spec_with_codes_needs_a_generator_taking_them():

    from keras_attngan.networks.discriminator import Discriminator
    from keras_attngan.networks.generator import build_generator
    from keras_attngan.trainers.base import GAN

    generator = build_generator(6, SIZE, CHANNELS, width=4, use_mask=False)
    with pytest.raises(ValueError, match=r"generator.*'codes'.*code_dim=5"):
        GAN(generator, Discriminator(SIZE, CHANNELS, width=4, attention="none"), _spec())


def test_a_negative_clustering_weight_is_refused_before_training():
    from keras_attngan.training.config import default_config
    from keras_attngan.training.validation import validate_config

    config = default_config()
    config.model.categorical_codes = "digit:10"
    config.train.terms = "info"
    config.train.info_weight_clustering = -0.5
    with pytest.raises(ValueError, match=r"train\.info_weight_clustering.*>= 0.*-0\.5"):
        validate_config(config)


def test_overclustering_head_trains_the_categorical_layer_and_joins_the_invariance_term():
    model = _info_trainer(weight_invariant=1.0, overclusters=7)
    term, real = model.terms[0], _images(8)
    q = term.q
    assert "q_overcluster_information" in term.reported
    features = tf.random.normal((6, q.feature_dim), seed=1)
    assert q(features)["overcluster"].shape == (6, 7)
    assert "overcluster" not in QHead(5, {"digit": 3}, [], width=4)(tf.zeros((2, 5)))
    latent = model.latent.sample(8, model.seed_generator)
    context = {
        "discriminator": model.discriminator, "real": real, "fake": real, "latent": latent,
        "seed_generator": keras.random.SeedGenerator(4),
    }
    with tf.GradientTape() as tape:
        contribution = term.d_terms(context)
        loss = contribution.losses["q_invariant"]
    head = q.out_overcluster.trainable_variables
    gradients = tape.gradient(loss, head + q.hidden.trainable_variables)
    assert all(g is not None and np.any(g.numpy()) for g in gradients)
    metrics = contribution.metrics
    np.testing.assert_allclose(
        loss, -(metrics["q_invariant_information"] + metrics["q_overcluster_information"]), rtol=1e-5
    )
    assert QHead.from_config(q.get_config()).overclusters == 7
    assert Information.from_config(term.get_config()).q.overclusters == 7


@pytest.mark.parametrize(
    "options",
    [{"overclusters": 5}, {"overclusters": -1, "weight_invariant": 1.0}, {"overclusters": 2.5, "weight_invariant": 1.0}],
)
def test_overclusters_refused_without_the_invariance_term_or_when_not_a_count(options):
    with pytest.raises(ValueError, match=r"train\.info_overclusters"):
        Information(_spec(), 5, **options)


def test_subheads_give_the_selected_logits():
    head = QHead(5, {"digit": 3}, ["width"], width=4, subheads=3)
    features = tf.random.normal((6, 5), seed=2)
    outputs = head(features)
    stacked = outputs["subhead_logits"]["digit"]
    assert stacked.shape == (3, 6, 3)
    # No information recorded yet: the first sub-head, the one-head layer.
    np.testing.assert_allclose(outputs["logits"]["digit"], stacked[0])
    head.subhead_information.assign([0.1, 0.2, 0.9])
    np.testing.assert_allclose(head(features)["logits"]["digit"], stacked[2])
    assert not np.allclose(stacked[1], stacked[2])
    restored = QHead.from_config(head.get_config())
    restored.set_weights(head.get_weights())
    np.testing.assert_allclose(restored(features)["logits"]["digit"], stacked[2])
    assert "subhead_logits" not in QHead(5, {"digit": 3}, [], width=4)(features)


def test_subheads_read_the_codes_and_the_best_average_information_is_selected():
    model = _info_trainer(weight_invariant=1.0, subheads=3)
    term, real = model.terms[0], _images(8)
    q = term.q
    assert "q_subhead" in term.reported
    latent = model.latent.sample(8, model.seed_generator)
    context = {
        "discriminator": model.discriminator, "real": real, "fake": real, "latent": latent,
        "seed_generator": keras.random.SeedGenerator(4),
    }
    q.subhead_information.assign([0.0, 0.0, 5.0])
    before = q.subhead_information.numpy()
    with tf.GradientTape(persistent=True) as tape:
        contribution = term.d_terms(context)
        fake_loss, invariant_loss = contribution.losses["d_info"], contribution.losses["q_invariant"]
    # Every sub-head learns from both the fakes' codes and the real pairs.
    for layer in [q.out] + q.out_subheads:
        for loss in (fake_loss, invariant_loss):
            gradients = tape.gradient(loss, layer.trainable_variables)
            assert all(g is not None and np.any(g.numpy()) for g in gradients)
    # The invariance term is the sub-heads' mean information, and each
    # sub-head's information enters its running average.
    augmented = nuisance_transform(real, keras.random.SeedGenerator(4))
    q_real, q_augmented = term.predict(model.discriminator, real), term.predict(model.discriminator, augmented)
    per_subhead = np.array([
        invariant_information(q_real["subhead_logits"]["digit"][h], q_augmented["subhead_logits"]["digit"][h])
        for h in range(3)
    ])
    np.testing.assert_allclose(invariant_loss, -per_subhead.mean(), rtol=1e-5)
    np.testing.assert_allclose(q.subhead_information.numpy(), 0.99 * before + 0.01 * per_subhead, rtol=1e-5)
    assert contribution.metrics["q_subhead"] == 2.0
    np.testing.assert_allclose(
        contribution.metrics["q_invariant_information"], per_subhead[2], rtol=1e-5
    )
    # D's NLL of the categorical code is the sub-heads' mean; G's the selected one's.
    categories, values = model.latent.decode(latent["codes"])
    q_fake = term.predict(model.discriminator, real)
    nll = [categorical_nll(q_fake["subhead_logits"]["digit"][h], categories["digit"]) for h in range(3)]
    _, continuous = information_losses(q_fake, categories, values)
    np.testing.assert_allclose(
        fake_loss, term.weight_categorical * np.mean(nll) + term.weight_continuous * continuous, rtol=1e-5
    )
    g_loss = term.g_terms(context).losses["g_info"]
    np.testing.assert_allclose(
        g_loss, term.weight_categorical * nll[2] + term.weight_continuous * continuous, rtol=1e-5
    )


def test_subheads_and_colour_jitter_train_under_xla_and_survive_save_load(tmp_path):
    model = _info_trainer(
        compile_kwargs={"jit_compile": True}, weight_invariant=1.0, overclusters=4, subheads=2, colour_jitter=True
    )
    history = model.fit(real_dataset(), steps_per_epoch=3, epochs=1, verbose=0)
    assert 0.0 <= history.history["q_subhead"][-1] <= 1.0  # the selected one, averaged over the steps
    information = model.terms[0].q.subhead_information.numpy()
    assert np.all(information > 0)
    path = str(tmp_path / "trainer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.terms[0].q.subhead_information.numpy(), information)


@pytest.mark.parametrize(
    "options",
    [
        {"subheads": 2},
        {"subheads": 0, "weight_invariant": 1.0},
        {"subheads": 1.5, "weight_invariant": 1.0},
    ],
)
def test_subheads_refused_without_the_invariance_term_or_when_not_a_count(options):
    with pytest.raises(ValueError, match=r"train\.info_subheads"):
        Information(_spec(), 5, **options)


def test_subheads_refused_beside_a_supervised_code():
    spec = LatentSpec(_spec().noise_dim, categorical=[CategoricalCode("digit", 3), CategoricalCode("style", 2)])
    Information(spec, 5, weight_invariant=1.0, subheads=2)  # both unsupervised: fine
    with pytest.raises(ValueError, match=r"train\.info_subheads.*unsupervised.*info_supervised_code='digit'"):
        Information(spec, 5, weight_invariant=1.0, subheads=2, supervised_code="digit")
