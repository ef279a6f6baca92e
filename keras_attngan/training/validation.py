"""Checking a config before any work: one line naming the first bad key, its value and what it should be.

It needs no TensorFlow (`keras_attngan.core.choices` holds the registries'
names), so `attngan train` refuses a bad value before paying TensorFlow's
import time. The checks are data where they can be: a table of keys that
name a registry entry (`ONE_OF`) and a table of numeric bounds (`BOUNDS`).
What relates keys to each other is checked by the part of the run that reads
them: each mode (`MODE_CHECKS`) and each loss term (`TERM_CHECKS`) checks its
own keys, and `validate_config` walks the parts that the config selects.
"""

import os

from keras_attngan.core import choices
from keras_attngan.core.errors import refuse
from keras_attngan.core.latent import LatentSpec

# No mixed_float16: float16 needs loss scaling, which the custom train_step
# does not do; bfloat16 has float32's range and needs none. "auto" computes in
# bfloat16 where the hardware has it (keras_attngan.training.precision).
DTYPE_POLICIES = ("float32", "mixed_bfloat16", "auto")

# What training does when a loss or weight turns NaN or Inf: stop with an
# error, or go back to the last good checkpoint at a lower learning rate.
ON_NON_FINITE = ("stop", "rollback")

# Super-resolution factors (0: off).
SCALES = (0, 2, 4)

# Keys whose value is the name of a part: key -> the valid names, in the order
# the refusal lists them.
ONE_OF = {
    "model.mask_source": list(choices.MASK_SOURCES),
    "model.mask_normalization": sorted(choices.MASK_NORMALIZATIONS),
    "model.first_mask": list(choices.FIRST_MASKS),
    "model.architecture": list(choices.ARCHITECTURES),
    "model.g_upsampling": ["default", *choices.UPSAMPLINGS],
    "model.g_normalization": list(choices.NORMALIZATIONS),
    "model.d_normalization": list(choices.NORMALIZATIONS),
    "model.mi_estimator": sorted(choices.MI_ESTIMATORS),
    "model.mi_critic": list(choices.MI_CRITICS),
    "model.mi_negatives": list(choices.MI_NEGATIVES),
    "train.mi_weighting": list(choices.MI_WEIGHTINGS),
    "train.loss": sorted(choices.LOSSES),
    "train.penalty": sorted(choices.PENALTIES),
    "train.dtype_policy": list(DTYPE_POLICIES),
    "train.strategy": list(choices.STRATEGIES),
    "train.lr_decay": list(choices.LR_DECAYS),
    "train.on_non_finite": list(ON_NON_FINITE),
    "train.encoder": list(choices.ENCODERS),
    "train.encoder_lipschitz": list(choices.LIPSCHITZ),
    "data.scale": list(SCALES),
}

_INTEGER_AT_LEAST_1 = "an integer >= 1"
_AT_LEAST_0 = "a number >= 0"
_POSITIVE = "a number > 0"
_UNIT = "in [0, 1)"

