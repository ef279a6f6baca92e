"""The trainers' arithmetic under `tf.distribute`: loss scaling, per-replica noise, weight averages."""

import tensorflow as tf
from keras import ops


def update_moving_average(averages, values, decay):
    """``average <- decay * average + (1 - decay) * value`` for each pair of variables.

    Under a `tf.distribute` strategy the update runs in cross-replica context,
    as Keras' optimizers update their variables: a mirrored variable cannot
    be assigned from one replica.

    Args:
        averages: the variables holding the averages.
        values: as many variables (or tensors) of the same shapes.
        decay: a scalar in [0, 1); 0 copies `values`.
    """

    def update(strategy, values, decay):
        for average, value in zip(averages, values):
            strategy.extended.update(
                average,
                lambda variable, value, decay: variable.assign(
                    decay * variable + (1.0 - decay) * ops.cast(value, variable.dtype)
                ),
                args=(value, decay),
                group=False,
            )

    tf.__internal__.distribute.interim.maybe_merge_call(
        update, tf.distribute.get_strategy(), [ops.convert_to_tensor(v) for v in values], decay
    )


def replicas():
    """(number of replicas in sync, this replica's index); (1, 0) without distribution."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: called outside `strategy.run`
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def scaled_loss(optimizer, loss):
    """The loss to differentiate: this replica's share of the global-batch loss.

    Each replica computes `loss` as the mean over its part of the global
    batch, and the optimizer sums the replicas' gradients, so dividing by
    the number of replicas gives the gradient of the global-batch mean. Under
    a `LossScaleOptimizer` (``mixed_float16``) `scale_loss` multiplies by the
    loss scale, which the optimizer divides out of the gradients.
    """
    count, _ = replicas()
    return optimizer.scale_loss(loss / count)


def replica_latent(latent, batch_size, seed_generator):
    """This replica's noise: its slice of one global-batch draw from `seed_generator`.

    Every replica advances the same seed state, so drawing only its own
    batch would give all replicas the same z; slicing one global draw gives
    each replica different noise, and the global batch the noise a single
    device draws.
    """
    count, index = replicas()
    sample = latent.sample(batch_size * count, seed_generator)
    if count == 1:
        return sample
    start = index * batch_size
    return {key: value[start : start + batch_size] for key, value in sample.items()}

