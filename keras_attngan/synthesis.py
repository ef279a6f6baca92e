"""Synthesizing data with an exported generator (seed 000, claims 12, 14).

The noise is drawn from a seed, so the same seed and export give the same
images. Formats: one PNG per image; one ``samples.npz`` (``images`` uint8
``[N, S, S, C]`` and the noise ``z``); one ``samples.tfrecord`` of
`tf.train.Example` with ``image/encoded`` (PNG), ``image/format`` and ``z``.
"""

import os
import shutil
import uuid

import numpy as np
import tensorflow as tf

from keras_attngan import finite, serving
from keras_attngan import images as images_lib
from keras_attngan import paths as paths_lib
from keras_attngan.latent import noise

FORMATS = ("png", "npz", "tfrecord")


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
    inputs = signature.structured_input_signature[1]
    if "z" not in inputs:
        raise ValueError(
            f"`--model` should generate from noise; {path!r} is a super-resolution export "
            "(input 'lowres'): use `attngan upscale`."
        )
    latent_dim = inputs["z"].shape[-1]
    z = noise(num, latent_dim, seed)
    batches = []
    for start in range(0, num, batch_size):
        images = signature(z=tf.constant(z[start : start + batch_size]))["images"]
        batches.append(np.asarray(images))
    return images_lib.to_uint8(np.concatenate(batches)), z


def write(images, noise, out, file_format, overwrite=False):
    """Writes images in `file_format` as the only contents of directory `out`.

    The files are written into a new directory beside `out` that then takes
    its place, so `out` never mixes two results and never holds half of one.

    Args:
        images: uint8 ``[N, S, S, C]``.
        noise: the z of each image, float32 ``[N, latent_dim]``.
        out: the directory; created if needed.
        file_format: one of `FORMATS`.
        overwrite: replace what a non-empty `out` holds; without it a
            non-empty `out` is refused before anything is written.

    Returns:
        The written paths.

    Raises:
        ValueError: unknown format, or `out` is a file, is not writable or
            (without `overwrite`) is not empty.
    """
    if file_format not in FORMATS:
        raise ValueError(f"`format` should be one of {list(FORMATS)}. Received: format={file_format!r}")
    paths_lib.output_dir("out", out, empty=not overwrite, overwrite_option="overwrite=True")
    target = os.path.abspath(out)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = f"{target}.{uuid.uuid4().hex[:8]}.tmp"
    os.mkdir(staging)
    try:
        names = _write_files(images, noise, staging, file_format)
        if os.path.exists(target):
            shutil.copymode(target, staging)
            previous = f"{staging}.previous"
            os.rename(target, previous)
            os.rename(staging, target)
            shutil.rmtree(previous)
        else:
            os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [os.path.join(out, name) for name in names]


def _write_files(images, noise, directory, file_format):
    """Writes the files of `write` into `directory`; returns their names."""
    if file_format == "png":
        names = [f"{index:06d}.png" for index in range(len(images))]
        for name, image in zip(names, images):
            tf.io.write_file(os.path.join(directory, name), tf.io.encode_png(image))
        return names
    name = f"samples.{file_format}"
    path = os.path.join(directory, name)
    if file_format == "npz":
        with open(path, "wb") as f:
            np.savez_compressed(f, images=images, z=noise)
    else:
        with tf.io.TFRecordWriter(path) as writer:
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
    return [name]
