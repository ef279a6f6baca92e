import json
import os

import numpy as np
import pytest
from conftest import tiny_config

from keras_attngan.experiment import (
    Workdir,
    build_data,
    build_trainer,
    check_workdir_compatible,
    write_config,
)


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


def test_mixed_precision_policy_is_scoped_to_the_networks():
    import keras

    config = tiny_config(**{"train.dtype_policy": "mixed_bfloat16", "data.channels": 3})
    model = build_trainer(config)
    assert model.generator.get_layer("up_1").compute_dtype == "bfloat16"
    assert model.generator.output.dtype == "float32"  # images stay float32
    assert keras.config.dtype_policy().name == "float32"  # global policy restored


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
