"""Callbacks that draw: samples with their masks, super-resolution columns, InfoGAN code grids."""

import os

import numpy as np
import tensorflow as tf

from keras_attngan.core import images as images_lib
from keras_attngan.core.traversals import code_grids
from keras_attngan.trainers.recurrence import labelled
from keras_attngan.training.callbacks.base import (
    EveryNSteps,
    write_pictures,
)


class AttentionImages(EveryNSteps):
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
            # x_0 exists where the first mask was D's on it (not for a prior).
            start = trajectory.shape[1] - steps
            for row in range(rows):
                if start:
                    cells.append(images_lib.to_uint8(trajectory[row, :1], rgb=True))
                for k in range(steps):
                    cells.append(images_lib.colorize(masks["inner_loop"][row, k : k + 1]))
                    cells.append(images_lib.to_uint8(trajectory[row, start + k : start + k + 1], rgb=True))
            labels = ["x0"] * start + [f"{kind}{k}" for k in range(1, steps + 1) for kind in "sx"]
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


class SuperResolutionImages(EveryNSteps):
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


class CodeGrids(EveryNSteps):
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
