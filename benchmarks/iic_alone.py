"""Can Q cluster the real digits with IIC alone, without the GAN around it?

    python benchmarks/iic_alone.py                    # 3 seeds, the InfoGAN config's nets
    python benchmarks/iic_alone.py --seeds 1 --steps 500 --set train.info_overclusters=0

The `info` term's invariance option (`train.info_weight_invariant`) trains Q's
categorical head and D's trunk to put each real image and a randomly rotated,
scaled and shifted copy of it in the same category (IIC, Ji et al., 2019). In
a GAN that objective shares D's trunk with the adversarial loss and its
categories reach the images only through G. This script takes the GAN away:
D's trunk and Q's head of `configs/digits_infogan.py` (overrides with
``--set``) are trained on IIC's objective alone, on the real images, with the
term's own `invariant_information` (and, with `train.info_overclusters`, the
overclustering head) and `nuisance_transform`, at the config's batch size and
D's Adam settings. Every ``--every`` steps Q's category of each real image is
matched to the labels (Hungarian, `categorical_code_accuracy`), as
benchmarks/infogan.py matches code values. If Q cannot find the classes here,
a GAN around it cannot draw them from its code.

Every finished seed writes ``RESULTS/records/iic_alone-SEED.json`` (skipped when
run again); the summary (accuracy and IIC information at each checkpoint,
mean and sd over seeds) goes to ``RESULTS/summary.json`` and ``summary.md``.
"""

import argparse
import importlib
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_attngan.apps import study  # noqa: E402

NAME = "iic_alone"


def run(config, steps, every, seed):
    """Trains D's trunk and Q on IIC alone; returns ``[(step, information, accuracy)]``."""
    from keras_attngan.core.latent import LatentSpec
    from keras_attngan.metrics import real_data
    from keras_attngan.metrics.control import categorical_code_accuracy
    from keras_attngan.terms.infogan import Information, invariant_information, nuisance_transform
    from keras_attngan.training.build import adam, build_networks

    keras.utils.set_random_seed(seed)
    data = real_data.load_real(config.data.source, image_size=config.data.image_size,
                               num_examples=config.data.num_examples, seed=seed)
    images, labels = real_data.arrays(data)  # float32 in [-1, 1]
    config.data.channels = images.shape[-1]
    latent = LatentSpec.from_model_config(config.model)
    generator, discriminator = build_networks(config, latent)
    term = Information.from_networks(
        generator, discriminator, latent,
        weight_invariant=1.0, overclusters=config.train.info_overclusters, width=config.train.info_q_width,
    )
    (code,) = term.unsupervised_codes
    optimizer = adam(config, "d")
    seed_generator = keras.random.SeedGenerator(seed)
    variables = discriminator.trainable_variables + term.q.trainable_variables

    def information(batch):
        outputs = [term.predict(discriminator, x) for x in (batch, nuisance_transform(batch, seed_generator))]
        codes = invariant_information(outputs[0]["logits"][code], outputs[1]["logits"][code])
        if term.overclusters:
            return codes, codes + invariant_information(outputs[0]["overcluster"], outputs[1]["overcluster"])
        return codes, codes

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            codes, total = information(batch)
            loss = -total
        gradients = tape.gradient(loss, variables)
        # D's classifier and the continuous head get no gradient from IIC.
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
        return codes

    def accuracy():
        categories = [
            np.argmax(term.q(discriminator(images[i : i + 256], training=False,
                                           return_attention=False)["features"])["logits"][code], -1)
            for i in range(0, len(images), 256)
        ]
        return categorical_code_accuracy(np.concatenate(categories), labels)["accuracy"]

    rng = np.random.default_rng(seed)
    history = []
    for s in range(1, steps + 1):
        codes = step(images[rng.integers(0, len(images), config.data.batch_size)])
        if s % every == 0:
            history.append((s, float(codes), accuracy()))
            print(NAME, "seed", seed, "step", *history[-1], flush=True)
    return history


def summarize(records):
    """Per checkpoint step: the accuracy's and the information's mean and sd over seeds."""
    rows = {}
    for record in records:
        for step, information, accuracy in record["history"]:
            row = rows.setdefault(step, {"information": [], "accuracy": []})
            row["information"].append(information)
            row["accuracy"].append(accuracy)
    return {step: {k: study.interval(v) for k, v in row.items()} for step, row in sorted(rows.items())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs.digits_infogan")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, e.g. train.info_overclusters=0 (repeatable)")
    parser.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results", "infogan", NAME))
    args = parser.parse_args(argv)
    overrides = study.parse_overrides(args.set)
    config = study.apply_overrides(importlib.import_module(args.config).get_config(), overrides)
    budget = {"config": args.config, "steps": args.steps, "every": args.every, "overrides": overrides}
    os.makedirs(os.path.join(args.results, study.RECORDS), exist_ok=True)
    for seed in range(args.seeds):
        path = study.record_path(args.results, NAME, seed)
        if os.path.exists(path):
            with open(path) as f:
                if json.load(f)["budget"] != budget:
                    raise ValueError(f"{path} was made under another budget; use another --results.")
            continue
        start = time.perf_counter()
        history = run(config, args.steps, args.every, seed)
        study.write_json(path, {"name": NAME, "seed": seed, "budget": budget,
                                "train_seconds": round(time.perf_counter() - start, 1), "history": history})
    records = [r for r in study.load_records(args.results) if r["budget"] == budget]
    table = summarize(records)
    command = "python benchmarks/iic_alone.py " + " ".join(argv if argv is not None else sys.argv[1:])
    study.write_json(os.path.join(args.results, "summary.json"),
                     {"command": command, "budget": budget, "seeds": len(records), "table": table})
    lines = [f"`{command}`", "", f"Mean ± sd over {len(records)} seeds; Q's categories of all "
             f"{config.data.source} images matched to the labels.", "",
             "| step | Hungarian acc. | IIC information (nats) |", "|---:|---:|---:|"]
    for step, row in table.items():
        cells = [f"{row[k]['mean']:.3f}" + (f" ± {row[k]['sd']:.3f}" if row[k]["sd"] is not None else "")
                 for k in ("accuracy", "information")]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
