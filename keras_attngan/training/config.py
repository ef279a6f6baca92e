"""Experiment configuration: the defaults every `configs/*.py` starts from.

A config is data (an `ml_collections.ConfigDict`); `configs/NAME.py` files
change a few keys of `default_config()`, and
`keras_attngan.training.validation.validate_config` refuses bad values before
any work starts. Every key is documented in docs/configuration.md.
"""

import ml_collections


def default_config():
    """The attention GAN on built-in `symbols`, sized to train on a laptop CPU.

    Long by nature: one line per config key, each with its default.
    """
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
    # How G doubles its resolution (keras_attngan.networks.upsampling):
    # "transposed", "resize", "subpixel", or "default" (the architecture's own).
    config.model.g_upsampling = "default"
    config.model.g_normalization = "batch"
    config.model.d_normalization = "none"
    config.model.num_classes = 0
    # How D's raw map becomes a mask in [0, 1]: "peak" (divide by the
    # maximum) or "minmax" (stretch to [0, 1]); then s ** (1 / temperature),
    # so a temperature below 1 raises the contrast.
    config.model.mask_normalization = "peak"
    config.model.mask_temperature = 1.0
    # The cells per side of D's per-cell verdict (mask_source "verdict";
    # keras_attngan.networks.verdict_decoder): 8, 16, ... up to image_size / 2.
    config.model.verdict_cells = 8
    # Where the inner loop's first mask comes from (keras_attngan.core.first_masks):
    # "recurrence" (D's attention on G's uniform-mask image) or "blobs" (a
    # prior of random Gaussian blobs, which needs no G and D pass).
    config.model.first_mask = "recurrence"
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
    # xAI-GAN's reweighting (0 = off): G's gradient at its output is scaled
    # by 1 + g_gradient_mask * D's mask of its images.
    config.train.g_gradient_mask = 0.0
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
    # The "verdict" term (U-Net GAN's per-cell loss; mask_source "verdict"
    # needs it): its weights in D's and G's losses.
    config.train.verdict_weight_d = 1.0
    config.train.verdict_weight_g = 1.0
    # U-Net GAN's CutMix regularization of the verdict: the probability of a
    # mixed batch per D update (0 = off), the D updates it ramps up over,
    # and the weight of the consistency term.
    config.train.verdict_cutmix = 0.0
    config.train.verdict_cutmix_warmup = 0
    config.train.verdict_consistency = 1.0
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
    # IIC (Ji et al., 2019): Q's categories of each real image and of a
    # randomly rotated, scaled and shifted copy share maximal information.
    config.train.info_weight_invariant = 0.0
    # Q's categorical and continuous codes with hidden layers of their own, and
    # the two real-image terms above kept off D's trunk, so that clustering
    # the categories leaves the continuous codes' factors in D's features.
    config.train.info_separate_heads = False
    # Categories of IIC's auxiliary overclustering head on the invariance
    # term's pairs (0 = none).
    config.train.info_overclusters = 0
    # IIC's sub-heads for each unsupervised categorical code: Q's codes read
    # the one whose invariant information is highest (1 = one head).
    config.train.info_subheads = 1
    # The invariance term's copies also get a random saturation, channel
    # order and contrast: for RGB data whose colour is not the class.
    config.train.info_colour_jitter = False
    config.train.info_supervised_code = ""
    config.train.info_label_fraction = 1.0
    config.train.info_q_width = 128
    config.train.ema_decay = 0.0
    config.train.ema_start = 0
    config.train.g_learning_rate = 2e-4
    config.train.d_learning_rate = 2e-4
    # How G's and D's rates change over the run (keras_attngan.training.schedules):
    # "constant", or "cosine" down to lr_decay_floor times the rate by the end of
    # each phase (a super-resolution run's pixel phase, then its adversarial one).
    config.train.lr_decay = "constant"
    config.train.lr_decay_floor = 0.0
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
