"""The peer: a plain Keras 3 DCGAN with a hand-written `train_step`, keras-io style.

It uses exactly the networks of `configs/symbols_baseline.py` (our generator
without a mask input, our discriminator with mask source `none`) and the same
data pipeline. Its step is the one of the keras-io DCGAN example: one tape per
player, D first on a concatenated real + fake batch from a fresh G pass, then
G on new noise, non-saturating loss via binary cross-entropy on logits, Adam.
Both networks are called in training mode: the keras-io networks have no batch
normalization, ours do, and a G whose batch normalization ran in inference
mode would train another, cheaper model.
"""

import keras
import tensorflow as tf
from keras import ops

from keras_attngan.networks.discriminator import Discriminator
from keras_attngan.networks.generator import build_generator
from keras_attngan.training import precision
from keras_attngan.training.build import adam


class PeerDCGAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, seed=0):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def train_step(self, data):
        real = data["images"]
        batch_size = ops.shape(real)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake = self.generator({"z": z}, training=True)
        images = ops.concatenate([fake, real], axis=0)
        labels = ops.concatenate([ops.zeros((batch_size, 1)), ops.ones((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            logits = self.discriminator(images, training=True, return_attention=False)["logits"]
            d_loss = self.bce(labels, logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake = self.generator({"z": z}, training=True)
            logits = self.discriminator(fake, training=True, return_attention=False)["logits"]
            g_loss = self.bce(ops.ones((batch_size, 1)), logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def build_peer(config):
    """The peer for a (baseline) config: same networks, dtype policy, optimizers and compile options."""
    size, channels, model = config.data.image_size, config.data.channels, config.model
    with precision.policy_scope(config.train.dtype_policy):
        peer = PeerDCGAN(
            build_generator(model.latent_dim, size, channels, model.g_width, use_mask=False),
            Discriminator(size, channels, model.d_width, attention="none"),
            model.latent_dim,
            seed=config.seed,
        )
    train = config.train
    peer.compile(
        adam(config, "d"),
        adam(config, "g"),
        jit_compile=train.jit_compile,
        steps_per_execution=train.steps_per_execution,
    )
    return peer
