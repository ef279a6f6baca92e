"""Does InfoGAN's code control what it should? (Chen et al., 2016, section 7)

    python benchmarks/infogan.py                                  # 3 seeds x 3 experiments, resumable
    python benchmarks/infogan.py --experiments digits --seeds 1 --steps 200   # a short look
    python benchmarks/infogan.py --seeds 1 --first-seed 2   # seed 2 only, e.g. beside a run on another core

Each run trains `configs/{digits,symbols,colored_digits}_infogan.py` from scratch
with `keras_attngan.training.loop.train` for the config's `train.steps` (or
`--steps`), then measures its export:

- categorical control (every experiment): for each value k of the first
  categorical code, `--num` images are synthesized with the code fixed to k
  (the rest from the priors, `attngan synthesize --category k`); the
  domain classifier of the data set (`keras_attngan.metrics.domain_classifier`,
  trained on real images for `JUDGE_STEPS`, longer than the FID extractor,
  so that it is more accurate than the goals; its held-out accuracy is
  reported) labels them.
  ``categorical_accuracy`` matches code values to classes one-to-one with the
  Hungarian algorithm (`scipy.optimize.linear_sum_assignment`, via
  `keras_attngan.metrics.control.categorical_code_accuracy`), as for an
  unsupervised code; ``direct_accuracy`` counts code k = class k, which only
  a supervised code (symbols) can be expected to reach.
- continuous control (symbols): readers of the known factors (ridge
  regressors of rotation, thickness, scale, x, y and a logistic classifier of
  the colour, on the domain classifier's features, fitted on freshly
  rendered `symbols`; their held-out R^2 and accuracy reported) read `--num`
  images drawn with all codes from their priors; the table is |Spearman
  correlation| of each code with each predicted factor
  (`continuous_code_correlation`) and, for the colour, which has no order,
  the correlation ratio eta (`correlation_ratio`, on the same [0, 1] scale).
- continuous control (digits, colored_digits): the data set gives no
  factors, so `--num` images drawn with all codes from their priors are
  measured themselves (`keras_attngan.metrics.control.digit_factors`):
  stroke thickness (twice the ink mass over the mass a one-pixel erosion
  removes) and slant (the shear mu11 / mu02 of the ink's second moments);
  the table is |Spearman| of each code with each (`DIGIT_FACTORS`).
- traversal control (every experiment with continuous codes): `TRAVERSALS`
  latents from the priors, each drawn again with one continuous code set to
  each of `TRAVERSAL_STEPS` values across its prior's range (uniform: its
  range; normal: +-2) and the rest fixed (`attngan synthesize --code
  NAME=VALUE`), the factors read as above (for symbols the ordered ones);
  the table is `keras_attngan.metrics.control.traversal_control`: the
  within-traversal Spearman correlation of code and factor, averaged over
  the traversals with its sign, then its absolute value. The correlation
  over independent samples above mixes in what the other codes and the noise
  do to a factor; this one reads what moving the code does, as the
  traversal grids show it.

Reference rows (every experiment): how well the classes can be found without
a GAN. Each of `CLUSTERINGS` (k-means; spectral clustering on a
nearest-neighbours graph; k-means of a two-dimensional t-SNE map) clusters the
raw pixels of the real images the runs train on into as many clusters as the
data set has classes, and its clusters are matched to the classes as the code
values are (Hungarian,
`categorical_code_accuracy`), for each of `REFERENCE_SEEDS` (seed s: the
images of the run of seed s, at most `REFERENCE_IMAGES` of them, and the clustering's
seed). They sit in the
summary's first table beside the runs' Hungarian accuracy: an unsupervised
categorical code that does not beat them has found less of the classes than
pixel distances do.

Every finished run writes ``RESULTS/records/EXPERIMENT-SEED.json``, each
reference ``RESULTS/records/EXPERIMENT-CLUSTERING.json`` (all its seeds), and a
rerun skips them, so the measurement can be stopped and continued. A run's
record also keeps `LOGGED`: the last value its TensorBoard log holds of
InfoGAN's bound, of Q's accuracy on the fakes and of the IIC information on
the real pairs, and `q_real_categories`: how Q's category groups the real
images, read from the last checkpoint; its code grids are copied to
``RESULTS/grids/EXPERIMENT-GRID-SEED.png`` (`keep_grids`).
``--remeasure`` measures the finished runs' exports (in ``--workdir``) again
without training, for a metric added after they ran. The summary
(mean and standard deviation over seeds) goes to ``RESULTS/summary.json``
and ``RESULTS/summary.md``.
"""

