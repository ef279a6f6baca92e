"""The mask-source registry: one interface, and a new source is one class and one entry."""

import numpy as np
import pytest
from conftest import CHANNELS, SIZE
from keras import ops

from keras_attngan.core import mask_sources
from keras_attngan.core.mask_sources import MASK_SOURCES, MaskSource, get_mask_source
from keras_attngan.networks.discriminator import Discriminator


def test_what_each_source_needs_and_gives():
    assert [name for name, source in MASK_SOURCES.items() if not source.uses_mask] == ["none"]
    assert [name for name, source in MASK_SOURCES.items() if source.needs_gate] == ["learned"]
    for name, source in MASK_SOURCES.items():
        assert issubclass(source, MaskSource)
        discriminator = Discriminator(SIZE, CHANNELS, width=4, attention=name)
        assert isinstance(discriminator.mask_source, source)
        assert (discriminator.attention_scores is not None) == source.needs_gate


def test_unknown_names_list_the_registered_ones():
    with pytest.raises(ValueError, match=r"\['learned', 'gradcam', 'saliency', 'verdict', 'none'\].*'cam'"):
        get_mask_source("cam")


class _Centre(MaskSource):
    """A fixed map peaking at the image centre: a source D's head does not shape."""

    def attention(self, discriminator, images, training, labels=None):
        evidence = discriminator.classify(images, training, labels)
        line = 1.0 - ops.abs(ops.linspace(-1.0, 1.0, 4))
        cells = (line[:, None] * line[None, :])[None, :, :, None]
        raw = ops.tile(cells, (ops.shape(images)[0], 1, 1, 1))
        return evidence, discriminator.to_mask(raw)


def test_a_new_source_is_one_class_and_one_entry(monkeypatch):
    monkeypatch.setitem(mask_sources.MASK_SOURCES, "centre", _Centre)
    discriminator = Discriminator(SIZE, CHANNELS, width=4, attention="centre")
    images = np.zeros((2, SIZE, SIZE, CHANNELS), np.float32)
    mask = discriminator(images)["attention"].numpy()
    assert mask.shape == (2, SIZE, SIZE, 1)
    assert mask[:, SIZE // 2, SIZE // 2, 0] == pytest.approx(mask.max(axis=(1, 2, 3)), abs=0.1)
    assert mask[:, 0, 0, 0] == pytest.approx(0.0, abs=1e-6)
    assert Discriminator.from_config(discriminator.get_config()).attention == "centre"
