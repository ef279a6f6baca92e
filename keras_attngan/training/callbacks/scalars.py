"""Callbacks that write numbers: the trainer's values, the mask-usage metrics and the evaluation metrics."""

import os

import numpy as np
import tensorflow as tf

from keras_attngan.training.callbacks.base import EveryNSteps, train_tag


class ScalarSummaries(EveryNSteps):
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

    Tags are grouped by `train_tag`: ``loss/d_loss``, ``mi/mi_bound``, ...; the
    optimizers' current learning rates are ``optimizer/g_learning_rate`` and
    ``optimizer/d_learning_rate``.

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
            # The rates the next step takes (a `train.lr_decay` schedule moves them).
            for player in ("g", "d"):
                rate = getattr(self.model, f"{player}_optimizer").learning_rate
                tf.summary.scalar(f"optimizer/{player}_learning_rate", float(np.asarray(rate)))
        self.writer.flush()


class MaskUsage(EveryNSteps):
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


class Evaluation(EveryNSteps):
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
