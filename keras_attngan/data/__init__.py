"""Input pipelines: one `data.source` string -> batched `tf.data` of images.

Sources: `symbols` (procedural marks with known factors), `digits`,
`colored_digits`, `photos`, `tfds:NAME`, `folder:PATH` and `npz:PATH`.
`make_dataset` is what training uses; `load_source` gives the unbatched uint8
data; `pair_batches` adds the low-res inputs of super-resolution.
"""

from keras_attngan.data.base import SourceData
from keras_attngan.data.paired import downscale, pair_batches
from keras_attngan.data.pipeline import (
    SOURCE_CHOICES,
    batch_source,
    load_source,
    make_dataset,
    parse_source,
)
from keras_attngan.data.symbols import render_symbols

__all__ = [
    "SOURCE_CHOICES",
    "SourceData",
    "batch_source",
    "downscale",
    "pair_batches",
    "load_source",
    "make_dataset",
    "parse_source",
    "render_symbols",
]
