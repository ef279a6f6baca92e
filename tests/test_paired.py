"""Paired super-resolution data (keras_attngan.data.paired) and the `photos` source."""

import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from keras_attngan.data import downscale, load_source
from keras_attngan.data.photos import (
    named_photographs,
    photographs,
    random_crops,
    split_photographs,
)
from keras_attngan.training.build import build_data
from keras_attngan.training.validation import validate_config


def _sr_config(**overrides):
    config = tiny_config("photos_sr_x4", **{"train.sr_pretrain_steps": 2, **overrides})
    config.data.num_examples = 16
    config.data.batch_size = 4
    return config


def test_photos_hold_out_whole_photographs_and_cut_seeded_crops():
    assert len(photographs()) >= 2 and all(p.shape[-1] == 3 for p in photographs())
    train, test = split_photographs("train"), split_photographs("test")
    # Whole images are held out: no photograph is in both splits.
    assert train and test and not set(train) & set(test)
    assert set(train) | set(test) == set(named_photographs())
    data = load_source("photos", image_size=16, seed=3, num_examples=6, split="test")
    assert (data.num_examples, data.channels, data.num_classes) == (6, 3, 0)
    crops = np.stack([e["images"] for e in data.dataset.as_numpy_iterator()])
    again = np.stack([e["images"] for e in load_source("photos", image_size=16, seed=3, num_examples=6, split="test").dataset.as_numpy_iterator()])
    np.testing.assert_array_equal(crops, again)
    assert crops.shape == (6, 16, 16, 3) and crops.dtype == np.uint8
    with pytest.raises(ValueError, match=r"data\.split"):
        load_source("photos", image_size=16, num_examples=2, split="validation")


def test_training_crops_are_flipped_and_rotated_copies_of_the_photograph():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    plain = random_crops([image], 8, 16, seed=0)
    assert all(np.array_equal(crop, image) for crop in plain)
    augmented = random_crops([image], 8, 16, seed=0, augment=True)
    symmetries = [np.rot90(image, k) for k in range(4)] + [np.rot90(image, k)[:, ::-1] for k in range(4)]
    found = {next(i for i, s in enumerate(symmetries) if np.array_equal(crop, s)) for crop in augmented}
    assert len(found) > 2


def test_the_low_res_input_really_is_the_bicubic_downscale_of_the_target():
    dataset, _ = build_data(_sr_config())
    batch = next(iter(dataset))
    images, lowres = batch["images"], batch["lowres"]
    assert images.shape == (4, 16, 16, 3) and lowres.shape == (4, 4, 4, 3)
    expected = tf.clip_by_value(tf.image.resize(images, (4, 4), method="bicubic", antialias=True), -1, 1)
    np.testing.assert_allclose(lowres, expected, atol=1e-6)
    # A downscale keeps each 4x4 block's average (up to the bicubic kernel's reach).
    blocks = tf.nn.avg_pool2d(images, 4, 4, "VALID")
    assert float(tf.reduce_mean(tf.abs(lowres - blocks))) < 0.1


def test_downscale_of_a_constant_is_the_constant_and_sizes_must_divide():
    np.testing.assert_allclose(downscale(tf.fill((1, 8, 8, 3), 0.25), 2), tf.fill((1, 4, 4, 3), 0.25), atol=1e-6)
    with pytest.raises(ValueError, match=r"data\.image_size.*multiple of the scale 4"):
        downscale(tf.zeros((1, 18, 16, 3)), 4)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"data.scale": 3}, r"data\.scale"),
        ({"model.mask_source": "learned"}, r"model\.mask_source"),
        ({"log.eval_every": 10}, r"log\.eval_every"),
        (
            {"train.sr_pretrain_steps": 10**6},
            r"`train\.sr_pretrain_steps` should be .* Received: train\.sr_pretrain_steps=1000000",
        ),
        ({"train.sr_adversarial_weight": -1.0}, r"train\.sr_adversarial_weight=-1\.0"),
        ({"model.sr_blocks": -1}, r"model\.sr_blocks"),
        ({"train.inner_steps": 2, "train.lr_decay": "cosine"}, r"`train\.inner_steps` should be 1 with data\.scale"),
        ({"train.encoder_weights": "/nowhere/vgg19.h5"}, r"train\.encoder_weights.*/nowhere/vgg19\.h5"),
    ],
)
def test_bad_super_resolution_configs_name_the_key(overrides, match):
    validate_config(_sr_config())
    config = _sr_config(**overrides)
    with pytest.raises(ValueError, match=match):
        validate_config(config)


def test_grey_images_into_the_vgg_encoder_are_refused_before_any_work():
    config = _sr_config(**{"train.encoder": "vgg"})
    config.data.channels = 1
    with pytest.raises(ValueError, match=r"data\.channels"):
        validate_config(config)


def test_photo_folder_crops_your_photographs_and_holds_out_whole_ones(tmp_path):
    from keras_attngan.core import images as images_lib
    from keras_attngan.data.photos import folder_photographs

    rng = np.random.default_rng(0)
    for index in range(6):
        images_lib.write_png(str(tmp_path / f"photo{index}.png"), rng.integers(0, 256, (20 + index, 24, 3)).astype(np.uint8))
    (tmp_path / "notes.txt").write_text("not a photograph")
    # Files 0 and 5 (sorted) are held out whole, at full size.
    test_files = folder_photographs(str(tmp_path), "test")
    assert sorted(os.path.basename(f) for f in test_files) == ["photo0.png", "photo5.png"]
    assert test_files[str(tmp_path / "photo5.png")].shape == (25, 24, 3)
    assert len(folder_photographs(str(tmp_path), "train")) == 4
    train = load_source(f"photo_folder:{tmp_path}", image_size=16, seed=1, num_examples=8, split="train")
    test = load_source(f"photo_folder:{tmp_path}", image_size=16, seed=1, num_examples=4, split="test")
    assert (train.num_examples, train.channels, test.num_examples) == (8, 3, 4)
    single = tmp_path / "single"
    single.mkdir()
    images_lib.write_png(str(single / "one.png"), np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(ValueError, match=r"data\.split=test.*at least 2"):
        load_source(f"photo_folder:{single}", image_size=16, num_examples=2, split="test")
    with pytest.raises(FileNotFoundError, match="photo_folder"):
        load_source(f"photo_folder:{tmp_path}/missing", image_size=16, num_examples=2)
