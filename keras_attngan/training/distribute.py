"""`train.strategy`: which `tf.distribute` strategy trains the model.

The trainer is built under the strategy's scope and Keras' `fit` runs
`train_step` once per replica on its share of each global batch (the config's
`data.batch_size` is the global batch). `AttnGAN` scales its losses by the
number of replicas, so the summed gradients are those of the global batch,
and draws each replica's noise as its slice of one global draw.

- ``default``: no distribution (one device);
- ``mirrored``: `tf.distribute.MirroredStrategy` over the local GPUs, or
  over the logical CPU devices when there is no GPU (tests split one CPU in
  two);
- ``multi_worker``: `tf.distribute.MultiWorkerMirroredStrategy`; the
  cluster and this process's task come from the ``TF_CONFIG`` environment
  variable, and it must be created before TF runs any op;
- ``tpu``: `tf.distribute.TPUStrategy` on the TPU the environment names.
"""

import json
import os

import tensorflow as tf

from keras_attngan.core.registry import lookup


def _mirrored():
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def _tpu():
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


STRATEGIES = {
    "default": tf.distribute.get_strategy,
    "mirrored": _mirrored,
    "multi_worker": tf.distribute.MultiWorkerMirroredStrategy,
    "tpu": _tpu,
}

# One strategy per name and process: multi-worker and TPU strategies set up
# their cluster once, and every model of a process must share it.
_CREATED = {}


def get_strategy(name):
    """Returns the process's strategy called `name` (created on first use).

    Raises:
        ValueError: `name` is not in `STRATEGIES`.
    """
    create = lookup(STRATEGIES, name, "train.strategy")
    if name not in _CREATED:
        _CREATED[name] = create()
    return _CREATED[name]


def worker_task():
    """(task type, index) of this process in TF_CONFIG's cluster, or None without one."""
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task")
    return (task["type"], int(task["index"])) if task else None


def is_chief(name):
    """Whether this process writes the run's files under `train.strategy` `name`.

    In a multi-worker run the chief (task ``chief``, or ``worker`` 0 when the
    cluster has no chief) writes the workdir; the other workers write theirs
    under ``WORKDIR/workers/TASK`` (every worker must save, since saving
    reads the replicated variables together).
    """
    if name != "multi_worker":
        return True
    task = worker_task()
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if task is None:
        return True
    if "chief" in cluster:
        return task[0] == "chief"
    return task == ("worker", 0)
