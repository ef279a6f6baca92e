"""Evaluation: extractor throughput, and the FID noise floor of real-vs-real splits.

    python benchmarks/eval_benchmark.py                 # about 1-2 minutes on 2 CPU cores
    python benchmarks/eval_benchmark.py --quick --out /tmp/eval.json   # a smoke run

Prints Markdown tables and writes every number to a JSON file (default
benchmarks/results/eval.json):

- throughput: images/s through each extractor on this machine: the domain
  classifier at 32x32, and Inception-v3 at 299x299 with RANDOM weights
  (``InceptionExtractor(weights="random")``, Keras' ``weights=None``: no
  pretrained weights can be downloaded here; the architecture, hence the
  cost, is the same), resize included; plus the time of one Fréchet distance
  (``scipy.linalg.sqrtm``) at 64 and 2048 dimensions;
- noise floor: FID and KID between two disjoint random halves of each
  built-in dataset's real images at 32x32 (mean, spread and maximum over 10
  random splits), with the domain classifier's features (the classifier is
  trained, or read from the cache, first). Two samples of the same data are
  not at FID 0: differences between models smaller than this floor (at the
  same sample size) mean nothing.
"""

import argparse
import json
import os
import platform
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_attngan.metrics import (
    InceptionExtractor,
    fid_from_features,
    frechet_distance,
    get_domain_classifier,
    kid_from_features,
    real_data,
)

DATASETS = ("symbols", "digits", "colored_digits")
IMAGE_SIZE = 32
SPLITS = 10


def _images_per_second(extractor, images, repeats):
    extractor.features(images[: extractor.batch_size])  # warm-up: tracing
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        extractor.features(images)
        best = min(best, time.perf_counter() - start)
    return len(images) / best


def measure_throughput(classifier, quick):
    """images/s of the domain classifier and of random-weight Inception-v3."""
    rng = np.random.default_rng(0)
    small = rng.uniform(-1, 1, (512 if quick else 4096, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(
        np.float32
    )
    keras.utils.set_random_seed(0)  # the same random Inception (and name) every run
    inception = InceptionExtractor(weights="random", batch_size=32)
    large = rng.uniform(-1, 1, (32 if quick else 128, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    repeats = 1 if quick else 3
    rows = {
        classifier.name: {
            "images_per_s": _images_per_second(classifier, small, repeats),
            "input": f"{IMAGE_SIZE}x{IMAGE_SIZE}x3, batch {classifier.batch_size}",
        },
        inception.name: {
            "images_per_s": _images_per_second(inception, large, repeats),
            "input": f"{IMAGE_SIZE}x{IMAGE_SIZE}x3 resized to 299x299 (bilinear), batch 32, "
            "random weights",
        },
    }
    for dim in (64, 2048):
        a = rng.normal(size=(4 * dim, dim))
        start = time.perf_counter()
        frechet_distance(
            a.mean(0), np.cov(a, rowvar=False), a.mean(0) + 0.1, np.cov(a, rowvar=False)
        )
        rows[f"frechet_distance_{dim}d_seconds"] = time.perf_counter() - start
    return rows


def noise_floor(source, cache_dir, quick):
    """FID / KID between two disjoint random halves of `source`'s real images.

    Repeated over `SPLITS` random splits: one split's FID is itself noisy, and
    the spread over splits is what a difference between two models must
    exceed.
    """
    classifier = get_domain_classifier(source, IMAGE_SIZE, cache_dir=cache_dir)
    count = {"symbols": 2000 if quick else 10000}.get(source)
    data = real_data.load_real(source, image_size=IMAGE_SIZE, num_examples=count)
    images, _ = real_data.arrays(data)
    features = classifier.features(images)
    half = len(images) // 2
    splits = 3 if quick else SPLITS
    rows = []
    for size in sorted({half, 898}) if source == "symbols" else [half]:
        fids, kids = [], []
        for split in range(splits):
            order = np.random.default_rng(split).permutation(len(images))
            a, b = features[order[:size]], features[order[half : half + size]]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fids.append(fid_from_features(a, b))
            subset = min(1000, size // 2)
            kids.append(kid_from_features(a, b, num_subsets=50, subset_size=subset)["mean"])
        rows.append(
            {
                "source": source,
                "per_half": size,
                "splits": splits,
                "fid_mean": float(np.mean(fids)),
                "fid_std": float(np.std(fids)),
                "fid_max": float(np.max(fids)),
                "kid_mean": float(np.mean(kids)),
                "kid_std": float(np.std(kids)),
                "extractor": classifier.name,
                "held_out_accuracy": classifier.held_out_accuracy,
                "classifier_train_seconds": classifier.metadata.get("train_seconds"),
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images: a smoke run")
    parser.add_argument(
        "--cache_dir", default=None, help="classifier / reference cache (default: the user cache)"
    )
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "eval.json"),
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    floors = [row for source in DATASETS for row in noise_floor(source, args.cache_dir, args.quick)]
    symbols_classifier = get_domain_classifier("symbols", IMAGE_SIZE, cache_dir=args.cache_dir)
    throughput = measure_throughput(symbols_classifier, args.quick)

    print("\n| extractor | input | images/s |\n|---|---|---|")
    for name, row in throughput.items():
        if isinstance(row, dict):
            print(f"| {name} | {row['input']} | {row['images_per_s']:.0f} |")
    for dim in (64, 2048):
        print(
            f"\nFréchet distance at {dim} dimensions: "
            f"{throughput[f'frechet_distance_{dim}d_seconds']:.3f} s"
        )
    print(
        "\n| data | images per half | FID real vs real: mean ± sd (max) over splits "
        "| KID x 1e3: mean ± sd | classifier held-out accuracy |"
    )
    print("|---|---|---|---|---|")
    for row in floors:
        print(
            f"| {row['source']} | {row['per_half']} | {row['fid_mean']:.3f} ± {row['fid_std']:.3f} "
            f"({row['fid_max']:.3f}) | {1e3 * row['kid_mean']:.2f} ± {1e3 * row['kid_std']:.2f} | "
            f"{row['held_out_accuracy']:.2%} |"
        )
    report = {
        "command": "python benchmarks/eval_benchmark.py" + (" --quick" if args.quick else ""),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "throughput": throughput,
        "noise_floor": floors,
        "seconds": time.perf_counter() - start,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nWrote {args.out} ({report['seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
