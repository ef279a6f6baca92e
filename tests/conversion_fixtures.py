"""A SavedModel whose only op no converter supports (shared by the converter tests)."""

import tensorflow as tf


def unsupported_saved_model(path):
    """Saves ``y = betainc(x, x, x)`` (tf.Betainc: no TFLite builtin, no ONNX op) to `path`."""
    module = tf.Module()
    module.f = tf.function(
        lambda x: {"y": tf.math.betainc(x, x, x)}, input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")]
    )
    tf.saved_model.save(module, path, signatures={"serving_default": module.f.get_concrete_function()})
    return path
