"""TFLite conversion: unknown quantizations and refused ops are named."""

import pytest
from conversion_fixtures import unsupported_saved_model

from keras_attngan.export import tflite


def test_a_refused_op_is_named(tmp_path):
    path = unsupported_saved_model(str(tmp_path / "sm"))
    with pytest.raises(tflite.ConversionError, match=r"unsupported op\(s\) tf.Betainc \(no TFLite builtin\)"):
        tflite.convert(path, str(tmp_path / "m.tflite"), "serving_default")
    assert not (tmp_path / "m.tflite").exists()


def test_unknown_quantization_lists_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"one of \['float32', 'float16', 'dynamic_int8', 'int8'\]"):
        tflite.convert(str(tmp_path), str(tmp_path / "m.tflite"), "serving_default", "int4")
    with pytest.raises(ValueError, match="needs representative inputs"):
        tflite.QUANTIZATIONS["int8"](object(), None)
