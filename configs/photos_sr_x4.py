"""x4 super-resolution of photographs: an L1 phase, then SRGAN-style adversarial training with the encoder regularizer.

Targets are random 64x64 crops of the photographs the installed packages ship (`photos`:
scikit-learn's china.jpg and flower.jpg, scikit-image's astronaut and rocket; no download),
flipped and rotated; chelsea and coffee are held out whole (`data.split=test`). Inputs are
their 16x16 bicubic downscales. G is bicubic interpolation plus an EDSR-style residual
(`keras_attngan.networks.upscaler`, starting at zero); D the DCGAN D on high-res patches
without a mask; E the conv encoder trained from scratch.

Training follows SRGAN (Ledig et al., 2017) and ESRGAN (Wang et al., 2018): the first
`train.sr_pretrain_steps` steps descend the L1 pixel loss alone (the PSNR model), the rest add
D's verdict with the small weight `train.sr_adversarial_weight` beside the encoder's pixel
(mu1) and latent (mu2) terms. Each phase decays its learning rate along half a cosine
(`train.lr_decay`). `benchmarks/super_resolution.py` measures both phases.

    attngan train --config configs/photos_sr_x4.py --workdir runs/photos_sr_x4
    attngan export --workdir runs/photos_sr_x4
    attngan upscale --model runs/photos_sr_x4/export --input small.png --output large.png
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.data.source = "photos"
    config.data.image_size = 64
    config.data.scale = 4
    config.data.batch_size = 16
    config.model.mask_source = "none"
    config.model.g_width = 64
    config.model.sr_blocks = 4
    config.model.d_width = 32
    config.train.terms = "encoder"
    config.train.encoder = "conv"
    config.train.encoder_width = 16
    config.train.encoder_mu1 = 1.0
    config.train.encoder_mu2 = 0.1
    config.train.encoder_lipschitz = "spectral_penalty"
    config.train.sr_pretrain_steps = 6000
    config.train.sr_adversarial_weight = 5e-3
    config.train.g_learning_rate = 5e-4
    config.train.g_beta_1 = 0.9
    config.train.d_learning_rate = 1e-4
    config.train.lr_decay = "cosine"
    config.train.steps = 6300
    config.train.steps_per_epoch = 100
    config.log.num_images = 8
    if arg == "smoke":
        smoke(config)
        config.data.num_examples = 64
        config.data.image_size = 16
        config.model.g_width = 8
        config.model.sr_blocks = 1
        config.model.d_width = 8
        config.train.encoder_width = 4
        config.train.sr_pretrain_steps = 10
        config.log.num_images = 4
    return config
