"""Keras callbacks: every side effect of training (summaries, pictures, files).

`AttnGAN.train_step` only does maths; these callbacks read the model between
steps. They count time in train steps (`model.train_steps`, restored with the
checkpoint), so a resumed run continues its TensorBoard curves instead of
restarting them at zero, and they fire when a multiple of their period is
crossed, which also works when `steps_per_execution` > 1 runs several steps
between two callback calls.

TensorBoard groups its cards by the text of the tag before the first ``/``,
sorts the groups by name and opens the first two, so every tag written here
has a group, and the groups sort in the order a reader looks at them:

- ``loss/``: D's and G's losses and D's penalty, super-resolution's pixel
  loss and phase (opens first);
- ``mask/``: statistics of the masks G received in training (opens second);
- ``mask_usage/``: `MaskUsage`, the mask-usage metrics (run ``mask_usage``);
- ``metrics/``: `Evaluation`, FID and the other metrics (run ``eval``);
- ``mi/``: the MI estimator's loss, bound, ceiling and weight;
- ``samples/``: the pictures, named as their PNG files (runs ``images``,
  ``codes``);
- ``score/``: D's mean probability of "real" on real and fake images;
- ``terms/``: the loss terms' values (InfoGAN, rotation, encoder).

No tag is written by two runs, so no card mixes two quantities.
"""

import abc
import os

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.core import images as images_lib
from keras_attngan.core.traversals import code_grids
from keras_attngan.trainers.recurrence import labelled
from keras_attngan.training import finite

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


class _EveryNSteps(keras.callbacks.Callback, abc.ABC):
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


class ScalarSummaries(_EveryNSteps):
    """Writes the training metrics (losses, MI bound, mask statistics) to TensorBoard.

    Each point is the mean over its logging window (the steps since the
    previous point, across epochs), read from the trainer's
    `AttnGAN.window_trackers`, which this callback resets at each point (and
    when it first sees the model). Keras' own trackers (`model.metrics`,
    what ``logs``, the progress bar and `History` show) average since the
    epoch began and are left to Keras: a window read as the difference of
    their float32 running totals loses every later value once one large
    value entered them (after a 1e8, values near 1 read as 0 until the
    epoch ends).

    Tags are grouped by `train_tag`: ``loss/d_loss``, ``mi/mi_bound``, ...

    Args:
        logdir: TensorBoard log directory (written under ``train``).
        every: period in train steps.
    """

    def __init__(self, logdir, every=50):
        super().__init__(every, run_on_end=False)
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "train"))
        self._started = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        # Later `fit` calls (a resumed epoch's segments) continue the window.
        if not self._started:
            for tracker in self.model.window_trackers.values():
                tracker.reset_state()
            self._started = True

    def run(self, step, logs):
        with self.writer.as_default(step=step):
            for name, tracker in self.model.window_trackers.items():
                if float(tracker.count.numpy()) > 0:
                    tf.summary.scalar(train_tag(name), float(tracker.result().numpy()))
                tracker.reset_state()
        self.writer.flush()


