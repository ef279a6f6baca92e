"""The exported model: a SavedModel that TF Serving, TFLite and tf2onnx consume.

Seed 000, claims 10-14: the exported generator synthesizes data from noise,
and the model data carries the training's logging information (the logged
attention masks and the config) as metadata.

Layout (TF Serving's): ``EXPORT_BASE/VERSION/`` with VERSION the number of
train steps, holding ``saved_model.pb``, ``variables/`` and ``assets/``
(``attngan.json``: config and model facts; ``attention_masks.npz``: the masks
logged during training). Signatures:

- ``serving_default``: ``z [B, latent_dim]`` -> ``images [B, S, S, C]`` in
  [-1, 1], after K mask refinements, as during training.
- ``generate``: ``z``, ``mask [B, S, S, 1]`` -> ``images``: G for a given
  mask (without a mask source: ``z`` only).
- ``explain``: ``images`` -> ``logits [B, 1]``, ``score`` (D's probability of
  "real") and ``attention [B, S, S, 1]``.

Serving functions are exported without `jit_compile`: XLA-compiled functions
in a SavedModel have failed on TF Serving GPU (tensorflow/serving#2214).
"""

import glob
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.gan import synthesize

FORMAT = "keras_attngan.export/1"
METADATA_FILE = "attngan.json"
MASKS_FILE = "attention_masks.npz"


class ServingModule(tf.Module):
    """The tf.Module behind the exported signatures."""

    def __init__(self, generator, discriminator, latent_dim, inner_steps):
        super().__init__(name="attngan")
        self.generator = generator
        self.discriminator = discriminator
        self.inner_steps = inner_steps
        size, channels = discriminator.image_size, discriminator.channels
        z = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
        mask = tf.TensorSpec([None, size, size, 1], tf.float32, name="mask")
        images = tf.TensorSpec([None, size, size, channels], tf.float32, name="images")
        self.serve = tf.function(self._serve, input_signature=[z])
        if discriminator.attention == "none":
            self.generate = tf.function(self._serve, input_signature=[z])
        else:
            self.generate = tf.function(self._generate, input_signature=[z, mask])
        self.explain = tf.function(self._explain, input_signature=[images])

    # ensure_shape turns a wrongly shaped request into an error that names
    # the input and both shapes, instead of a MatMul failure deep inside G.
    def _serve(self, z):
        z = tf.ensure_shape(z, self.serve.input_signature[0].shape)
        outputs = synthesize(self.generator, self.discriminator, {"z": z}, self.inner_steps)
        return {"images": outputs["images"]}

    def _generate(self, z, mask):
        z = tf.ensure_shape(z, self.generate.input_signature[0].shape)
        mask = tf.ensure_shape(mask, self.generate.input_signature[1].shape)
        return {"images": self.generator({"z": z, "mask": mask}, training=False)}

    def _explain(self, images):
        images = tf.ensure_shape(images, self.explain.input_signature[0].shape)
        outputs = self.discriminator(images, training=False)
        return {
            "logits": outputs["logits"],
            "score": tf.sigmoid(outputs["logits"]),
            "attention": outputs["attention"],
        }

    def signatures(self):
        return {
            "serving_default": self.serve.get_concrete_function(),
            "generate": self.generate.get_concrete_function(),
            "explain": self.explain.get_concrete_function(),
        }


def _collect_masks(mask_dir):
    """Merges the per-step mask archives of `AttentionImages` into one dict."""
    merged = {}
    for path in sorted(glob.glob(os.path.join(mask_dir or "", "step_*.npz"))):
        step = os.path.basename(path)[: -len(".npz")]
        with np.load(path) as archive:
            merged.update({f"{step}/{key}": archive[key] for key in archive.files})
    return merged


def _replace_directory(source, destination):
    """Moves `source` to `destination`; an existing one is kept until the move is done."""
    previous = None
    if os.path.exists(destination):
        previous = f"{destination}.old-{os.getpid()}"
        os.rename(destination, previous)
    try:
        os.rename(source, destination)
    except OSError:
        if previous:
            os.rename(previous, destination)
        raise
    if previous:
        shutil.rmtree(previous)


def export(model, export_base, config=None, mask_dir=None, version=None):
    """Writes the serving SavedModel of a trained `AttnGAN`, atomically.

    The SavedModel is written to a temporary directory next to its destination
    and renamed into place only when complete, so an existing export is never
    half-overwritten, and a failure leaves it untouched.

    Args:
        model: a trained `AttnGAN`.
        export_base: TF Serving base path; the model goes to
            ``export_base/version``.
        config: the training config (a ConfigDict or dict), stored as metadata.
        mask_dir: directory of the masks logged by `AttentionImages`, stored
            as metadata (claim 10).
        version: version number; defaults to the number of train steps.

    Returns:
        The path of the written SavedModel.
    """
    version = int(model.train_steps.numpy()) if version is None else int(version)
    destination = os.path.join(export_base, str(version))
    os.makedirs(export_base, exist_ok=True)
    discriminator = model.discriminator
    if config is not None and hasattr(config, "to_dict"):
        config = config.to_dict()
    metadata = {
        "format": FORMAT,
        "latent_dim": model.latent.noise_dim,
        "image_size": discriminator.image_size,
        "channels": discriminator.channels,
        "mask_source": discriminator.attention,
        "inner_steps": model.inner_steps,
        "train_steps": version,
        "image_range": [-1.0, 1.0],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "config": config,
    }
    module = ServingModule(
        model.generator, discriminator, model.latent.noise_dim, model.inner_steps
    )
    staging = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_base)
    try:
        assets = os.path.join(staging, "assets_in")
        os.makedirs(assets)
        masks = _collect_masks(mask_dir)
        metadata["logged_mask_steps"] = sorted({key.split("/")[0] for key in masks})
        with open(os.path.join(assets, METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True, default=str)
        np.savez_compressed(os.path.join(assets, MASKS_FILE), **masks)
        module.metadata_file = tf.saved_model.Asset(os.path.join(assets, METADATA_FILE))
        module.masks_file = tf.saved_model.Asset(os.path.join(assets, MASKS_FILE))
        saved = os.path.join(staging, "saved_model")
        tf.saved_model.save(module, saved, signatures=module.signatures())
        _replace_directory(saved, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def resolve_export(path):
    """Returns the SavedModel directory for `path`.

    `path` is a SavedModel, or a TF Serving base path whose highest numeric
    version is taken.

    Raises:
        FileNotFoundError: when there is no SavedModel there.
    """
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = [
        int(name)
        for name in (os.listdir(path) if os.path.isdir(path) else [])
        if name.isdigit() and os.path.exists(os.path.join(path, name, "saved_model.pb"))
    ]
    if not versions:
        raise FileNotFoundError(
            f"No SavedModel at {path!r}: expected saved_model.pb there or in a numbered "
            "version sub-directory (written by `attngan export` or at the end of `attngan train`)."
        )
    return os.path.join(path, str(max(versions)))


def load_metadata(saved_model_dir):
    """Reads the metadata stored with an export."""
    with open(os.path.join(saved_model_dir, "assets", METADATA_FILE)) as f:
        return json.load(f)
