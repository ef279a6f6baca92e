"""`symbols_attn` with the encoder regularizer (the latent-space term).

An encoder E (conv, spectral norm) is trained with its own Adam to bring E(G(z)) and E(y)
together; G's loss adds mu1 times the pixel difference and mu2 times the latent
difference; a penalty keeps ||G(z) - y|| <= K ||E(G(z)) - E(y)||. In
this unconditional GAN z and y are not pairs, so the batch means are compared.

    attngan train --config configs/symbols_encoder.py --workdir runs/symbols_encoder
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.train.terms = "encoder"
    config.train.encoder = "conv"
    config.train.encoder_mu1 = 1.0
    config.train.encoder_mu2 = 1.0
    config.train.encoder_lipschitz = "spectral_penalty"
    if arg == "smoke":
        smoke(config)
        config.train.encoder_width = 8
    return config
