"""Keras callbacks: every side effect of training (summaries, pictures, files).

The trainers' `train_step` only does maths; these callbacks read the model between
steps. They count time in train steps (`model.train_steps`, restored with the
checkpoint), so a resumed run continues its TensorBoard curves instead of
restarting them at zero, and they fire when a multiple of their period is
crossed, which also works when `steps_per_execution` > 1 runs several steps
between two callback calls.

TensorBoard groups its cards by the text of the tag before the first ``/``,
sorts the groups by name and opens the first two, so every tag written here
has a group, and the groups sort in the order a reader looks at them:

- ``loss/``: D's and G's losses and D's penalty, super-resolution's pixel
  loss and phase (opens first);
- ``mask/``: statistics of the masks G received in training (opens second);
- ``mask_usage/``: `MaskUsage`, the mask-usage metrics (run ``mask_usage``);
- ``metrics/``: `Evaluation`, FID and the other metrics (run ``eval``);
- ``mi/``: the MI estimator's loss, bound, ceiling and weight;
- ``samples/``: the pictures, named as their PNG files (runs ``images``,
  ``codes``);
- ``score/``: D's mean probability of "real" on real and fake images;
- ``terms/``: the loss terms' values (InfoGAN, rotation, encoder).

No tag is written by two runs, so no card mixes two quantities.
"""

from keras_attngan.training.callbacks.base import (
    TRAIN_GROUPS,
    EveryNSteps,
    train_tag,
    write_pictures,
)
from keras_attngan.training.callbacks.pictures import (
    AttentionImages,
    CodeGrids,
    SuperResolutionImages,
)
from keras_attngan.training.callbacks.scalars import (
    Evaluation,
    MaskUsage,
    ScalarSummaries,
)
from keras_attngan.training.callbacks.state import (
    CheckpointSaver,
    ExportOnEnd,
    NonFiniteGuard,
)

__all__ = [
    "AttentionImages",
    "CheckpointSaver",
    "CodeGrids",
    "Evaluation",
    "EveryNSteps",
    "ExportOnEnd",
    "MaskUsage",
    "NonFiniteGuard",
    "ScalarSummaries",
    "SuperResolutionImages",
    "TRAIN_GROUPS",
    "train_tag",
    "write_pictures",
]
