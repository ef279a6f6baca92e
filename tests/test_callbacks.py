import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import CHANNELS, LATENT, SIZE, make_trainer, real_dataset
from keras import ops
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan.core import images
from keras_attngan.terms import LossTerm
from keras_attngan.terms.base import Contribution
from keras_attngan.training import callbacks
from keras_attngan.training.experiment import checkpoint_manager


def _events(directory):
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    return accumulator


def _scalars(directory, tag):
    return {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in _events(directory).Tensors(tag)}


class _Spike(LossTerm):
    """Reports ``spike``: 1e8 at the first D update, then 1 (a term with no loss)."""

    reported = ("spike",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")
        self.built = True

    def d_terms(self, ctx):
        value = ops.where(ops.equal(self.calls, 0.0), 1e8, 1.0)
        self.calls.assign_add(1.0)
        return Contribution({}, {"spike": value})


def _fit(tmp_path, model, every=3, steps=8, mask_usage=False):
    logs, samples, masks = tmp_path / "logs", tmp_path / "samples", tmp_path / "masks"
    manager = checkpoint_manager(model, str(tmp_path / "checkpoints"), max_to_keep=2)
    callback_list = [
        callbacks.ScalarSummaries(str(logs), every=2),
        callbacks.AttentionImages(str(logs), str(samples), str(masks), every=every, num_images=4),
        callbacks.CheckpointSaver(manager, every=2),
    ]
    if mask_usage:
        callback_list.append(callbacks.MaskUsage(str(logs), every=4, num=8, cell_size=4))
    model.fit(real_dataset(), steps_per_epoch=steps, epochs=1, verbose=0, callbacks=callback_list)
    return manager


@pytest.mark.slow
def test_tensorboard_holds_mask_images_at_crossed_steps(tmp_path):
    model = make_trainer(inner_steps=2, compile_kwargs={"steps_per_execution": 2})
    _fit(tmp_path, model)
    pictures = _events(tmp_path / "logs" / "images")
    assert set(pictures.Tags()["tensors"]) == {
        "samples/samples",
        "samples/inner_loop",
        "samples/overlays",
    }
    # Callbacks run after steps 2, 4, 6, 8; multiples of 3 are crossed at 4
    # and 6, and the end of training (8) adds a last picture.
    assert [event.step for event in pictures.Tensors("samples/inner_loop")] == [4, 6, 8]
    width, height, png = tf.make_ndarray(pictures.Tensors("samples/inner_loop")[-1].tensor_proto)
    picture = tf.io.decode_png(png).numpy()
    # The column labels' strip, then 4 rows of x0, s1, x1, s2, x2 (cells
    # enlarged from 16 to 64 pixels, 2 pixels apart).
    assert picture.shape == (int(height), int(width), 3)
    assert picture.shape == (images.label_height(2) + 4 * 66 + 2, 5 * 66 + 2, 3)
    scalars = _events(tmp_path / "logs" / "train")
    assert {"loss/d_loss", "loss/g_loss", "mi/mi_bound", "mask/mask_mean"} <= set(
        scalars.Tags()["tensors"]
    )
    assert [event.step for event in scalars.Tensors("loss/d_loss")] == [2, 4, 6, 8]


@pytest.mark.slow
def test_every_tag_has_a_group_the_losses_sort_first_and_no_run_shares_a_tag(tmp_path):
    model = make_trainer(inner_steps=1)
    _fit(tmp_path, model, mask_usage=True)
    tags = {
        run: set(_events(tmp_path / "logs" / run).Tags()["tensors"])
        for run in ("train", "images", "mask_usage")
    }
    assert tags["train"] == {
        "optimizer/g_learning_rate",
        "optimizer/d_learning_rate",
        "loss/d_loss",
        "loss/g_loss",
        "loss/d_penalty",
        "score/d_real",
        "score/d_fake",
        "mask/mask_mean",
        "mask/mask_contrast",
        "mask/mask_entropy",
        "mask/mask_diversity",
        "mi/mi_loss",
        "mi/mi_bound",
        "mi/mi_ceiling",
        "mi/mi_weight",
    }
    assert {"mask_usage/content_sensitivity", "mask_usage/mi_bound"} <= tags["mask_usage"]
    groups = sorted({tag.split("/")[0] for run in tags.values() for tag in run})
    # TensorBoard opens the first two groups by name.
    assert groups[:2] == ["loss", "mask"] and all("/" in tag for run in tags.values() for tag in run)
    assert not tags["train"] & tags["mask_usage"] and not tags["train"] & tags["images"]


def _paired_trainer(terms):
    from keras_attngan.core.latent import LatentSpec
    from keras_attngan.networks.discriminator import Discriminator
    from keras_attngan.networks.upscaler import build_upscaler
    from keras_attngan.trainers.super_resolution import SuperResolutionGAN

    return SuperResolutionGAN(
        build_upscaler(2, CHANNELS, width=4, blocks=1),
        Discriminator(SIZE, CHANNELS, width=4, attention="none"),
        LatentSpec(4),
        terms=terms,
    )


@pytest.mark.parametrize("kind", ["learned", "none", "paired"])
def test_every_value_of_the_trainer_has_a_group_and_only_terms_go_to_terms(kind):
    model = _paired_trainer([_Spike()]) if kind == "paired" else make_trainer(kind, terms=[_Spike()])
    assert set(model.window_trackers) == {tracker.name for tracker in model.metrics}
    own = set(model.window_trackers) - set(_Spike.reported)
    assert own <= set(callbacks.TRAIN_GROUPS)
    assert ({"sr_phase", "sr_pixel"} <= own) == (kind == "paired")
    assert callbacks.train_tag("spike") == "terms/spike"


@pytest.mark.slow
def test_each_scalar_is_the_mean_of_its_logging_window(tmp_path):
    model = make_trainer(inner_steps=1)
    running = {}  # step -> Keras' logs: running means since the epoch began
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: running.update({len(running) + 1: dict(logs)})
    )
    summaries = callbacks.ScalarSummaries(str(tmp_path), every=2)
    # Two epochs of 3 steps: the window of step 4 spans the epoch boundary.
    model.fit(real_dataset(), steps_per_epoch=3, epochs=2, verbose=0, callbacks=[record, summaries])
    for name in ("d_loss", "g_loss", "mi_bound"):
        # Each step's own value, recovered from the running means of its epoch.
        means = [running[step][name] for step in range(1, 7)]
        own = []
        for epoch_means in (means[:3], means[3:]):
            own += [k * m - (k - 1) * p for k, (m, p) in enumerate(zip(epoch_means, [0.0] + epoch_means), 1)]
        values = _scalars(tmp_path / "train", callbacks.train_tag(name))
        assert sorted(values) == [2, 4, 6]
        for step, value in values.items():
            np.testing.assert_allclose(value, np.mean(own[step - 2 : step]), rtol=1e-4, atol=1e-6)
    # Keras' trackers are untouched: the epoch's means, as History shows them.
    assert all(int(tracker.count) == 3 for tracker in model.metrics)


