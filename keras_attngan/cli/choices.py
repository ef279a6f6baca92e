"""Choice lists the commands offer in their help, without importing TensorFlow.

Copies of `keras_attngan.metrics.METRICS` and `keras_attngan.evaluation.EXTRACTORS`,
which import TensorFlow; tests/test_cli.py checks that they agree.
"""

METRICS = ("fid", "kid", "is", "pr", "intra_fid", "faithfulness", "mask_usage")
EXTRACTORS = ("domain", "inception")
