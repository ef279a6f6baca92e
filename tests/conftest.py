"""Shared fixtures: tiny, seeded networks and trainers (16x16, widths of 4-8)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_attngan.core.latent import (  # noqa: E402
    CategoricalCode,
    ContinuousCode,
    LatentSpec,  # noqa: E402
)
from keras_attngan.core.mask_sources import MASK_SOURCES  # noqa: E402
from keras_attngan.core.mutual_information import build_mi_estimator  # noqa: E402
from keras_attngan.networks.discriminator import Discriminator  # noqa: E402
from keras_attngan.networks.generator import build_generator  # noqa: E402
from keras_attngan.terms import Information  # noqa: E402
from keras_attngan.trainers.attention import trainer_class  # noqa: E402

SIZE, CHANNELS, LATENT = 16, 3, 8


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def make_estimator(kind="infonce", **kwargs):
    """A built MI estimator for 16x16 masks (cells of 4)."""
    return build_mi_estimator(kind, SIZE, CHANNELS, cell_size=4, width=4, **kwargs)


def make_trainer(
    mask_source="learned",
    inner_steps=2,
    lambda_mi=1.0,
    compile_kwargs=None,
    estimator="infonce",
    d_steps=1,
    latent=None,
    estimator_options=None,
    **kwargs,
):
    """A compiled 16x16 trainer with tiny networks: `AttnGAN`, or `GAN` for mask source none.

    `kwargs` go to the trainer.

    `latent` is its `LatentSpec` (default: normal z of size LATENT);
    `estimator_options` go to the MI estimator.
    """
    uses_mask = MASK_SOURCES[mask_source].uses_mask
    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=uses_mask)
    discriminator = Discriminator(SIZE, CHANNELS, width=8, attention=mask_source)
    if uses_mask:
        kwargs.update(
            mi_estimator=make_estimator(estimator, **(estimator_options or {})), lambda_mi=lambda_mi
        )
    model = trainer_class(generator, discriminator)(
        generator, discriminator, latent or LatentSpec(LATENT), inner_steps=inner_steps, seed=0, d_steps=d_steps, **kwargs
    )
    model.compile(
        keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5), **(compile_kwargs or {})
    )
    return model


INFO_NOISE = 6


def info_spec():
    """Codes of the info-term tests: digit (K = 3), width (uniform), tilt (normal)."""
    return LatentSpec(
        INFO_NOISE,
        categorical=[CategoricalCode("digit", 3)],
        continuous=[ContinuousCode("width"), ContinuousCode("tilt", "normal")],
    )


def make_info_trainer(mask_source="none", compile_kwargs=None, **options):
    """A compiled 16x16 InfoGAN (the info term, K = 1); `options` go to `Information`."""
    spec = info_spec()
    generator = build_generator(INFO_NOISE, SIZE, CHANNELS, width=4, use_mask=mask_source != "none", code_dim=spec.code_dim)
    discriminator = Discriminator(SIZE, CHANNELS, width=4, attention=mask_source)
    term = Information.from_networks(generator, discriminator, latent=spec, width=8, name="info", **options)
    options = {"mi_estimator": make_estimator()} if mask_source != "none" else {}
    model = trainer_class(generator, discriminator)(generator, discriminator, spec, seed=0, terms=[term], **options)
    model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), **(compile_kwargs or {}))
    return model


def real_dataset(batch_size=4, count=32):
    """Random 'real' images in [-1, 1] as the trainer expects them."""
    images = np.random.default_rng(0).uniform(-1, 1, (count, SIZE, SIZE, CHANNELS))
    return (
        tf.data.Dataset.from_tensor_slices({"images": images.astype("float32")})
        .batch(batch_size, drop_remainder=True)
        .repeat()
    )


def load_config(name, arg="smoke"):
    """Loads configs/NAME.py's get_config(arg), as `--config configs/NAME.py:arg` does."""
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "configs", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"configs_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg)


def tiny_config(name="symbols_attn", arg=None, **overrides):
    """A smoke config shrunk further for tests: 16x16, a few steps.

    `arg` is the config's argument besides ``smoke`` (e.g. ``"iic"``), or None.
    """
    config = load_config(name, f"{arg},smoke" if arg else "smoke")
    if config.model.mask_source != "none":
        # The learned mask is the widest path (D's attention head, its own
        # losses); tests that want another source say so.
        config.model.mask_source = "learned"
        # The seed's first mask is the widest path too (a first G and D pass,
        # exports that take z alone); tests of the prior say so.
        config.model.first_mask = "recurrence"
    # The same arithmetic on every CPU; tests of bfloat16 say so.
    config.train.dtype_policy = "float32"
    config.data.image_size = 16
    config.data.num_examples = 64
    config.data.batch_size = 8
    if config.train.mi_pairs:
        config.train.mi_pairs = 4  # the config's pairing, on the shrunk batch
    config.train.steps = 4
    config.train.steps_per_epoch = 2
    config.train.steps_per_execution = 2
    config.log.scalars_every = 2
    config.log.images_every = 2
    config.log.checkpoint_every = 2
    config.log.num_images = 4
    for key, value in overrides.items():
        section, field = key.split(".")
        config[section][field] = value
    return config


def truncate(path):
    """Cuts a file to half its size, as a copy or a disk that filled up would."""
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def zero_fill(path):
    """Overwrites a file with zeros of its own size, as a crashed host's file system may."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.write(bytes(size))


def random_bytes(path):
    """Overwrites a file with seeded random bytes (at least 64)."""
    size = max(os.path.getsize(path), 64)
    with open(path, "wb") as f:
        f.write(np.random.default_rng(0).bytes(size))


# How the fault-injection tests damage a file.
DAMAGES = {"truncate": truncate, "zero-fill": zero_fill, "delete": os.remove, "random": random_bytes}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 4-step `tiny_config` run (checkpoints at 2 and 4, export 4); copy it, never change it."""
    from keras_attngan.training.loop import train

    root = str(tmp_path_factory.mktemp("finished"))
    train(tiny_config(), root)
    return root


def copy_run(root, tmp_path):
    """A copy of the workdir `root` in `tmp_path`, as a `Workdir`."""
    import shutil

    from keras_attngan.training.experiment import Workdir

    destination = str(tmp_path / "run")
    shutil.copytree(root, destination)
    return Workdir(destination)