import argparse
import copy
import functools
import importlib
import json
import os
import shutil
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from keras_attngan.apps import study  # noqa: E402

EXPERIMENTS = {
    "digits": "configs.digits_infogan",
    "symbols": "configs.symbols_infogan",
    "colored_digits": "configs.colored_digits_infogan",
}
# The known factors of `symbols`: regressed, and the one classified (it has no order).
FACTORS = ("rotation", "thickness", "scale", "x", "y")
COLOUR = "colour"
# Sources whose continuous control is measured on the images (`digit_factors`), and its factors.
DIGIT_SOURCES = ("digits", "colored_digits")
DIGIT_FACTORS = ("thickness", "slant")
# Traversals per continuous code and code values along each, for `traversal_controls`.
TRAVERSALS = 50
TRAVERSAL_STEPS = 7
# What each run's training log says at its last step, recorded beside the export's
# measurements: InfoGAN's lower bound on I(c; G(z, c)) in nats and Q's accuracy on the
# fakes' categorical codes.
LOGGED = ("info_bound", "info_accuracy", "q_invariant_information")
# The reference rows' seeds, fixed so that a process running some of the runs' seeds
# (`--first-seed`) computes the same references as any other.
REFERENCE_SEEDS = (0, 1, 2)
# The reference clusterings see at most this many of a run's images (its data set's
# first, after the source's shuffle): t-SNE and spectral clustering grow faster than
# the data, and `symbols` renders 20,000.
REFERENCE_IMAGES = 2000
# Training steps of the judge. A 95% (99%) accuracy goal needs a judge more accurate than
# that: the FID extractor's 600 steps reach 0.94-0.97 held out on digits, 2000 reach 0.997.
JUDGE_STEPS = 2000


def judge(source, image_size):
    """The domain classifier of `source`, trained for `JUDGE_STEPS` (its own cache entry)."""
    from keras_attngan.metrics import get_domain_classifier

    return get_domain_classifier(source, image_size, steps=JUDGE_STEPS)


def _kmeans(num_clusters, seed):
    from sklearn.cluster import KMeans

    # scikit-learn's long-standing default of 10 restarts (the best inertia is kept).
    return KMeans(num_clusters, n_init=10, random_state=seed)


def _spectral(num_clusters, seed):
    from sklearn.cluster import SpectralClustering

    # A nearest-neighbours graph, not the default RBF kernel, whose width would have to be
    # tuned to each data set's pixel distances; clusters may then take any shape.
    return SpectralClustering(num_clusters, affinity="nearest_neighbors", random_state=seed)


class _TsneKMeans:
    """k-means of a two-dimensional t-SNE map of the inputs (`fit_predict` only)."""

    def __init__(self, num_clusters, seed):
        self.num_clusters, self.seed = num_clusters, seed

    def fit_predict(self, inputs):
        from sklearn.manifold import TSNE

        # t-SNE's heavy-tailed map pulls each neighbourhood of the pixel space together and
        # pushes the groups apart (van der Maaten and Hinton, 2008); k-means then cuts it.
        embedding = TSNE(2, init="pca", random_state=self.seed).fit_transform(inputs)
        return _kmeans(self.num_clusters, self.seed).fit_predict(embedding)


# Clusterings of the raw pixels for the reference rows: name -> (label, factory of
# (number of clusters, seed) -> an object with scikit-learn's `fit_predict`).
CLUSTERINGS = {
    "kmeans": ("k-means", _kmeans),
    "spectral": ("spectral clustering", _spectral),
    "tsne_kmeans": ("k-means of a t-SNE map", _TsneKMeans),
}


def largest_divisor(number, at_most):
    """The largest divisor of `number` that is at most `at_most` (the configs' step sizes)."""
    return next(d for d in range(min(number, at_most), 0, -1) if number % d == 0)


