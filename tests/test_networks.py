import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE

from keras_attngan.networks.discriminator import MASK_SOURCES, Discriminator
from keras_attngan.networks.generator import build_generator, num_stages
from keras_attngan.networks.layers import MaskModulation


def _images(count=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (count, SIZE, SIZE, CHANNELS)).astype(np.float32)


def _latent(count=3):
    return {
        "z": np.random.default_rng(1).normal(size=(count, LATENT)).astype(np.float32),
        "mask": np.random.default_rng(2).uniform(size=(count, SIZE, SIZE, 1)).astype(np.float32),
    }


@pytest.mark.parametrize("use_mask", [True, False])
def test_generator_shapes_and_range(use_mask):
    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=use_mask)
    latent = _latent() if use_mask else {"z": _latent()["z"]}
    images = generator(latent).numpy()
    assert images.shape == (3, SIZE, SIZE, CHANNELS)
    assert images.min() >= -1 and images.max() <= 1


def test_generator_modulated_at_every_resolution():
    generator = build_generator(LATENT, 32, 1, width=8)
    sizes = sorted(
        layer.input[0].shape[1] for layer in generator.layers if isinstance(layer, MaskModulation)
    )
    assert sizes == [4, 8, 16]


def test_mask_modulation_starts_as_identity_and_learns_to_use_the_mask():
    layer = MaskModulation()
    features = np.random.default_rng(0).normal(size=(2, 4, 4, 5)).astype(np.float32)
    mask = np.random.default_rng(1).uniform(size=(2, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(layer([features, mask]), features, rtol=1e-6)
    layer.scale_shift.kernel.assign(tf.fill(layer.scale_shift.kernel.shape, 0.1))
    other = layer([features, 1.0 - mask]).numpy()
    assert not np.allclose(layer([features, mask]).numpy(), other)


@pytest.mark.parametrize("source", MASK_SOURCES)
def test_discriminator_outputs(source):
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention=source)
    outputs = discriminator(_images())
    verdict = {"cell_logits"} if source == "verdict" else set()
    assert set(outputs) == {"logits", "attention", "features"} | verdict
    assert outputs["logits"].shape == (3, 1)
    assert outputs["features"].shape == (3, 4 * 4 * 16)  # 4x4 cells of width * 2 ** (stages - 1)
    attention = outputs["attention"].numpy()
    assert attention.shape == (3, SIZE, SIZE, 1)
    assert attention.min() >= 0.0 and attention.max() <= 1.0
    if source in ("learned", "gradcam", "saliency", "verdict"):
        np.testing.assert_allclose(attention.max(axis=(1, 2, 3)), 1.0, atol=1e-3)
    if source == "none":
        np.testing.assert_array_equal(attention, 1.0)
    assert set(discriminator(_images(), return_attention=False)) == {"logits", "features"} | verdict


def test_gradcam_equals_the_gradient_definition():
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="gradcam")
    images = tf.constant(_images())
    feature_maps = discriminator.trunk(images)
    with tf.GradientTape() as tape:
        tape.watch(feature_maps)
        logits = discriminator._head(feature_maps)[0]
        decision = tf.reduce_sum(tf.sign(logits) * logits)
    alpha = tf.reduce_mean(tape.gradient(decision, feature_maps), axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(alpha * feature_maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, (SIZE, SIZE), method="bilinear")
    expected = cam / (tf.reduce_max(cam, axis=(1, 2, 3), keepdims=True) + 1e-6)
    # float32 summation order differs between the two computations.
    np.testing.assert_allclose(discriminator(images)["attention"], expected, atol=1e-4)


def test_saliency_marks_the_pixels_the_logit_depends_on():
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="saliency")
    images = tf.constant(_images())
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = discriminator(images, return_attention=False)["logits"]
    gradient = tf.reduce_max(tf.abs(tape.gradient(logits, images)), axis=-1, keepdims=True)
    expected = gradient / (tf.reduce_max(gradient, axis=(1, 2, 3), keepdims=True) + 1e-6)
    np.testing.assert_allclose(discriminator(images)["attention"], expected, atol=1e-5)