# Numeric keys: key -> (test, what the value should be).
BOUNDS = {
    "data.batch_size": (lambda v: v >= 1, _INTEGER_AT_LEAST_1),
    "data.label_fraction": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "model.num_classes": (lambda v: v >= 0, "an integer >= 0 (0 = unconditional)"),
    "model.mask_temperature": (lambda v: v > 0, "a number > 0"),
    "model.mi_levels": (lambda v: v >= 2, "an integer >= 2"),
    **{f"model.{key}": (lambda v: v >= 1, _INTEGER_AT_LEAST_1) for key in ("latent_dim", "g_width", "d_width", "q_width")},
    "train.inner_steps": (lambda v: v >= 1, "an integer >= 1 (K, the generator inner-loop length)"),
    "train.mi_pairs": (lambda v: isinstance(v, int) and v >= 0, "an integer >= 0 (0: the whole batch)"),
    "train.rollback_lr_factor": (
        lambda v: 0 < v < 1,
        "in (0, 1) (the learning rates are multiplied by it at each rollback)",
    ),
    "train.max_rollbacks": (lambda v: v >= 0, "an integer >= 0"),
    **{
        f"train.{key}": (lambda v: v >= 0, _AT_LEAST_0)
        for key in (
            "lambda_mi",
            "g_gradient_mask",
            "penalty_weight",
            "rotation_weight_d",
            "rotation_weight_g",
            "verdict_weight_d",
            "verdict_weight_g",
            "verdict_consistency",
            "encoder_mu1",
            "encoder_mu2",
            "encoder_lipschitz_weight",
            "info_weight_categorical",
            "info_weight_continuous",
            "info_weight_supervised",
            "info_weight_clustering",
            "info_weight_invariant",
        )
    },
    "train.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1) (0 = off)"),
    "train.lr_decay_floor": (lambda v: 0 <= v <= 1, "in [0, 1] (the final rate as a fraction of the first)"),
    "train.ema_start": (lambda v: v >= 0, "an integer >= 0"),
    **{
        f"train.{key}": (lambda v: v > 0, _POSITIVE)
        for key in ("g_learning_rate", "d_learning_rate", "encoder_lipschitz_k", "encoder_learning_rate")
    },
    **{f"train.{key}": (lambda v: 0 <= v < 1, _UNIT) for key in ("g_beta_1", "g_beta_2", "d_beta_1", "d_beta_2")},
    **{
        f"train.{key}": (lambda v: v >= 1, _INTEGER_AT_LEAST_1)
        for key in (
            "steps",
            "steps_per_epoch",
            "steps_per_execution",
            "penalty_every",
            "d_steps",
            "encoder_width",
            "info_q_width",
        )
    },
    "train.info_label_fraction": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "train.verdict_cutmix": (lambda v: 0 <= v <= 1, "in [0, 1] (the probability of a CutMix batch; 0 = off)"),
    "train.verdict_cutmix_warmup": (lambda v: isinstance(v, int) and v >= 0, "an integer >= 0"),
    "train.info_overclusters": (lambda v: isinstance(v, int) and v >= 0, "an integer >= 0 (0 = off)"),
    "train.info_subheads": (lambda v: isinstance(v, int) and v >= 1, _INTEGER_AT_LEAST_1),
    "log.eval_every": (lambda v: v >= 0, "an integer >= 0 (0 = off)"),
    **{
        f"log.{key}": (lambda v: v >= 1, _INTEGER_AT_LEAST_1)
        for key in ("scalars_every", "images_every", "checkpoint_every", "keep_checkpoints", "num_images")
    },
    "log.traversal_steps": (lambda v: v >= 2, "an integer >= 2"),
}


def _check(condition, key, value, expectation):
    if not condition:
        refuse(key, value, expectation)


def _value(config, key):
    section, field = key.split(".")
    return config[section][field]


def _check_tables(config):
    """The keys of `ONE_OF` name a registry entry; the keys of `BOUNDS` are in range."""
    for key, valid in ONE_OF.items():
        _check(_value(config, key) in valid, key, _value(config, key), f"one of {valid}")
    for key, (test, expectation) in BOUNDS.items():
        _check(test(_value(config, key)), key, _value(config, key), expectation)


def _check_image_size(config):
    try:
        choices.num_stages(config.data.image_size)
    except ValueError:  # its message names the networks' argument, not the config key
        refuse(
            "data.image_size",
            config.data.image_size,
            "4 * 2**n with n >= 1 (8, 16, 32, 64, ...): the networks double the resolution "
            "from 4x4 at each stage",
        )


def _check_labels(config):
    """A class-conditional GAN: labels reach G through its normalization, D through its projection."""
    data, model, train = config.data, config.model, config.train
    _check(
        data.label_fraction == 1 or model.num_classes > 0,
        "data.label_fraction",
        data.label_fraction,
        "1 for an unconditional GAN (model.num_classes=0): pseudo-labels train a "
        "class-conditional one (InfoGAN's supervised codes: train.info_label_fraction)",
    )
    _check(
        choices.NORMALIZATIONS[model.g_normalization].needs_labels == (model.num_classes > 0),
        "model.g_normalization",
        model.g_normalization,
        "'conditional_batch' exactly when model.num_classes > 0 (a class-conditional G "
        f"reads the labels through it; model.num_classes={model.num_classes})",
    )
    _check(
        not choices.NORMALIZATIONS[model.d_normalization].needs_labels,
        "model.d_normalization",
        model.d_normalization,
        "a normalization without labels (a conditional D reads them through its projection head)",
    )
    _check(
        not model.num_classes or train.strategy != "multi_worker",
        "train.strategy",
        train.strategy,
        "not 'multi_worker' for a class-conditional GAN (model.num_classes > 0): its batches "
        "carry the images only",
    )


