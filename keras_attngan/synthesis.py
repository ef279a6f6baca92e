"""Synthesizing data with an exported generator (seed 000, claims 12, 14).

The noise is drawn from a seed, so the same seed and export give the same
images. Formats: one PNG per image; one ``samples.npz`` (``images`` uint8
``[N, S, S, C]`` and the noise ``z``); one ``samples.tfrecord`` of
`tf.train.Example` with ``image/encoded`` (PNG), ``image/format`` and ``z``.
"""

import os

import numpy as np
import tensorflow as tf

from keras_attngan import finite, serving
from keras_attngan import images as images_lib

FORMATS = ("png", "npz", "tfrecord")


def noise(num, latent_dim, seed):
    """The seeded z of `generate` (and of `attngan evaluate`): float32 ``[num, latent_dim]``."""
    return np.random.default_rng(seed).standard_normal((num, latent_dim)).astype(np.float32)


def generate(model_path, num, seed=0, batch_size=64):
    """Synthesizes `num` images with an export's `serving_default` signature.

    Returns:
        (uint8 images ``[num, S, S, C]``, float32 noise ``[num, latent_dim]``).

    Raises:
        keras_attngan.finite.NonFiniteError: the export's weights are not
            all finite (its training diverged).
    """
    path = serving.resolve_export(model_path)
    finite.check_saved_model(path)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    latent_dim = signature.structured_input_signature[1]["z"].shape[-1]
    z = noise(num, latent_dim, seed)
    batches = []
    for start in range(0, num, batch_size):
        images = signature(z=tf.constant(z[start : start + batch_size]))["images"]
        batches.append(np.asarray(images))
    return images_lib.to_uint8(np.concatenate(batches)), z


def write(images, noise, out, file_format):
    """Writes images in `file_format` under `out`; returns the written paths."""
    if file_format not in FORMATS:
        raise ValueError(f"`format` should be one of {list(FORMATS)}. Received: format={file_format!r}")
    os.makedirs(out, exist_ok=True)
    if file_format == "png":
        paths = []
        for index, image in enumerate(images):
            path = os.path.join(out, f"{index:06d}.png")
            tf.io.write_file(path, tf.io.encode_png(image))
            paths.append(path)
        return paths
    path = os.path.join(out, f"samples.{file_format}")
    temporary = f"{path}.tmp"
    if file_format == "npz":
        with open(temporary, "wb") as f:
            np.savez_compressed(f, images=images, z=noise)
    else:
        with tf.io.TFRecordWriter(temporary) as writer:
            for image, z in zip(images, noise):
                feature = {
                    "image/encoded": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[tf.io.encode_png(image).numpy()])
                    ),
                    "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"png"])),
                    "z": tf.train.Feature(float_list=tf.train.FloatList(value=z)),
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
    os.replace(temporary, path)
    return [path]
