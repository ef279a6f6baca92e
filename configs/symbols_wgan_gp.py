"""`symbols_attn` trained as WGAN-GP (Gulrajani et al., 2017): Wasserstein loss, gradient penalty.

The paper's recipe: weight 10, five critic updates per generator update, Adam with
learning rate 1e-4 and moments (0, 0.9). D has no batch statistics, as the penalty
needs (it is per example).

    attngan train --config configs/symbols_wgan_gp.py --workdir runs/symbols_wgan_gp
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.train.loss = "wasserstein"
    config.train.penalty = "wgan_gp"
    config.train.penalty_weight = 10.0
    config.train.d_steps = 5
    config.train.g_learning_rate = 1e-4
    config.train.d_learning_rate = 1e-4
    config.train.g_beta_1 = config.train.d_beta_1 = 0.0
    config.train.g_beta_2 = config.train.d_beta_2 = 0.9
    return smoke(config) if arg == "smoke" else config