class AttentionImages(_EveryNSteps):
    """Pictures of training from fixed noise, in TensorBoard and as PNG files.

    The attention masks of the inner loop are output as
    logging information. Each time it fires it writes

    - ``samples``: a grid of synthesized images (after K mask refinements);
    - ``inner_loop``: per sample, the row ``x_0, s_1, x_1, ..., s_K, x_K`` of
      images and the masks D produced between them (heat maps), each column
      labelled (``x0``, ``s1``, ``x1``, ...; `keras_attngan.core.images.grid`);
    - ``overlays``: D's attention on the final images, over the images,
      captioned ``s{K+1} = D(xK) over xK``;

    as TensorBoard image summaries (``samples/NAME``, run ``images``), as
    PNGs in ``image_dir`` (``NAME.png`` is
    the latest, ``history/step_N_NAME.png`` each one), and the masks
    themselves as ``mask_dir/step_N.npz`` (stored with the model at export
    as its metadata).

    Args:
        logdir: TensorBoard log directory.
        image_dir: directory of the PNG files.
        mask_dir: directory of the mask archives.
        every: period in train steps.
        num_images: samples per grid.
        seed: seed of the fixed noise.
    """

    def __init__(self, logdir, image_dir, mask_dir, every=500, num_images=36, seed=0):
        super().__init__(every)
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "images"))
        self.image_dir = image_dir
        self.mask_dir = mask_dir
        self.num_images = num_images
        self.seed = seed

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._latent = self.model.latent.sample(self.num_images, self.seed)

    def pictures(self):
        """Computes the grids and the masks (uint8 pictures, float masks)."""
        result = self.model.synthesize(self._latent)
        final = np.asarray(result["images"])
        pictures = {"samples": images_lib.grid(images_lib.to_uint8(final, rgb=True))}
        masks = {}
        if "masks" in result:
            trajectory = np.asarray(result["trajectory"])
            masks["inner_loop"] = np.asarray(result["masks"])
            steps = masks["inner_loop"].shape[1]
            rows = min(8, self.num_images)
            cells = []
            for row in range(rows):
                cells.append(images_lib.to_uint8(trajectory[row, :1], rgb=True))
                for k in range(steps):
                    cells.append(images_lib.colorize(masks["inner_loop"][row, k : k + 1]))
                    cells.append(images_lib.to_uint8(trajectory[row, k + 1 : k + 2], rgb=True))
            labels = ["x0"] + [f"{kind}{k}" for k in range(1, steps + 1) for kind in "sx"]
            pictures["inner_loop"] = images_lib.grid(
                np.concatenate(cells), columns=len(labels), labels=labels
            )
            masks["final"] = np.asarray(
                self.model.discriminator(final, **labelled(self._latent.get("label")))[
                    "attention"
                ]
            )
            pictures["overlays"] = images_lib.grid(
                images_lib.overlay(final, masks["final"]),
                caption=f"s{steps + 1} = D(x{steps}) over x{steps}",
            )
        return pictures, masks

    def run(self, step, logs):
        pictures, masks = self.pictures()
        write_pictures(self.writer, self.image_dir, step, pictures)
        if masks:
            os.makedirs(self.mask_dir, exist_ok=True)
            path = os.path.join(self.mask_dir, f"step_{step:07d}.npz")
            np.savez_compressed(
                path + ".tmp.npz", **{k: np.round(v * 255).astype(np.uint8) for k, v in masks.items()}
            )
            os.replace(path + ".tmp.npz", path)


class SuperResolutionImages(_EveryNSteps):
    """Super-resolution pictures, in TensorBoard and as PNG files.

    Each row shows one held patch: low-res input (enlarged by nearest
    neighbour), its bicubic upscale, G's super-resolved image and the
    high-res ground truth, side by side under the column labels `LABELS`,
    written as ``super_resolution`` (TensorBoard ``samples/super_resolution``
    in run ``images``; ``image_dir/super_resolution.png`` and its
    ``history/``).

    Args:
        logdir: TensorBoard log directory.
        image_dir: directory of the PNG files.
        targets: float ``[N, S, S, C]`` high-res patches in [-1, 1].
        scale: the super-resolution factor.
        every: period in train steps.
    """

    COLUMNS = ("lowres", "bicubic", "super_resolved", "ground_truth")
    # Short enough for a 64-pixel column.
    LABELS = ("low-res", "bicubic", "super-res", "truth")

    def __init__(self, logdir, image_dir, targets, scale, every=500):
        super().__init__(every)
        from keras_attngan.data import downscale

        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "images"))
        self.image_dir = image_dir
        self.targets = tf.constant(targets, tf.float32)
        self.scale = scale
        self.lowres = downscale(self.targets, scale)

    def pictures(self):
        """The uint8 grid, one row of `COLUMNS` per patch."""
        size = self.targets.shape[1:3]
        columns = {
            "lowres": tf.image.resize(self.lowres, size, method="nearest"),
            "bicubic": tf.image.resize(self.lowres, size, method="bicubic"),
            "super_resolved": self.model.inference_generator({"lowres": self.lowres}, training=False),
            "ground_truth": self.targets,
        }
        rows = np.stack([images_lib.to_uint8(columns[name], rgb=True) for name in self.COLUMNS], axis=1)
        return {
            "super_resolution": images_lib.grid(
                rows.reshape(-1, *rows.shape[2:]), columns=len(self.COLUMNS), labels=self.LABELS
            )
        }

    def run(self, step, logs):
        write_pictures(self.writer, self.image_dir, step, self.pictures())