def run_config(config, seed, steps, overrides):
    """`config` as the benchmark runs it: the seed, the step budget, pictures at the end."""
    config = study.apply_overrides(copy.deepcopy(config), overrides)
    config.seed = seed
    config.train.steps = steps
    config.train.steps_per_epoch = largest_divisor(steps, config.train.steps_per_epoch)
    config.train.steps_per_execution = largest_divisor(
        config.train.steps_per_epoch, config.train.steps_per_execution
    )
    config.log.images_every = steps
    config.log.checkpoint_every = steps
    return config


@functools.lru_cache(maxsize=None)
def factor_readers(image_size, num=3000, seed=1):
    """Ridge regressors of `FACTORS` and a logistic classifier of `COLOUR` on the symbols
    classifier's features; their held-out R^2 and the colour's held-out accuracy."""
    from sklearn.linear_model import LogisticRegression, RidgeCV

    from keras_attngan.data.symbols import render_symbols

    classifier = judge("symbols", image_size)
    data = render_symbols(num, image_size, seed=seed)
    features, _ = classifier.features_and_probabilities(data["images"].astype(np.float32) / 127.5 - 1)
    split = int(0.8 * num)
    regressors, r2 = {}, {}
    for name in FACTORS:
        target = data["factors"][name]
        regressors[name] = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(features[:split], target[:split])
        r2[name] = float(regressors[name].score(features[split:], target[split:]))
    colour = data["factors"][COLOUR]
    classifier = LogisticRegression(max_iter=2000).fit(features[:split], colour[:split])
    return regressors, r2, classifier, float(classifier.score(features[split:], colour[split:]))


def pixel_clustering(source, image_size, seeds=REFERENCE_SEEDS, num_examples=None):
    """Matched accuracy of each of `CLUSTERINGS` on the raw pixels of `source`'s real images.

    Seed s loads the images the run of seed s trains on (`load_source` with
    that seed: the subset when `num_examples` is set, the hues of
    `colored_digits`), keeps the first `REFERENCE_IMAGES` of them and seeds
    the clustering. The images are flattened in
    [-1, 1], one cluster per class, and clusters are matched to classes by
    `categorical_code_accuracy`, as the runs' code values are.

    Args:
        source: a labelled `data.source`.
        image_size: the runs' image size.
        seeds: one accuracy per seed.
        num_examples: the runs' `data.num_examples` (None: all images).

    Returns:
        dict: clustering name -> list of accuracies in [0, 1], one per seed.
    """
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    from keras_attngan.metrics import real_data
    from keras_attngan.metrics.control import categorical_code_accuracy

    accuracies = {name: [] for name in CLUSTERINGS}
    for seed in seeds:
        data = real_data.load_real(source, image_size=image_size, num_examples=num_examples, seed=seed)
        images, labels = (a[:REFERENCE_IMAGES] for a in real_data.arrays(data))
        pixels = images.reshape(len(images), -1).astype(np.float64)
        for name, (_, make) in CLUSTERINGS.items():
            # One thread, as the runs take one core each: on matrices this small, k-means'
            # BLAS and OpenMP threads contend with each other and lose several times over.
            with threadpool_limits(1):
                clusters = make(data.num_classes, seed).fit_predict(pixels)
            accuracies[name].append(categorical_code_accuracy(clusters, labels)["accuracy"])
    return accuracies


def reference_path(results, name, clustering):
    return os.path.join(results, study.RECORDS, f"{name}-{clustering}.json")


def references(name, data, results, seeds=REFERENCE_SEEDS):
    """The reference records of experiment `name`: read back, or computed and written.

    Args:
        name: the experiment.
        data: ``{"source", "image_size", "num_examples"}`` of its runs.
        results: the results directory.
        seeds: see `pixel_clustering`.

    Returns:
        list of records ``{"name", "reference", "data", "seeds", "accuracy"}``,
        one per clustering, ``accuracy`` one value per seed.

    Raises:
        ValueError: a record there was made on other data or seeds.
    """
    done = {}
    for clustering in CLUSTERINGS:
        path = reference_path(results, name, clustering)
        if os.path.exists(path):
            with open(path) as f:
                record = json.load(f)
            if record["data"] != data or record["seeds"] != list(seeds):
                raise ValueError(f"{path} was made on other data or seeds; use another --results.")
            done[clustering] = record
    if len(done) < len(CLUSTERINGS):
        accuracies = pixel_clustering(data["source"], data["image_size"], seeds, data["num_examples"])
        for clustering in CLUSTERINGS:
            if clustering not in done:
                done[clustering] = {"name": name, "reference": clustering, "data": data,
                                    "seeds": list(seeds), "accuracy": accuracies[clustering]}
                study.write_json(reference_path(results, name, clustering), done[clustering])
    return [done[clustering] for clustering in CLUSTERINGS]


