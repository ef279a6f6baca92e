"""Tests for keras_attngan.data: every source, the pipeline, every error.

Everything is offline: TFDS is only reached through
`tfds.testing.mock_data` (or an empty data_dir for the not-prepared error),
folders and npz files are written to tmp_path.
"""

import os
import socket
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import downloader

from keras_attngan.data import (
    SOURCE_CHOICES,
    SourceData,
    load_source,
    make_dataset,
    parse_source,
    render_symbols,
    symbols,
    tfds_source,
)

PALETTE = {0: (220, 30, 30), 1: (30, 60, 220), 2: (20, 20, 20), 3: (128, 128, 128)}


def _images(source_data):
    """All uint8 images and labels of a SourceData, in order."""
    elements = list(source_data.dataset.as_numpy_iterator())
    return (
        np.stack([e["images"] for e in elements]),
        np.array([e["labels"] for e in elements]),
    )


def _check_batch(batch, batch_size, image_size, channels):
    images, labels = batch["images"], batch["labels"]
    assert images.shape == (batch_size, image_size, image_size, channels)
    assert images.dtype == tf.float32 and labels.dtype == tf.int32
    assert labels.shape == (batch_size,)
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0


def _write_png(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(np.asarray(array, dtype=np.uint8)))


# --- symbols -----------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered():
    return render_symbols(300, image_size=32, seed=2)


def test_render_symbols_shapes_dtypes_and_balanced_labels(rendered):
    assert rendered["images"].shape == (300, 32, 32, 3)
    assert rendered["images"].dtype == np.uint8
    assert rendered["labels"].dtype == np.int32
    np.testing.assert_array_equal(np.bincount(rendered["labels"]), [100, 100, 100])