@pytest.mark.slow
def test_one_huge_value_leaves_the_later_points_right(tmp_path):
    # Keras' epoch trackers hold float32 totals: once 1e8 is in one, adding 1
    # leaves it unchanged, so a window read as a difference of totals reads 0.
    model = make_trainer(inner_steps=1, terms=[_Spike()], compile_kwargs={"steps_per_execution": 2})
    summaries = callbacks.ScalarSummaries(str(tmp_path), every=2)
    model.fit(real_dataset(), steps_per_epoch=8, epochs=1, verbose=0, callbacks=[summaries])
    values = _scalars(tmp_path / "train", "terms/spike")
    assert values == pytest.approx({2: (1e8 + 1) / 2, 4: 1.0, 6: 1.0, 8: 1.0})


@pytest.mark.slow
def test_pngs_and_mask_archives_are_written(tmp_path):
    model = make_trainer(inner_steps=2)
    _fit(tmp_path, model)
    for name in ("samples", "inner_loop", "overlays"):
        png = tf.io.read_file(str(tmp_path / "samples" / f"{name}.png"))
        assert tf.io.decode_png(png).shape[-1] == 3
        assert os.path.exists(tmp_path / "samples" / "history" / f"step_0000008_{name}.png")
    with np.load(tmp_path / "masks" / "step_0000008.npz") as archive:
        assert archive["inner_loop"].shape == (4, 2, SIZE, SIZE, 1)
        assert archive["inner_loop"].dtype == np.uint8
        assert archive["final"].shape == (4, SIZE, SIZE, 1)


def test_baseline_logs_samples_without_masks(tmp_path):
    model = make_trainer("none")
    _fit(tmp_path, model)
    assert os.path.exists(tmp_path / "samples" / "samples.png")
    assert not os.path.exists(tmp_path / "samples" / "inner_loop.png")
    assert not os.path.exists(tmp_path / "samples" / "overlays.png")
    assert not os.path.exists(tmp_path / "masks")


@pytest.mark.slow
def test_checkpoints_keep_the_last_k(tmp_path):
    model = make_trainer()
    manager = _fit(tmp_path, model)
    assert [os.path.basename(path) for path in manager.checkpoints] == ["ckpt-6", "ckpt-8"]


def test_images_grid_and_overlay_values():
    cells = images.to_uint8(np.full((3, 16, 16, 1), -1.0), rgb=True)
    assert cells.shape == (3, 16, 16, 3) and cells.max() == 0
    tiled = images.grid(cells, columns=2)
    assert tiled.shape == (2 * 64 + 3 * 2, 2 * 64 + 3 * 2, 3)
    heat = images.colorize(np.array([[[[0.0]], [[1.0]]]]))
    np.testing.assert_array_equal(heat[0, 0, 0], [0, 0, 4])
    np.testing.assert_array_equal(heat[0, 1, 0], [252, 255, 164])
    blended = images.overlay(np.zeros((1, 2, 2, CHANNELS)), np.ones((1, 2, 2, 1)), alpha=1.0)
    np.testing.assert_array_equal(blended[0, 0, 0], [252, 255, 164])


