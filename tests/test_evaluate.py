"""`evaluate` and `attngan evaluate` end to end on a tiny export; the Evaluation callback."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import SIZE, make_trainer, real_dataset, tiny_config
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan.apps.evaluation import evaluate
from keras_attngan.export import serving
from keras_attngan.metrics import KerasExtractor, MetricOptions, mask_faithfulness
from keras_attngan.training import callbacks
from keras_attngan.training.loop import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = MetricOptions(
    kid_subsets=10, is_splits=2, faithfulness_num=4, faithfulness_steps=4, mask_usage_num=16,
    mask_usage_cell_size=4,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-step 16x16 symbols run (exported) and a shared evaluation cache."""
    root = tmp_path_factory.mktemp("eval")
    workdir, export_path = train(tiny_config(), str(root / "run"))
    return workdir, export_path, str(root / "cache")


def _pool_extractor():
    return KerasExtractor(
        lambda x: tf.reshape(tf.image.resize(x, (4, 4), method="area"), (tf.shape(x)[0], -1)),
        "pool4",
    )


# 48 samples of 64-d features: FID warns that the covariance is singular.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*more samples than:UserWarning")
def test_evaluate_an_export_records_what_it_computed(trained):
    workdir, export_path, cache = trained
    metrics = "fid,kid,is,pr,intra_fid,faithfulness,mask_usage"
    result = evaluate(workdir.export, "symbols", metrics, num=48, cache_dir=cache, options=SMALL)
    values = result["metrics"]
    usage = values["mask_usage"]
    assert {"content_sensitivity", "locality_gain", "mi_bound", "mask_diversity"} <= set(usage)
    assert usage["mi_ceiling"] == pytest.approx(np.log(16), rel=1e-6)
    assert all(np.isfinite(value) for value in usage.values())
    assert (
        values["fid"] > 0
        and values["kid"]["subset_size"] == 24
        and values["kid"]["num_subsets"] == 10
    )
    assert 1.0 <= values["is"]["mean"] <= 3.0 and values["is"]["splits"] == 2
    assert 0 <= values["pr"]["precision"] <= 1 and values["pr"]["k"] == 3
    faithfulness = values["faithfulness"]
    assert faithfulness["mask_source"] == "learned" and set(faithfulness) == {
        "mask_source",
        "fake",
        "real",
    }
    assert set(faithfulness["fake"]) == {"attention", "random", "gradient", "settings"}
    assert len(faithfulness["real"]["attention"]["deletion_curve"]) == 5
    assert (
        result["model"]["path"] == os.path.abspath(export_path)
        and result["model"]["train_steps"] == 4
    )
    assert result["data"] == {
        **result["data"],
        "source": "symbols",
        "split": "train",
        "image_size": SIZE,
        "num_real": 48,
        "seed": 0,
    }
    assert result["fake"]["num"] == 48 and result["fake"]["seed"] == 0
    extractor = result["extractor"]
    assert (
        extractor["name"].startswith("domain:symbols@16px:")
        and extractor["held_out_accuracy"] > 0.5
    )
    assert (
        result["reference"]["extractor"] == extractor["name"] and result["reference"]["count"] == 48
    )
    assert set(result["versions"]) >= {"tensorflow", "keras", "numpy", "scipy", "keras_attngan"}
    json.dumps(result)  # JSON-able
    # The same request again: same numbers, reference from the cache.
    again = evaluate(export_path, None, "fid", num=48, cache_dir=cache, options=SMALL)
    assert again["metrics"]["fid"] == pytest.approx(values["fid"], rel=1e-6)
    assert again["reference"]["from_cache"] and again["data"]["source"] == "symbols"


@pytest.mark.slow
def test_bad_requests_fail_before_heavy_work(trained, tmp_path):
    workdir, export_path, cache = trained
    with pytest.raises(ValueError, match="unknown: fidd"):
        evaluate(export_path, "symbols", "fid,fidd", cache_dir=cache)
    with pytest.raises(ValueError, match="`num` should be an integer >= 2"):
        evaluate(export_path, "symbols", "fid", num=1, cache_dir=cache)
    with pytest.raises(
        ValueError, match="subset_size.*at most the number of real .10. and fake .40."
    ):
        evaluate(
            export_path,
            "symbols",
            "kid",
            num=40,
            num_real=10,
            cache_dir=cache,
            options=MetricOptions(kid_subset_size=20),
        )
    # Weights are checked before the model is even looked for.
    with pytest.raises(FileNotFoundError, match="Inception-v3 weights.*--inception_weights"):
        evaluate(
            str(tmp_path / "no_model"),
            "symbols",
            "fid",
            extractor="inception",
            inception_weights=str(tmp_path / "none.h5"),
        )
    with pytest.raises(
        ValueError,
        match="same size and channels.*real images \\[16, 16, 1\\], fake images \\[16, 16, 3\\]",
    ):
        evaluate(export_path, "digits", "fid", num=8, cache_dir=cache)
    with pytest.raises(ValueError, match="image_size.*model's \\(16\\)"):
        evaluate(export_path, "symbols", "fid", num=8, image_size=32, cache_dir=cache)
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        evaluate(str(tmp_path), "symbols", "fid", num=8, cache_dir=cache)


