"""Evaluation that can be trusted: metrics checked against their definitions.

Every result records what it computed: the extractor (by a name that pins its
weights) and its held-out accuracy, the numbers of real and fake images, the
split, the image size, the resize and the seeds. See docs/evaluation.md for
each metric's definition, reference, exact implementation and limits.

Modules, one concept each: `fid` (streaming statistics, FID, intra-class
FID), `kid`, `inception_score`, `precision_recall`, `control` (latent-code
accuracy and correlation), `faithfulness` (deletion / insertion curves of D's
attention), `extractors` (Inception-v3, any Keras model), `domain_classifier`,
`reference` (cached real statistics), `evaluate` (a `Subject`, the model
under evaluation as functions and facts, + reference -> values:
`compute_metrics`). The package imports nothing of the trainer: loading a
workdir or an export is `keras_attngan.apps.evaluation`. No function is named like
its module, so ``keras_attngan.metrics.fid`` (etc.) is always the module.
"""

from keras_attngan.metrics.control import (
    categorical_code_accuracy,
    continuous_code_correlation,
    correlation_ratio,
    traversal_control,
)
from keras_attngan.metrics.domain_classifier import (
    DomainClassifier,
    get_domain_classifier,
    train_domain_classifier,
)
from keras_attngan.metrics.extractors import InceptionExtractor, KerasExtractor, embed
from keras_attngan.metrics.faithfulness import deletion_insertion, mask_faithfulness
from keras_attngan.metrics.fid import (
    FeatureStatistics,
    fid_from_features,
    fid_from_statistics,
    frechet_distance,
    intra_class_fid,
)
from keras_attngan.metrics.inception_score import inception_score_from_probabilities
from keras_attngan.metrics.kid import (
    kid_from_features,
    mmd2_unbiased,
    polynomial_kernel,
)
from keras_attngan.metrics.precision_recall import improved_precision_recall
from keras_attngan.metrics.reference import (
    Reference,
    reference_from_images,
    reference_statistics,
)
from keras_attngan.metrics.suite import METRICS, MetricOptions, Subject, compute_metrics

__all__ = [
    "METRICS",
    "DomainClassifier",
    "FeatureStatistics",
    "InceptionExtractor",
    "KerasExtractor",
    "MetricOptions",
    "Reference",
    "Subject",
    "categorical_code_accuracy",
    "compute_metrics",
    "continuous_code_correlation",
    "correlation_ratio",
    "deletion_insertion",
    "embed",
    "fid_from_features",
    "fid_from_statistics",
    "frechet_distance",
    "get_domain_classifier",
    "improved_precision_recall",
    "inception_score_from_probabilities",
    "intra_class_fid",
    "kid_from_features",
    "mask_faithfulness",
    "mmd2_unbiased",
    "polynomial_kernel",
    "reference_from_images",
    "reference_statistics",
    "train_domain_classifier",
    "traversal_control",
]
