"""The attention-guided GAN on the 1,797 handwritten digits scikit-learn ships.

The MI term's weight is balanced against the adversarial loss (`train.mi_weighting`,
the default), which keeps the MI term from taking over G's training. The MI term reads
8 of the 32 samples of each batch (`train.mi_pairs`): the same FID and mask usage as
16 of them at a lower step cost. The masks are sharpened (`model.mask_temperature =
0.5`, the mask's square): G reads them more. The networks compute in float32, also
where the hardware has bfloat16: at this width the model's FID is higher in bfloat16,
beyond the interval, while the plain GAN's is not. The first mask is drawn from a prior
of blobs (`model.first_mask = "blobs"`), as in `symbols_attn.py`. The measurements are
in benchmarks/README.md, *Quality study* and *Speed*.
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.data.source = "digits"
    config.data.batch_size = 32
    config.train.steps = 4000
    config.train.mi_pairs = 8
    config.model.mask_temperature = 0.5
    config.model.first_mask = "blobs"
    config.train.dtype_policy = "float32"
    return smoke(config) if arg == "smoke" else config