class CodeGrids(_EveryNSteps):
    """InfoGAN's code grids, in TensorBoard (``samples/NAME`` in run ``codes``) and as PNG files.

    `keras_attngan.core.traversals.code_grids` of the model's latent spec: per
    categorical code a grid with one row per value and a continuous code
    swept across the columns, and per pair of continuous codes a 2-D
    traversal, swept over `value_range` (Chen et al., 2016, figures 2-5:
    beyond the prior's range, to show what the code extrapolates to). The
    noise and the other codes are fixed from `seed`, so successive pictures
    compare. Images after K mask refinements, as the model synthesizes them.

    Args:
        logdir: TensorBoard log directory.
        image_dir: directory of the PNG files (``category_NAME.png``,
            ``traversal_A_B.png``).
        every: period in train steps.
        value_range: (low, high) of the sweeps.
        steps: values per sweep.
        seed: seed of the fixed noise and codes.
    """

    def __init__(self, logdir, image_dir, every=500, value_range=(-2.0, 2.0), steps=7, seed=0):
        super().__init__(every)
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "codes"))
        self.image_dir = image_dir
        self.value_range = tuple(value_range)
        self.steps = steps
        self.seed = seed

    def pictures(self):
        """``{name: uint8 grid}`` for every grid of the model's codes."""
        pictures = {}
        grids = code_grids(self.model.latent, self.value_range, self.steps, self.seed)
        for name, (latent, columns) in grids.items():
            # Tensors: Keras refuses a call mixing arrays and tensors (the mask).
            latent = {key: tf.constant(value) for key, value in latent.items()}
            images = np.asarray(self.model.synthesize(latent)["images"])
            pictures[name] = images_lib.grid(images_lib.to_uint8(images, rgb=True), columns=columns)
        return pictures

    def run(self, step, logs):
        write_pictures(self.writer, self.image_dir, step, self.pictures())


class MaskUsage(_EveryNSteps):
    """Mask-usage metrics during training, as TensorBoard scalars ``mask_usage/NAME`` (run ``mask_usage``).

    `keras_attngan.metrics.suite.mask_usage_of` the in-memory G and D on
    `num` fixed seeded latent inputs (with their codes and labels, where the
    model has them), as `attngan evaluate --metrics mask_usage` measures an
    export: content sensitivity, locality gain, the estimator-free MI bound
    and its ceiling, and the mask statistics.

    Args:
        logdir: TensorBoard log directory.
        every: period in train steps.
        num: latent vectors per measurement.
        cell_size: cell side of the MI bound (``model.mi_cell_size``).
        seed: seed of the latent vectors.

    Attributes:
        results: train step -> the values measured then.
    """

    def __init__(self, logdir, every=500, num=128, cell_size=8, seed=0):
        super().__init__(every)
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "mask_usage"))
        self.num = num
        self.cell_size = cell_size
        self.seed = seed
        self.results = {}

    def run(self, step, logs):
        from keras_attngan.metrics.suite import MetricOptions, mask_usage_of
        from keras_attngan.training.subject import subject_from_model

        options = MetricOptions(mask_usage_num=self.num, mask_usage_cell_size=self.cell_size)
        values = mask_usage_of(subject_from_model(self.model), self.seed, options)
        self.results[step] = values
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"mask_usage/{name}", value)
        self.writer.flush()


