"""The exported model: a SavedModel for TF Serving, and the source of TFLite and ONNX.

The exported generator synthesizes data from noise, and the model carries
the training's logging information (the logged attention masks and the
config) as metadata.

Layout (TF Serving's): ``EXPORT_BASE/VERSION/`` with VERSION the number of
train steps (or the next free number, see `keras_attngan.export.versioning`),
holding ``saved_model.pb``, ``variables/`` and ``assets/`` (``attngan.json``:
config and model facts; ``attention_masks.npz``: the masks logged during
training). Signatures, all with a dynamic batch dimension B:

- ``serving_default``: ``z [B, latent_dim]`` (and, for a model with InfoGAN
  codes, ``codes [B, code_dim]``: `keras_attngan.core.latent.LatentSpec.encode`,
  whose layout the metadata's ``latent`` gives; for a class-conditional
  model, ``label`` int32 ``[B]`` in [0, num_classes); for a model whose first
  mask is drawn from a prior, ``prior [B, prior_dim]``, uniform numbers in
  [0, 1) the prior draws it from: `keras_attngan.core.first_masks`) ->
  ``images [B, S, S, C]`` in [-1, 1] and ``images_uint8`` (0-255), after K
  mask refinements, as during training.
- ``sample``: ``seed`` (int64 scalar), ``count`` (int32 scalar) -> ``images``,
  ``images_uint8`` and the ``z`` drawn (``tf.random.stateless_normal``; with
  codes, labels, a first-mask prior or uniform noise, z, ``codes``,
  ``label`` and ``prior`` drawn from the latent spec), so a client needs no
  noise of its own.
- ``generate``: G's own inputs (``z``, ``mask [B, S, S, 1]`` when the model
  has a mask source, ``codes`` when it has codes, ``label`` when it is
  class-conditional) -> ``images``, ``images_uint8``.
- ``explain``: ``images`` (and ``label`` for a class-conditional model, whose
  projection D judges an image as one of a class) -> ``logits [B, 1]``,
  ``score`` (D's probability of "real") and ``attention [B, S, S, 1]`` in
  [0, 1].

A super-resolution model (G maps low-res images to high-res) serves instead ``serving_default`` and ``upscale``, both
``lowres [B, h, w, C]`` (any h and w) -> ``images [B, h * scale, w * scale,
C]`` and ``images_uint8``, and ``explain`` on high-res patches of the
training size. `keras_attngan.apps.tiling` runs larger images in tiles.

Bad input is refused inside the graph, so TF Serving answers with an error
and keeps serving: a wrong shape names the input and both shapes; NaN or Inf
names the input, and so does a label outside [0, num_classes); a wrong dtype
is refused by the signature itself. A batch of
0 returns an empty batch.

Serving functions are exported without `jit_compile`: XLA-compiled functions
in a SavedModel have failed on TF Serving GPU (tensorflow/serving#2214).

The exported graphs compute in float32 whatever policy the model trained
under: a model trained in mixed bfloat16 keeps float32 variables, and ONNX
Runtime's CPU kernels and LiteRT's builtin ops take no bfloat16 convolution,
so a bfloat16 graph would not convert or run there.
"""

import contextlib
import glob
import json
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.core.latent import PRIOR
from keras_attngan.export import versioning
from keras_attngan.trainers.recurrence import labelled, synthesize

FORMAT = "keras_attngan.export/2"
SAVED_MODEL_FILE = "saved_model.pb"
METADATA_FILE = "attngan.json"
MASKS_FILE = "attention_masks.npz"
# The name scope of the uint8 conversion in the serving graphs.
UINT8_SCOPE = "to_uint8"
# `sample` refuses larger counts: one request must not exhaust the server.
MAX_SAMPLE_COUNT = 4096


def to_uint8(images):
    """Images in [-1, 1] to uint8 in graph, as `keras_attngan.core.images.to_uint8`."""
    # Named so that full int8 TFLite finds it and keeps it in float: quantized,
    # the clip-shift-scale shared one scale and lost up to 84 levels.
    with tf.name_scope(UINT8_SCOPE):
        return tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def _checked(tensor, spec, num_classes=0):
    """`tensor` with its shape and finiteness (a label: its range) asserted against `spec`, by name."""
    tensor = tf.ensure_shape(tensor, spec.shape, name=f"check_shape_{spec.name}")
    if tensor.dtype.is_floating:
        tensor = tf.debugging.assert_all_finite(tensor, f"Input {spec.name!r} holds NaN or Inf")
    elif spec.name == "label":
        # Out of range, an embedding lookup fails on the CPU but reads zeros on
        # a GPU: a silently unconditional image.
        message = f"Input 'label' should be in [0, {num_classes})"
        with tf.control_dependencies([
            tf.debugging.assert_non_negative(tensor, message=message),
            tf.debugging.assert_less(tensor, tf.constant(num_classes, tensor.dtype), message=message),
        ]):
            tensor = tf.identity(tensor)
    return tensor