def _factor_correlation(code, factor):
    """`continuous_code_correlation` over the images the factor is defined on (those with
    ink); None when too few are, or the factor or code does not vary there."""
    from keras_attngan.metrics.control import continuous_code_correlation

    defined = np.isfinite(factor)
    code, factor = np.asarray(code)[defined], factor[defined]
    if len(code) < 3 or np.ptp(code) == 0 or np.ptp(factor) == 0:
        return None
    return continuous_code_correlation(code, factor)


def traversal_controls(export_path, spec, read_factors, seed):
    """``{code: {factor: traversal_control}}`` of each continuous code of the export.

    `read_factors` maps uint8 images to ``{factor: [N]}``.
    """
    from keras_attngan.apps import synthesis
    from keras_attngan.metrics.control import traversal_control

    result = {}
    for code in spec.continuous:
        low, high = (code.low, code.high) if code.prior == "uniform" else (-2.0, 2.0)
        steps = np.linspace(low, high, TRAVERSAL_STEPS)
        readings = [
            read_factors(synthesis.from_export(export_path, TRAVERSALS, seed=seed, codes=[f"{code.name}={v}"])[0])
            for v in steps
        ]
        result[code.name] = {
            factor: traversal_control(steps, np.stack([r[factor] for r in readings], axis=1))
            for factor in readings[0]
        }
    return result


def measure(export_path, source, image_size, num, seed=0):
    """The control metrics of one export (see the module docstring)."""
    from keras_attngan.apps import synthesis
    from keras_attngan.core.latent import LatentSpec
    from keras_attngan.export import loading
    from keras_attngan.metrics.control import (
        categorical_code_accuracy,
        continuous_code_correlation,
        correlation_ratio,
        digit_factors,
    )

    spec = LatentSpec.from_config(loading.load_metadata(export_path)["latent"])
    classifier = judge(source, image_size)
    result = {"classifier_held_out_accuracy": classifier.held_out_accuracy}
    if spec.categorical:
        codes, predicted = [], []
        for value in range(spec.categorical[0].num_values):
            images, _ = synthesis.from_export(export_path, num, seed=seed + value, category=value)
            predicted.append(classifier.probabilities(images.astype(np.float32) / 127.5 - 1).argmax(-1))
            codes.append(np.full(num, value))
        codes, predicted = np.concatenate(codes), np.concatenate(predicted)
        result["categorical_accuracy"] = categorical_code_accuracy(codes, predicted)["accuracy"]
        result["direct_accuracy"] = float(np.mean(codes == predicted))
    if source == "symbols" and spec.continuous:
        regressors, r2, colour_classifier, colour_accuracy = factor_readers(image_size)
        result["regressor_r2"] = r2
        result["colour_accuracy"] = colour_accuracy
        images, _ = synthesis.from_export(export_path, num, seed=seed + 1000)
        _, _, values = spec.sample_numpy(num, seed + 1000)  # the codes `generate` drew
        features, _ = classifier.features_and_probabilities(images.astype(np.float32) / 127.5 - 1)
        predicted = {name: regressor.predict(features) for name, regressor in regressors.items()}
        colour = colour_classifier.predict(features).astype(np.int64)
        result["code_factor_correlation"] = {
            code: {
                **{name: continuous_code_correlation(values[code], p) for name, p in predicted.items()},
                COLOUR: correlation_ratio(values[code], colour),
            }
            for code in values
        }

        def read(images):
            features, _ = classifier.features_and_probabilities(images.astype(np.float32) / 127.5 - 1)
            return {name: regressor.predict(features) for name, regressor in regressors.items()}

        result["traversal_control"] = traversal_controls(export_path, spec, read, seed + 2000)
    if source in DIGIT_SOURCES and spec.continuous:
        images, _ = synthesis.from_export(export_path, num, seed=seed + 1000)
        _, _, values = spec.sample_numpy(num, seed + 1000)  # the codes `generate` drew
        factors = digit_factors(images.astype(np.float32) / 127.5 - 1)
        result["code_factor_correlation"] = {
            code: {name: _factor_correlation(values[code], factors[name]) for name in DIGIT_FACTORS}
            for code in values
        }
        result["traversal_control"] = traversal_controls(
            export_path, spec, lambda images: digit_factors(images.astype(np.float32) / 127.5 - 1), seed + 2000
        )
    return result