class CheckpointSaver(_EveryNSteps):
    """Saves a checkpoint every `every` steps and at the end; keeps the manager's last k.

    Args:
        manager: a `tf.train.CheckpointManager` (see
            `keras_attngan.training.experiment.checkpoint_manager`).
        every: period in train steps.
    """

    def __init__(self, manager, every=500):
        super().__init__(every)
        self.manager = manager

    def run(self, step, logs):
        self.manager.save(checkpoint_number=step)


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or Inf loss or weight, before anything is saved.

    It checks the logged losses and every float weight of the model after
    each Keras step call (every `steps_per_execution` train steps) and when
    training ends, and raises `keras_attngan.training.finite.NonFiniteError` naming
    the step and the non-finite losses. Put it first in the callback list:
    Keras calls callbacks in order and does not call `on_train_end` after an
    exception, so the checkpoint and export callbacks after it never see the
    non-finite state, and the last good checkpoint stays the latest.
    """

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs)

    def on_train_end(self, logs=None):
        self._check(logs)

    def _check(self, logs):
        step = int(self.model.train_steps.numpy())
        losses = {
            name: float(value)
            for name, value in (logs or {}).items()
            if np.ndim(value) == 0 and not np.isfinite(float(value))
        }
        weights = [] if losses else finite.non_finite_variables(self.model.weights)
        if not losses and not weights:
            return
        per_call = self.model.steps_per_execution or 1
        # Keras runs `per_call` steps per call: the first bad one is among them.
        where = f"step {step}"
        if per_call > 1:
            where += f" (steps {step - per_call + 1}-{step})"
        found = (
            ", ".join(f"{name}={value}" for name, value in losses.items())
            if losses
            else "finite losses but non-finite weights " + ", ".join(weights[:5])
        )
        raise finite.NonFiniteError(
            f"Training diverged at {where}: {found}.",
            step=step,
            values=losses or dict.fromkeys(weights),
        )


class ExportOnEnd(keras.callbacks.Callback):
    """Exports the serving SavedModel when training ends.

    Args:
        export_fn: called with the model; see `keras_attngan.export.serving.save_version`.
    """

    def __init__(self, export_fn):
        super().__init__()
        self.export_fn = export_fn
        self.path = None

    def on_train_end(self, logs=None):
        self.path = self.export_fn(self.model)


class Evaluation(_EveryNSteps):
    """Evaluation metrics during training, as TensorBoard scalars ``metrics/NAME`` (run ``eval``).

    Every `every` train steps (and at the end) it synthesizes `num` images
    from fixed seeded noise with the in-memory model, computes `metrics`
    against the real images with `keras_attngan.metrics.compute_metrics`
    (the code behind `attngan evaluate`), and writes each number as a scalar
    at the global train step (`model.train_steps`), so resumed runs continue
    the curves. The real statistics are computed once, when training begins.

    Args:
        logdir: TensorBoard log directory.
        real_images: real images ``[N, S, S, C]``, float in [-1, 1] or uint8.
        extractor: a `keras_attngan.metrics.KerasExtractor`, e.g.
            `keras_attngan.metrics.get_domain_classifier(...)`.
        metrics: names from `keras_attngan.metrics.METRICS`.
        every: period in train steps.
        num: generated images per evaluation.
        seed: seed of the noise (fixed across evaluations).
        real_labels: labels of `real_images` (for ``intra_fid``).
        classifier: class probabilities for ``is`` / ``intra_fid``; default:
            the extractor when it is a classifier.
        options: `keras_attngan.metrics.MetricOptions`.

    Attributes:
        results: train step -> the metric values computed then.
    """

    def __init__(
        self,
        logdir,
        real_images,
        extractor,
        metrics=("fid",),
        every=500,
        num=256,
        seed=0,
        real_labels=None,
        classifier=None,
        options=None,
    ):
        # Imported here: the metrics (scipy, extractors) load only when used.
        from keras_attngan.metrics import real_data
        from keras_attngan.metrics import suite as evaluate_lib
        from keras_attngan.training.subject import subject_from_model

        super().__init__(every)
        self._evaluate = evaluate_lib
        self._subject_from_model = subject_from_model
        self.metrics = evaluate_lib.parse_metrics(metrics)
        self.options = options or evaluate_lib.MetricOptions()
        real_images = np.asarray(real_images)
        if real_images.dtype == np.uint8:
            real_images = real_data.to_unit_range(real_images)
        self.real_images = real_images.astype(np.float32)
        self.real_labels = real_labels
        evaluate_lib.check_request(self.metrics, num, len(self.real_images), self.options)
        self.extractor = extractor
        self.classifier = classifier
        if classifier is None and hasattr(extractor, "probabilities"):
            self.classifier = extractor
        wanted = sorted(evaluate_lib.NEEDS_CLASSIFIER & set(self.metrics))
        if wanted and self.classifier is None:
            raise ValueError(
                f"The metrics {wanted} need class probabilities: pass a `classifier` (e.g. "
                "`keras_attngan.metrics.get_domain_classifier(...)`)."
            )
        self.num = num
        self.seed = seed
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "eval"))
        self.results = {}
        self._reference = None

    @staticmethod
    def tag(name):
        """The TensorBoard tag of the metric value `name` (a key of `metrics.evaluate.scalars`)."""
        return f"metrics/{name}"

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._reference is None:
            from keras_attngan.metrics.reference import reference_from_images

            self._reference = reference_from_images(
                self.extractor,
                self.real_images,
                self.real_labels,
                keep_features=bool(self._evaluate.NEEDS_FEATURES & set(self.metrics)),
            )

    def run(self, step, logs):
        values = self._evaluate.compute_metrics(
            self._subject_from_model(self.model),
            self._reference,
            self.extractor,
            self.metrics,
            self.num,
            self.seed,
            self.options,
            classifier=self.classifier,
            real_images=self.real_images,
        )
        self.results[step] = values
        with self.writer.as_default(step=step):
            for name, value in self._evaluate.scalars(values).items():
                tf.summary.scalar(self.tag(name), float(value))
        self.writer.flush()
