"""x4 super-resolution of photographs with seed 001's VGG encoder regularizer.

Targets are random 32x32 crops of the photographs scikit-learn ships (`photos`: china.jpg
and flower.jpg, no download; the right quarter of each is held out as `data.split=test`),
inputs their 8x8 bicubic downscales. G is the fully convolutional upscaler
(`keras_attngan.networks.upscaler`), D the DCGAN D on high-res patches without a mask,
E the VGG encoder (claim 20) trained from scratch; give it ImageNet weights with
`--config.train.encoder_weights=PATH/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`
(then its VGG trunk is frozen). G's loss: adversarial + 1.0 * |G(z) - y| + 0.1 * latent
difference (mu1, mu2; the pixel term dominates, as in SRGAN-style training).

    attngan train --config configs/photos_sr_x4.py --workdir runs/photos_sr_x4
    attngan upscale --model runs/photos_sr_x4/export --input small.png --output large.png
"""

from keras_attngan.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.data.source = "photos"
    config.data.image_size = 32
    config.data.scale = 4
    config.data.batch_size = 16
    config.model.mask_source = "none"
    config.model.g_width = 32
    config.model.d_width = 32
    config.train.terms = "encoder"
    config.train.encoder = "vgg"
    config.train.encoder_width = 16
    config.train.encoder_mu1 = 1.0
    config.train.encoder_mu2 = 0.1
    config.train.encoder_lipschitz = "spectral_penalty"
    config.train.g_learning_rate = 1e-4
    config.train.d_learning_rate = 1e-4
    config.train.steps = 2000
    config.log.num_images = 8
    if arg == "smoke":
        smoke(config)
        config.data.num_examples = 64
        config.data.image_size = 16
        config.model.g_width = 8
        config.model.d_width = 8
        config.train.encoder_width = 4
        config.log.num_images = 4
    return config
