"""Deployment artifacts: every format reloads, runs and matches the SavedModel."""

import os

import numpy as np
import pytest
from conftest import CHANNELS, LATENT, SIZE, make_trainer

from keras_attngan import deploy, onnx, serving, tflite

ALL = ["tflite/dynamic_int8", "tflite/float16", "tflite/float32", "tflite/int8", "onnx"]


@pytest.fixture(scope="module")
def attention_export(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("deploy"))
    path = deploy.export(make_trainer(), base, "savedmodel,tflite,onnx", "float32,float16,dynamic_int8,int8")
    return deploy.Deployment(path)


def test_every_artifact_is_written_and_reported(attention_export):
    deployment = attention_export
    assert sorted(deployment.artifacts()) == sorted(["savedmodel", *ALL])
    report = deploy.load_report(deployment.path)
    assert report["failures"] == {} and report["onnx_opset"] == onnx.OPSET
    for artifact in ALL:
        for signature in deploy.CONVERTED_SIGNATURES:
            assert os.path.getsize(deployment.file(artifact, signature)) == report["artifacts"][artifact][signature]["bytes"]
    # Float artifacts within tolerance; int8 ones close enough to be images at all.
    for artifact, signatures in report["parity"].items():
        for outputs in signatures.values():
            for name, figures in outputs.items():
                if artifact in deploy.TOLERANCES and figures["float"]:
                    assert figures["max_abs_diff"] <= deploy.TOLERANCES[artifact]
                elif name != "images_uint8":
                    assert figures["psnr_db"] > 25
    assert "| onnx | serving_default | images |" in deploy.parity_table(report)
    # TF Serving still finds the SavedModel: the conversions sit beside it.
    assert serving.resolve_export(os.path.dirname(deployment.path)) == deployment.path


@pytest.mark.parametrize("artifact", ["savedmodel", *ALL])
def test_each_artifact_reloads_and_runs(attention_export, artifact):
    deployment = attention_export
    z = np.random.default_rng(1).standard_normal((3, LATENT)).astype(np.float32)
    images = deployment.runner(artifact)({"z": z})
    assert images["images"].shape == (3, SIZE, SIZE, CHANNELS) and images["images_uint8"].dtype == np.uint8
    explained = deployment.runner(artifact, "explain")({"images": images["images"]})
    assert explained["attention"].shape == (3, SIZE, SIZE, 1) and explained["score"].shape == (3, 1)
    empty = deployment.runner(artifact)({"z": z[:0]})
    assert empty["images"].shape == (0, SIZE, SIZE, CHANNELS)


@pytest.mark.parametrize(
    "inputs, error, message",
    [
        ({"z": np.zeros((1, LATENT))}, TypeError, "Input 'z' should be float32, not float64"),
        ({"z": np.full((1, LATENT), np.nan, np.float32)}, ValueError, "Input 'z' holds NaN or Inf"),
        ({"z": np.zeros((1, LATENT + 1), np.float32)}, ValueError, r"Input 'z' has shape \(1, 9\)"),
        ({"noise": np.zeros((1, LATENT), np.float32)}, ValueError, "do not match the signature's"),
    ],
)
def test_converted_runtimes_refuse_bad_inputs(attention_export, inputs, error, message):
    with pytest.raises(error, match=message):
        attention_export.runner("tflite/float32")(inputs)


def test_plain_model_exports_and_matches(tmp_path):
    model = make_trainer("none")
    path = deploy.export(model, str(tmp_path), "tflite,onnx", "float32")
    deployment = deploy.Deployment(path)
    assert deployment.artifacts() == ["savedmodel", "onnx", "tflite/float32"]
    z = np.random.default_rng(2).standard_normal((2, LATENT)).astype(np.float32)
    expected = model.generator({"z": z}).numpy()
    for artifact in deployment.artifacts():
        np.testing.assert_allclose(deployment.runner(artifact)({"z": z})["images"], expected, atol=1e-5)
    ones = deployment.runner("onnx", "explain")({"images": expected})["attention"]
    np.testing.assert_array_equal(ones, 1.0)


def test_a_failed_conversion_names_the_op_and_keeps_the_rest(tmp_path, monkeypatch):
    real_convert = tflite.convert

    def refuses_int8(saved_model_dir, path, signature, quantization="float32", representative=None):
        if quantization == "dynamic_int8":
            raise tflite.ConversionError("TFLite (dynamic_int8) cannot convert: unsupported op(s) tf.Betainc")
        real_convert(saved_model_dir, path, signature, quantization, representative)

    real_runner = deploy.Deployment.runner

    def int8_aborts(self, artifact, signature="serving_default", num_threads=None):
        if artifact != "tflite/int8":
            return real_runner(self, artifact, signature, num_threads)

        def run(inputs):  # what LiteRT raises when a quantized divisor is its zero point
            raise RuntimeError("tflite/kernels/div.cc:262 data[i] != zero_point was not true.")

        return run

    monkeypatch.setattr(tflite, "convert", refuses_int8)
    monkeypatch.setattr(deploy.Deployment, "runner", int8_aborts)
    monkeypatch.setitem(deploy.TOLERANCES, "tflite/float16", -1.0)  # nothing can pass: out of tolerance
    with pytest.raises(deploy.DeploymentError, match="tf.Betainc") as raised:
        deploy.export(make_trainer("none"), str(tmp_path), "tflite", "float32,float16,dynamic_int8,int8")
    assert "tflite/float16: out of tolerance, deleted" in str(raised.value)
    assert "tflite/int8: serving_default fails to run: tflite/kernels/div.cc" in str(raised.value)
    deployment = deploy.Deployment(raised.value.path)
    assert deployment.artifacts() == ["savedmodel", "tflite/float32"]
    assert sorted(os.listdir(os.path.join(deployment.path, "tflite"))) == [
        "explain.float32.tflite",
        "serving_default.float32.tflite",
    ]


def test_unknown_names_list_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"`format` should be among \['savedmodel', 'tflite', 'onnx'\]"):
        deploy.export(make_trainer("none"), str(tmp_path), "savedmodel,coreml")
    with pytest.raises(ValueError, match=r"`quantize` should be among \['float32', 'float16'"):
        deploy.export(make_trainer("none"), str(tmp_path), "tflite", "int4")
    assert not os.path.exists(tmp_path / "0")