def check_inputs(inputs, specs, num_classes=None):
    """Refuses NumPy inputs as the signatures refuse tensors (`_checked`), naming the input.

    The converted artifacts (TFLite, ONNX) lose the in-graph checks; their
    runners call this before every run, so every runtime refuses alike.

    Args:
        inputs: ``{name: array}``.
        specs: ``{name: tf.TensorSpec}`` of the signature (None dimensions
            take any size).
        num_classes: the classes of a ``label`` input (None: its range is
            not checked).

    Raises:
        ValueError: missing or unexpected names, wrong shapes, NaN or Inf, a
            ``label`` outside ``[0, num_classes)``.
        TypeError: a wrong dtype.
    """
    if set(inputs) != set(specs):
        raise ValueError(f"Inputs {sorted(inputs)} do not match the signature's {sorted(specs)}.")
    for name, spec in specs.items():
        value = inputs[name]
        if not isinstance(value, np.ndarray) or value.dtype != spec.dtype.as_numpy_dtype:
            received = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(f"Input {name!r} should be {spec.dtype.name}, not {received}.")
        if not spec.shape.is_compatible_with(value.shape):
            raise ValueError(f"Input {name!r} has shape {value.shape}; the signature expects {spec.shape}.")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(f"Input {name!r} holds NaN or Inf.")
        if name != "label" or num_classes is None or not value.size:
            continue
        if not (0 <= value.min() and value.max() < num_classes):
            raise ValueError(f"Input 'label' should be in [0, {num_classes}); it holds {value.min()}..{value.max()}.")


def _nonempty(fn, inputs):
    """Runs `fn` on a batch of at least one row and returns the real rows.

    Keras layers fail on a batch of 0 (a reshape cannot infer a size from no
    elements); a zero row appended, run, and sliced off again gives an empty
    batch of the right shape, without a branch that TFLite and ONNX would
    have to convert.
    """
    count = tf.shape(next(iter(inputs.values())))[0]
    padded = {
        # The zero row is built from the shape: a slice of an empty batch is empty.
        name: tf.concat([value, tf.zeros(tf.concat([[1], tf.shape(value)[1:]], 0), value.dtype)], axis=0)[
            : tf.maximum(count, 1)
        ]
        for name, value in inputs.items()
    }
    return {name: value[:count] for name, value in fn(padded).items()}


def _latent_specs(latent):
    """The serving signature's inputs: z, then the codes and the label where the spec draws them."""
    specs = [tf.TensorSpec([None, latent.noise_dim], tf.float32, name="z")]
    if latent.code_dim:
        specs.append(tf.TensorSpec([None, latent.code_dim], tf.float32, name="codes"))
    if latent.num_classes:
        specs.append(tf.TensorSpec([None], tf.int32, name="label"))
    if latent.prior_dim:
        specs.append(tf.TensorSpec([None, latent.prior_dim], tf.float32, name=PRIOR))
    return specs


def _sampler(latent, serve_rows, seed_generator):
    """The `sample(seed, count)` function: G's inputs drawn from `seed`, and their images.

    With a `seed_generator`, the draw goes through the latent spec from a
    state set by the seed; without one (normal z alone), through a stateless
    normal draw.
    """

    def sample(seed, count):
        checks = [
            tf.debugging.assert_non_negative(count, message="`count` must be >= 0"),
            tf.debugging.assert_less_equal(count, MAX_SAMPLE_COUNT, message=f"`count` must be <= {MAX_SAMPLE_COUNT}"),
        ]
        # Stateless ops are not ordered after the asserts by tf.function:
        # without the dependency a negative count can fail in the RNG first.
        with tf.control_dependencies(checks):
            count = tf.identity(count)
        state = tf.stack([seed, tf.constant(0, tf.int64)])
        if seed_generator is not None:
            seed_generator.state.assign(tf.cast(state, seed_generator.state.dtype))
            drawn = latent.sample(count, seed_generator)
            return {**_nonempty(serve_rows, drawn), **drawn}
        z = tf.random.stateless_normal([count, latent.noise_dim], seed=state)
        return {**_nonempty(serve_rows, {"z": z}), "z": z}

    return sample


