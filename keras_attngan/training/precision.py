"""Which dtype policy the networks compute in: `train.dtype_policy`, resolved for this machine.

Mixed bfloat16 keeps the variables in float32 and computes in bfloat16
(Kalamkar et al., 2019, "A Study of BFLOAT16 for Deep Learning Training"):
faster where the hardware has bfloat16 arithmetic, and much slower where it
has not, because every bfloat16 operation is then emulated in float32 and
converted back. ``"auto"`` picks mixed bfloat16 exactly where it is native:
a GPU of compute capability 8.0 or more, a TPU, or a CPU with AVX512-BF16 or
AMX-BF16 instructions. Checkpoints do not depend on the choice (the
variables are float32 either way), so a run may resume on another machine.
"""

import contextlib
import functools
import os
import warnings

import keras
import tensorflow as tf

_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def _cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The instruction-set flags of this CPU (Linux); empty where they cannot be read."""
    if not os.path.exists(cpuinfo):
        return frozenset()
    with open(cpuinfo) as f:
        for line in f:
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    return frozenset()


@functools.lru_cache(maxsize=None)
def native_bfloat16():
    """Whether the devices TensorFlow computes on have bfloat16 arithmetic."""
    if tf.config.list_logical_devices("TPU"):
        return True
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capabilities = [
            tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
            for gpu in gpus
        ]
        return all(capability >= (8, 0) for capability in capabilities)
    return bool(_cpu_flags() & set(_CPU_FLAGS))


def resolve(name):
    """The Keras dtype policy of `train.dtype_policy` `name` on this machine.

    ``"auto"`` gives ``"mixed_bfloat16"`` where bfloat16 is native, else
    ``"float32"``. An explicit ``"mixed_bfloat16"`` is kept, with a warning
    where it is emulated.
    """
    if name == "auto":
        return "mixed_bfloat16" if native_bfloat16() else "float32"
    if name == "mixed_bfloat16" and not native_bfloat16():
        warnings.warn(
            "train.dtype_policy='mixed_bfloat16' on a machine without bfloat16 arithmetic "
            f"(no GPU of compute capability 8.0+, TPU, or CPU flag among {list(_CPU_FLAGS)}): "
            "every step is emulated and several times slower than float32. Use "
            "train.dtype_policy=auto or float32.",
            stacklevel=2,
        )
    return name


@contextlib.contextmanager
def policy_scope(name):
    """Networks built inside compute in `train.dtype_policy` `name` (`resolve`d); the previous global policy after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve(name))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