def logged_at_end(workdir):
    """The last value of each of `LOGGED` in the run's TensorBoard log (None where absent)."""
    from keras_attngan.training.callbacks import train_tag
    from keras_attngan.training.experiment import Workdir

    directory = os.path.join(Workdir(workdir).logs, "train")
    curves = {name: study.scalar_curve(directory, train_tag(name)) for name in LOGGED}
    return {name: curve[max(curve)] if curve else None for name, curve in curves.items()}


def keep_grids(workdir, results, name, seed):
    """Copies the run's code grids (`callbacks.CodeGrids`' ``category_*.png`` and
    ``traversal_*.png``) to ``RESULTS/grids/NAME-GRID-SEED.png``; returns their paths."""
    from keras_attngan.training.experiment import Workdir

    samples = Workdir(workdir).samples
    grids = sorted(f for f in os.listdir(samples) if f.startswith(("category_", "traversal_")))
    os.makedirs(os.path.join(results, "grids"), exist_ok=True)
    kept = []
    for grid in grids:
        kept.append(os.path.join(results, "grids", f"{name}-{os.path.splitext(grid)[0]}-{seed}.png"))
        shutil.copyfile(os.path.join(samples, grid), kept[-1])
    return kept


def run_one(name, config, seed, steps, overrides, num, workdir):
    """Trains one run, measures its export; returns its record."""
    from keras_attngan.training.loop import train

    config = run_config(config, seed, steps, overrides)
    if os.path.exists(workdir):  # an interrupted run: start it again
        shutil.rmtree(workdir)
    start = time.perf_counter()
    _, export_path = train(config, workdir)
    seconds = time.perf_counter() - start
    metrics = {**measure(export_path, config.data.source, config.data.image_size, num), **logged_at_end(workdir),
               **q_real_categories(workdir)}
    return {"name": name, "seed": seed, "budget": {"steps": steps, "num": num, "overrides": overrides},
            "train_seconds": round(seconds, 1), "metrics": metrics}


def q_real_categories(workdir):
    """How Q's first categorical code groups the run's real images, from its last checkpoint.

    Q's category of each of the first `REFERENCE_IMAGES` real images the run
    trained on (D in inference mode), matched to the labels as the code values
    are: ``q_real_accuracy`` for the code's logits (the selected sub-head),
    and with sub-heads ``q_subhead_real_accuracy`` (``{index: accuracy}``).
    What G draws for a code value follows Q's category, so this is where a
    miss starts. {} for a run without a categorical code.
    """
    from keras_attngan.metrics import real_data
    from keras_attngan.metrics.control import categorical_code_accuracy
    from keras_attngan.terms import Information
    from keras_attngan.training.experiment import load_config, open_workdir, restore_trainer

    run = open_workdir(workdir)
    config = load_config(run)
    model, _, _ = restore_trainer(config, run)
    term = next((t for t in model.terms if isinstance(t, Information)), None)
    if term is None or not term.latent.categorical:
        return {}
    code = term.latent.categorical[0].name
    data = real_data.load_real(config.data.source, image_size=config.data.image_size,
                               num_examples=config.data.num_examples, seed=config.seed)
    images, labels = (a[:REFERENCE_IMAGES] for a in real_data.arrays(data))
    features = np.concatenate([
        model.discriminator(images[i:i + 256], training=False, return_attention=False)["features"]
        for i in range(0, len(images), 256)
    ])
    outputs = term.q(features)

    def accuracy(logits):
        return categorical_code_accuracy(np.argmax(logits, -1), labels)["accuracy"]

    result = {"q_real_accuracy": accuracy(outputs["logits"][code])}
    if code in outputs.get("subhead_logits", {}):
        result["q_subhead_real_accuracy"] = {
            str(h): accuracy(logits) for h, logits in enumerate(np.asarray(outputs["subhead_logits"][code]))
        }
    return result


