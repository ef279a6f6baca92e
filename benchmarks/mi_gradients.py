"""How hard the MI term pulls on G against the adversarial loss, in trained runs.

    python benchmarks/mi_gradients.py runs/quality/1000/digits-pairs16_sharp-0 ...

For each workdir (a finished `benchmarks/quality.py` run, or any `attngan
train` workdir with a mask source), restores the trainer and runs the first
inner-loop iteration on one batch (64 fixed z): ``x_prev = G(z, 1)``, ``s =
D(x_prev)``'s mask, ``(x_prev, x_cur)`` from one G call. It reports the
gradient norms of G's adversarial loss and of the weighted MI term (the
weight the run's `train.mi_weighting` gives it) on G's mask modulations, on
the rest of G (its trunk), at G's output and at the change, with the mean
``|dx|`` and the estimator's temperature. A ratio above 1 means the MI term,
not the adversarial loss, decides G's update there. Writes the records to
``--out`` (JSON).
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from keras_attngan.core import first_masks  # noqa: E402
from keras_attngan.trainers import recurrence  # noqa: E402
from keras_attngan.training import experiment  # noqa: E402


def _norm(gradients):
    return float(tf.linalg.global_norm([g for g in gradients if g is not None]))


def measure(path, batch_size=64, seed=0):
    """The gradient norms of one run (see the module docstring)."""
    workdir = experiment.Workdir(path)
    config = experiment.load_config(workdir)
    model, _, step = experiment.restore_trainer(config, workdir)
    generator, discriminator = model.generator, model.discriminator
    latent = {
        key: tf.constant(value)
        for key, value in model.latent.inputs_numpy(batch_size, seed).items()
    }
    uniform = first_masks.uniform_mask(batch_size, discriminator.image_size)
    _, outputs = recurrence.mask_step(generator, discriminator, latent, uniform, True)
    mask = ops.stop_gradient(outputs["attention"])
    with tf.GradientTape(persistent=True) as tape:
        previous, current = recurrence.generate_pair(
            generator, latent, uniform, mask, model.mi_pairs or None, True
        )
        logits = discriminator(current, training=True)["logits"]
        adversarial = model.loss_fn(ops.zeros_like(logits), logits).g_loss
        change = current[: ops.shape(previous)[0]] - previous
        mi = model.mi_estimator(mask, change, training=True)
    weight = float(
        model.weight_mi(
            model.lambda_mi,
            tape.gradient(adversarial, current),
            tape.gradient(mi.loss, change),
        )
    )
    record = {
        "workdir": path,
        "step": int(step),
        "mi_weighting": model.mi_weighting,
        "lambda_mi": model.lambda_mi,
        "mi_weight": weight,
        "mi_bound": float(mi.bound),
        "temperature": float(model.mi_estimator.temperature())
        if hasattr(model.mi_estimator, "temperature")
        else None,
        "mean_abs_change": float(ops.mean(ops.abs(change))),
    }
    modulation = [v for v in generator.trainable_variables if "modulation" in v.path]
    trunk = [v for v in generator.trainable_variables if "modulation" not in v.path]
    parts = {"trunk": trunk, "modulation": modulation, "output": [current], "change": [change]}
    for part, sources in parts.items():
        adversarial_norm = _norm(tape.gradient(adversarial, sources))
        mi_norm = weight * _norm(tape.gradient(mi.loss, sources))
        record[part] = {
            "adversarial": adversarial_norm,
            "weighted_mi": mi_norm,
            "ratio": mi_norm / adversarial_norm if adversarial_norm else None,
        }
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument(
        "--out", default=os.path.join(ROOT, "benchmarks", "results", "mi_gradients.json")
    )
    args = parser.parse_args(argv)
    records = [measure(path, args.batch_size) for path in args.workdirs]
    print("| run | step | weight | MI/adv. trunk | MI/adv. modulation | MI/adv. output | mean abs dx |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in records:
        print(
            f"| {os.path.basename(os.path.normpath(r['workdir']))} | {r['step']} | {r['mi_weight']:.3g} "
            f"| {r['trunk']['ratio']:.2f} | {r['modulation']['ratio']:.2f} "
            f"| {r['output']['ratio']:.2f} | {r['mean_abs_change']:.4f} |"
        )
    summary = {}
    for r in records:
        name = os.path.basename(os.path.normpath(r["workdir"])).rsplit("-", 1)[0]
        summary.setdefault(f"{name} at step {r['step']}", []).append(r["trunk"]["ratio"])
    for name, ratios in summary.items():
        print(f"{name}: MI/adversarial on G's trunk {np.mean(ratios):.2f} (mean of {len(ratios)})")
    command = "python benchmarks/mi_gradients.py " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(args.out, "w") as f:
        json.dump({"command": command, "records": records}, f, indent=2)


if __name__ == "__main__":
    main()
