"""Where a train step's time goes: TensorFlow's profiler on timed steps, op by op.

`profile_steps` runs a built variant (`harness.build_variant`) for some steps
under `tf.profiler.experimental`, reads the trace (an XSpace protobuf) and
adds up the time of every TensorFlow op the executor ran, by the part of the
step its node belongs to: the generator's and the discriminator's forward and
backward passes, the MI estimator, the optimizers' updates, and the rest
(losses, masks, the MI term's arithmetic, slicing and concatenation, random
draws, metrics). The part comes from the node's name scope: Keras names
each call of a network after the network, and TensorFlow puts a gradient op
under ``gradient_tape/`` followed by the scope of the op it differentiates.
"""

import collections
import glob
import os
import re
import tempfile

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from harness import run_steps

# The scope a node's name starts with, once the function-call prefixes are
# removed, and the part of the step it belongs to.
NETWORKS = {"generator": "G", "discriminator": "D", "mi_estimator": "MI estimator"}
OTHER = "rest (losses, masks, MI arithmetic, slices, random draws, metrics)"
OPTIMIZERS = "optimizer updates"


def part_of(node):
    """The part of the step a node belongs to, from its full name (see the module docstring)."""
    node = re.sub(r"^.*StatefulPartitionedCall/", "", node)
    backward = node.startswith("gradient_tape/")
    scope = node.removeprefix("gradient_tape/").split("/")[0]
    for prefix, network in NETWORKS.items():
        if re.fullmatch(rf"{prefix}(_\d+)*", scope):
            return f"{network} {'backward' if backward else 'forward'}"
    if re.fullmatch(r"adam(_\d+)*", scope):
        return OPTIMIZERS
    return OTHER


def op_times(space):
    """{(node name, op type): total picoseconds} over the executor's threads of an XSpace."""
    times = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            # The executor's threads run the kernels; the other lines hold
            # the Python caller, tf.data and the kernels' own thread pools.
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                node, _, op_type = name.rpartition(":")
                if node and "::" not in name:
                    times[node, op_type] += event.duration_ps
    return times


def profile_steps(variant, steps):
    """Profiles `steps` train steps of a warmed-up variant.

    Returns:
        ``{"op_ms_per_step": total op time, "parts": {part: ms per step},
        "op_types": {part: {op type: ms per step}}}``; op time adds up the
        executor threads' work, so it can exceed the step's wall time.
    """
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        try:
            run_steps(variant, steps)
        finally:
            tf.profiler.experimental.stop()
        path = max(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")), key=os.path.getmtime)
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
    parts, op_types = collections.Counter(), collections.defaultdict(collections.Counter)
    for (node, op_type), picoseconds in op_times(space).items():
        ms = picoseconds / 1e9 / steps
        parts[part_of(node)] += ms
        op_types[part_of(node)][op_type.removeprefix("_MklNative").removeprefix("_Mkl")] += ms
    return {
        "op_ms_per_step": sum(parts.values()),
        "parts": dict(parts.most_common()),
        "op_types": {part: dict(types.most_common()) for part, types in op_types.items()},
    }
