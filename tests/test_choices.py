"""The config check's view of the registries agrees with the registries, and needs no TensorFlow."""

import os
import subprocess
import sys

from keras_attngan.apps.evaluation import EXTRACTORS
from keras_attngan.core import choices, losses, penalties
from keras_attngan.core.first_masks import FIRST_MASKS
from keras_attngan.core.lipschitz import LIPSCHITZ
from keras_attngan.core.mask_sources import MASK_NORMALIZATIONS, MASK_SOURCES
from keras_attngan.core.mutual_information import MI_ESTIMATORS, MI_WEIGHTINGS, InfoNCE
from keras_attngan.data import pipeline
from keras_attngan.metrics import METRICS
from keras_attngan.networks.architectures import ARCHITECTURES
from keras_attngan.networks.encoder import ENCODERS
from keras_attngan.networks.normalizations import NORMALIZATIONS
from keras_attngan.networks.upsampling import UPSAMPLINGS
from keras_attngan.terms import TERMS
from keras_attngan.training.distribute import STRATEGIES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_choice_list_is_its_registry_in_order():
    assert choices.LOSSES == tuple(losses.LOSSES)
    assert choices.PENALTIES == tuple(penalties.PENALTIES)
    assert choices.PER_EXAMPLE_PENALTIES == tuple(penalties.PER_EXAMPLE_PENALTIES)
    assert choices.STRATEGIES == tuple(STRATEGIES)
    assert choices.MI_WEIGHTINGS == tuple(MI_WEIGHTINGS)
    assert choices.MI_CRITICS == tuple(InfoNCE.CRITICS)
    assert choices.MI_NEGATIVES == tuple(InfoNCE.NEGATIVES)
    assert choices.MASK_NORMALIZATIONS == tuple(MASK_NORMALIZATIONS)
    assert choices.ARCHITECTURES == tuple(ARCHITECTURES)
    assert choices.UPSAMPLINGS == tuple(UPSAMPLINGS)
    assert choices.TERMS == tuple(TERMS)
    assert choices.ENCODERS == tuple(ENCODERS)
    assert choices.LIPSCHITZ == tuple(LIPSCHITZ)
    assert choices.METRICS == tuple(METRICS)
    assert choices.EXTRACTORS == tuple(EXTRACTORS)
    assert tuple(choices.SOURCES) == tuple(pipeline._LOADERS)


def test_the_facts_the_config_check_reads_are_the_registries_facts():
    assert choices.MASK_SOURCES == {name: source.uses_mask for name, source in MASK_SOURCES.items()}
    assert choices.VERDICT_SOURCES == tuple(name for name, source in MASK_SOURCES.items() if source.needs_decoder)
    assert choices.MI_ESTIMATORS == {name: e.min_batch_size for name, e in MI_ESTIMATORS.items()}
    assert choices.FIRST_MASKS == {name: first.noise_dim for name, first in FIRST_MASKS.items()}
    assert list(choices.NORMALIZATIONS) == list(NORMALIZATIONS)
    for name, normalization in NORMALIZATIONS.items():
        facts = choices.NORMALIZATIONS[name]
        assert (facts.needs_labels, facts.batch_statistics) == (
            normalization.needs_labels,
            normalization.batch_statistics,
        ), name


def test_a_bad_config_value_is_refused_before_tensorflow_is_imported(tmp_path):
    # A `tensorflow` that cannot be imported, first on the path: the command
    # must refuse the value without reaching for it.
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('tensorflow was imported')\n")
    command = [sys.executable, "-m", "keras_attngan.cli.main", "train", "--config", "configs/symbols_attn.py",
               "--workdir", str(tmp_path / "run"), "--config.data.image_size=33"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), REPO]))
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "attngan train: error: `data.image_size` should be 4 * 2**n with n >= 1 (8, 16, 32, 64, ...): "
        "the networks double the resolution from 4x4 at each stage. Received: data.image_size=33"
    ]
    assert not os.path.exists(tmp_path / "run")