def remeasure(config, workdir, num):
    """`measure` of the export a finished run left in `workdir`."""
    from keras_attngan.export import loading

    export_root = os.path.join(workdir, "export")
    if not os.path.isdir(export_root):
        raise ValueError(f"--remeasure: no export under {export_root!r}; pass the --workdir the runs used.")
    metrics = measure(loading.resolve_export(export_root), config.data.source, config.data.image_size, num)
    return {**metrics, **logged_at_end(workdir), **q_real_categories(workdir)}


def _flat(metrics, prefix=""):
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}/"))
        elif value is not None:
            flat[f"{prefix}{key}"] = value
    return flat


def summarize(records):
    """Per experiment: its seeds and each metric's mean and sd over them (`study.interval`)."""
    table = {}
    for record in sorted(records, key=lambda r: (r["name"], r["seed"])):
        row = table.setdefault(record["name"], {"seeds": [], "values": {}})
        row["seeds"].append(record["seed"])
        for key, value in _flat(record["metrics"]).items():
            row["values"].setdefault(key, []).append(value)
    return {
        name: {"seeds": row["seeds"], "metrics": {k: study.interval(v) for k, v in row["values"].items()}}
        for name, row in table.items()
    }


def summarize_references(records):
    """Per experiment and clustering: its seeds and the accuracy's mean and sd over them."""
    table = {}
    for record in sorted(records, key=lambda r: (r["name"], list(CLUSTERINGS).index(r["reference"]))):
        table.setdefault(record["name"], {})[record["reference"]] = {
            "seeds": record["seeds"], "accuracy": study.interval(record["accuracy"])
        }
    return table


def _cell(stat):
    if stat is None:
        return "-"
    if stat["sd"] is None:
        return f"{stat['mean']:.3f}"
    return f"{stat['mean']:.3f} ± {stat['sd']:.3f}"


