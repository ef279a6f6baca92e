"""Why TFLite's generator is slow: one transposed convolution, dynamic against fixed batch.

    python benchmarks/tflite_layers.py        # about 1 minute on 2 CPU cores

G upsamples with `Conv2DTranspose`. This times, on LiteRT, one of G's
transposed convolutions (8x8x128 -> 16x16x64, kernel 4, stride 2) against the
convolution of the same cost that D uses (16x16x64 -> 8x8x128), each
converted from a SavedModel with a dynamic batch dimension (as the exported
signatures have) and with the batch fixed at 1, in float32 and dynamic-range
int8. Best of `--repeats` rounds of `--calls` calls at batch 1; writes
results/tflite_layers.json.
"""

import argparse
import os
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import write_report  # noqa: E402

from keras_attngan.export import tflite  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS = {
    "conv_transpose 8x8x128 -> 16x16x64": (
        lambda: keras.layers.Conv2DTranspose(64, 4, strides=2, padding="same"),
        (8, 8, 128),
    ),
    "conv 16x16x64 -> 8x8x128": (lambda: keras.layers.Conv2D(128, 4, strides=2, padding="same"), (16, 16, 64)),
}


def save_layer(layer, shape, batch, path):
    module = tf.Module()
    module.weights = [variable.value for variable in layer.variables]
    module.f = tf.function(
        lambda x: {"y": layer(x)}, input_signature=[tf.TensorSpec([batch, *shape], tf.float32, name="x")]
    )
    tf.saved_model.save(module, path, signatures={"serving_default": module.f.get_concrete_function()})


def best_ms(runner, x, calls, repeats):
    for _ in range(10):
        runner({"x": x})
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            runner({"x": x})
        rounds.append(1e3 * (time.perf_counter() - start) / calls)
    return min(rounds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "tflite_layers.json"))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for name, (make, shape) in LAYERS.items():
            layer = make()
            layer.build((None, *shape))
            x = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
            for batch in (None, 1):
                saved = os.path.join(root, f"{len(rows)}")
                save_layer(layer, shape, batch, saved)
                for quantization in ("float32", "dynamic_int8"):
                    path = f"{saved}.{quantization}.tflite"
                    tflite.convert(saved, path, "serving_default", quantization)
                    runner = tflite.Runner(path, "serving_default", num_threads=2)
                    rows.append(
                        {
                            "layer": name,
                            "batch": "dynamic" if batch is None else "fixed 1",
                            "quantization": quantization,
                            "ms": best_ms(runner, x, args.calls, args.repeats),
                        }
                    )
    lines = ["| layer | batch dimension | quantization | ms per call (batch 1) |", "|---|---|---|---:|"]
    lines += [f"| {r['layer']} | {r['batch']} | {r['quantization']} | {r['ms']:.3f} |" for r in rows]
    # Where the report goes is no setting of the measurement (and names a path of this machine).
    settings = {key: value for key, value in vars(args).items() if key != "out"}
    write_report({"rows": rows, "load_average": os.getloadavg(), "settings": settings}, args.out, "\n".join(lines))


if __name__ == "__main__":
    main()