def _check_mutual_information(config):
    """The attention GAN: the MI estimator's cells tile the image, and each batch holds the pairs it needs."""
    data, model, train = config.data, config.model, config.train
    _check(
        model.mi_cell_size >= 1 and data.image_size % model.mi_cell_size == 0,
        "model.mi_cell_size",
        model.mi_cell_size,
        f"an integer >= 1 that divides data.image_size={data.image_size}",
    )
    needed = choices.MI_ESTIMATORS[model.mi_estimator]
    _check(
        data.batch_size >= needed,
        "data.batch_size",
        data.batch_size,
        f"at least {needed}, which model.mi_estimator={model.mi_estimator!r} needs",
    )
    _check(
        train.mi_pairs == 0 or needed <= train.mi_pairs <= data.batch_size,
        "train.mi_pairs",
        train.mi_pairs,
        f"0 (the whole batch) or an integer from {needed} "
        f"(model.mi_estimator={model.mi_estimator!r} needs it) to "
        f"data.batch_size={data.batch_size}",
    )


def _check_verdict_source(config):
    """A verdict mask: the 'verdict' term trains D's per-cell verdict, which is the mask."""
    model, train = config.model, config.train
    if model.mask_source not in choices.VERDICT_SOURCES:
        return
    _check(
        "verdict" in choices.parse_terms(train.terms),
        "train.terms",
        train.terms,
        f"a list with 'verdict' with model.mask_source={model.mask_source!r} (the term trains "
        "D's per-cell verdict, which is the mask)",
    )


def _check_attention(config):
    """The attention GAN: its MI term, and a verdict source's term."""
    _check_mutual_information(config)
    _check_verdict_source(config)


def _check_verdict_term(config):
    """The verdict term's decoder: its cells come from D's trunk."""
    data, cells = config.data, config.model.verdict_cells
    _check(
        isinstance(cells, int) and cells > choices.BASE_SIZE and cells <= data.image_size // 2
        and (cells & (cells - 1)) == 0,
        "model.verdict_cells",
        cells,
        f"{choices.BASE_SIZE} * 2**n with n >= 1, at most data.image_size / 2 = {data.image_size // 2} "
        "(D's trunk has feature maps of those sizes)",
    )


def _check_penalty(config):
    model, train = config.model, config.train
    _check(
        not (
            choices.NORMALIZATIONS[model.d_normalization].batch_statistics
            and train.penalty in choices.PER_EXAMPLE_PENALTIES
        ),
        "model.d_normalization",
        model.d_normalization,
        f"a normalization without batch statistics with train.penalty={train.penalty!r}: "
        "the gradient penalty is per example and batch statistics mix the examples",
    )


def _check_schedule(config):
    train = config.train
    _check(
        train.steps % train.steps_per_epoch == 0,
        "train.steps",
        train.steps,
        f"a multiple of train.steps_per_epoch={train.steps_per_epoch}",
    )
    _check(
        train.steps_per_epoch % train.steps_per_execution == 0,
        "train.steps_per_epoch",
        train.steps_per_epoch,
        f"a multiple of train.steps_per_execution={train.steps_per_execution}",
    )


def _check_encoder(config):
    """The ``train.encoder*`` keys of the encoder term; the weights file must exist."""
    train = config.train
    _check(
        train.encoder != "vgg" or config.data.channels in (None, 3),
        "data.channels",
        config.data.channels,
        "3 with train.encoder='vgg' (VGG reads RGB images)",
    )
    weights = train.encoder_weights
    if weights is None:
        return
    _check(
        train.encoder == "vgg",
        "train.encoder_weights",
        weights,
        "None with train.encoder='conv' (only the vgg encoder has pretrained weights)",
    )
    _check(
        os.path.isfile(weights),
        "train.encoder_weights",
        weights,
        "None or an existing file: Keras' VGG19 ImageNet weights "
        "(vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5; nothing is downloaded)",
    )


