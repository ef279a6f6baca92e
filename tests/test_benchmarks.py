"""The benchmark harness runs and writes a valid results file (no timing assertions)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))


@pytest.mark.slow  # the slowest test of the suite (about a minute)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_speed_quick_run_writes_results(tmp_path):
    import speed

    out = tmp_path / "speed.json"
    speed.main(["--quick", "--steps", "10", "--repeats", "1", "--out", str(out)])
    report = json.loads(out.read_text())
    names = [row["variant"] for row in report["training"]]
    assert names == ["peer (keras-io DCGAN)", "baseline", "learned K=1"]
    for row in report["training"]:
        assert row["step_ms"] > 0 and row["gflop_per_step"] > 0
        # One trace per model, none after the warm-up: a retrace per step is a bug.
        assert row["traces_after_warmup"] == row["traces_at_end"] == 1
    # Same networks: the attention step does more work than either plain step. (The
    # static count includes gradient ops that run time prunes, such as D's filter
    # gradients in G's backward pass, so it cannot order our plain step and the peer's.)
    gflop = {row["variant"]: row["gflop_per_step"] for row in report["training"]}
    assert gflop["learned K=1"] > max(gflop["peer (keras-io DCGAN)"], gflop["baseline"])
    assert set(report["pipeline_images_per_s"]) == {"symbols", "digits", "colored_digits"}
    assert report["peak_gflop_per_s"]["matmul"] > 0


def test_timed_variants_compute_in_the_policy_they_name_the_peer_too():
    """A row is float32 on every machine unless it names a policy, and the peer follows it."""
    import keras
    from harness import make_config
    from peer_dcgan import build_peer

    # The configs compute in bfloat16 where the CPU has it and draw the first
    # mask from the prior; a row does either only where its name says so.
    config = make_config(num_examples=64)
    assert (config.train.dtype_policy, config.model.first_mask) == ("float32", "recurrence")
    policy = keras.config.dtype_policy().name
    for name in ("float32", "mixed_bfloat16"):
        config = make_config(
            num_examples=64, **{"model.mask_source": "none", "train.dtype_policy": name, "model.g_width": 8, "model.d_width": 8}
        )
        config.data.channels = 3  # set from the data where a run builds it
        peer = build_peer(config)
        assert peer.generator.dtype_policy.name == peer.discriminator.dtype_policy.name == name
        assert keras.config.dtype_policy().name == policy


def test_the_peer_trains_batch_normalization_in_training_mode():
    """The same networks means the same maths: G's batch statistics move in the peer's step."""
    import numpy as np
    from harness import make_config
    from peer_dcgan import build_peer

    config = make_config(num_examples=64, **{"model.mask_source": "none", "model.g_width": 8, "model.d_width": 8})
    config.data.channels = 3
    peer = build_peer(config)
    moving = [v for v in peer.generator.non_trainable_variables if "moving_mean" in v.path]
    before = [np.array(v) for v in moving]
    images = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    peer.train_step({"images": images})
    assert moving and all(not np.allclose(b, np.array(v)) for b, v in zip(before, moving))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_speed_profile_splits_each_step_into_its_parts(tmp_path):
    # A process of its own: the profile sets TensorFlow's threads before its first op.
    out = tmp_path / "profile.json"
    overrides = ["--set", "model.g_width=8", "--set", "model.d_width=8"]
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "speed.py")
    subprocess.run(
        [sys.executable, script, "--profile", "--quick", "--steps", "10", "--repeats", "2", "--out", str(out), *overrides],
        check=True,
        capture_output=True,
    )
    rows = {row["variant"]: row for row in json.loads(out.read_text())["training"]}
    assert set(rows) == {"peer (keras-io DCGAN)", "baseline", "learned K=1"}
    for row in rows.values():
        assert len(row["rounds"]) == 2
        for profile in row["rounds"]:
            assert sum(profile["parts"].values()) == pytest.approx(profile["op_ms_per_step"])
        for part in ("G forward", "G backward", "D forward", "D backward"):
            assert row["parts"][part] > 0
    # Only the attention step has an MI estimator to run.
    assert rows["learned K=1"]["parts"]["MI estimator backward"] > 0
    assert "MI estimator forward" not in rows["baseline"]["parts"]


def test_step_profile_names_the_part_of_each_node():
    from step_profile import OPTIMIZERS, OTHER, part_of

    prefix = "while/body/_1/while/cond/then/_619/while/cond/StatefulPartitionedCall/"
    assert part_of(prefix + "generator_1/up_1_1/conv_transpose") == "G forward"
    assert part_of(prefix + "gradient_tape/discriminator_1_1/trunk_1/down_0_1/convolution/Conv2DBackpropInput") == "D backward"
    assert part_of("gradient_tape/mi_estimator_1/AvgPoolGrad") == "MI estimator backward"
    assert part_of(prefix + "adam_1/Sqrt_1") == OPTIMIZERS
    # A scope that only starts like a network's is not that network.
    assert part_of(prefix + "generator_inputs/concat") == OTHER
    assert part_of(prefix + "gradient_tape/strided_slice_16/StridedSliceGrad_2") == OTHER


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_deploy_quick_run_writes_results(tmp_path):
    import deploy

    out = tmp_path / "deploy.json"
    # A model whose requests carry the first mask's prior: every runner takes it.
    deploy.main(["--quick", "--set", "model.first_mask=blobs", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["model"]["first_mask"] == "blobs"
    artifacts = ["savedmodel", "onnx", "tflite/dynamic_int8", "tflite/float16", "tflite/float32", "tflite/int8"]
    # Full int8 may abort on the default's Grad-CAM division (keras_attngan.export.deploy); then it is named.
    assert set(report["failures"]) <= {"tflite/int8"}
    assert list(report["results"]) == [a for a in artifacts if a not in report["failures"]]
    assert report["onnx_opset"] == 17
    for row in report["results"].values():
        assert 0 < row["latency_b1"]["median_ms"] <= row["latency_b1"]["p99_ms"]
        assert row["images_per_s_b64"] > 0
    assert set(report["sizes"]) == set(report["results"])
    assert report["parity"]["onnx"]["serving_default"]["images"]["max_abs_diff"] < 1e-4
    assert report["fastest_float"] in ("savedmodel", "tflite/float32", "onnx")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_robustness_quick_run_writes_results(tmp_path):
    import robustness

    out = tmp_path / "robustness.json"
    robustness.main(["--quick", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["memory"]["peak_rss_mb"] > 0 and report["checkpoint"]["size_mb"] > 0
    assert report["deterministic"]["on"]["jit_compile_when_asked"] is False
    assert set(report["mirrored"]) == {"default (1 device)", "mirrored (2 devices)"}


def test_quality_table_and_rankings():
    import quality

    from keras_attngan.apps import study

    budget = study.make_budget(1000, num=10, metrics="fid", curve_every=500)

    def record(variant, seed, fid, fid_half):
        return {"name": f"symbols-{variant}", "seed": seed, "budget": budget,
                "train_seconds": 100.0, "metrics": {"fid": fid},
                "curve": {"fid": {"500": fid_half, "1000": fid}}}

    records = [record("baseline", s, f, f + 10) for s, f in enumerate([1.0, 2.0, 3.0])]
    records += [record("attention", s, f, h) for s, (f, h) in enumerate([(4.0, 5.0), (6.0, 7.0)])]
    table = study.summarize(records)
    order = quality.rankings(table, 500)["symbols"]
    # Baseline is best at the full budget, attention at half: an unstable ranking.
    assert order == {"half": ["attention", "baseline"], "full": ["baseline", "attention"],
                     "stable": False}
    differences = quality.against_baseline(records)
    assert set(differences) == {"symbols-attention"}
    assert differences["symbols-attention"] == study.difference_interval([4.0, 6.0], [1.0, 2.0, 3.0])
    text = quality.markdown(table, budget, differences)
    assert "a different order" in text
    # FID@half then FID (mean ± 95% half-width), and 100 ms per step (the same in every run).
    assert "| symbols / baseline | 3 | 12.00 ± 2.48 | 2.00 ± 2.48 |" in text
    assert text.splitlines()[4].endswith("| 100 ± 0 |")
    diff = differences["symbols-attention"]
    assert f"| symbols / attention | +3.00 ± {diff['ci95']:.2f} | {diff['p']:.2f} |" in text
    # Another control: the plain GAN is then compared against it.
    against_attention = quality.against_baseline(records, control="attention")
    assert set(against_attention) == {"symbols-baseline"}
    assert against_attention["symbols-baseline"]["mean"] == -3.0
    assert "FID - attention's" in quality.markdown(table, budget, against_attention, control="attention")


def test_toolbox_screen_picks_the_lowest_fid_per_axis_and_checks_lucic():
    import toolbox

    from keras_attngan.core import losses, penalties
    from keras_attngan.training.validation import validate_config

    screen = toolbox.screen_entries()
    assert len(screen) == len(losses.LOSSES) + len(penalties.PENALTIES) - 1
    for config in screen.values():  # every screened combination is a valid plain GAN
        assert config.model.mask_source == "none"
        config.data.channels = 1
        validate_config(config)
    fid = lambda mean: {"metrics": {"fid": {"mean": mean, "ci95": 0.5}}}  # noqa: E731
    table = {f"loss-{name}": fid(10.0) for name in losses.LOSSES}
    table["loss-hinge"] = fid(7.0)
    table["penalty-r1"] = fid(8.0)
    table["penalty-wgan_gp"] = {"metrics": {}}  # diverged: ranks last
    assert toolbox.best(table) == {"train.loss": "hinge", "train.penalty": "r1"}
    entries = toolbox.comparison_entries(toolbox.best(table))
    assert entries["symbols-best"].train.loss == "hinge" and entries["symbols-best"].model.mask_source == "none"
    assert entries["digits-best_attention"].train.penalty == "r1"
    # The attention rows are quality.py's runs of the default mask source.
    assert {"symbols-gradcam", "digits-learned", "symbols-baseline"} <= set(entries)
    assert "as Lucic et al. found" in toolbox.agreement(
        {"digits-baseline": fid(3.0), "digits-best": fid(2.5)}, "digits")
    assert "unlike Lucic" in toolbox.agreement({"digits-baseline": fid(3.0), "digits-best": fid(1.0)}, "digits")
    assert toolbox.agreement({}, "digits") is None


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_super_resolution_tiny_run_writes_results_and_resumes(tmp_path, capsys):
    import super_resolution

    args = ["--smoke", "--scales", "4", "--pixel_steps", "2", "--gan_steps", "2", "--seeds", "2",
            "--out_dir", str(tmp_path)]
    table = super_resolution.main(args)
    assert set(table) == {f"x4/{row}" for row in super_resolution.ROWS}
    # The untrained G is bicubic interpolation exactly.
    assert table["x4/untrained"]["psnr_y"]["mean"] == pytest.approx(table["x4/bicubic"]["psnr_y"]["mean"], abs=1e-6)
    assert table["x4/gan"]["psnr_y"]["n"] == 2 and table["x4/gan"]["psnr_y"]["ci95"] is not None
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["summary"]["x4/pixel"]["ssim_y"]["n"] == 2
    assert os.path.exists(tmp_path / "side_by_side_x4.png") and os.path.exists(tmp_path / "table.md")
    # Rerun: every (scale, row, seed) is read back, nothing trains again.
    mtime = os.path.getmtime(tmp_path / "x4_gan_seed1.json")
    assert super_resolution.main(args) == table
    assert os.path.getmtime(tmp_path / "x4_gan_seed1.json") == mtime


def test_infogan_summary_tables():
    import infogan

    def record(name, seed, accuracy, correlation=None):
        metrics = {"classifier_held_out_accuracy": 0.9, "categorical_accuracy": accuracy, "direct_accuracy": 0.1}
        if correlation is not None and name == "symbols":
            metrics["regressor_r2"] = dict.fromkeys(infogan.FACTORS, 0.5)
            metrics["colour_accuracy"] = 0.75
            metrics["code_factor_correlation"] = {"c1": dict.fromkeys((*infogan.FACTORS, "colour"), correlation)}
            metrics["info_bound"] = 2.5  # a record from before `LOGGED` has none: "-"
            metrics["q_real_accuracy"] = 0.8
        elif correlation is not None:  # measured on the images; None where a factor was undefined
            metrics["code_factor_correlation"] = {
                "c1": dict(zip(infogan.DIGIT_FACTORS, (correlation, None), strict=True)),
                "c2": dict.fromkeys(infogan.DIGIT_FACTORS, 1 - correlation),
            }
            metrics["traversal_control"] = {"c1": dict.fromkeys(infogan.DIGIT_FACTORS, 2 * correlation)}
        return {"name": name, "seed": seed, "metrics": metrics}

    def reference(name, clustering, accuracy):
        return {"name": name, "reference": clustering, "data": {}, "seeds": [0, 1], "accuracy": accuracy}

    records = [record("digits", 0, 0.5, 0.2), record("digits", 1, 0.7, 0.4), record("symbols", 0, 0.9, 0.25)]
    table = infogan.summarize(records)
    assert table["digits"]["seeds"] == [0, 1]
    assert abs(table["digits"]["metrics"]["categorical_accuracy"]["mean"] - 0.6) < 1e-9
    references = infogan.summarize_references(
        [reference("digits", "tsne_kmeans", [0.9, 1.0]), reference("digits", "spectral", [0.8, 0.8]),
         reference("digits", "kmeans", [0.7, 0.9]), reference("colored_digits", "kmeans", [0.2, 0.2])]
    )
    assert list(references["digits"]) == list(infogan.CLUSTERINGS)  # the registry's order
    assert references["digits"]["kmeans"]["accuracy"]["mean"] == pytest.approx(0.8)
    text = infogan.markdown(table, {"digits": {"steps": 10, "num": 5}, "symbols": {"steps": 20, "num": 5}},
                            references)
    assert "| digits | 10 | 5 | 2 | 0.900 ± 0.000 | 0.600 ± 0.141 | 0.100 ± 0.000 | - | - |" in text
    lines = text.splitlines()
    # The references follow their experiment's row, in the Hungarian accuracy's column.
    start = lines.index("| digits | 10 | 5 | 2 | 0.900 ± 0.000 | 0.600 ± 0.141 | 0.100 ± 0.000 | - | - |")
    assert lines[start + 1:start + 4] == [
        "| digits: k-means on pixels | - | - | 2 | - | 0.800 ± 0.141 | - | - | - |",
        "| digits: spectral clustering on pixels | - | - | 2 | - | 0.800 ± 0.000 | - | - | - |",
        "| digits: k-means of a t-SNE map on pixels | - | - | 2 | - | 0.950 ± 0.071 | - | - | - |",
    ]
    # An experiment with references and no finished run yet still shows them.
    assert "| colored_digits: k-means on pixels | - | - | 2 | - | 0.200 ± 0.000 | - | - | - |" in text
    assert "| symbols | 20 | 5 | 1 | 0.900 | 0.900 | 0.100 | 0.800 | 2.500 |" in text
    assert "| code | rotation | thickness | scale | x | y | colour |" in text
    assert "| c1 | 0.250 | 0.250 | 0.250 | 0.250 | 0.250 | 0.250 |" in text
    assert "| (readers' held-out R^2; colour: accuracy) | 0.500 | 0.500 | 0.500 | 0.500 | 0.500 | 0.750 |" in text
    assert "digits: |Spearman| of each continuous code with each factor measured on the images" in text
    assert "| code | thickness | slant |" in text
    assert "| c1 | 0.300 ± 0.141 | - |" in text
    assert "| c2 | 0.700 ± 0.141 | 0.700 ± 0.141 |" in text
    assert text.count("readers' held-out") == 1  # digits' factors are measured, not read
    # The traversal table follows the sample correlations; symbols' records have none.
    title = "digits: traversal control of each factor measured on the images by each continuous code"
    start = lines.index(title)
    assert lines[start + 2:start + 5] == ["| code | thickness | slant |", "|---|---:|---:|",
                                          "| c1 | 0.600 ± 0.283 | 0.600 ± 0.283 |"]
    assert lines.index("digits: |Spearman| of each continuous code with each factor measured on the images") < start
    assert text.count("traversal control") == 1


def test_infogan_references_are_written_once_and_kept(tmp_path):
    import infogan

    data = {"source": "digits", "image_size": 8, "num_examples": 300}
    (tmp_path / "records").mkdir()
    records = infogan.references("digits", data, str(tmp_path), seeds=(0, 1))
    assert [r["reference"] for r in records] == list(infogan.CLUSTERINGS)
    for record in records:
        assert record["name"] == "digits" and record["data"] == data and record["seeds"] == [0, 1]
        # Far above the 0.1 of chance: pixel distances alone find much of the digits' classes.
        assert len(record["accuracy"]) == 2 and all(0.5 < a <= 1 for a in record["accuracy"])
    paths = [infogan.reference_path(str(tmp_path), "digits", c) for c in infogan.CLUSTERINGS]
    mtimes = [os.path.getmtime(p) for p in paths]
    assert infogan.references("digits", data, str(tmp_path), seeds=(0, 1)) == records
    assert mtimes == [os.path.getmtime(p) for p in paths]  # read back, not computed again
    # A clustering missing from the records is computed alone, with the same values.
    os.remove(paths[1])
    assert infogan.references("digits", data, str(tmp_path), seeds=(0, 1)) == records
    assert os.path.getmtime(paths[0]) == mtimes[0]
    with pytest.raises(ValueError, match="other data or seeds"):
        infogan.references("digits", {**data, "image_size": 16}, str(tmp_path), seeds=(0, 1))
    with pytest.raises(ValueError, match="other data or seeds"):
        infogan.references("digits", data, str(tmp_path), seeds=(0,))


@pytest.mark.slow  # three tiny trainings and three domain classifiers: minutes
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_infogan_tiny_run_is_resumable(tmp_path):
    import infogan

    args = ["--seeds", "1", "--steps", "2", "--num", "4", "--workdir", str(tmp_path / "runs"),
            "--results", str(tmp_path / "results"), "--set", "data.image_size=16",
            "--set", "data.num_examples=128", "--set", "data.batch_size=16",
            "--set", "model.g_width=8", "--set", "model.d_width=8", "--set", "log.scalars_every=1"]
    table = infogan.main(args)
    assert set(table) == set(infogan.EXPERIMENTS)
    assert set(table["symbols"]["metrics"]) >= {"categorical_accuracy", "code_factor_correlation/c1/x"}
    assert set(table["colored_digits"]["metrics"]) >= {"categorical_accuracy"}
    for name in infogan.DIGIT_SOURCES:  # measured on the images: present, or None (dropped) if undefined
        for key, value in table[name]["metrics"].items():
            if key.startswith(("code_factor_correlation/", "traversal_control/")):
                assert key.split("/")[2] in infogan.DIGIT_FACTORS and 0 <= value["mean"] <= 1
    for key, value in table["symbols"]["metrics"].items():
        if key.startswith("traversal_control/"):  # the ordered factors, read
            assert key.split("/")[2] in infogan.FACTORS and 0 <= value["mean"] <= 1
    records = sorted(os.listdir(tmp_path / "results" / "records"))
    assert records == sorted(
        [f"{name}-0.json" for name in infogan.EXPERIMENTS]
        + [f"{name}-{c}.json" for name in infogan.EXPERIMENTS for c in infogan.CLUSTERINGS]
    )
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    for name in infogan.EXPERIMENTS:
        assert set(summary["references"][name]) == set(infogan.CLUSTERINGS)
        assert summary["references"][name]["kmeans"]["accuracy"]["n"] == len(infogan.REFERENCE_SEEDS)
    assert "| digits: k-means on pixels | - | - | 3 |" in (tmp_path / "results" / "summary.md").read_text()
    # Each run's code grids, under names that tell the experiments apart.
    grids = os.listdir(tmp_path / "results" / "grids")
    assert {"digits-category_digit-0.png", "colored_digits-category_digit-0.png",
            "digits-traversal_c1_c2-0.png"} <= set(grids)
    mtimes = [os.path.getmtime(tmp_path / "results" / "records" / r) for r in records]
    infogan.main(args)  # everything done: nothing is trained again
    assert mtimes == [os.path.getmtime(tmp_path / "results" / "records" / r) for r in records]
    # --remeasure measures the exports again and keeps what the training recorded.
    def load(name):
        with open(tmp_path / "results" / "records" / name) as f:
            return json.load(f)

    before = load("symbols-0.json")
    # The training log's last bound and Q's accuracy on the fakes, beside the export's metrics.
    assert isinstance(before["metrics"]["info_bound"], float)
    assert 0 <= before["metrics"]["info_accuracy"] <= 1
    # Q's category of the real images, from the checkpoint; no invariance term, no IIC information.
    for name in infogan.EXPERIMENTS:
        assert 0 < load(f"{name}-0.json")["metrics"]["q_real_accuracy"] <= 1
    assert before["metrics"]["q_invariant_information"] is None
    old = {**before, "metrics": {k: v for k, v in before["metrics"].items()
                                 if k not in ("colour_accuracy", *infogan.LOGGED)}}
    with open(tmp_path / "results" / "records" / "symbols-0.json", "w") as f:
        json.dump(old, f)  # a record from before the colour was measured
    infogan.main(args + ["--remeasure", "--experiments", "symbols"])
    after = load("symbols-0.json")
    assert after["train_seconds"] == before["train_seconds"] and after["budget"] == before["budget"]
    assert 0 <= after["metrics"]["colour_accuracy"] <= 1
    assert {k: after["metrics"][k] for k in infogan.LOGGED} == {k: before["metrics"][k] for k in infogan.LOGGED}
    assert set(after["metrics"]["code_factor_correlation"]["c1"]) == {*infogan.FACTORS, "colour"}
    # Seed 1 alone (as a second process would run it) joins seed 0 in the summary.
    table = infogan.main(args[:1] + ["1", "--first-seed", "1", "--experiments", "digits"] + args[2:])
    assert table["digits"]["seeds"] == [0, 1]
    assert "digits-1.json" in os.listdir(tmp_path / "results" / "records")


@pytest.mark.slow  # a tiny training
def test_infogan_reads_q_and_each_subhead_on_the_real_images(tmp_path):
    import infogan
    from conftest import tiny_config

    from keras_attngan.training.loop import train

    config = tiny_config("digits_infogan", "iic", **{"train.info_overclusters": 4, "train.info_subheads": 3})
    workdir, _ = train(config, str(tmp_path / "run"))
    result = infogan.q_real_categories(workdir.root)
    assert set(result["q_subhead_real_accuracy"]) == {"0", "1", "2"}
    assert all(0 < a <= 1 for a in result["q_subhead_real_accuracy"].values())
    # The code's logits are one of the sub-heads' (the selected one).
    assert result["q_real_accuracy"] in result["q_subhead_real_accuracy"].values()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_iic_alone_tiny_run_writes_its_history_and_resumes(tmp_path):
    import iic_alone

    args = ["--seeds", "1", "--steps", "4", "--every", "2", "--results", str(tmp_path),
            "--set", "data.image_size=16", "--set", "data.num_examples=64", "--set", "data.batch_size=16",
            "--set", "model.d_width=8", "--set", "train.info_overclusters=5"]
    iic_alone.main(args)
    path = tmp_path / "records" / "iic_alone-0.json"
    record = json.loads(path.read_text())
    assert [step for step, _, _ in record["history"]] == [2, 4]
    for _, information, accuracy in record["history"]:
        # Hungarian accuracy over 10 classes is at least the largest class's share.
        assert 0.1 <= accuracy <= 1 and -1e-6 <= information <= np.log(10) + 1e-6
    mtime = os.path.getmtime(path)
    iic_alone.main(args)  # done: read back, not trained again
    assert os.path.getmtime(path) == mtime
    assert "| 4 |" in (tmp_path / "summary.md").read_text()
    with pytest.raises(ValueError, match="another budget"):
        iic_alone.main([*args[:3], "8", *args[4:]])


def test_iic_alone_summary_is_the_mean_over_seeds_per_step():
    import iic_alone

    records = [{"history": [[10, 1.0, 0.5], [20, 2.0, 0.7]]}, {"history": [[10, 0.0, 0.3], [20, 2.0, 0.9]]}]
    table = iic_alone.summarize(records)
    assert list(table) == [10, 20]
    assert table[10]["accuracy"]["mean"] == pytest.approx(0.4)
    assert table[20]["information"]["mean"] == pytest.approx(2.0) and table[20]["information"]["sd"] == 0