def markdown(table, budgets, reference_table=None):
    """Categorical control per experiment with the reference rows, then per experiment with
    continuous codes a table of code-by-factor correlations.

    `budgets` maps each experiment of `table` to its budget (steps, num);
    `reference_table` is `summarize_references`'s.
    """
    reference_table = reference_table or {}
    lines = [
        ("Mean ± sd over seeds. Rows \"on pixels\": clusterings of the real images' raw pixels, "
         "matched to the classes as the code values are."),
        "",
        ("| experiment | steps | images per code value | seeds | classifier held-out acc. | "
         "Hungarian acc. | direct acc. | Q on the real images | info bound (nats) |"),
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys([*table, *reference_table]):
        if name in table:
            m = table[name]["metrics"]
            lines.append(
                f"| {name} | {budgets[name]['steps']} | {budgets[name]['num']} | {len(table[name]['seeds'])} | "
                f"{_cell(m.get('classifier_held_out_accuracy'))} | "
                f"{_cell(m.get('categorical_accuracy'))} | {_cell(m.get('direct_accuracy'))} | "
                f"{_cell(m.get('q_real_accuracy'))} | {_cell(m.get('info_bound'))} |"
            )
        for clustering, row in reference_table.get(name, {}).items():
            label = CLUSTERINGS[clustering][0] if clustering in CLUSTERINGS else clustering
            lines.append(f"| {name}: {label} on pixels | - | - | {len(row['seeds'])} | - | "
                         f"{_cell(row['accuracy'])} | - | - | - |")
    for name, row in table.items():
        metrics = row["metrics"]
        readers = any(k.startswith("regressor_r2/") for k in metrics)
        factors_read = "predicted factor" if readers else "factor measured on the images"
        titles = {
            "code_factor_correlation": f"|Spearman| of each continuous code with each {factors_read}"
                                       + (f" ({COLOUR}: eta)" if readers else ""),
            "traversal_control": f"traversal control of each {factors_read} by each continuous code",
        }
        for prefix, title in titles.items():
            keys = [k.split("/") for k in metrics if k.startswith(prefix + "/")]
            if not keys:
                continue
            codes = sorted({k[1] for k in keys})
            factors = list(dict.fromkeys(k[2] for k in keys))
            lines += ["", f"{name}: {title}", "", "| code | " + " | ".join(factors) + " |",
                      "|---|" + "---:|" * len(factors)]
            for code in codes:
                cells = [_cell(metrics.get(f"{prefix}/{code}/{f}")) for f in factors]
                lines.append(f"| {code} | " + " | ".join(cells) + " |")
            if readers and prefix == "code_factor_correlation":
                scores = [_cell(metrics.get(f"regressor_r2/{f}")) for f in FACTORS]
                scores.append(_cell(metrics.get("colour_accuracy")))
                lines.append(f"| (readers' held-out R^2; {COLOUR}: accuracy) | " + " | ".join(scores) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run are first-seed .. first-seed + seeds - 1 (one process per core)")
    parser.add_argument("--steps", type=int, default=None,
                        help="train steps of every run (default: each config's train.steps)")
    parser.add_argument("--num", type=int, default=200, help="images per measurement")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every run, e.g. model.g_width=32 (repeatable)")
    parser.add_argument("--workdir", default=os.path.join(ROOT, "runs", "infogan"))
    parser.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results", "infogan"))
    parser.add_argument("--remeasure", action="store_true",
                        help="measure the finished runs' exports in --workdir again, without training")
    args = parser.parse_args(argv)
    experiments = [e for e in args.experiments.split(",") if e]
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown or not experiments:
        parser.error(f"--experiments takes names from {list(EXPERIMENTS)}; unknown: {unknown}")
    overrides = study.parse_overrides(args.set)
    from keras_attngan.training.validation import validate_config

    configs = {e: importlib.import_module(EXPERIMENTS[e]).get_config() for e in experiments}
    budgets = {
        name: {"steps": args.steps or config.train.steps, "num": args.num, "overrides": overrides}
        for name, config in configs.items()
    }
    for name, config in configs.items():  # every config before any training
        validate_config(run_config(config, 0, budgets[name]["steps"], overrides))
    os.makedirs(os.path.join(args.results, study.RECORDS), exist_ok=True)
    reference_records = []
    for name, config in configs.items():  # cheap: seconds per seed, before any training
        data = run_config(config, 0, budgets[name]["steps"], overrides).data
        data = {"source": data.source, "image_size": data.image_size, "num_examples": data.num_examples}
        reference_records += references(name, data, args.results)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name, config in configs.items():
            steps = budgets[name]["steps"]
            path = study.record_path(args.results, name, seed)
            workdir = os.path.join(args.workdir, str(steps), f"{name}-{seed}")
            if os.path.exists(path):
                with open(path) as f:
                    record = json.load(f)
                if record["budget"] != budgets[name]:
                    raise ValueError(f"{path} was made under another budget; use another --results.")
                if args.remeasure:
                    record["metrics"] = remeasure(run_config(config, seed, steps, overrides), workdir, args.num)
                    study.write_json(path, record)
                    keep_grids(workdir, args.results, name, seed)
                continue
            if args.remeasure:  # measures finished runs only
                print(f"--remeasure: {name} seed {seed} has no record yet; not trained.", flush=True)
                continue
            record = run_one(name, config, seed, steps, overrides, args.num, workdir)
            study.write_json(path, record)
            keep_grids(workdir, args.results, name, seed)
            print(record, flush=True)
    records = [r for r in study.load_records(args.results)
               if "reference" not in r and r["budget"] == budgets.get(r["name"])]
    table = summarize(records)
    reference_table = summarize_references(reference_records)
    command = "python benchmarks/infogan.py " + " ".join(argv if argv is not None else sys.argv[1:])
    study.write_json(os.path.join(args.results, "summary.json"),
                     {"command": command, "budgets": budgets, "table": table, "references": reference_table})
    text = markdown(table, budgets, reference_table)
    with open(os.path.join(args.results, "summary.md"), "w") as f:
        f.write(f"`{command}`\n\n{text}\n")
    print(text)
    return table


if __name__ == "__main__":
    main()
