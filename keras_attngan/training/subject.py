"""A trainer in memory as the subject of the metrics (`keras_attngan.metrics.suite.Subject`).

The callbacks score the live trainer with it, and `keras_attngan.apps.evaluation`
a restored one; the metrics themselves import nothing of the trainer.
"""

import numpy as np
import tensorflow as tf

from keras_attngan.metrics.suite import Subject


def subject_from_model(model, info=None):
    """A `Subject` for an in-memory trainer (`keras_attngan.trainers`)."""
    d = model.discriminator
    return Subject(
        generate=lambda latent: np.asarray(model.synthesize(tensors(latent))["images"]),
        discriminator=d,
        latent=model.latent,
        image_shape=(d.image_size, d.image_size, d.channels),
        generate_with_mask=(
            (
                lambda latent, mask: np.asarray(
                    model.inference_generator({**tensors(latent), "mask": tf.constant(mask, tf.float32)})
                )
            )
            if model.attends
            else None
        ),
        info={
            "train_steps": int(model.train_steps.numpy()),
            "mask_source": d.attention,
            "inner_steps": model.inner_steps,
            **(info or {}),
        },
    )


def tensors(latent):
    """NumPy latent inputs as tensors of their own dtypes (a label stays int32)."""
    return {name: tf.constant(value) for name, value in latent.items()}
