import json
import os

import numpy as np
import pytest
from conftest import real_dataset, tiny_config

from keras_attngan.training.build import build_data, build_trainer
from keras_attngan.training.experiment import (
    Workdir,
    check_workdir_compatible,
    checkpoint_manager,
    config_diff,
    load_config,
    restore_trainer,
    stored_config,
    write_config,
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "source, channels", [("symbols", 3), ("digits", 1), ("colored_digits", 3)]
)
def test_fit_on_each_built_in_source(source, channels):
    config = tiny_config(**{"data.source": source})
    dataset, data = build_data(config)
    assert data.channels == channels
    config.data.channels = data.channels
    model = build_trainer(config)
    history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][-1])
    assert model.generator.output.shape[-1] == channels


@pytest.mark.slow
def test_training_options_reach_the_trainer_and_the_data():
    options = {
        "train.loss": "relativistic_average",
        "train.penalty": "r1",
        "train.penalty_weight": 0.5,
        "train.penalty_every": 4,
        "train.d_steps": 2,
        "model.mask_source": "none",
    }
    config = tiny_config(**options)
    dataset, data = build_data(config)
    config.data.channels = data.channels
    model = build_trainer(config)
    assert (model.loss_name, model.penalty_name, model.penalty_weight) == ("relativistic_average", "r1", 0.5)
    assert (model.penalty_every, model.d_steps) == (4, 2)
    # Every D update gets data.batch_size real images of its own.
    assert next(iter(dataset))["images"].shape[0] == 2 * config.data.batch_size
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    assert int(model.train_steps) == 2 and int(model.d_optimizer.iterations) == 4


def test_configs_written_before_a_key_existed_load_with_its_default(tmp_path):
    workdir = Workdir(str(tmp_path))
    write_config(tiny_config(**{"train.loss": "hinge"}), workdir)
    with open(workdir.config_file) as f:
        stored = json.load(f)
    del stored["train"]["penalty"], stored["train"]["d_steps"]
    with open(workdir.config_file, "w") as f:
        json.dump(stored, f)
    config = load_config(workdir)
    assert (config.train.loss, config.train.penalty, config.train.d_steps) == ("hinge", "none", 1)


def test_a_config_written_before_mi_weighting_existed_trained_with_the_fixed_weight(tmp_path):
    """The default is now "balanced"; runs stored without the key used "fixed" and keep it."""
    workdir = Workdir(str(tmp_path))
    stored = tiny_config()
    del stored.train["mi_weighting"]
    write_config(stored, workdir)
    assert load_config(workdir).train.mi_weighting == "fixed"
    assert tiny_config().train.mi_weighting == "balanced"
    assert config_diff(stored, tiny_config()) == {"train.mi_weighting": ("fixed", "balanced")}
    assert config_diff(stored, tiny_config(**{"train.mi_weighting": "fixed"})) == {}


@pytest.mark.slow
def test_mixed_precision_policy_is_scoped_to_the_networks():
    import keras

    config = tiny_config(**{"train.dtype_policy": "mixed_bfloat16", "data.channels": 3})
    model = build_trainer(config)
    assert model.generator.get_layer("up_1").compute_dtype == "bfloat16"
    assert model.generator.output.dtype == "float32"  # images stay float32
    assert keras.config.dtype_policy().name == "float32"  # global policy restored
    # The MI bound is computed in float32; a step of the whole trainer runs.
    assert model.mi_estimator.compute_dtype == "float32"
    history = model.fit(real_dataset(), steps_per_epoch=1, epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())


def test_unset_channels_is_an_error():
    with pytest.raises(ValueError, match="data.channels"):
        build_trainer(tiny_config())


def test_batch_larger_than_the_data():
    with pytest.raises(ValueError, match="data.batch_size"):
        build_data(tiny_config(**{"data.batch_size": 128}))


def test_incompatible_workdir_is_refused_untouched(tmp_path):
    workdir = Workdir(str(tmp_path))
    config = tiny_config(**{"data.channels": 3})
    write_config(config, workdir)
    with open(workdir.config_file) as f:
        stored = f.read()
    check_workdir_compatible(tiny_config(**{"train.steps": 8}), workdir)  # not architecture
    changed = tiny_config(**{"model.mask_source": "gradcam", "model.g_width": 32})
    with pytest.raises(ValueError, match="model.g_width: 16 in the workdir, 32 now.*mask_source"):
        check_workdir_compatible(changed, workdir)
    with open(workdir.config_file) as f:
        assert f.read() == stored
    assert json.loads(stored)["model"]["mask_source"] == "learned"