class ServingModule(tf.Module):
    """The tf.Module behind the exported signatures."""

    def __init__(self, generator, discriminator, latent, inner_steps, first_mask=None):
        super().__init__(name="attngan")
        num_classes = latent.num_classes
        # The tf.Variables under Keras' variables are tracked, not the Keras
        # networks: a SavedModel tracking Keras 3 layers (or their variable
        # wrappers) converts to TFLite with resource variables that are never
        # initialized (READ_VARIABLE fails, or NaN outputs). This is what
        # `keras.export.ExportArchive` does too.
        self.weights = [v.value for v in generator.variables + discriminator.variables]
        latent_specs = _latent_specs(latent)
        seed_generator = None
        # `sample` draws codes, labels and uniform noise through the spec, from
        # a seed generator whose state it sets from the request's seed: one
        # sampler for training and serving, and the same seed gives the same
        # draw. Normal z alone keeps the stateless draw of the first exports.
        if latent.code_dim or num_classes or latent.prior_dim or latent.noise_distribution != "normal":
            seed_generator = keras.random.SeedGenerator(0)
            self.code_seed_state = seed_generator.state.value
        size, channels = discriminator.image_size, discriminator.channels
        image_spec = tf.TensorSpec([None, size, size, channels], tf.float32, name="images")
        g_specs = [
            tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype, name=tensor.name)
            for tensor in generator.inputs
        ]

        def checked(specs, inputs):
            return {spec.name: _checked(value, spec, num_classes) for spec, value in zip(specs, inputs)}

        def serve_rows(inputs):
            images = synthesize(generator, discriminator, inputs, inner_steps, first_mask=first_mask)["images"]
            return _images_out(images)

        def serve(*inputs):
            return _nonempty(serve_rows, checked(latent_specs, inputs))

        def generate(*inputs):
            return _nonempty(
                lambda rows: _images_out(generator(rows, training=False)), checked(g_specs, inputs)
            )

        explain_specs = [image_spec, latent_specs[-1]] if num_classes else [image_spec]
        explain = _explainer(discriminator, explain_specs, num_classes)
        sample = _sampler(latent, serve_rows, seed_generator)

        self.serve = tf.function(serve, input_signature=latent_specs)
        self.sample = tf.function(
            sample,
            input_signature=[
                tf.TensorSpec([], tf.int64, name="seed"),
                tf.TensorSpec([], tf.int32, name="count"),
            ],
        )
        self.generate = tf.function(generate, input_signature=g_specs)
        self.explain = tf.function(explain, input_signature=explain_specs)

    def signatures(self):
        return {
            "serving_default": self.serve.get_concrete_function(),
            "sample": self.sample.get_concrete_function(),
            "generate": self.generate.get_concrete_function(),
            "explain": self.explain.get_concrete_function(),
        }


def _images_out(images):
    return {"images": images, "images_uint8": to_uint8(images)}


def _explainer(discriminator, specs, num_classes=0):
    """The ``explain`` function: D's logits, score and attention on checked images (and labels)."""

    def explain_rows(inputs):
        outputs = discriminator(inputs["images"], training=False, **labelled(inputs.get("label")))
        return {
            "logits": outputs["logits"],
            "score": tf.sigmoid(outputs["logits"]),
            "attention": outputs["attention"],
        }

    def explain(*inputs):
        return _nonempty(
            explain_rows, {spec.name: _checked(value, spec, num_classes) for spec, value in zip(specs, inputs)}
        )

    return explain


class UpscaleModule(tf.Module):
    """The tf.Module of a super-resolution export.

    ``upscale`` (also ``serving_default``) runs G on low-res images of any
    size; ``explain`` is D on high-res patches of the training size.
    """

    def __init__(self, generator, discriminator):
        super().__init__(name="attngan_upscale")
        # Tracked as tf.Variables, as `ServingModule` does (TFLite needs it).
        self.weights = [v.value for v in generator.variables + discriminator.variables]
        size, channels = discriminator.image_size, discriminator.channels
        lowres_spec = tf.TensorSpec([None, None, None, channels], tf.float32, name="lowres")
        image_spec = tf.TensorSpec([None, size, size, channels], tf.float32, name="images")

        def upscale(lowres):
            return _nonempty(
                lambda rows: _images_out(generator(rows, training=False)),
                {"lowres": _checked(lowres, lowres_spec)},
            )

        self.upscale = tf.function(upscale, input_signature=[lowres_spec])
        self.explain = tf.function(_explainer(discriminator, [image_spec]), input_signature=[image_spec])

    def signatures(self):
        upscale = self.upscale.get_concrete_function()
        return {"serving_default": upscale, "upscale": upscale, "explain": self.explain.get_concrete_function()}


def _collect_masks(mask_dir):
    """Merges the per-step mask archives of `AttentionImages` into one dict."""
    merged = {}
    for path in sorted(glob.glob(os.path.join(mask_dir or "", "step_*.npz"))):
        step = os.path.basename(path)[: -len(".npz")]
        with np.load(path) as archive:
            merged.update({f"{step}/{key}": archive[key] for key in archive.files})
    return merged