def _check_super_resolution(config):
    """The super-resolution GAN: a factor that divides the image size, on a plain, unconditional D."""
    data, model, train = config.data, config.model, config.train
    _check(model.sr_blocks >= 0, "model.sr_blocks", model.sr_blocks, "an integer >= 0")
    _check(
        train.inner_steps == 1 or train.lr_decay == "constant",
        "train.inner_steps",
        train.inner_steps,
        "1 with data.scale > 0 and a decaying rate (train.lr_decay): the schedule counts "
        "G's updates, one per step in the pixel phase",
    )
    _check(
        0 <= train.sr_pretrain_steps <= train.steps,
        "train.sr_pretrain_steps",
        train.sr_pretrain_steps,
        f"an integer in [0, train.steps={train.steps}] (the pixel-loss phase is part of the run)",
    )
    _check(
        train.sr_adversarial_weight >= 0,
        "train.sr_adversarial_weight",
        train.sr_adversarial_weight,
        ">= 0 (0: the adversarial phase trains on the loss terms alone)",
    )
    _check(
        data.image_size % data.scale == 0,
        "data.image_size",
        data.image_size,
        f"a multiple of data.scale={data.scale} (the low-res input is image_size / scale)",
    )
    _check(
        model.mask_source == "none",
        "model.mask_source",
        model.mask_source,
        "'none' with data.scale > 0 (the super-resolution G takes no mask)",
    )
    _check(
        model.num_classes == 0,
        "model.num_classes",
        model.num_classes,
        "0 with data.scale > 0 (the super-resolution G takes no labels)",
    )
    _check(
        config.log.eval_every == 0,
        "log.eval_every",
        config.log.eval_every,
        "0 with data.scale > 0 (the evaluation metrics sample from noise; "
        "benchmarks/super_resolution.py measures PSNR and SSIM)",
    )
    _check(
        config.train.strategy != "multi_worker",
        "train.strategy",
        config.train.strategy,
        "not 'multi_worker' with data.scale > 0 (its batches carry the images only)",
    )


def _check_codes(config):
    """G's latent inputs: InfoGAN's codes parse, the supervised code is one, traversals have a range."""
    model, train, log = config.model, config.train, config.log
    _check(
        len(tuple(model.continuous_range)) == 2,
        "model.continuous_range",
        model.continuous_range,
        "(low, high) with low < high",
    )
    latent = LatentSpec.from_model_config(model)  # raises on K < 2, low >= high, bad names
    categorical = [c.name for c in latent.categorical]
    _check(
        not train.info_supervised_code or train.info_supervised_code in categorical,
        "train.info_supervised_code",
        train.info_supervised_code,
        f"'' or one of the categorical codes {categorical}",
    )
    _check(
        not (train.info_supervised_code and train.strategy == "multi_worker"),
        "train.strategy",
        train.strategy,
        "not 'multi_worker' with train.info_supervised_code: its batches carry the images only",
    )
    low, high = tuple(log.traversal_range) if len(tuple(log.traversal_range)) == 2 else (0, 0)
    _check(low < high, "log.traversal_range", log.traversal_range, "(low, high) with low < high")


def _check_info(config):
    """The info term: codes to infer, and no projection D beside them."""
    model, train = config.model, config.train
    latent = LatentSpec.from_model_config(model)
    _check(
        latent.code_dim,
        "train.terms",
        train.terms,
        "without 'info' unless model.categorical_codes or model.continuous_codes names codes",
    )
    _check(
        not model.num_classes,
        "model.num_classes",
        model.num_classes,
        "0 with the 'info' term (supervise a categorical code with "
        "train.info_supervised_code instead of a projection D)",
    )


def _check_nothing(config):
    """A part without keys of its own beyond the tables' (the plain GAN, the rotation term)."""


def mode(config):
    """The training mode `config` selects: ``"super_resolution"``, ``"attention"`` or ``"plain"``."""
    if config.data.scale:
        return "super_resolution"
    return "attention" if choices.MASK_SOURCES[config.model.mask_source] else "plain"


# Mode -> the check of the keys only that mode reads.
MODE_CHECKS = {
    "plain": _check_nothing,
    "attention": _check_attention,
    "super_resolution": _check_super_resolution,
}

# Loss term -> the check of its own keys.
TERM_CHECKS = {
    "rotation": _check_nothing,
    "encoder": _check_encoder,
    "info": _check_info,
    "verdict": _check_verdict_term,
}

# The parts every run has, checked before its mode and terms.
COMMON_CHECKS = (_check_image_size, _check_tables, _check_labels, _check_penalty, _check_schedule, _check_codes)


def validate_config(config):
    """Raises ValueError naming the first invalid key; does no other work.

    Each part of the run that the config selects checks its own keys: the
    parts every run has, its mode, then each of its loss terms.

    Args:
        config: a ConfigDict shaped like `default_config()`.
    """
    choices.parse_source(config.data.source)
    for check in COMMON_CHECKS:
        check(config)
    MODE_CHECKS[mode(config)](config)
    for term in choices.parse_terms(config.train.terms):
        TERM_CHECKS[term](config)
