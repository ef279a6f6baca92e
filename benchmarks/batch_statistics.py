"""Where does the mask's information live: in G, or in its batch statistics?

    python benchmarks/batch_statistics.py runs/quality/1000/digits-attention-0 [WORKDIR ...]

For each trained workdir, restores the trainer and measures, on 64 latent
vectors, the trainer's own MI estimator's bound (nats per mask) between the
mask ``s = D(G(z, 1))`` and the change ``G(z, s) - G(z, 1)`` it causes, with
G's two passes computed three ways:

- ``separate``: two G calls in training mode, each batch normalized by its
  own statistics (the inner loop before `recurrence.generate_pair`);
- ``paired``: one G call on both halves in training mode (`recurrence.generate_pair`,
  the inner loop now);
- ``inference``: G in inference mode, moving statistics (the export).

Beside each, the same bound with the masks shifted by one sample (a shuffled
control, near or below zero when nothing links a mask to its own change).
A bound that is high only for ``separate`` is information that batch
normalization carried between samples of one batch and the exported G cannot
use. Writes ``benchmarks/results/batch_statistics.json``.
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def measure(workdir_path, num=64, seed=0):
    """The three bounds and their shuffled controls for one workdir."""
    import numpy as np
    import tensorflow as tf

    from keras_attngan.trainers import recurrence
    from keras_attngan.training.experiment import Workdir, load_config, restore_trainer

    workdir = Workdir(workdir_path)
    config = load_config(workdir)
    model, _, step = restore_trainer(config, workdir)
    generator, discriminator, estimator = model.generator, model.discriminator, model.mi_estimator
    latent = {"z": tf.random.stateless_normal((num, config.model.latent_dim), seed=[seed, 0])}
    size = config.data.image_size
    uniform = tf.ones((num, size, size, 1))
    masks = discriminator(generator({**latent, "mask": uniform}), training=False)["attention"]
    shifted = tf.gather(masks, np.roll(np.arange(num), 1))

    def separate(training):
        return (
            generator({**latent, "mask": uniform}, training=training),
            generator({**latent, "mask": masks}, training=training),
        )

    passes = {
        "separate": lambda: separate(True),
        "paired": lambda: recurrence.generate_pair(generator, latent, uniform, masks, training=True),
        "inference": lambda: separate(False),
    }
    result = {"workdir": workdir_path, "step": step, "ceiling": None}
    for name, run in passes.items():
        before, after = run()
        change = after - before
        bound = estimator(masks, change, training=False)
        result[name] = float(bound.bound)
        result[f"{name}_shuffled"] = float(estimator(shifted, change, training=False).bound)
        result[f"{name}_change"] = float(tf.reduce_mean(tf.abs(change)))
        result["ceiling"] = float(bound.ceiling)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "batch_statistics.json"))
    args = parser.parse_args(argv)
    rows = [measure(path) for path in args.workdirs]
    print("| workdir | separate (shuffled) | paired (shuffled) | inference (shuffled) | ceiling |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        cells = [f"{row[k]:.2f} ({row[k + '_shuffled']:.2f})" for k in ("separate", "paired", "inference")]
        print(f"| {os.path.basename(row['workdir'])} | " + " | ".join(cells) + f" | {row['ceiling']:.2f} |")
    command = "python benchmarks/batch_statistics.py " + " ".join(argv if argv is not None else sys.argv[1:])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"command": command, "rows": rows}, f, indent=2)
    print(f"\nWrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