@contextlib.contextmanager
def _computing_in_float32(*networks):
    """Every layer of `networks` computes in float32 inside the block, in its own policy after.

    The variables of a mixed policy are float32 already, so only the casts
    around each layer's computation change; training can go on afterwards.
    """
    layers = {id(layer): layer for network in networks for layer in network._flatten_layers()}
    policies = {key: layer.dtype_policy for key, layer in layers.items()}
    try:
        for layer in layers.values():
            layer.dtype_policy = "float32"
        yield
    finally:
        for key, layer in layers.items():
            layer.dtype_policy = policies[key]


def save(model, path, config=None, mask_dir=None):
    """Writes the serving SavedModel of a trained `AttnGAN` to `path` (not atomic).

    `export` is the atomic, versioned writer; this is its inner step, for
    callers that add files to the version before it is published.

    Args:
        model: a trained `AttnGAN`.
        path: the SavedModel directory to create.
        config: the training config (a ConfigDict or dict), stored as metadata.
        mask_dir: directory of the masks logged by `AttentionImages`, stored
            as metadata.
    """
    discriminator = model.discriminator
    if config is not None and hasattr(config, "to_dict"):
        config = config.to_dict()
    masks = _collect_masks(mask_dir)
    metadata = {
        "format": FORMAT,
        "latent_dim": None if model.paired else model.latent.noise_dim,
        # Super-resolution: how many times larger `upscale`'s output is.
        "scale": model.scale if model.paired else None,
        # The codes' names, priors and layout in `codes` (LatentSpec.encode).
        "latent": None if model.paired else model.latent.get_config(),
        "image_size": discriminator.image_size,
        "channels": discriminator.channels,
        "mask_source": discriminator.attention,
        "first_mask": model.first_mask.name if model.first_mask else None,
        "inner_steps": model.inner_steps,
        "train_steps": int(model.train_steps.numpy()),
        "image_range": [-1.0, 1.0],
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "config": config,
        "logged_mask_steps": sorted({key.split("/")[0] for key in masks}),
    }
    generator = model.inference_generator
    # Saving traces the signatures and copies the asset files into the SavedModel's assets/.
    with _computing_in_float32(generator, discriminator), tempfile.TemporaryDirectory() as sources:
        if model.paired:
            module = UpscaleModule(generator, discriminator)
        else:
            module = ServingModule(generator, discriminator, model.latent, model.inner_steps, model.first_mask)
        with open(os.path.join(sources, METADATA_FILE), "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True, default=str)
        np.savez_compressed(os.path.join(sources, MASKS_FILE), **masks)
        module.metadata_file = tf.saved_model.Asset(os.path.join(sources, METADATA_FILE))
        module.masks_file = tf.saved_model.Asset(os.path.join(sources, MASKS_FILE))
        tf.saved_model.save(module, path, signatures=module.signatures())


def save_version(model, export_base, config=None, mask_dir=None, version=None, overwrite=False, extend=None, renumber=True):
    """Writes the serving SavedModel of a trained `AttnGAN` as a new version, atomically.

    The SavedModel is written to a staging directory beside its destination
    and published by an atomic rename only when complete (see
    `keras_attngan.export.versioning`), so a reader never sees a partial export and
    a failure leaves the existing versions untouched.

    Args:
        model: a trained `AttnGAN`.
        export_base: TF Serving base path; the model goes to
            ``export_base/VERSION``.
        config: the training config (a ConfigDict or dict), stored as metadata.
        mask_dir: directory of the masks logged by `AttentionImages`, stored
            as metadata.
        version: version number; defaults to the number of train steps, or
            one above the highest existing version when that one is taken.
        overwrite: replace `version` if it exists, instead of taking a new
            number.
        extend: called with the staged SavedModel's directory before it is
            published, to add files to the version (`keras_attngan.export.deploy`
            adds the TFLite and ONNX conversions).
        renumber: when `version` exists and `overwrite` is not set, take the
            next free number (True) or raise (False) before writing anything.

    Returns:
        The path of the written SavedModel.

    Raises:
        keras_attngan.export.versioning.VersionExistsError: `version` exists and
            neither `overwrite` nor `renumber` is set; nothing was written.
    """
    preferred = int(model.train_steps.numpy()) if version is None else int(version)
    version = versioning.choose_version(export_base, preferred, overwrite, renumber)
    with versioning.staged_version(export_base, version, overwrite) as stage:
        save(model, stage.content, config, mask_dir)
        if extend is not None:
            extend(stage.content)
    return stage.path


