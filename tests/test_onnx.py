"""ONNX conversion: a refused op is named."""

import pytest
from conversion_fixtures import unsupported_saved_model

from keras_attngan.export import onnx
from keras_attngan.export.tflite import ConversionError


def test_a_refused_op_is_named(tmp_path):
    path = unsupported_saved_model(str(tmp_path / "sm"))
    with pytest.raises(ConversionError, match=f"opset {onnx.OPSET}.*Betainc"):
        onnx.convert(path, str(tmp_path / "m.onnx"), "serving_default")
    assert not (tmp_path / "m.onnx").exists()