def test_learned_logit_is_a_sum_over_cells_weighted_by_the_mask_through_the_real_d():
    """The claim the docs make, checked on the real path: logit = b + sum_c w_c <K_c, F_c>."""
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention="learned")
    discriminator.attention_scores.kernel.assign(
        tf.random.normal(discriminator.attention_scores.kernel.shape, seed=1)
    )
    images = tf.constant(_images())
    outputs = discriminator(images)
    feature_maps = discriminator.trunk(images).numpy()
    cells = feature_maps.shape[1] * feature_maps.shape[2]
    scores = discriminator.attention_scores(feature_maps).numpy()
    weights = np.exp(scores - scores.max(axis=(1, 2, 3), keepdims=True))
    weights = cells * weights / weights.sum(axis=(1, 2, 3), keepdims=True)
    kernel = discriminator.classifier.kernel.numpy().reshape(feature_maps.shape[1:])
    contributions = weights[..., 0] * np.einsum("bhwc,hwc->bhw", feature_maps, kernel)
    expected = contributions.sum(axis=(1, 2)) + discriminator.classifier.bias.numpy()
    np.testing.assert_allclose(outputs["logits"][:, 0], expected, rtol=1e-4, atol=1e-5)
    # The mask is those weights, relative to the largest, at input resolution.
    relative = weights / weights.max(axis=(1, 2, 3), keepdims=True)
    pooled = tf.image.resize(relative, (SIZE, SIZE), method="bilinear").numpy()
    pooled /= pooled.max(axis=(1, 2, 3), keepdims=True) + 1e-6  # peak normalization
    np.testing.assert_allclose(outputs["attention"], pooled, atol=1e-4)


@pytest.mark.parametrize("source", ["learned", "gradcam", "saliency"])
def test_minmax_normalization_and_temperature_shape_the_contrast(source):
    images = tf.constant(_images())
    peak = Discriminator(SIZE, CHANNELS, width=8, attention=source)
    minmax = Discriminator(SIZE, CHANNELS, width=8, attention=source, mask_normalization="minmax")
    sharp = Discriminator(SIZE, CHANNELS, width=8, attention=source, mask_temperature=0.5)
    for other in (minmax, sharp):
        other.set_weights(peak.get_weights())
    base = peak(images)["attention"].numpy()
    stretched = minmax(images)["attention"].numpy()
    np.testing.assert_allclose(stretched.min(axis=(1, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(stretched.max(axis=(1, 2, 3)), 1.0, atol=1e-3)
    np.testing.assert_allclose(sharp(images)["attention"].numpy(), base**2, atol=1e-5)
    with pytest.raises(ValueError, match=r"mask_normalization.*\['minmax', 'peak'\].*'l1'"):
        Discriminator(SIZE, CHANNELS, mask_normalization="l1")
    with pytest.raises(ValueError, match="mask_temperature.*Received: mask_temperature=0"):
        Discriminator(SIZE, CHANNELS, mask_temperature=0)


@pytest.mark.parametrize("size", [0, 4, 12, 48])
def test_sizes_the_architecture_cannot_make(size):
    with pytest.raises(ValueError, match=f"image_size.*Received: image_size={size}"):
        num_stages(size)
    with pytest.raises(ValueError, match="image_size"):
        build_generator(LATENT, size, CHANNELS)


def test_unknown_mask_source_lists_the_choices():
    with pytest.raises(ValueError, match=r"\['learned', 'gradcam', 'saliency', 'verdict', 'none'\].*'attn'"):
        Discriminator(SIZE, CHANNELS, attention="attn")


@pytest.mark.parametrize(
    "build, inputs",
    [
        (lambda: build_generator(LATENT, SIZE, CHANNELS, width=8), lambda: _latent()),
        (lambda: Discriminator(SIZE, CHANNELS, width=8, attention="gradcam"), lambda: _images()),
        (lambda: Discriminator(SIZE, CHANNELS, width=8, attention="learned"), lambda: _images()),
        (
            lambda: Discriminator(
                SIZE, CHANNELS, width=8, mask_normalization="minmax", mask_temperature=0.5
            ),
            lambda: _images(),
        ),
    ],
    ids=[
        "generator+MaskModulation",
        "discriminator-gradcam",
        "discriminator-learned",
        "discriminator-minmax-temperature",
    ],
)
def test_save_load_round_trip(tmp_path, build, inputs):
    network = build()
    if hasattr(network, "attention_scores") and network.attention_scores is not None:
        network.attention_scores.kernel.assign(
            tf.random.normal(network.attention_scores.kernel.shape)
        )
    x = inputs()
    before = keras.tree.map_structure(np.asarray, network(x))
    path = str(tmp_path / "network.keras")
    network.save(path)
    restored = keras.models.load_model(path)
    after = keras.tree.map_structure(np.asarray, restored(x))
    keras.tree.map_structure(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), before, after)
    assert type(restored) is type(network)
    for original, loaded in zip(network.weights, restored.weights):
        assert original.path == loaded.path
        np.testing.assert_array_equal(original.numpy(), loaded.numpy())
