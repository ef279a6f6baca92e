"""Experiment configuration: the defaults every `configs/*.py` starts from.

A config is data (an `ml_collections.ConfigDict`); `configs/NAME.py` files
change a few keys of `default_config()` and `validate_config` rejects bad
values before any work starts. Every key is documented in docs/configuration.md.
"""

import os

import ml_collections

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


def default_config():
    """The attention GAN on built-in `symbols`, sized to train on a laptop CPU."""
    config = ml_collections.ConfigDict()
    config.seed = 0

    config.data = ml_collections.ConfigDict()
    config.data.source = "symbols"
    config.data.image_size = 32
    config.data.batch_size = 64
    config.data.num_examples = ml_collections.config_dict.placeholder(int)
    config.data.split = "train"
    config.data.data_dir = ml_collections.config_dict.placeholder(str)
    config.data.download = True
    config.data.skip_bad_files = False
    # The fraction of the labels a class-conditional GAN may read. Below 1 it
    # trains on S3GAN's pseudo-labels (`keras_attngan.training.semi_supervised`): a
    # rotation network learns features from all images, a linear classifier
    # fitted on this fraction labels the rest.
    config.data.label_fraction = 1.0
    # Filled in by `attngan train` from the data; stored with the run so that
    # `export` rebuilds the networks without loading the data.
    config.data.channels = ml_collections.config_dict.placeholder(int)
    # Paired super-resolution: 0 = off, else 2 or 4.
    # Batches pair each image (data.image_size, the high-res target) with
    # its bicubic downscale by `scale`, and G maps the low-res to high-res.
    config.data.scale = 0

    config.model = ml_collections.ConfigDict()
    config.model.latent_dim = 64
    config.model.g_width = 64
    config.model.d_width = 64
    config.model.mask_source = "learned"
    # Residual blocks of the super-resolution G (data.scale > 0), whose
    # width is g_width (keras_attngan.networks.upscaler).
    config.model.sr_blocks = 4
    # Networks (keras_attngan.networks): the architecture of both, and each
    # one's normalization; num_classes > 0 makes the GAN class-conditional
    # (G with conditional batch norm, D with a projection head).
    config.model.architecture = "dcgan"
    config.model.g_normalization = "batch"
    config.model.d_normalization = "none"
    config.model.num_classes = 0
    # How D's raw map becomes a mask in [0, 1]: "peak" (divide by the
    # maximum) or "minmax" (stretch to [0, 1]); then s ** (1 / temperature),
    # so a temperature below 1 raises the contrast.
    config.model.mask_normalization = "peak"
    config.model.mask_temperature = 1.0
    # The MI term: estimator (keras_attngan.core.mutual_information.MI_ESTIMATORS), its
    # critic and its negatives (infonce: the other "changes", or every mask
    # of the batch, "masks"), the cells both maps are read on, the levels a
    # mask value is read at (barber_agakov) and the width of a learned network.
    config.model.mi_estimator = "infonce"
    config.model.mi_critic = "locality"
    config.model.mi_negatives = "changes"
    config.model.mi_cell_size = 8
    config.model.mi_levels = 8
    config.model.q_width = 16
    # The noise's distribution ("normal" or "uniform" on [-1, 1]) and
    # InfoGAN's latent codes (keras_attngan.core.latent; Chen et al., 2016):
    # categorical "NAME:K[:W1/.../WK]" and continuous "NAME[:uniform|normal]",
    # comma-separated; uniform continuous codes draw from continuous_range.
    # Ranges are lists, not tuples: the stored config (JSON) compares equal on resume.
    config.model.noise_distribution = "normal"
    config.model.categorical_codes = ""
    config.model.continuous_codes = ""
    config.model.continuous_range = [-1.0, 1.0]

    config.train = ml_collections.ConfigDict()
    config.train.steps = 3000
    config.train.steps_per_epoch = 250
    config.train.inner_steps = 1
    config.train.lambda_mi = 1.0
    # Samples per batch (per replica) the MI term reads, the first of G's
    # batch; 0: all. Each costs one more G forward and backward pass, so the
    # fewer, the cheaper the step (configs/digits_attn.py sets 8).
    config.train.mi_pairs = 0
    # How lambda_mi weights the MI term in G's loss
    # (keras_attngan.core.mutual_information.MI_WEIGHTINGS): "fixed" (the weight is
    # lambda_mi) or "balanced" (lambda_mi times the adversarial loss's
    # gradient norm over the MI loss's, at G's output). With "fixed" the MI
    # term took over G's updates and FID stopped improving (docs/design.md,
    # note 2e). Runs stored before this key trained with "fixed"
    # (experiment._BEFORE_THE_KEY).
    config.train.mi_weighting = "balanced"
    # Adversarial loss (keras_attngan.core.losses.LOSSES) and D's penalty
    # (keras_attngan.core.penalties.PENALTIES): weight * penalty joins D's loss,
    # computed every `penalty_every` D updates only and then times
    # `penalty_every` (lazy regularization, as StyleGAN2 does for R1).
    config.train.loss = "non_saturating"
    config.train.penalty = "none"
    config.train.penalty_weight = 10.0
    config.train.penalty_every = 1
    # D updates per train step (compare_gan's disc_iters), each on its own
    # data.batch_size real images: a step reads d_steps batches.
    config.train.d_steps = 1
    # Exponential moving average of G's weights (0 = off), averaged from
    # train step `ema_start` on; the average is what is evaluated and exported.
    # Loss terms with their own networks (keras_attngan.terms.TERMS),
    # comma-separated, e.g. "rotation" (SS-GAN), with their weights.
    config.train.terms = ""
    config.train.rotation_weight_d = 1.0
    config.train.rotation_weight_g = 0.2
    # The encoder term ("encoder"): E (conv, or vgg with optional
    # ImageNet weights from `encoder_weights`, a local file) trains with its
    # own Adam on ||E(G(z)) - E(y)||^2; G's loss gains mu1 * |G(z) - y| +
    # mu2 * ||E(G(z)) - E(y)||^2; the Lipschitz mechanism
    # (keras_attngan.core.lipschitz.LIPSCHITZ) bounds ||G(z) - y|| by K times the
    # latent distance.
    config.train.encoder = "conv"
    config.train.encoder_width = 32
    config.train.encoder_weights = ml_collections.config_dict.placeholder(str)
    config.train.encoder_mu1 = 1.0
    config.train.encoder_mu2 = 1.0
    config.train.encoder_lipschitz = "spectral_penalty"
    config.train.encoder_lipschitz_k = 1.0
    config.train.encoder_lipschitz_weight = 1.0
    config.train.encoder_learning_rate = 2e-4
    # Super-resolution (data.scale > 0), as SRGAN and ESRGAN train: the
    # first sr_pretrain_steps of train.steps descend the L1 pixel loss
    # alone, the rest add D's verdict weighted by sr_adversarial_weight to
    # the loss terms (the encoder's pixel and latent differences).
    config.train.sr_pretrain_steps = 0
    config.train.sr_adversarial_weight = 1.0
    # The "info" term (InfoGAN's Q head on D's trunk): weights of the
    # categorical and continuous information losses, the categorical code the
    # data's labels supervise ("" = unsupervised), the share of real images
    # whose labels are used, the weight of Q's clustering of the real images
    # with the unsupervised categorical codes (0 = off), and the width of Q's
    # hidden layer.
    config.train.info_weight_categorical = 1.0
    config.train.info_weight_continuous = 0.1
    config.train.info_weight_supervised = 1.0
    config.train.info_weight_clustering = 0.0
    config.train.info_supervised_code = ""
    config.train.info_label_fraction = 1.0
    config.train.info_q_width = 128
    config.train.ema_decay = 0.0
    config.train.ema_start = 0
    config.train.g_learning_rate = 2e-4
    config.train.d_learning_rate = 2e-4
    # Adam's moments per player (DCGAN's 0.5, 0.999; WGAN-GP and SN-GAN
    # use 0, 0.9 for both, TTUR-style setups may split them).
    config.train.g_beta_1 = 0.5
    config.train.g_beta_2 = 0.999
    config.train.d_beta_1 = 0.5
    config.train.d_beta_2 = 0.999
    config.train.jit_compile = False
    config.train.steps_per_execution = 10
    config.train.dtype_policy = "float32"
    # TF op determinism: bitwise-repeatable runs; Keras turns XLA off.
    config.train.deterministic = False
    # tf.distribute strategy (keras_attngan.training.distribute); data.batch_size is
    # the global batch, split over the replicas.
    config.train.strategy = "default"
    config.train.on_non_finite = "stop"
    config.train.rollback_lr_factor = 0.5
    config.train.max_rollbacks = 3

    config.log = ml_collections.ConfigDict()
    config.log.scalars_every = 50
    config.log.images_every = 500
    config.log.num_images = 36
    config.log.checkpoint_every = 500
    config.log.keep_checkpoints = 3
    config.log.export_on_end = True
    # Evaluation during training (keras_attngan.metrics; 0 = off): metrics of
    # `eval_num` generated vs as many real images, with the cached domain
    # classifier of `data.source` as feature extractor.
    config.log.eval_every = 0
    config.log.eval_metrics = "fid,kid"
    config.log.eval_num = 512
    # InfoGAN's code grids (callbacks.CodeGrids, when the model has codes):
    # continuous codes are swept over traversal_range in traversal_steps.
    config.log.traversal_range = [-2.0, 2.0]
    config.log.traversal_steps = 7
    return config


