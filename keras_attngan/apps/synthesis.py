"""Synthesizing data with an exported generator.

G's latent inputs are drawn from a seed, so the same seed and export give the
same images. Formats: one PNG per image; one ``samples.npz`` (``images``
uint8 ``[N, S, S, C]`` and the latent inputs: the noise ``z``, and
``codes`` and ``label`` where the model has them); one ``samples.tfrecord``
of `tf.train.Example` with ``image/encoded`` (PNG), ``image/format`` and the
same latent inputs (``label`` as int64).
"""

import os
import shutil
import uuid

import numpy as np
import tensorflow as tf

from keras_attngan.apps import paths as paths_lib
from keras_attngan.core import images as images_lib
from keras_attngan.export import loading
from keras_attngan.training import finite

FORMATS = ("png", "npz", "tfrecord")


def parse_code_choices(spec, category=None, codes=()):
    """What the user asked of an InfoGAN model's codes: ``--category C --code NAME=VALUE``.

    Args:
        spec: the export's `keras_attngan.LatentSpec`.
        category: a value of the first categorical code (the class to draw,
            for a supervised code), or None.
        codes: ``"NAME=VALUE"`` strings: an integer value of a categorical
            code, any number for a continuous one (beyond the prior's range
            extrapolates, as the traversal grids do).

    Returns:
        (``{name: int}``, ``{name: float}``) of the fixed codes.

    Raises:
        ValueError: naming the flag and the valid values: no codes or no
            categorical code in the model, a malformed entry, an unknown
            name, a category out of range.
    """
    # Over 60 lines only for its docstring, which documents every argument.
    categories, values = {}, {}
    if (category is not None or codes) and not spec.code_dim:
        raise ValueError(
            "`--category` and `--code` need a model with latent codes; this one has none. "
            f"Received: --category={category!r}, --code={list(codes)!r}"
        )
    if category is not None:
        if not spec.categorical:
            raise ValueError(
                "`--category` needs a categorical code; the model's codes are all continuous "
                f"({spec.code_names}): use --code NAME=VALUE. Received: --category={category!r}"
            )
        first = spec.categorical[0]
        if not 0 <= category < first.num_values:
            raise ValueError(
                f"`--category` should be an integer in [0, {first.num_values}) (the values of the "
                f"categorical code {first.name!r}). Received: --category={category!r}"
            )
        categories[first.name] = int(category)
    for entry in codes:
        name, sep, text = entry.partition("=")
        if not sep:
            raise ValueError(
                f"`--code` should be NAME=VALUE with NAME one of {spec.code_names}. "
                f"Received: --code={entry!r}"
            )
        code = spec.code(name.strip(), "--code")
        if hasattr(code, "num_values"):
            if not (text.strip().lstrip("-").isdigit() and 0 <= int(text) < code.num_values):
                raise ValueError(
                    f"`--code` should give the categorical code {code.name!r} an integer in "
                    f"[0, {code.num_values}). Received: --code={entry!r}"
                )
            categories[code.name] = int(text)
        else:
            try:
                values[code.name] = float(text)
            except ValueError:
                raise ValueError(
                    f"`--code` should be NAME=NUMBER for the continuous code {code.name!r}. "
                    f"Received: --code={entry!r}"
                ) from None
    return categories, values


def parse_label(spec, label):
    """`--label C` of a class-conditional model: the class to draw, checked against the spec.

    Raises:
        ValueError: naming the flag: a label for an unconditional model, or
            one out of ``[0, num_classes)``.
    """
    if label is None:
        return None
    if not spec.num_classes:
        raise ValueError(
            "`--label` needs a class-conditional model (trained with model.num_classes > 0); "
            f"this one is unconditional. Received: --label={label!r}"
        )
    if not 0 <= label < spec.num_classes:
        raise ValueError(
            f"`--label` should be an integer in [0, {spec.num_classes}) (the model's classes). "
            f"Received: --label={label!r}"
        )
    return int(label)


def from_export(model_path, num, seed=0, batch_size=64, category=None, codes=(), label=None):
    """Synthesizes `num` images with an export's `serving_default` signature.

    G's inputs are `LatentSpec.inputs_numpy` of the export's spec from
    `seed`: the noise, the InfoGAN codes not fixed by `category` and `codes`
    (see `parse_code_choices`) and a class-conditional model's labels, drawn
    uniformly unless `label` fixes them; all are checked before any image
    is made.

    Returns:
        (uint8 images ``[num, S, S, C]``, G's latent inputs: ``{"z": float32
        [num, latent_dim]}`` plus ``"codes"`` and ``"label"`` where the model
        has them).

    Raises:
        keras_attngan.training.finite.NonFiniteError: the export's weights are not
            all finite (its training diverged).
        ValueError: a bad `category`, `codes` or `label` (naming the flag).
    """
    path = loading.resolve_export(model_path)
    finite.check_saved_model(path)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    # After loading: a directory that is not an export fails as such, not
    # for want of the metadata beside it.
    if "z" not in signature.structured_input_signature[1]:
        raise ValueError(
            f"`--model` should generate from noise; {path!r} is a super-resolution export "
            "(input 'lowres'): use `attngan upscale`."
        )
    spec = loading.export_latent(path)
    categories, values = parse_code_choices(spec, category, codes)
    label = parse_label(spec, label)
    inputs = spec.inputs_numpy(num, seed, categories, values, label)
    batches = []
    for start in range(0, num, batch_size):
        rows = {name: tf.constant(value[start : start + batch_size]) for name, value in inputs.items()}
        batches.append(np.asarray(signature(**rows)["images"]))
    return images_lib.to_uint8(np.concatenate(batches)), inputs


def write(images, latent, out, file_format, overwrite=False):
    """Writes images in `file_format` as the only contents of directory `out`.

    The files are written into a new directory beside `out` that then takes
    its place, so `out` never mixes two results and never holds half of one.

    Args:
        images: uint8 ``[N, S, S, C]``.
        latent: G's latent inputs of the images, as `generate` returns them
            (``{"z"}`` and, where the model has them, ``"codes"`` and ``"label"``).
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
        names = _write_files(images, latent, staging, file_format)
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


def _write_files(images, latent, directory, file_format):
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
            np.savez_compressed(f, images=images, **latent)
    else:
        with tf.io.TFRecordWriter(path) as writer:
            for index, image in enumerate(images):
                feature = {
                    "image/encoded": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[tf.io.encode_png(image).numpy()])
                    ),
                    "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"png"])),
                    **{name: _feature(value[index]) for name, value in latent.items()},
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
    return [name]


def _feature(value):
    """One latent input of one image as a `tf.train.Feature` (floats, or int64 for a label)."""
    value = np.atleast_1d(value)
    if value.dtype.kind == "f":
        return tf.train.Feature(float_list=tf.train.FloatList(value=value))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=value))
