import glob
import os

import pytest
from conftest import load_config

from keras_attngan.training.config import default_config
from keras_attngan.training.validation import validate_config

CONFIGS = sorted(
    os.path.basename(path)[:-3]
    for path in glob.glob(os.path.join(os.path.dirname(__file__), "..", "configs", "*.py"))
)


def test_the_three_required_configs_exist():
    assert {"symbols_attn", "symbols_baseline", "digits_attn"} <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("arg", [None, "smoke"])
def test_every_config_validates(name, arg):
    validate_config(load_config(name, arg))


@pytest.mark.parametrize("arg", ["supervised", "supervised,smoke"])
def test_digits_infogan_supervised_lets_the_labels_choose_the_category(arg):
    config = load_config("digits_infogan", arg)
    validate_config(config)
    assert config.train.info_supervised_code == "digit"
    assert (config.train.steps <= 50) == arg.endswith("smoke")
    assert load_config("digits_infogan", None).train.info_supervised_code == ""


def test_digits_infogan_iic_clusters_the_real_digits_without_labels():
    config = load_config("digits_infogan", "iic")
    validate_config(config)
    assert config.train.info_supervised_code == "" and config.train.info_weight_invariant > 0
    assert config.train.info_subheads > 1 and config.train.info_separate_heads
    assert load_config("digits_infogan", "iic,smoke").train.steps <= 50
    with pytest.raises(ValueError, match="pick one"):
        load_config("digits_infogan", "iic,supervised")


def test_an_unknown_config_argument_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"\['supervised', 'iic', 'smoke'\]; unknown: \['supervized'\]"):
        load_config("digits_infogan", "supervized")


def test_baseline_is_the_attention_config_with_the_method_off():
    attention = load_config("symbols_attn", None).to_dict()
    baseline = load_config("symbols_baseline", None).to_dict()
    assert baseline["model"].pop("mask_source") == "none"
    assert attention["model"].pop("mask_source") == "gradcam"
    assert attention == baseline


def test_smoke_is_small():
    config = load_config("symbols_attn", "smoke")
    assert config.train.steps <= 50 and config.data.num_examples <= 512


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("data.source", "imagenet", r"data.source.*symbols.*tfds:NAME.*Received"),
        ("data.image_size", 24, r"`data.image_size`.*Received: data.image_size=24"),
        ("data.batch_size", 0, r"data.batch_size.*Received: data.batch_size=0"),
        ("model.mask_source", "shap", r"model.mask_source.*'learned'.*Received: model.mask_source='shap'"),
        ("model.first_mask", "real", r"model.first_mask.*'recurrence', 'blobs'.*Received: model.first_mask='real'"),
        ("train.loss", "ragan", r"train.loss.*'minimax', 'non_saturating'.*Received: train.loss='ragan'"),
        ("train.penalty", "gp", r"train.penalty.*\['dragan', 'l2', 'none', 'r1', 'wgan_gp'\].*Received: train.penalty='gp'"),
        ("train.penalty_weight", -1.0, r"train.penalty_weight.*>= 0.*Received: train.penalty_weight=-1.0"),
        ("train.penalty_every", 0, r"train.penalty_every.*>= 1.*Received: train.penalty_every=0"),
        ("train.d_steps", 0, r"train.d_steps.*>= 1.*Received: train.d_steps=0"),
        ("train.inner_steps", 0, r"train.inner_steps.*K.*Received: train.inner_steps=0"),
        ("train.lambda_mi", -0.5, r"train.lambda_mi.*>= 0.*Received: train.lambda_mi=-0.5"),
        ("train.info_overclusters", -1, r"train.info_overclusters.*>= 0.*Received: train.info_overclusters=-1"),
        ("train.g_learning_rate", 0.0, r"train.g_learning_rate"),
        ("train.d_beta_1", 1.0, r"train.d_beta_1"),
        ("train.steps", 1001, r"train.steps.*multiple of train.steps_per_epoch"),
        ("train.steps_per_epoch", 125, r"train.steps_per_epoch.*multiple of train.steps_per_execution"),
        ("train.dtype_policy", "float16", r"train.dtype_policy.*mixed_bfloat16"),
        ("log.keep_checkpoints", 0, r"log.keep_checkpoints"),
        ("model.mi_estimator", "mine", r"model.mi_estimator.*'barber_agakov', 'infonce'.*'mine'"),
        ("model.mi_critic", "cosine", r"model.mi_critic.*'locality', 'learned'.*'cosine'"),
        ("model.mi_cell_size", 5, r"model.mi_cell_size.*divides data.image_size=32.*=5"),
        ("model.mi_levels", 1, r"model.mi_levels.*>= 2"),
        ("model.mask_normalization", "l2", r"model.mask_normalization.*'minmax', 'peak'.*'l2'"),
        ("model.mask_temperature", 0.0, r"model.mask_temperature.*> 0"),
        ("model.architecture", "vgg", r"model.architecture.*'dcgan', 'sndcgan', 'resnet'.*'vgg'"),
        ("model.g_normalization", "group", r"model.g_normalization.*'conditional_batch'.*'group'"),
        ("model.d_normalization", "conditional_batch", r"model.d_normalization.*without labels"),
        ("model.num_classes", -1, r"model.num_classes.*>= 0"),
        ("data.batch_size", 1, r"data.batch_size.*at least 2.*model.mi_estimator='infonce'"),
        ("model.mi_negatives", "pairs", r"model.mi_negatives.*'changes', 'masks'.*'pairs'"),
        ("train.mi_pairs", 1, r"train.mi_pairs.*from 2 \(model.mi_estimator='infonce' needs it\)"),
        ("train.mi_pairs", 65, r"train.mi_pairs.*to data.batch_size=64.*Received: train.mi_pairs=65"),
        ("train.mi_weighting", "adaptive", r"train.mi_weighting.*'fixed', 'balanced'.*'adaptive'"),
    ],
)
def test_bad_values_name_the_key(key, value, match):
    config = default_config()
    section, field = key.split(".")
    config[section][field] = value
    if key == "train.steps_per_epoch":
        config.train.steps = 1000
    with pytest.raises(ValueError, match=match):
        validate_config(config)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (
            {"model.d_normalization": "batch", "train.penalty": "r1"},
            r"`model.d_normalization`.*train.penalty='r1'.*per example.*Received: model.d_normalization='batch'",
        ),
        ({"model.g_normalization": "conditional_batch"}, r"`model.g_normalization`.*num_classes > 0.*num_classes=0"),
        ({"model.num_classes": 3}, r"`model.g_normalization`.*'conditional_batch' exactly when"),
        (
            {"model.num_classes": 3, "model.g_normalization": "conditional_batch", "train.strategy": "multi_worker"},
            r"`train.strategy`.*class-conditional",
        ),
    ],
)
def test_incompatible_combinations_are_refused_with_the_reason(overrides, match):
    config = default_config()
    for key, value in overrides.items():
        section, field = key.split(".")
        config[section][field] = value
    with pytest.raises(ValueError, match=match):
        validate_config(config)



def test_configs_readme_lists_every_config_file():
    with open(os.path.join(os.path.dirname(__file__), "..", "configs", "README.md")) as f:
        listed = {line.split("`")[1][:-3] for line in f if line.startswith("| `")}
    assert listed == set(CONFIGS)
