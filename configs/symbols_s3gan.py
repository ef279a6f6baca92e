"""S3GAN on `symbols` (Lucic et al., 2019): the class-conditional GAN on pseudo-labels.

`configs/symbols_conditional.py` reading 10% of the labels: before training, a
rotation network learns features from all images and a linear classifier
fitted on 10% of each class labels the rest (`keras_attngan.training.semi_supervised`);
the run keeps them in WORKDIR/pseudo_labels.npz.

    attngan train --config configs/symbols_s3gan.py --workdir runs/symbols_s3gan
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.num_classes = 3
    config.model.g_normalization = "conditional_batch"
    config.model.d_normalization = "spectral"
    config.data.label_fraction = 0.1
    return smoke(config) if arg == "smoke" else config
