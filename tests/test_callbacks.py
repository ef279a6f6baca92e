import os

import keras
import numpy as np
import tensorflow as tf
from conftest import CHANNELS, SIZE, make_trainer, real_dataset
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan import callbacks
from keras_attngan.experiment import checkpoint_manager


def _events(directory):
    accumulator = event_accumulator.EventAccumulator(
        str(directory), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    return accumulator


def _fit(tmp_path, model, every=3, steps=8):
    logs, samples, masks = tmp_path / "logs", tmp_path / "samples", tmp_path / "masks"
    manager = checkpoint_manager(model, str(tmp_path / "checkpoints"), max_to_keep=2)
    callback_list = [
        callbacks.ScalarSummaries(str(logs), every=2),
        callbacks.AttentionImages(str(logs), str(samples), str(masks), every=every, num_images=4),
        callbacks.CheckpointSaver(manager, every=2),
    ]
    model.fit(real_dataset(), steps_per_epoch=steps, epochs=1, verbose=0, callbacks=callback_list)
    return manager


def test_tensorboard_holds_mask_images_at_crossed_steps(tmp_path):
    model = make_trainer(inner_steps=2, compile_kwargs={"steps_per_execution": 2})
    _fit(tmp_path, model)
    images = _events(tmp_path / "logs" / "images")
    assert {"samples", "inner_loop", "overlays"} <= set(images.Tags()["tensors"])
    # Callbacks run after steps 2, 4, 6, 8; multiples of 3 are crossed at 4
    # and 6, and the end of training (8) adds a last picture.
    assert [event.step for event in images.Tensors("inner_loop")] == [4, 6, 8]
    width, height, png = tf.make_ndarray(images.Tensors("inner_loop")[-1].tensor_proto)
    picture = tf.io.decode_png(png).numpy()
    assert picture.shape == (int(height), int(width), 3)
    # 4 rows of x0, s1, x1, s2, x2 (cells enlarged from 16 to 64 pixels).
    assert picture.shape[1] > 5 * 64 and picture.shape[0] > 4 * 64

    scalars = _events(tmp_path / "logs" / "train")
    assert {"d_loss", "g_loss", "mi_bound", "mask_mean"} <= set(scalars.Tags()["tensors"])
    assert [event.step for event in scalars.Tensors("d_loss")] == [2, 4, 6, 8]


def test_each_scalar_is_the_mean_of_its_logging_window(tmp_path):
    model = make_trainer(inner_steps=1)
    running = {}  # step -> Keras' logs: running means since the epoch began
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: running.update({len(running) + 1: dict(logs)})
    )
    summaries = callbacks.ScalarSummaries(str(tmp_path), every=2)
    # Two epochs of 3 steps: the window of step 4 spans the epoch boundary.
    model.fit(real_dataset(), steps_per_epoch=3, epochs=2, verbose=0, callbacks=[record, summaries])
    written = _events(tmp_path / "train")
    for name in ("d_loss", "g_loss", "mi_bound"):
        # Each step's own value, recovered from the running means of its epoch.
        means = [running[step][name] for step in range(1, 7)]
        own = []
        for epoch_means in (means[:3], means[3:]):
            own += [k * m - (k - 1) * p for k, (m, p) in enumerate(zip(epoch_means, [0.0] + epoch_means), 1)]
        values = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in written.Tensors(name)}
        assert sorted(values) == [2, 4, 6]
        for step, value in values.items():
            np.testing.assert_allclose(value, np.mean(own[step - 2 : step]), rtol=1e-4, atol=1e-6)
    # The trackers themselves are untouched: Keras' epoch means, as History shows them.
    assert all(int(tracker.count) == 3 for tracker in model.metrics)


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


def test_checkpoints_keep_the_last_k(tmp_path):
    model = make_trainer()
    manager = _fit(tmp_path, model)
    assert [os.path.basename(path) for path in manager.checkpoints] == ["ckpt-6", "ckpt-8"]


def test_images_grid_and_overlay_values():
    from keras_attngan import images

    cells = images.to_uint8(np.full((3, 16, 16, 1), -1.0), rgb=True)
    assert cells.shape == (3, 16, 16, 3) and cells.max() == 0
    tiled = images.grid(cells, columns=2)
    assert tiled.shape == (2 * 64 + 3 * 2, 2 * 64 + 3 * 2, 3)
    heat = images.colorize(np.array([[[[0.0]], [[1.0]]]]))
    np.testing.assert_array_equal(heat[0, 0, 0], [0, 0, 4])
    np.testing.assert_array_equal(heat[0, 1, 0], [252, 255, 164])
    blended = images.overlay(np.zeros((1, 2, 2, CHANNELS)), np.ones((1, 2, 2, 1)), alpha=1.0)
    np.testing.assert_array_equal(blended[0, 0, 0], [252, 255, 164])
