"""The callbacks' common parts: the TensorBoard groups of the trainer's values, and a period in train steps."""

import abc
import os

import keras
import tensorflow as tf

from keras_attngan.core import images as images_lib

#: The TensorBoard group of each value the trainer reports (see the module's
#: docstring); every other value is a loss term's, under ``terms``. A value the
#: trainer adds gets its group here (a test holds every trainer to this table).
TRAIN_GROUPS = {
    # The paired trainer's phase (0: pixel loss alone, 1: adversarial) and pixel loss.
    **dict.fromkeys(("d_loss", "g_loss", "d_penalty", "sr_phase", "sr_pixel"), "loss"),
    **dict.fromkeys(("d_real", "d_fake"), "score"),
    **dict.fromkeys(("mask_mean", "mask_contrast", "mask_entropy", "mask_diversity"), "mask"),
    **dict.fromkeys(("mi_loss", "mi_bound", "mi_ceiling", "mi_weight"), "mi"),
}


def train_tag(name):
    """The TensorBoard tag of the trainer's reported value `name`, e.g. ``loss/d_loss``."""
    return f"{TRAIN_GROUPS.get(name, 'terms')}/{name}"


def write_pictures(writer, image_dir, step, pictures):
    """Writes uint8 pictures as TensorBoard images ``samples/NAME`` and as ``NAME.png`` and
    ``history/step_N_NAME.png`` in `image_dir`."""
    with writer.as_default(step=step):
        for name, picture in pictures.items():
            tf.summary.image(f"samples/{name}", picture[None])
    writer.flush()
    for name, picture in pictures.items():
        images_lib.write_png(os.path.join(image_dir, f"{name}.png"), picture)
        images_lib.write_png(os.path.join(image_dir, "history", f"step_{step:07d}_{name}.png"), picture)


class EveryNSteps(keras.callbacks.Callback, abc.ABC):
    """Calls `self.run(step)` each time the train step crosses a multiple of `every`."""

    def __init__(self, every, run_on_end=True):
        super().__init__()
        self.every = every
        self.run_on_end = run_on_end
        self._last_run = None

    def _step(self):
        return int(self.model.train_steps.numpy())

    def on_train_begin(self, logs=None):
        self._last_run = self._step()

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step // self.every > self._last_run // self.every:
            self.run(step, logs)
            self._last_run = step

    def on_train_end(self, logs=None):
        step = self._step()
        if self.run_on_end and step != self._last_run:
            self.run(step, logs)
            self._last_run = step

    @abc.abstractmethod
    def run(self, step, logs):
        """Does the periodic work at train step `step`."""