def test_text_renders_the_bitmap_font():
    ink = images.text("x1")
    assert ink.shape == (8, 11) and ink.shape[1] == images.text_width("x1")
    # "x": the diagonals of rows 2-6; then one blank column before "1".
    np.testing.assert_array_equal(ink[2:7, 0], [True, False, False, False, True])
    assert not ink[:, 5].any() and ink[:, 6:].any()
    np.testing.assert_array_equal(images.text("x1", scale=2), ink.repeat(2, 0).repeat(2, 1))
    with pytest.raises(ValueError, match="Received: '#'"):
        images.text("x#")


def test_grid_labels_each_column_in_a_strip_above_the_grid():
    cells = images.to_uint8(np.zeros((4, 16, 16, 3)), rgb=True)
    plain = images.grid(cells, columns=2)
    labelled = images.grid(cells, columns=2, labels=["x0", "s1"])
    strip = images.label_height(2)
    assert strip == 24 and labelled.shape == (plain.shape[0] + strip, plain.shape[1], 3)
    np.testing.assert_array_equal(labelled[strip:], plain)
    # Each label in black, centred over its 64-pixel column (left edges 2 and 68).
    ink = images.text("s1", scale=2)
    left = 68 + (64 - ink.shape[1]) // 2
    drawn = labelled[4 : 4 + ink.shape[0], left : left + ink.shape[1], 0] == 0
    np.testing.assert_array_equal(drawn, ink)
    assert (labelled[:strip, :68] == 0).sum() == 3 * images.text("x0", scale=2).sum()
    # A caption gets a strip of its own above the labels.
    captioned = images.grid(cells, columns=2, labels=["x0", "s1"], caption="s2 over x1")
    np.testing.assert_array_equal(captioned[strip:], labelled)
    # "bicubic" is 82 pixels wide at twice the font's size: all labels get its own size.
    small = images.grid(cells, columns=2, labels=["bicubic", "s1"])
    assert images.label_height(1) == 16 and small.shape[0] == plain.shape[0] + 16
    with pytest.raises(ValueError, match="one string per column"):
        images.grid(cells, columns=2, labels=["x0"])


def test_inner_loop_columns_are_labelled_and_overlays_captioned(tmp_path):
    model = make_trainer(inner_steps=2)
    pictures = callbacks.AttentionImages(str(tmp_path), str(tmp_path), str(tmp_path), num_images=4)
    pictures.set_model(model)
    pictures.on_train_begin()
    drawn, masks = pictures.pictures()
    steps = masks["inner_loop"].shape[1]
    rows, columns = 4, 2 * steps + 1
    cells = images.grid(np.zeros((rows * columns, SIZE, SIZE, 3), np.uint8), columns=columns)
    assert drawn["inner_loop"].shape == (images.label_height(2) + cells.shape[0], cells.shape[1], 3)
    expected = images.grid(
        np.zeros((rows * columns, SIZE, SIZE, 3), np.uint8),
        columns=columns,
        labels=["x0", "s1", "x1", "s2", "x2"],
    )
    strip = images.label_height(2)
    np.testing.assert_array_equal(drawn["inner_loop"][:strip], expected[:strip])
    captioned = images.grid(np.zeros((4, SIZE, SIZE, 3), np.uint8), caption="s3 = D(x2) over x2")
    assert drawn["overlays"].shape == captioned.shape
    top = captioned.shape[0] - (2 * 66 + 2)
    np.testing.assert_array_equal(drawn["overlays"][:top], captioned[:top])


def test_the_inner_loop_picture_of_a_prior_starts_at_its_mask(tmp_path):
    from keras_attngan.core.first_masks import FIRST_MASKS
    from keras_attngan.core.latent import LatentSpec

    latent = LatentSpec(LATENT, prior_dim=FIRST_MASKS["blobs"].noise_dim)
    model = make_trainer(inner_steps=2, first_mask="blobs", latent=latent)
    pictures = callbacks.AttentionImages(str(tmp_path), str(tmp_path), str(tmp_path), num_images=4)
    pictures.set_model(model)
    pictures.on_train_begin()
    drawn, masks = pictures.pictures()
    # No x_0: the prior's mask needs no image, so the rows are s1 x1 s2 x2.
    expected = images.grid(
        np.zeros((4 * 4, SIZE, SIZE, 3), np.uint8), columns=4, labels=["s1", "x1", "s2", "x2"]
    )
    assert drawn["inner_loop"].shape == expected.shape
    strip = images.label_height(2)
    np.testing.assert_array_equal(drawn["inner_loop"][:strip], expected[:strip])