def test_checkpoints_without_config_are_refused(tmp_path):
    workdir = Workdir(str(tmp_path))
    os.makedirs(workdir.checkpoints)
    open(os.path.join(workdir.checkpoints, "checkpoint"), "w").write(
        'model_checkpoint_path: "ckpt-1"\nall_model_checkpoint_paths: "ckpt-1"\n'
    )
    with pytest.raises(ValueError, match="no config.json"):
        check_workdir_compatible(tiny_config(), workdir)


def test_config_diff_names_full_dotted_keys():
    old, new = tiny_config(), tiny_config(**{"train.loss": "hinge", "log.num_images": 9})
    new.seed = 3
    assert config_diff(old, new) == {
        "log.num_images": (4, 9),
        "seed": (0, 3),
        "train.loss": ("non_saturating", "hinge"),
    }
    stored = tiny_config()
    del stored.train["deterministic"]  # written before the key existed: its default
    assert config_diff(stored, tiny_config()) == {}


def test_run_defining_changes_need_the_flag(tmp_path):
    workdir = Workdir(str(tmp_path))
    write_config(tiny_config(**{"data.channels": 3}), workdir)
    free = tiny_config(**{"train.steps": 40, "log.scalars_every": 7, "train.deterministic": True})
    assert check_workdir_compatible(free, workdir) == {}
    changed = tiny_config(**{"train.lambda_mi": 2.0, "data.batch_size": 4})
    with pytest.raises(ValueError, match=r"data.batch_size: 8 in the workdir, 4 now; train.lambda_mi"):
        check_workdir_compatible(changed, workdir)
    assert check_workdir_compatible(changed, workdir, allow_change=True) == {
        "data.batch_size": (8, 4),
        "train.lambda_mi": (1.0, 2.0),
    }
    with pytest.raises(ValueError, match="model.g_width"):  # shapes: never
        check_workdir_compatible(tiny_config(**{"model.g_width": 32}), workdir, allow_change=True)
    with pytest.raises(ValueError, match="train.d_steps: 1 in the workdir, 2 now"):  # the step count
        check_workdir_compatible(tiny_config(**{"train.d_steps": 2}), workdir, allow_change=True)


def test_checkpoints_store_their_config_and_older_ones_still_restore(tmp_path):
    workdir = Workdir(str(tmp_path))
    config = tiny_config(**{"data.channels": 3})
    write_config(config, workdir)
    model = build_trainer(config)
    model.d_optimizer.iterations.assign(7)
    checkpoint_manager(model, workdir.checkpoints).save(checkpoint_number=7)  # no config inside
    assert stored_config(workdir).train.steps == 4  # from config.json
    changed = tiny_config(**{"data.channels": 3, "train.steps": 12})
    restored, manager, step = restore_trainer(changed, workdir)
    assert step == 7
    manager.save(checkpoint_number=8)
    assert stored_config(workdir).train.steps == 12  # from the checkpoint now


def test_each_player_gets_its_own_adam_settings():
    config = tiny_config(**{
        "train.g_learning_rate": 1e-4, "train.g_beta_1": 0.0, "train.g_beta_2": 0.9,
        "train.d_learning_rate": 4e-4, "train.d_beta_1": 0.5, "train.d_beta_2": 0.99,
        "data.channels": 1,
    })  # fmt: skip
    model = build_trainer(config)
    settings = lambda o: (float(o.learning_rate), o.beta_1, o.beta_2)  # noqa: E731
    assert settings(model.g_optimizer) == pytest.approx((1e-4, 0.0, 0.9))
    assert settings(model.d_optimizer) == pytest.approx((4e-4, 0.5, 0.99))


def test_auto_precision_computes_in_bfloat16_only_where_it_is_native(monkeypatch, tmp_path):
    from keras_attngan.training import precision

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu sse avx2 fma\n")
    assert precision._cpu_flags(str(cpuinfo)) == {"fpu", "sse", "avx2", "fma"}
    for native, expected in ((True, "mixed_bfloat16"), (False, "float32")):
        monkeypatch.setattr(precision, "native_bfloat16", lambda native=native: native)
        assert precision.resolve("auto") == expected
        model = build_trainer(tiny_config(**{"train.dtype_policy": "auto", "data.channels": 3}))
        assert model.generator.dtype_policy.name == expected
    with pytest.warns(UserWarning, match="without bfloat16 arithmetic"):
        assert precision.resolve("mixed_bfloat16") == "mixed_bfloat16"
    assert precision.resolve("float32") == "float32"