@pytest.mark.slow
def test_console_evaluate_writes_json_and_a_table(trained, tmp_path):
    workdir, _, cache = trained
    out = tmp_path / "results.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [
        sys.executable,
        "-m",
        "keras_attngan.cli.main",
        "evaluate",
        "--model",
        workdir.root,
        "--data",
        "symbols",
        "--metrics",
        "fid,is,pr",
        "--num",
        "32",
        "--out",
        str(out),
        "--cache_dir",
        cache,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == {"fid", "is", "pr"}
    assert report["fake"]["num"] == 32 and report["model"]["kind"] == "export"
    assert "held-out accuracy" in result.stdout and "precision" in result.stdout
    assert f"Results: {out}" in result.stdout


@pytest.mark.slow
def test_faithfulness_of_in_memory_and_exported_discriminators_agree(tmp_path):
    model = make_trainer("gradcam", inner_steps=1)
    path = serving.save_version(model, str(tmp_path / "export"))
    images = np.random.default_rng(0).uniform(-1, 1, (3, SIZE, SIZE, 3)).astype(np.float32)
    ours = mask_faithfulness(model.discriminator, images, steps=4)
    exported = mask_faithfulness(tf.saved_model.load(path), images, steps=4)
    for order in ("attention", "random", "gradient"):
        for area in ("deletion_auc", "insertion_auc"):
            assert exported[order][area] == pytest.approx(ours[order][area], abs=1e-5)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*more samples than:UserWarning")
def test_evaluation_callback_writes_scalars_at_train_steps(tmp_path):
    model = make_trainer(inner_steps=1, compile_kwargs={"steps_per_execution": 2})
    real = np.random.default_rng(0).uniform(-1, 1, (24, SIZE, SIZE, 3)).astype(np.float32)
    evaluation = callbacks.Evaluation(
        str(tmp_path),
        real,
        _pool_extractor(),
        metrics=("fid", "kid", "pr", "faithfulness"),
        every=2,
        num=16,
        options=MetricOptions(kid_subsets=5, faithfulness_num=2, faithfulness_steps=2),
    )
    model.fit(real_dataset(), steps_per_epoch=4, epochs=1, verbose=0, callbacks=[evaluation])
    accumulator = event_accumulator.EventAccumulator(
        str(tmp_path / "eval"), size_guidance={event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    tags = set(accumulator.Tags()["tensors"])
    assert {f"metrics/{name}" for name in ("fid", "kid", "kid_std", "precision", "recall")} <= tags
    assert "metrics/faithfulness/fake/attention/deletion_auc" in tags
    assert "metrics/faithfulness/real/random/insertion_auc" in tags
    events = accumulator.Tensors("metrics/fid")
    assert [event.step for event in events] == [2, 4]
    assert float(tf.make_ndarray(events[-1].tensor_proto)) == pytest.approx(
        evaluation.results[4]["fid"]
    )
    with pytest.raises(ValueError, match="num"):
        callbacks.Evaluation(str(tmp_path), real, _pool_extractor(), num=1)
    with pytest.raises(ValueError, match="need class probabilities"):
        callbacks.Evaluation(str(tmp_path), real, _pool_extractor(), metrics=("fid", "is"))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*more samples than:UserWarning")
def test_evaluation_callback_draws_the_codes_of_an_infogan_model(tmp_path):
    """The in-training evaluation feeds G its codes: the same FID as on the spec's own draw."""
    from conftest import make_info_trainer

    from keras_attngan.metrics.reference import reference_from_images
    from keras_attngan.metrics.suite import compute_metrics
    from keras_attngan.training.subject import subject_from_model

    model = make_info_trainer("learned")
    real = np.random.default_rng(0).uniform(-1, 1, (24, SIZE, SIZE, 3)).astype(np.float32)
    evaluation = callbacks.Evaluation(str(tmp_path), real, _pool_extractor(), metrics=("fid",), every=2, num=16)
    model.fit(real_dataset(), steps_per_epoch=2, epochs=1, verbose=0, callbacks=[evaluation])
    reference = reference_from_images(_pool_extractor(), real)
    again = compute_metrics(subject_from_model(model), reference, _pool_extractor(), ("fid",), 16)
    assert evaluation.results[2]["fid"] == pytest.approx(again["fid"], rel=1e-5)