def smoke(config):
    """Shrinks `config` in place to a run of a few seconds (the `:smoke` variant)."""
    config.data.num_examples = 256
    config.data.batch_size = 16
    config.model.g_width = 16
    config.model.d_width = 16
    config.model.q_width = 8
    config.model.latent_dim = 16
    config.train.steps = 20
    config.train.steps_per_epoch = 10
    config.train.steps_per_execution = 5
    config.log.scalars_every = 5
    config.log.images_every = 10
    config.log.num_images = 16
    config.log.checkpoint_every = 10
    return config


def _check(condition, key, value, expectation):
    if not condition:
        refuse(key, value, expectation)


def validate_config(config):
    """Raises ValueError naming the first invalid key; does no other work.

    It needs no TensorFlow (`keras_attngan.core.choices`), so `attngan train`
    refuses a bad value before paying TensorFlow's import time.

    Args:
        config: a ConfigDict shaped like `default_config()`.
    """
    data, model, train, log = config.data, config.model, config.train, config.log
    choices.parse_source(data.source)
    try:
        choices.num_stages(data.image_size)
    except ValueError:  # its message names the networks' argument, not the config key
        refuse(
            "data.image_size",
            data.image_size,
            "4 * 2**n with n >= 1 (8, 16, 32, 64, ...): the networks double the resolution "
            "from 4x4 at each stage",
        )
    _check(data.batch_size >= 1, "data.batch_size", data.batch_size, "an integer >= 1")
    _check(
        model.mask_source in choices.MASK_SOURCES,
        "model.mask_source",
        model.mask_source,
        f"one of {list(choices.MASK_SOURCES)}",
    )
    _check(
        model.mask_normalization in choices.MASK_NORMALIZATIONS,
        "model.mask_normalization",
        model.mask_normalization,
        f"one of {sorted(choices.MASK_NORMALIZATIONS)}",
    )
    _check(
        model.architecture in choices.ARCHITECTURES,
        "model.architecture",
        model.architecture,
        f"one of {list(choices.ARCHITECTURES)}",
    )
    for key in ("g_normalization", "d_normalization"):
        _check(
            model[key] in choices.NORMALIZATIONS,
            f"model.{key}",
            model[key],
            f"one of {list(choices.NORMALIZATIONS)}",
        )
    _check(model.num_classes >= 0, "model.num_classes", model.num_classes, "an integer >= 0 (0 = unconditional)")
    _check(0 < data.label_fraction <= 1, "data.label_fraction", data.label_fraction, "in (0, 1]")
    _check(
        data.label_fraction == 1 or model.num_classes > 0,
        "data.label_fraction",
        data.label_fraction,
        "1 for an unconditional GAN (model.num_classes=0): pseudo-labels train a "
        "class-conditional one (InfoGAN's supervised codes: train.info_label_fraction)",
    )
    conditional_g = choices.NORMALIZATIONS[model.g_normalization].needs_labels
    _check(
        conditional_g == (model.num_classes > 0),
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
    _check(model.mask_temperature > 0, "model.mask_temperature", model.mask_temperature, "a number > 0")
    _check(
        model.mi_estimator in choices.MI_ESTIMATORS,
        "model.mi_estimator",
        model.mi_estimator,
        f"one of {sorted(choices.MI_ESTIMATORS)}",
    )
    _check(
        model.mi_critic in choices.MI_CRITICS,
        "model.mi_critic",
        model.mi_critic,
        f"one of {list(choices.MI_CRITICS)}",
    )
    _check(
        model.mi_negatives in choices.MI_NEGATIVES,
        "model.mi_negatives",
        model.mi_negatives,
        f"one of {list(choices.MI_NEGATIVES)}",
    )
    _check(
        model.mi_cell_size >= 1 and data.image_size % model.mi_cell_size == 0,
        "model.mi_cell_size",
        model.mi_cell_size,
        f"an integer >= 1 that divides data.image_size={data.image_size}",
    )
    _check(model.mi_levels >= 2, "model.mi_levels", model.mi_levels, "an integer >= 2")
    if choices.MASK_SOURCES[model.mask_source]:
        needed = choices.MI_ESTIMATORS[model.mi_estimator]
        _check(
            data.batch_size >= needed,
            "data.batch_size",
            data.batch_size,
            f"at least {needed}, which model.mi_estimator={model.mi_estimator!r} needs",
        )
        _check(
            isinstance(train.mi_pairs, int)
            and (train.mi_pairs == 0 or needed <= train.mi_pairs <= data.batch_size),
            "train.mi_pairs",
            train.mi_pairs,
            f"0 (the whole batch) or an integer from {needed} "
            f"(model.mi_estimator={model.mi_estimator!r} needs it) to "
            f"data.batch_size={data.batch_size}",
        )
    _check(
        train.mi_weighting in choices.MI_WEIGHTINGS,
        "train.mi_weighting",
        train.mi_weighting,
        f"one of {list(choices.MI_WEIGHTINGS)}",
    )
    _check(train.loss in choices.LOSSES, "train.loss", train.loss, f"one of {sorted(choices.LOSSES)}")
    _check(
        train.penalty in choices.PENALTIES,
        "train.penalty",
        train.penalty,
        f"one of {sorted(choices.PENALTIES)}",
    )
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
    _check(
        train.dtype_policy in DTYPE_POLICIES,
        "train.dtype_policy",
        train.dtype_policy,
        f"one of {list(DTYPE_POLICIES)}",
    )
    for key in ("latent_dim", "g_width", "d_width", "q_width"):
        _check(model[key] >= 1, f"model.{key}", model[key], "an integer >= 1")
    _check(
        train.inner_steps >= 1,
        "train.inner_steps",
        train.inner_steps,
        "an integer >= 1 (K, the generator inner-loop length)",
    )
    _check(
        isinstance(train.mi_pairs, int) and train.mi_pairs >= 0,
        "train.mi_pairs",
        train.mi_pairs,
        "an integer >= 0 (0: the whole batch)",
    )
    _check(
        train.strategy in choices.STRATEGIES,
        "train.strategy",
        train.strategy,
        f"one of {list(choices.STRATEGIES)}",
    )
    _check(
        train.on_non_finite in ON_NON_FINITE,
        "train.on_non_finite",
        train.on_non_finite,
        f"one of {list(ON_NON_FINITE)}",
    )
    _check(
        0 < train.rollback_lr_factor < 1,
        "train.rollback_lr_factor",
        train.rollback_lr_factor,
        "in (0, 1) (the learning rates are multiplied by it at each rollback)",
    )
    _check(train.max_rollbacks >= 0, "train.max_rollbacks", train.max_rollbacks, "an integer >= 0")
    terms = choices.parse_terms(train.terms)
    _validate_encoder(config, "encoder" in terms)
    _validate_super_resolution(config)
    _validate_codes(config)
    for key in ("lambda_mi", "penalty_weight", "rotation_weight_d", "rotation_weight_g"):
        _check(train[key] >= 0, f"train.{key}", train[key], "a number >= 0")
    _check(0 <= train.ema_decay < 1, "train.ema_decay", train.ema_decay, "in [0, 1) (0 = off)")
    _check(train.ema_start >= 0, "train.ema_start", train.ema_start, "an integer >= 0")
    for key in ("g_learning_rate", "d_learning_rate"):
        _check(train[key] > 0, f"train.{key}", train[key], "a number > 0")
    for key in ("g_beta_1", "g_beta_2", "d_beta_1", "d_beta_2"):
        _check(0 <= train[key] < 1, f"train.{key}", train[key], "in [0, 1)")
    for key in ("steps", "steps_per_epoch", "steps_per_execution", "penalty_every", "d_steps"):
        _check(train[key] >= 1, f"train.{key}", train[key], "an integer >= 1")
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
    _check(log.eval_every >= 0, "log.eval_every", log.eval_every, "an integer >= 0 (0 = off)")
    for key in ("scalars_every", "images_every", "checkpoint_every", "keep_checkpoints", "num_images"):
        _check(log[key] >= 1, f"log.{key}", log[key], "an integer >= 1")



def _validate_encoder(config, enabled):
    """The ``train.encoder*`` keys of the encoder term; the weights file must exist."""
    train = config.train
    _check(
        train.encoder in choices.ENCODERS, "train.encoder", train.encoder, f"one of {list(choices.ENCODERS)}"
    )
    _check(
        train.encoder_lipschitz in choices.LIPSCHITZ,
        "train.encoder_lipschitz",
        train.encoder_lipschitz,
        f"one of {list(choices.LIPSCHITZ)}",
    )
    for key in ("encoder_mu1", "encoder_mu2", "encoder_lipschitz_weight"):
        _check(train[key] >= 0, f"train.{key}", train[key], "a number >= 0")
    for key in ("encoder_lipschitz_k", "encoder_learning_rate"):
        _check(train[key] > 0, f"train.{key}", train[key], "a number > 0")
    _check(train.encoder_width >= 1, "train.encoder_width", train.encoder_width, "an integer >= 1")
    if not enabled:
        return
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


SCALES = (0, 2, 4)


def _validate_super_resolution(config):
    """``data.scale``: a factor that divides the image size, on a plain, unconditional D."""
    data, model = config.data, config.model
    _check(data.scale in SCALES, "data.scale", data.scale, f"one of {list(SCALES)} (0 = off)")
    if not data.scale:
        return
    train = config.train
    _check(model.sr_blocks >= 0, "model.sr_blocks", model.sr_blocks, "an integer >= 0")
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


def _validate_codes(config):
    """InfoGAN's keys: the codes parse, and the info term has what it needs."""
    model, train, log = config.model, config.train, config.log
    _check(
        len(tuple(model.continuous_range)) == 2,
        "model.continuous_range",
        model.continuous_range,
        "(low, high) with low < high",
    )
    latent = LatentSpec.from_model_config(model)  # raises on K < 2, low >= high, bad names
    info = "info" in choices.parse_terms(train.terms)
    _check(
        not info or latent.code_dim,
        "train.terms",
        train.terms,
        "without 'info' unless model.categorical_codes or model.continuous_codes names codes",
    )
    _check(
        not (info and model.num_classes),
        "model.num_classes",
        model.num_classes,
        "0 with the 'info' term (supervise a categorical code with "
        "train.info_supervised_code instead of a projection D)",
    )
    for key in (
        "info_weight_categorical",
        "info_weight_continuous",
        "info_weight_supervised",
        "info_weight_clustering",
    ):
        _check(train[key] >= 0, f"train.{key}", train[key], "a number >= 0")
    _check(train.info_q_width >= 1, "train.info_q_width", train.info_q_width, "an integer >= 1")
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
    _check(
        0 < train.info_label_fraction <= 1,
        "train.info_label_fraction",
        train.info_label_fraction,
        "in (0, 1]",
    )
    low, high = tuple(log.traversal_range) if len(tuple(log.traversal_range)) == 2 else (0, 0)
    _check(low < high, "log.traversal_range", log.traversal_range, "(low, high) with low < high")
    _check(log.traversal_steps >= 2, "log.traversal_steps", log.traversal_steps, "an integer >= 2")