def test_render_symbols_is_deterministic_in_seed():
    a, b, c = (render_symbols(20, image_size=16, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a["images"], b["images"])
    np.testing.assert_array_equal(a["factors"]["rotation"], b["factors"]["rotation"])
    assert not np.array_equal(a["images"], c["images"])


def test_render_symbols_factors_aligned_and_in_range(rendered):
    factors = rendered["factors"]
    assert set(factors) == {"rotation", "thickness", "scale", "x", "y", "colour"}
    for name, values in factors.items():
        assert values.shape == (300,), name
    for name, (low, high) in {
        "rotation": symbols.ROTATION_RANGE,
        "thickness": symbols.THICKNESS_RANGE,
        "scale": symbols.SCALE_RANGE,
        "x": symbols.OFFSET_RANGE,
        "y": symbols.OFFSET_RANGE,
    }.items():
        assert factors[name].dtype == np.float32
        assert low <= factors[name].min() and factors[name].max() <= high, name
    assert factors["colour"].dtype == np.int32
    assert set(factors["colour"]) == {0, 1, 2, 3}


def test_render_symbols_thicker_strokes_use_more_ink(rendered):
    # Alignment check: the factor arrays describe the images at the same index.
    ink = (255 - rendered["images"].min(axis=-1)).sum(axis=(1, 2)).astype(np.float64)
    circles = rendered["labels"] == 2
    correlation = np.corrcoef(rendered["factors"]["thickness"][circles], ink[circles])[0, 1]
    assert correlation > 0.5


def test_render_symbols_classes_differ(rendered):
    darkness = 255.0 - rendered["images"].astype(np.float32).mean(axis=-1)
    means = [darkness[rendered["labels"] == k].mean(axis=0) for k in range(3)]
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(means[i] - means[j]).mean() > 5.0, (i, j)
    # The circle is hollow: its centre is far less inked than the cross's.
    assert means[2][14:18, 14:18].mean() < means[1][14:18, 14:18].mean() / 2


def test_render_symbols_colour_matches_factor(rendered):
    images = rendered["images"].astype(np.int32)
    for index, colour in PALETTE.items():
        for image in images[rendered["factors"]["colour"] == index]:
            # The most covered pixel is pure ink: the palette colour.
            darkest = image.reshape(-1, 3)[np.argmin(image.sum(axis=-1))]
            np.testing.assert_allclose(darkest, colour, atol=2)
            if index == 0:  # Red ink is red: R far above G and B.
                assert darkest[0] > darkest[1] + 150 and darkest[0] > darkest[2] + 150


def test_render_symbols_stay_inside_the_image(rendered):
    images = rendered["images"]
    border = np.concatenate(
        [images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1
    )
    assert border.min() > 240
    # White background.
    assert np.median(images) == 255


def test_make_dataset_symbols():
    dataset, data = make_dataset("symbols", image_size=16, batch_size=8, num_examples=20, seed=2)
    assert isinstance(data, SourceData)
    assert (data.num_examples, data.channels, data.num_classes) == (20, 3, 3)
    assert all(len(v) == 20 for v in data.factors.values())
    batches = list(dataset.take(4))  # More batches than one epoch holds: it repeats.
    for batch in batches:
        _check_batch(batch, 8, 16, 3)
    assert dataset.element_spec["images"].shape == (8, 16, 16, 3)


def test_load_source_symbols_default_count_is_20000():
    data = load_source("symbols", image_size=8)
    assert data.num_examples == 20_000


# --- pipeline ------------------------------------------------------------------


def test_make_dataset_shuffle_is_seeded_and_one_pass_drops_remainder():
    def first_labels(seed):
        dataset, _ = make_dataset("digits", image_size=8, batch_size=32, seed=seed)
        return next(iter(dataset))["labels"].numpy()

    np.testing.assert_array_equal(first_labels(1), first_labels(1))
    assert not np.array_equal(first_labels(1), first_labels(2))
    dataset, data = make_dataset(
        "digits", image_size=8, batch_size=100, shuffle=False, repeat=False
    )
    batches = list(dataset)
    assert len(batches) == data.num_examples // 100 == 17
    raw, _ = _images(load_source("digits", image_size=8))
    np.testing.assert_allclose(batches[0]["images"].numpy(), raw[:100] / 127.5 - 1.0, atol=1e-6)


def test_make_dataset_skip_batches_continues_the_same_stream():
    # 20 examples, batches of 8: the stream crosses epochs (and reshuffles) within 12 batches.
    def batches(skip, count):
        keras.utils.set_random_seed(0)
        dataset, _ = make_dataset(
            "symbols", image_size=8, batch_size=8, num_examples=20, seed=5, skip_batches=skip
        )
        return [b["images"].numpy() for b in dataset.take(count)]

    whole, resumed = batches(0, 12), batches(7, 5)
    for expected, actual in zip(whole[7:], resumed):
        np.testing.assert_array_equal(actual, expected)


# --- digits ------------------------------------------------------------------------


def test_digits():
    data = load_source("digits", image_size=16)
    images, labels = _images(data)
    assert (data.num_examples, data.channels, data.num_classes) == (1797, 1, 10)
    assert images.shape == (1797, 16, 16, 1) and images.dtype == np.uint8
    assert labels.dtype == np.int32 and set(labels) == set(range(10))
    assert images.max() > 200
    dataset, _ = make_dataset("digits", image_size=16, batch_size=4)
    _check_batch(next(iter(dataset)), 4, 16, 1)


def test_digits_subset_is_seeded():
    a, b, c = (
        _images(load_source("digits", image_size=8, num_examples=50, seed=s))[0] for s in (1, 1, 2)
    )
    assert a.shape == (50, 8, 8, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_digits_too_many_examples():
    with pytest.raises(ValueError, match=r"`data.num_examples` should be at most 1797.*1798"):
        load_source("digits", image_size=8, num_examples=1798)


def test_colored_digits():
    data = load_source("colored_digits", image_size=16, num_examples=200, seed=3)
    images, labels = _images(data)
    assert (data.num_examples, data.channels, data.num_classes) == (200, 3, 10)
    assert images.shape == (200, 16, 16, 3)
    hue = data.factors["hue"]
    assert hue.shape == (200,) and hue.dtype == np.float32
    assert 0.0 <= hue.min() and hue.max() < 1.0
    # Background is black: the digits' own background, and the corners.
    assert np.mean(images.max(axis=-1) < 10) > 0.3
    # Full saturation and value: the brightest channel is the digit intensity.
    gray, gray_labels = _images(load_source("digits", image_size=16, num_examples=200, seed=3))
    np.testing.assert_array_equal(labels, gray_labels)
    np.testing.assert_allclose(images.max(axis=-1), gray[..., 0], atol=1)
    # Different hues give different colours.
    reddish = (hue < 0.05) | (hue > 0.95)
    bright = images[reddish].reshape(-1, 3)
    bright = bright[bright.max(axis=-1) > 200]
    assert np.all(bright[:, 0] >= bright[:, 1]) and np.all(bright[:, 0] >= bright[:, 2])


# --- tfds (mocked) -----------------------------------------------------------------


@pytest.mark.parametrize("name, channels", [("mnist", 1), ("cifar10", 3)])
def test_tfds_mocked(name, channels):
    with tfds.testing.mock_data(num_examples=6):
        dataset, data = make_dataset(f"tfds:{name}", image_size=16, batch_size=4)
        batch = next(iter(dataset))
    assert (data.num_examples, data.channels, data.num_classes) == (6, channels, 10)
    _check_batch(batch, 4, 16, channels)
    assert data.factors is None


def test_tfds_num_examples_takes_a_prefix():
    with tfds.testing.mock_data(num_examples=6):
        data = load_source("tfds:mnist", image_size=8, num_examples=3)
        images, labels = _images(data)
    assert data.num_examples == 3 and images.shape == (3, 8, 8, 1)
    assert images.dtype == np.uint8 and labels.dtype == np.int32


def test_tfds_unknown_dataset_suggests_names():
    with pytest.raises(ValueError, match=r"Unknown TFDS dataset 'mnistt'.*'mnist'"):
        load_source("tfds:mnistt", image_size=8)


def test_tfds_without_image_feature():
    with tfds.testing.mock_data(num_examples=2):
        with pytest.raises(ValueError, match=r"'imdb_reviews' has no image feature.*'text'"):
            load_source("tfds:imdb_reviews", image_size=8)


def test_tfds_not_prepared_and_download_disabled(tmp_path):
    with pytest.raises(RuntimeError, match=r"'mnist' is not prepared.*data.download=False"):
        load_source("tfds:mnist", image_size=8, data_dir=str(tmp_path), download=False)


def test_tfds_download_failure_is_explained(tmp_path, monkeypatch):
    def no_network(self, *args, **kwargs):
        raise ConnectionError("Could not resolve host")

    # Stands in for a machine whose network fails after the hosts answered.
    monkeypatch.setattr(tfds_source, "_unreachable_hosts", lambda urls: [])
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_network)
    message = r"'mnist' failed.*probably has no network.*tfds build mnist.*data.data_dir"
    with pytest.raises(RuntimeError, match=message) as info:
        load_source("tfds:mnist", image_size=8, data_dir=str(tmp_path))
    assert isinstance(info.value.__cause__, ConnectionError)


@pytest.fixture
def no_network(monkeypatch):
    """Every connection and name look-up of this process fails, as on a machine offline."""

    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_tfds_without_network_fails_fast_and_writes_nothing(tmp_path, no_network):
    data_dir = tmp_path / "tfds"
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"no connection to storage.googleapis.com.*tfds build mnist"):
        load_source("tfds:mnist", image_size=8, data_dir=str(data_dir))
    assert time.monotonic() - start < 30  # TFDS's own retries take over 200 s
    assert not data_dir.exists()


def test_tfds_failed_download_removes_its_partial_files(tmp_path, no_network, monkeypatch):
    # Past the probe, TFDS itself downloads, fails and leaves .tmp and
    # incomplete files; without its retries it fails at once.
    monkeypatch.setattr(tfds_source, "_unreachable_hosts", lambda urls: [])
    monkeypatch.setattr(downloader, "MAX_RETRIES", 0)
    (tmp_path / "other").mkdir()  # what was there before stays
    with pytest.raises(RuntimeError, match=r"'mnist' failed"):
        load_source("tfds:mnist", image_size=8, data_dir=str(tmp_path))
    assert os.listdir(tmp_path) == ["other"]


def _write_mnist_metadata(data_dir, num_examples):
    """Metadata of a prepared mnist with only a "train" split, for mock_data."""
    builder = tfds.builder("mnist", data_dir=data_dir)
    template = tfds.core.ShardedFileTemplate(
        data_dir=builder.data_path,
        template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
        dataset_name="mnist",
        split="train",
        filetype_suffix="tfrecord",
    )
    split = tfds.core.SplitInfo(
        name="train", shard_lengths=[num_examples], num_bytes=0, filename_template=template
    )
    builder.info.set_splits(tfds.core.SplitDict([split]))
    os.makedirs(builder.data_path)
    builder.info.write_to_directory(builder.data_path)


def test_tfds_prepared_dataset_and_unknown_split(tmp_path):
    _write_mnist_metadata(str(tmp_path), num_examples=5)
    with tfds.testing.mock_data(
        num_examples=5, policy=tfds.testing.MockPolicy.USE_FILES, data_dir=str(tmp_path)
    ):
        data = load_source("tfds:mnist", image_size=8, download=False)
        assert data.num_examples == 5
        with pytest.raises(ValueError, match=r"`data.split`.*\['train'\].*data.split='validation'"):
            load_source("tfds:mnist", image_size=8, split="validation")


# --- folder ------------------------------------------------------------------------


def test_folder_with_class_subfolders(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        for i in range(3):
            _write_png(str(tmp_path / name / f"{i}.png"), rng.integers(0, 256, (10, 12, 3)))
    # Grayscale and RGBA images are converted to RGB; any size is resized.
    _write_png(str(tmp_path / "dogs" / "gray.png"), rng.integers(0, 256, (20, 20, 1)))
    _write_png(str(tmp_path / "dogs" / "deep" / "rgba.PNG"), rng.integers(0, 256, (8, 8, 4)))
    dataset, data = make_dataset(f"folder:{tmp_path}", image_size=16, batch_size=2)
    images, labels = _images(data)
    assert (data.num_examples, data.channels, data.num_classes) == (8, 3, 2)
    assert images.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(np.sort(labels), [0, 0, 0, 1, 1, 1, 1, 1])
    assert data.skipped_files == ()
    _check_batch(next(iter(dataset)), 2, 16, 3)


def test_folder_without_classes_keeps_grayscale(tmp_path):
    for i in range(3):
        _write_png(str(tmp_path / f"{i}.png"), np.full((6, 6, 1), 40 * i))
    data = load_source(f"folder:{tmp_path}", image_size=4)
    images, labels = _images(data)
    assert (data.num_examples, data.channels, data.num_classes) == (3, 1, 0)
    assert set(labels) == {0}
    assert sorted(images.reshape(3, -1).max(axis=1)) == [0, 40, 80]


def _folder_with_bad_files(root):
    _write_png(str(root / "a" / "good.png"), np.zeros((4, 4, 3)))
    _write_png(str(root / "b" / "good.png"), np.zeros((4, 4, 3)))
    (root / "a" / "corrupt.png").write_bytes(b"definitely not a png")
    (root / "b" / "notes.txt").write_text("remember the milk")
    return str(root / "a" / "corrupt.png"), str(root / "b" / "notes.txt")


def test_folder_bad_files_raise_naming_them(tmp_path):
    corrupt, notes = _folder_with_bad_files(tmp_path)
    with pytest.raises(ValueError, match="set data.skip_bad_files=True to skip such files") as info:
        load_source(f"folder:{tmp_path}", image_size=8)
    assert corrupt in str(info.value) and notes in str(info.value)


def test_folder_skip_bad_files(tmp_path, caplog):
    corrupt, notes = _folder_with_bad_files(tmp_path)
    data = load_source(f"folder:{tmp_path}", image_size=8, skip_bad_files=True)
    assert data.num_examples == 2 and data.num_classes == 2
    assert sorted(data.skipped_files) == sorted([corrupt, notes])
    assert "Skipped 2 unreadable file(s)" in caplog.text


def test_folder_missing_or_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_source(f"folder:{tmp_path / 'nowhere'}", image_size=8)
    with pytest.raises(ValueError, match="no readable images"):
        load_source(f"folder:{tmp_path}", image_size=8)


# --- npz ---------------------------------------------------------------------------


def test_npz_float_unit_range_with_x_and_y(tmp_path):
    path = str(tmp_path / "data.npz")
    x = np.random.default_rng(0).uniform(0.0, 1.0, (6, 8, 8)).astype(np.float32)
    x[0] = 1.0
    np.savez(path, x=x, y=np.array([0, 1, 2, 0, 1, 4]))
    dataset, data = make_dataset(f"npz:{path}", image_size=16, batch_size=3)
    images, labels = _images(data)
    assert (data.num_examples, data.channels, data.num_classes) == (6, 1, 5)
    assert images.shape == (6, 16, 16, 1) and images.dtype == np.uint8
    assert images[0].min() == 255
    np.testing.assert_array_equal(labels, [0, 1, 2, 0, 1, 4])
    _check_batch(next(iter(dataset)), 3, 16, 1)


def test_npz_float_symmetric_range_without_labels(tmp_path):
    path = str(tmp_path / "data.npz")
    np.savez(path, images=np.stack([np.full((4, 4, 3), -1.0), np.full((4, 4, 3), 1.0)]))
    data = load_source(f"npz:{path}", image_size=4)
    images, labels = _images(data)
    assert (data.channels, data.num_classes) == (3, 0)
    assert images[0].max() == 0 and images[1].min() == 255
    np.testing.assert_array_equal(labels, [0, 0])


def test_npz_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_source(f"npz:{tmp_path / 'missing.npz'}", image_size=8)
    path = str(tmp_path / "wrong.npz")
    np.savez(path, pictures=np.zeros((2, 4, 4)), targets=np.zeros(2))
    with pytest.raises(ValueError, match=r"no image array.*\['pictures', 'targets'\]"):
        load_source(f"npz:{path}", image_size=8)


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["foo", "tfds:", "symbols:x", "folder", "", None])
def test_unknown_source(source):
    message = r"`data.source` should be one of symbols, digits.*npz:PATH"
    with pytest.raises(ValueError, match=message):
        make_dataset(source, image_size=8, batch_size=1)


def test_source_choices_and_parse_source():
    assert SOURCE_CHOICES == (
        "symbols",
        "digits",
        "colored_digits",
        "photos",
        "photo_folder:PATH",
        "tfds:NAME",
        "folder:PATH",
        "npz:PATH",
    )
    assert parse_source("symbols") == ("symbols", None)
    assert parse_source("tfds:cifar10/3.0.2") == ("tfds", "cifar10/3.0.2")
    assert parse_source("folder:/a:b") == ("folder", "/a:b")


@pytest.mark.parametrize("image_size", [0, -4, 3.5, "32", True])
def test_bad_image_size(image_size):
    # A missing folder: validation must fail before the source is touched.
    with pytest.raises(ValueError, match=r"`data.image_size`.*Received: data.image_size="):
        make_dataset("folder:/does/not/exist", image_size=image_size, batch_size=1)


@pytest.mark.parametrize("num_examples", [0, -1, 2.0])
def test_bad_num_examples(num_examples):
    with pytest.raises(ValueError, match=r"`data.num_examples`.*Received: data.num_examples="):
        load_source("folder:/does/not/exist", image_size=8, num_examples=num_examples)


def test_bad_batch_size():
    with pytest.raises(ValueError, match=r"`data.batch_size`.*Received: data.batch_size=0"):
        make_dataset("folder:/does/not/exist", image_size=8, batch_size=0)
    with pytest.raises(
        ValueError, match=r"`data.batch_size`.*\(10\).*data.batch_size=11 for 10 examples"
    ):
        make_dataset("folder:/does/not/exist", image_size=8, batch_size=11, num_examples=10)
    # The count is only known once loaded.
    with pytest.raises(ValueError, match=r"`data.batch_size`.*data.batch_size=2000 for 1797"):
        make_dataset("digits", image_size=8, batch_size=2000)
