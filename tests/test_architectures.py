"""Normalizations, architectures and the class-conditional GAN, on tiny networks."""

import itertools
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_estimator, tiny_config

from keras_attngan.core.latent import LatentSpec
from keras_attngan.core.mask_sources import MASK_SOURCES
from keras_attngan.networks.architectures import ARCHITECTURES
from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.networks.layers import MaskModulation
from keras_attngan.networks.normalizations import (
    ConditionalBatchNormalization,
    get_normalization,
)
from keras_attngan.trainers.attention import AttnGAN, trainer_class
from keras_attngan.training.build import check_labels

CLASSES = 3


def _images(count=4, size=SIZE, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, CHANNELS)).astype("float32")


def _networks(architecture="dcgan", source="learned", size=SIZE, classes=0, d_norm="none"):
    uses_mask = MASK_SOURCES[source].uses_mask
    generator = build_generator(
        LATENT,
        size,
        CHANNELS,
        width=4,
        use_mask=uses_mask,
        architecture=architecture,
        normalization="conditional_batch" if classes else "batch",
        num_classes=classes,
    )
    discriminator = Discriminator(
        size,
        CHANNELS,
        width=4,
        attention=source,
        architecture=architecture,
        normalization=d_norm,
        num_classes=classes,
    )
    return generator, discriminator


def _trainer(architecture="dcgan", source="learned", classes=0, d_norm="none", **compile_kwargs):
    generator, discriminator = _networks(architecture, source, classes=classes, d_norm=d_norm)
    options = {"mi_estimator": make_estimator()} if MASK_SOURCES[source].uses_mask else {}
    model = trainer_class(generator, discriminator)(generator, discriminator, LatentSpec(LATENT, classes), seed=0, **options)
    model.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5), **compile_kwargs)
    return model


def _batch(labels=None, count=4):
    labels = np.zeros(count, "int32") if labels is None else np.asarray(labels, "int32")
    return {"images": tf.constant(_images(count)), "labels": tf.constant(labels)}


