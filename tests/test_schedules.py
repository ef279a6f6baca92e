"""Learning-rate schedules (keras_attngan.training.schedules) and `train.lr_decay` in a run."""

import math

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config
from tensorboard.backend.event_processing import event_accumulator

from keras_attngan.training.build import build_trainer
from keras_attngan.training.schedules import LR_DECAYS, PhasedCosineDecay, learning_rate
from keras_attngan.training.validation import validate_config


def _schedule(optimizer):
    return keras.saving.deserialize_keras_object(optimizer.get_config()["learning_rate"])


def _rates(schedule, iterations):
    return np.array([float(schedule(i)) for i in iterations])


def test_cosine_starts_at_the_rate_halves_at_mid_phase_and_ends_at_the_floor():
    schedule = PhasedCosineDecay(1e-3, steps=100, alpha=0.1)
    rates = _rates(schedule, [0, 50, 100, 500])
    np.testing.assert_allclose(rates, [1e-3, 1e-3 * (0.1 + 0.9 * 0.5), 1e-4, 1e-4], rtol=1e-5)
    quarter = float(schedule(25))
    np.testing.assert_allclose(quarter, 1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))), rtol=1e-5)


def test_each_phase_restarts_the_cosine_and_updates_are_counted_in_train_steps():
    # Two phases, [0, 30) and [30, 40); G takes 2 updates per train step.
    schedule = PhasedCosineDecay(2.0, steps=40, phases=(0, 30), updates_per_step=2)
    rates = _rates(schedule, [0, 30, 58, 59, 60, 70, 80])
    np.testing.assert_allclose(
        rates,
        [2.0, 1.0, 2.0 * 0.5 * (1 + math.cos(math.pi * 29 / 30)), 2.0 * 0.5 * (1 + math.cos(math.pi * 29 / 30)), 2.0, 1.0, 0.0],
        atol=1e-6,
    )
    assert np.all(np.diff(_rates(schedule, range(0, 60, 2))) < 0)


def test_schedules_serialize_and_bad_phases_or_names_are_refused():
    schedule = PhasedCosineDecay(1e-3, steps=10, phases=(0, 4), updates_per_step=3, alpha=0.2)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(again, PhasedCosineDecay) and again.get_config() == schedule.get_config()
    for phases in [(1,), (0, 10), (0, 5, 3), ()]:
        with pytest.raises(ValueError, match="`phases` should be"):
            PhasedCosineDecay(1e-3, steps=10, phases=phases)
    with pytest.raises(ValueError, match=r"`train\.lr_decay` should be one of \['constant', 'cosine'\]"):
        learning_rate("linear", 1e-3, steps=10)
    assert learning_rate("constant", 1e-3, steps=10) == 1e-3
    assert list(LR_DECAYS) == ["constant", "cosine"]


@pytest.mark.parametrize(
    "key, value",
    [("train.lr_decay", "step"), ("train.lr_decay_floor", 1.5), ("train.lr_decay_floor", -0.1)],
)
def test_the_config_check_names_the_bad_decay_key(key, value):
    with pytest.raises(ValueError, match=rf"`{key.replace('.', '[.]')}` should be .*Received: {key}"):
        validate_config(tiny_config(**{key: value}))


def test_a_super_resolution_trainer_restarts_the_decay_at_its_adversarial_phase():
    config = tiny_config(
        "photos_sr_x4",
        **{"train.lr_decay": "cosine", "train.sr_pretrain_steps": 2, "train.steps": 4, "data.channels": 3},
    )
    model = build_trainer(config)
    schedule = _schedule(model.g_optimizer)
    assert isinstance(schedule, PhasedCosineDecay) and schedule.phases == [0, 2]
    np.testing.assert_allclose(
        _rates(schedule, [0, 1, 2, 3]), config.train.g_learning_rate * np.array([1.0, 0.5, 1.0, 0.5]), rtol=1e-5
    )
    d_schedule = _schedule(model.d_optimizer)
    assert d_schedule.updates_per_step == config.train.d_steps
    # The plain trainer: one phase over the whole run.
    plain = build_trainer(tiny_config("symbols_baseline", **{"train.lr_decay": "cosine", "data.channels": 3}))
    assert _schedule(plain.g_optimizer).phases == [0]


def test_a_run_with_a_decaying_rate_restores_from_its_checkpoint(tmp_path):
    from keras_attngan.training.experiment import Workdir, restore_trainer
    from keras_attngan.training.loop import train

    config = tiny_config("photos_sr_x4", **{"train.lr_decay": "cosine", "train.sr_pretrain_steps": 2})
    config.data.num_examples = 16
    config.data.batch_size = 4
    workdir = Workdir(str(tmp_path / "run"))
    train(config, workdir.root)
    model, _, step = restore_trainer(config, workdir)
    assert step == config.train.steps == 4
    # The schedule is the config's, evaluated at the restored counter: the
    # end of the adversarial phase.
    np.testing.assert_allclose(float(model.g_optimizer.learning_rate), 0.0, atol=1e-9)
    # TensorBoard shows the rates each logged step's successor took: G's
    # restarts at the adversarial phase (step 2), then decays.
    logged = event_accumulator.EventAccumulator(os.path.join(workdir.logs, "train"), size_guidance={"tensors": 0})
    logged.Reload()
    rates = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in logged.Tensors("optimizer/g_learning_rate")}
    rate = config.train.g_learning_rate
    np.testing.assert_allclose([rates[2], rates[4]], [rate, 0.0], atol=1e-9)
