"""S3GAN pseudo-label accuracy against the labelled fraction (Lucic et al., 2019).

    python benchmarks/s3gan_labels.py            # symbols 32x32, 10000 images, 3 seeds
    python benchmarks/s3gan_labels.py --quick --out /tmp/s3gan_labels.json   # a smoke run

For each seed, a rotation network (`keras_attngan.training.semi_supervised`) is
pre-trained on all images without labels; then, for each labelled fraction, a
logistic regression on its features is fitted on that fraction of each class
and labels the rest. Reported per fraction: the pseudo-labels' accuracy on the
unlabelled images, mean and 95% t-interval over seeds, and the rotation
accuracy of the pre-trained networks. Chance is 1 / number of classes.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import write_report  # noqa: E402

from keras_attngan.apps.study import interval  # noqa: E402
from keras_attngan.data import load_source  # noqa: E402
from keras_attngan.training.semi_supervised import classify_features, rotation_features  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="symbols")
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--num_examples", type=int, default=10000)
    parser.add_argument("--fractions", default="0.01,0.05,0.1,0.25")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="rotation pre-training epochs")
    parser.add_argument("--width", type=int, default=32, help="rotation network width")
    parser.add_argument("--quick", action="store_true", help="16x16, 300 images, 1 epoch: a smoke run")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "s3gan_labels.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.image_size, args.num_examples, args.epochs, args.width, args.seeds = 16, 300, 1, 8, 2
    return args


def main(argv=None):
    args = parse(argv)
    fractions = [float(f) for f in args.fractions.split(",")]
    data = load_source(args.source, image_size=args.image_size, num_examples=args.num_examples)
    examples = next(data.dataset.batch(data.num_examples).as_numpy_iterator())
    images = examples["images"].astype(np.float32) / 127.5 - 1.0
    accuracies = {fraction: [] for fraction in fractions}
    rotation_accuracies, seconds = [], []
    for seed in range(args.seeds):
        start = time.perf_counter()
        features, rotation_accuracy = rotation_features(
            images, seed=seed, epochs=args.epochs, width=args.width
        )
        seconds.append(time.perf_counter() - start)
        rotation_accuracies.append(rotation_accuracy)
        for fraction in fractions:
            accuracies[fraction].append(classify_features(features, examples["labels"], fraction, seed)[2])
    report = {
        "source": args.source,
        "image_size": args.image_size,
        "num_examples": data.num_examples,
        "num_classes": data.num_classes,
        "chance": 1 / data.num_classes,
        "seeds": args.seeds,
        "epochs": args.epochs,
        "width": args.width,
        "pretraining_seconds": interval(seconds),
        "rotation_accuracy": interval(rotation_accuracies),
        "accuracy": {str(f): {"values": v, **interval(v)} for f, v in accuracies.items()},
    }
    lines = [
        f"S3GAN pseudo-labels on {args.source} ({data.num_examples} images, {data.num_classes} "
        f"classes, chance {report['chance']:.3f}); rotation accuracy "
        f"{report['rotation_accuracy']['mean']:.3f}",
        "| labelled fraction | pseudo-label accuracy (mean +- 95% CI over seeds) |",
        "|---:|---|",
    ]
    for fraction, values in report["accuracy"].items():
        ci = "n/a" if values["ci95"] is None else f"{values['ci95']:.3f}"
        lines.append(f"| {float(fraction):.0%} | {values['mean']:.3f} +- {ci} |")
    write_report(report, args.out, "\n".join(lines))


if __name__ == "__main__":
    main()