def test_conditional_batch_norm_scales_and_shifts_per_class():
    layer = ConditionalBatchNormalization(CLASSES)
    x = np.random.default_rng(0).normal(2.0, 3.0, (4, 2, 2, 5)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    # Untrained: plain batch normalization, whatever the class.
    normalized = layer([x, labels], training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(normalized, (x - mean) / np.sqrt(var + 1e-3), atol=1e-4)
    gamma = np.arange(1, 1 + CLASSES * 5, dtype="float32").reshape(CLASSES, 5)
    beta = -np.arange(CLASSES * 5, dtype="float32").reshape(CLASSES, 5)
    layer.gamma.embeddings.assign(gamma)
    layer.beta.embeddings.assign(beta)
    out = layer([x, labels], training=True).numpy()
    expected = gamma[labels][:, None, None] * normalized + beta[labels][:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)
    same_input = np.repeat(x[:1], 2, axis=0)
    two_labels = layer([same_input, np.array([0, 1])], training=False).numpy()
    assert not np.allclose(two_labels[0], two_labels[1])


def test_spectral_norm_brings_the_largest_singular_value_to_one():
    dense = get_normalization("spectral").wrap(
        keras.layers.Dense(6, kernel_initializer=keras.initializers.RandomNormal(stddev=3.0))
    )
    x = np.ones((2, 10), "float32")
    dense(x)
    assert np.linalg.svd(dense.kernel.numpy(), compute_uv=False)[0] > 5
    for _ in range(30):  # one power iteration per training call
        dense(x, training=True)
    np.testing.assert_allclose(np.linalg.svd(dense.kernel.numpy(), compute_uv=False)[0], 1.0, rtol=0.02)


@pytest.mark.parametrize(
    "architecture, size",
    [(name, 16) for name in ARCHITECTURES]
    + [("resnet", 32), pytest.param("resnet", 64, marks=pytest.mark.slow)],
)
def test_each_architecture_carries_the_mask_and_every_mask_source(architecture, size):
    generator, _ = _networks(architecture, size=size)
    latent = {
        "z": np.zeros((2, LATENT), "float32"),
        "mask": np.ones((2, size, size, 1), "float32"),
    }
    images = generator(latent).numpy()
    assert images.shape == (2, size, size, CHANNELS) and np.abs(images).max() <= 1
    modulated = {
        layer.input[0].shape[1] for layer in generator.layers if isinstance(layer, MaskModulation)
    }
    assert {4, size // 2} <= modulated  # every resolution the body normalizes at
    for source in MASK_SOURCES:
        discriminator = Discriminator(size, CHANNELS, width=4, attention=source, architecture=architecture)
        outputs = discriminator(_images(2, size))
        verdict = {"cell_logits"} if discriminator.verdict is not None else set()
        assert set(outputs) == {"logits", "attention", "features"} | verdict
        assert outputs["logits"].shape == (2, 1)
        assert outputs["attention"].shape == (2, size, size, 1)


def test_projection_discriminator_reads_the_labels():
    discriminator = Discriminator(SIZE, CHANNELS, width=4, attention="gradcam", num_classes=CLASSES)
    discriminator.projection.embeddings.assign(
        tf.random.normal(discriminator.projection.embeddings.shape, seed=1)
    )
    images = tf.constant(_images(2))
    same = tf.concat([images[:1], images[:1]], axis=0)
    logits = discriminator(same, labels=np.array([0, 1]))["logits"].numpy()
    assert not np.isclose(logits[0, 0], logits[1, 0])
    with tf.GradientTape() as tape:
        logits = discriminator(images, labels=np.array([2, 2]), return_attention=False)["logits"]
    gradient = tape.gradient(logits, discriminator.projection.embeddings)
    rows = np.abs(tf.convert_to_tensor(gradient).numpy()).sum(axis=1)
    assert rows[2] > 0 and rows[0] == 0 and rows[1] == 0  # <embed(y), phi(x)>, y = 2 only
    with pytest.raises(ValueError, match="needs `labels`"):
        discriminator(images)
    with pytest.raises(ValueError, match="takes none"):
        Discriminator(SIZE, CHANNELS, width=4)(images, labels=np.array([0, 1]))


@pytest.mark.parametrize(
    "build, inputs",
    [
        (
            lambda: _networks("resnet", classes=CLASSES)[0],
            lambda: {
                "z": np.ones((2, LATENT), "float32"),
                "mask": np.ones((2, SIZE, SIZE, 1), "float32"),
                "label": np.array([0, 2], "int32"),
            },
        ),
        (
            lambda: _networks("sndcgan", "gradcam", classes=CLASSES, d_norm="spectral")[1],
            lambda: (_images(2), np.array([1, 2], "int32")),
        ),
        (lambda: _networks("resnet", "learned", d_norm="layer")[1], lambda: (_images(2), None)),
    ],
    ids=["resnet-conditional-generator", "sndcgan-spectral-projection-d", "resnet-layer-norm-d"],
)
def test_save_load_round_trip(tmp_path, build, inputs):
    network = build()
    x = inputs()

    def run(model):
        if isinstance(x, tuple):
            return keras.tree.map_structure(np.asarray, model(x[0], labels=x[1]))
        return np.asarray(model(x))

    before = run(network)
    path = str(tmp_path / "network.keras")
    network.save(path)
    restored = keras.models.load_model(path)
    keras.tree.map_structure(
        lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), before, run(restored)
    )
    assert type(restored) is type(network)


def test_old_discriminator_configs_load_as_dcgan():
    config = Discriminator(SIZE, CHANNELS, width=4).get_config()
    for key in ("architecture", "normalization", "num_classes"):
        config.pop(key)
    restored = Discriminator.from_config(config)
    assert (restored.architecture, restored.normalization, restored.num_classes) == ("dcgan", "none", 0)


_STEPS = [("sndcgan", "gradcam", "spectral"), ("resnet", "saliency", "layer")]
_ALL_STEPS = [
    combination
    for combination in itertools.product(ARCHITECTURES, MASK_SOURCES, ("none", "spectral"))
    if combination not in _STEPS
]


@pytest.mark.parametrize(
    "architecture, source, d_norm",
    _STEPS + [pytest.param(*combination, marks=pytest.mark.slow) for combination in _ALL_STEPS],
)
def test_one_train_step(architecture, source, d_norm):
    model = _trainer(architecture, source, d_norm=d_norm)
    logs = model.train_step(_batch())
    assert all(np.isfinite(float(value)) for value in logs.values())


# About a minute of XLA compilation: the default run keeps test_gan.py's XLA tests only.
@pytest.mark.slow
def test_one_train_step_under_xla():
    model = _trainer("resnet", "learned", d_norm="spectral", jit_compile=True)
    history = model.fit(
        tf.data.Dataset.from_tensors(_batch()).repeat(), steps_per_epoch=1, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["d_loss"][-1])


def test_conditional_train_step_uses_the_real_labels():
    """Two identical models, one step on the same images labelled 0 or 1: D must differ."""
    after = []
    for label in (0, 1):
        keras.utils.set_random_seed(0)
        model = _trainer("dcgan", "gradcam", classes=CLASSES, penalty="r1")
        model.train_step(_batch([label] * 4))
        after.append(model.discriminator.projection.embeddings.numpy())
    assert not np.allclose(after[0], after[1])


@pytest.mark.parametrize("d_norm", ["none", "spectral"])
def test_the_projection_reads_the_label_and_learns(d_norm):
    """D's logit depends on the label, and the projection gets a gradient (under spectral norm too)."""
    _, discriminator = _networks(source="gradcam", classes=CLASSES, d_norm=d_norm)
    images = tf.constant(_images())
    embeddings = discriminator.projection.trainable_weights
    with tf.GradientTape() as tape:
        zeros = discriminator(images, training=True, labels=tf.zeros(4, "int32"))["logits"]
        twos = discriminator(images, training=True, labels=tf.fill([4], 2))["logits"]
        difference = tf.reduce_sum(twos - zeros)
    assert np.abs(np.asarray(twos - zeros)).max() > 1e-4
    (gradient,) = tape.gradient(difference, embeddings)
    assert gradient is not None and np.abs(tf.convert_to_tensor(gradient)).max() > 0


def test_latent_spec_draws_labels_through_the_seed_generator():
    spec = LatentSpec(LATENT, CLASSES)
    first = spec.sample(64, keras.random.SeedGenerator(3))["label"].numpy()
    again = spec.sample(64, keras.random.SeedGenerator(3))["label"].numpy()
    np.testing.assert_array_equal(first, again)
    assert set(first) == set(range(CLASSES))
    assert LatentSpec.from_config(spec.get_config()).num_classes == CLASSES
    with pytest.raises(ValueError, match="latent.num_classes=0, discriminator.num_classes=3"):
        generator, discriminator = _networks(classes=CLASSES)
        AttnGAN(generator, discriminator, LatentSpec(LATENT), make_estimator())


def test_a_projection_discriminator_without_labels_is_refused():
    config = tiny_config("symbols_conditional")
    unlabelled = types.SimpleNamespace(num_classes=0)
    with pytest.raises(ValueError, match=r"model.num_classes.*has 0 \(0: unlabelled"):
        check_labels(config, unlabelled)
    check_labels(config, types.SimpleNamespace(num_classes=config.model.num_classes))


@pytest.mark.parametrize("architecture", ["dcgan", "resnet"])
@pytest.mark.parametrize("upsampling", ["default", "transposed", "resize", "subpixel"])
def test_every_upsampling_doubles_g_resolution_on_every_architecture(architecture, upsampling):
    generator = build_generator(LATENT, 32, CHANNELS, width=4, architecture=architecture, upsampling=upsampling)
    latent = {"z": np.zeros((2, LATENT), "float32"), "mask": np.ones((2, 32, 32, 1), "float32")}
    assert generator(latent).shape == (2, 32, 32, CHANNELS)
    kinds = {type(layer).__name__ for layer in generator.layers}
    chosen = {"default": {"dcgan": "transposed", "resnet": "resize"}[architecture]}.get(upsampling, upsampling)
    assert ("Conv2DTranspose" in kinds) is (chosen == "transposed")
    assert ("DepthToSpace" in kinds) is (chosen == "subpixel")


def test_the_default_upsampling_keeps_the_layers_of_existing_models():
    generator = build_generator(LATENT, 32, CHANNELS, width=4)
    assert type(generator.get_layer("up_1")).__name__ == "Conv2DTranspose"
    assert type(generator.get_layer("to_image")).__name__ == "Conv2DTranspose"


def test_an_unknown_upsampling_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"\['transposed', 'resize', 'subpixel'\].*'bilinear'"):
        build_generator(LATENT, 32, CHANNELS, width=4, upsampling="bilinear")
