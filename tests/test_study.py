"""`keras_attngan.apps.study`: the statistics, the overrides, and a tiny study that resumes."""

import json
import os

import pytest
import tensorflow as tf
from conftest import tiny_config

from keras_attngan.apps import evaluation, study
from keras_attngan.metrics import KerasExtractor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_interval_is_the_t_interval_over_seeds():
    stat = study.interval([1.0, 2.0, None, 3.0])
    # sd = 1, n = 3, t(0.975, 2) = 4.3027: half-width 4.3027 / sqrt(3).
    assert stat["n"] == 3 and stat["mean"] == 2.0 and stat["sd"] == 1.0
    assert stat["ci95"] == pytest.approx(4.3027 / 3**0.5, rel=1e-4)
    assert study.interval([5.0]) == {"n": 1, "mean": 5.0, "sd": None, "ci95": None}
    assert study.interval([None]) is None


def test_difference_interval_is_welchs():
    from scipy import stats

    diff = study.difference_interval([1.0, 2.0, 3.0], [2.0, 4.0, None, 6.0])
    # Variances 1 and 4 over 3 seeds each: standard error sqrt(5/3), and
    # Welch-Satterthwaite degrees of freedom (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2).
    se, df = (5 / 3) ** 0.5, (5 / 3) ** 2 / ((1 / 3) ** 2 / 2 + (4 / 3) ** 2 / 2)
    assert diff["mean"] == pytest.approx(-2.0)
    assert diff["ci95"] == pytest.approx(stats.t.ppf(0.975, df) * se, rel=1e-6)
    assert diff["p"] == pytest.approx(2 * stats.t.cdf(-2.0 / se, df), rel=1e-6)
    assert study.difference_interval([1.0], [2.0, 3.0]) is None


def test_overrides_are_typed_and_checked_against_the_config():
    overrides = study.parse_overrides(
        ["model.g_width=32", "train.lambda_mi=0.5", "train.deterministic=true",
         "train.dtype_policy=mixed_bfloat16"]
    )
    assert overrides == {"model.g_width": 32, "train.lambda_mi": 0.5,
                         "train.deterministic": True, "train.dtype_policy": "mixed_bfloat16"}
    config = study.apply_overrides(tiny_config(), overrides)
    assert config.model.g_width == 32 and config.train.deterministic is True
    with pytest.raises(ValueError, match="model.gwidth"):
        study.apply_overrides(tiny_config(), {"model.gwidth": 3})
    with pytest.raises(ValueError, match="SECTION.KEY=VALUE"):
        study.parse_overrides(["model.g_width"])


def test_config_files_load_with_their_argument():
    name, config = study.load_config(os.path.join(REPO, "configs", "symbols_attn.py:smoke"))
    assert name == "symbols_attn-smoke" and config.train.steps == 20
    name, config = study.load_config(os.path.join(REPO, "configs", "symbols_attn.py"))
    assert name == "symbols_attn" and config.train.steps == 3000
    with pytest.raises(FileNotFoundError, match="no.py"):
        study.load_config("no.py")


def test_mask_metrics_only_for_models_with_a_mask():
    metrics = ["fid", "mask_usage", "faithfulness"]
    assert study.metrics_for(tiny_config(), metrics) == metrics
    baseline = tiny_config(**{"model.mask_source": "none"})
    assert study.metrics_for(baseline, metrics) == ["fid"]


def test_a_budget_needs_a_curve_metric():
    with pytest.raises(ValueError, match="fid or kid"):
        study.make_budget(10, metrics="pr")
    assert study.make_budget(10, metrics="pr,kid")["curve_metric"] == "kid"


@pytest.fixture
def cheap_evaluation(monkeypatch, tmp_path):
    """`evaluate` on 4x4 pooled pixels instead of a domain classifier that must be trained."""
    real = evaluation.evaluate
    pooled = KerasExtractor(
        lambda x: tf.reshape(tf.image.resize(x, (4, 4), method="area"), (tf.shape(x)[0], -1)),
        "pool4",
    )

    def evaluate(model, **kwargs):
        return real(model, extractor=pooled, cache_dir=str(tmp_path / "cache"), **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", evaluate)


# 16 samples of 48-d features: FID warns that the covariance is singular.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*more samples than:UserWarning")
def test_a_study_trains_every_seed_resumes_and_refuses_another_budget(
    tmp_path, monkeypatch, cheap_evaluation
):
    config = tiny_config(**{"log.eval_num": 16})
    out = str(tmp_path / "study")
    budget = study.make_budget(4, num=16, metrics="fid", curve_every=2)
    logged = []
    records = study.run({"tiny": config}, 2, budget, out, log=logged.append)
    assert [(r["name"], r["seed"]) for r in records] == [("tiny", 0), ("tiny", 1)]
    assert logged == records
    for record in records:
        assert record["metrics"]["fid"] > 0 and record["budget"] == json.loads(json.dumps(budget))
        # The curve is the training-time FID at steps 2 and 4.
        assert sorted(record["curve"]["fid"]) == ["2", "4"]
    assert records[0]["metrics"]["fid"] != records[1]["metrics"]["fid"]  # two seeds

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(study, "run_one", no_training)
    assert study.run({"tiny": config}, 2, budget, out) == records
    with pytest.raises(ValueError, match="another budget"):
        study.run({"tiny": config}, 2, study.make_budget(6, num=16, metrics="fid"), out)

    text = study.write_summary(out, records, "attngan study ...")
    row = json.load(open(os.path.join(out, "summary.json")))["table"]["tiny"]
    assert row["seeds"] == [0, 1] and row["metrics"]["fid"]["n"] == 2
    assert "| tiny | 2 |" in text and os.path.getsize(os.path.join(out, "fid.png")) > 0


def test_first_seed_lets_a_second_process_take_the_later_seeds(tmp_path, monkeypatch):
    trained = []

    def fake_run(name, config, seed, budget, workdir):
        trained.append(seed)
        return {"name": name, "seed": seed, "budget": budget, "metrics": {}}

    monkeypatch.setattr(study, "run_one", fake_run)
    budget = study.make_budget(4, num=16, metrics="fid")
    out = str(tmp_path / "study")
    records = study.run({"tiny": tiny_config()}, 2, budget, out, first_seed=3)
    assert trained == [3, 4] and [r["seed"] for r in records] == [3, 4]
    study.run({"tiny": tiny_config()}, 5, budget, out)  # the first process: 0-2, then skips 3-4
    assert trained == [3, 4, 0, 1, 2]


def test_a_config_that_does_not_validate_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(study, "run_one", lambda *a: pytest.fail("trained"))
    budget = study.make_budget(4, metrics="fid", overrides={"model.mask_source": "shap"})
    with pytest.raises(ValueError, match="'tiny'.*model.mask_source"):
        study.run({"tiny": tiny_config()}, 1, budget, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.slow
def test_a_diverging_run_is_recorded_as_such_and_the_study_goes_on(tmp_path):
    diverging = tiny_config(**{"train.g_learning_rate": 1e6, "train.d_learning_rate": 1e6})
    budget = study.make_budget(8, num=16, metrics="fid", curve_every=8)
    (record,) = study.run({"diverging": diverging}, 1, budget, str(tmp_path / "study"))
    # The message names what went non-finite first: a logged value or the weights.
    assert record["diverged"].startswith("Training diverged at step") and record["metrics"] == {}
    row = study.summarize([record])["diverging"]
    assert row["diverged"] == 1 and row["metrics"] == {}
    assert "| diverging | 1 (1 diverged) |" in study.markdown(study.summarize([record]), ["fid"])
