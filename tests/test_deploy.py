"""Deployment artifacts: every format reloads, runs and matches the SavedModel."""

import logging
import os

import keras
import numpy as np
import pytest
from conftest import CHANNELS, LATENT, SIZE, make_trainer

from keras_attngan.export import (
    deploy,
    loading,
    onnx,
    runtimes,
    serving,
    tflite,
    verification,
)

ALL = ["tflite/dynamic_int8", "tflite/float16", "tflite/float32", "tflite/int8", "onnx"]


@pytest.fixture(scope="module")
def attention_export(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("deploy"))
    path = deploy.export(make_trainer(), base, "savedmodel,tflite,onnx", "float32,float16,dynamic_int8,int8")
    return deploy.Deployment(path)


@pytest.mark.slow
def test_every_artifact_is_written_and_reported(attention_export):
    deployment = attention_export
    assert sorted(deployment.artifacts()) == sorted(["savedmodel", *ALL])
    report = deploy.load_report(deployment.path)
    assert report["failures"] == {} and report["onnx_opset"] == onnx.OPSET
    for artifact in ALL:
        for signature in deploy.CONVERTED_SIGNATURES:
            entry = report["artifacts"][artifact][signature]
            assert os.path.getsize(deployment.file(artifact, signature)) == entry["bytes"]
            assert runtimes.sha256(deployment.file(artifact, signature)) == entry["sha256"]
    # Every artifact, int8 included, within its tolerance on the tiny model.
    assert set(report["parity"]) == set(ALL) and report["flagged"] == {}
    for artifact, signatures in report["parity"].items():
        assert verification.beyond_tolerance(artifact, signatures) == {}
        for signature, outputs in signatures.items():
            assert set(verification.JUDGED[signature]) <= set(outputs)
    table = deploy.parity_table(report)
    assert "| onnx | serving_default | images |" in table and "| BEYOND |" not in table
    assert "| tflite/int8 | serving_default | images_uint8 |" in table
    # TF Serving still finds the SavedModel: the conversions sit beside it.
    assert loading.resolve_export(os.path.dirname(deployment.path)) == deployment.path


@pytest.mark.slow
def test_full_int8_keeps_its_input_side_and_uint8_conversion_in_float(attention_export):
    from ai_edge_litert.interpreter import Interpreter

    path = attention_export.file("tflite/int8", "serving_default")
    tensors = Interpreter(model_path=path).get_tensor_details()
    conversion = [t["dtype"] for t in tensors if t["name"].startswith(f"{serving.UINT8_SCOPE}/")]
    assert conversion and set(conversion) == {np.float32, np.uint8}
    projection = [t["dtype"] for t in tensors if "project" in t["name"]]
    assert projection and set(projection) == {np.float32}
    assert any(t["dtype"] == np.int8 for t in tensors)  # the rest is quantized
    # So the uint8 images follow the float ones: at most one rounding step apart.
    figures = deploy.load_report(attention_export.path)["parity"]["tflite/int8"]["serving_default"]
    assert figures["images_uint8"]["max_abs_diff"] <= figures["images"]["max_abs_diff"] * 127.5 + 1


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("artifact", ["savedmodel", *ALL])
@pytest.mark.parametrize(
    "signature, inputs, error, message",
    [
        ("serving_default", {"z": np.zeros((1, LATENT))}, TypeError, "Input 'z' should be float32, not float64"),
        ("serving_default", {"z": np.full((1, LATENT), np.nan, np.float32)}, ValueError, "Input 'z' holds NaN or Inf"),
        ("serving_default", {"z": np.full((2, LATENT), np.inf, np.float32)}, ValueError, "'z' holds NaN or Inf"),
        ("serving_default", {"z": np.zeros((1, LATENT + 1), np.float32)}, ValueError, r"'z' has shape \(1, 9\)"),
        ("serving_default", {"noise": np.zeros((1, LATENT), np.float32)}, ValueError, "do not match the signature's"),
        ("explain", {"images": np.full((1, SIZE, SIZE, CHANNELS), np.nan, np.float32)}, ValueError, "'images' holds NaN"),
        ("explain", {"images": np.zeros((1, SIZE, SIZE, 1), np.float32)}, ValueError, "Input 'images' has shape"),
    ],
)
def test_every_runtime_refuses_bad_inputs(attention_export, artifact, signature, inputs, error, message):
    with pytest.raises(error, match=message):
        attention_export.runner(artifact, signature)(inputs)


@pytest.mark.slow
@pytest.mark.parametrize("artifact", ALL)
def test_the_runtimes_alone_refuse_a_nan(attention_export, artifact):
    # A quantized model turns NaN into ordinary-looking images: the runners
    # of the runtimes check on their own, from the file's own inputs.
    path = attention_export.file(artifact, "serving_default")
    runner = onnx.Runner(path) if artifact == "onnx" else tflite.Runner(path, "serving_default")
    assert runner.specs["z"].shape.as_list() == [None, LATENT]
    with pytest.raises(ValueError, match="Input 'z' holds NaN or Inf"):
        runner({"z": np.full((1, LATENT), np.nan, np.float32)})
    assert runner({"z": np.zeros((1, LATENT), np.float32)})["images"].shape == (1, SIZE, SIZE, CHANNELS)


@pytest.mark.slow
def test_runtimes_are_a_registry_of_every_format(attention_export):
    assert set(runtimes.RUNNERS) == set(deploy.FORMATS) and set(deploy.CONVERTERS) == set(deploy.FORMATS) - {"savedmodel"}
    for artifact in ["savedmodel", *ALL]:
        name, _ = deploy.split_artifact(artifact)
        assert isinstance(attention_export.runner(artifact), runtimes.RUNNERS[name])
    with pytest.raises(ValueError, match=r"should start with one of \['savedmodel', 'tflite', 'onnx'\]"):
        attention_export.runner("coreml/float32")
    with pytest.raises(ValueError, match=r"should be one of \['savedmodel', 'onnx'"):
        attention_export.runner("tflite/int4")


def test_converter_output_is_held_back_and_logged(capfd, caplog):
    with caplog.at_level(logging.INFO, logger=runtimes.__name__):
        with runtimes.converter_output():
            os.write(2, b"fully_quantize: 0, inference_type: 6\n")
            os.write(1, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
            logging.getLogger("tf2onnx.tfonnx").warning("Using opset <onnx, 17>")
        with pytest.raises(KeyError):  # exceptions pass through, descriptors come back
            with runtimes.converter_output():
                raise KeyError("x")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
    logged = [record.getMessage() for record in caplog.records if record.name == runtimes.__name__]
    assert logged == [
        "fully_quantize: 0, inference_type: 6",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "tf2onnx.tfonnx: Using opset <onnx, 17>",
    ]
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("upsampling", ["resize", "subpixel"])
def test_generators_of_every_upsampling_export_and_match(tmp_path, upsampling):
    from keras_attngan.core.latent import LatentSpec
    from keras_attngan.networks.discriminator import Discriminator
    from keras_attngan.networks.generator import build_generator
    from keras_attngan.trainers.base import GAN

    generator = build_generator(LATENT, SIZE, CHANNELS, width=8, use_mask=False, upsampling=upsampling)
    model = GAN(generator, Discriminator(SIZE, CHANNELS, width=8, attention="none"), LatentSpec(LATENT), seed=0)
    model.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    deployment = deploy.Deployment(deploy.export(model, str(tmp_path), "tflite,onnx", "float32"))
    z = np.random.default_rng(2).standard_normal((2, LATENT)).astype(np.float32)
    expected = generator({"z": z}).numpy()
    for artifact in deployment.artifacts():
        np.testing.assert_allclose(deployment.runner(artifact)({"z": z})["images"], expected, atol=1e-5)


@pytest.mark.slow
def test_a_model_with_a_mask_prior_serves_alike_in_every_runtime(tmp_path):
    from keras_attngan.core.first_masks import FIRST_MASKS
    from keras_attngan.core.latent import LatentSpec

    latent = LatentSpec(LATENT, prior_dim=FIRST_MASKS["blobs"].noise_dim)
    model = make_trainer(inner_steps=2, first_mask="blobs", latent=latent)
    deployment = deploy.Deployment(deploy.export(model, str(tmp_path), "tflite,onnx", "float32"))
    # export/README.md's way to draw a served model's inputs: the export's own spec.
    inputs = loading.export_latent(deployment.path).inputs_numpy(3, 4)
    assert set(inputs) == {"z", "prior"}
    np.testing.assert_array_equal(inputs["prior"], latent.inputs_numpy(3, 4)["prior"])
    expected = model.synthesize({k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()})["images"]
    for artifact in deployment.artifacts():
        np.testing.assert_allclose(deployment.runner(artifact)(inputs)["images"], expected, atol=1e-5)
    results, errors = verification.parity(deployment, deployment.artifacts()[1:], count=4)
    assert not errors and set(results) == {"onnx", "tflite/float32"}


@pytest.mark.slow
def test_a_model_trained_in_bfloat16_exports_float32_graphs_every_runtime_runs(tmp_path):
    from conftest import tiny_config

    from keras_attngan.training.build import build_trainer

    config = tiny_config(**{"train.dtype_policy": "mixed_bfloat16", "data.channels": CHANNELS})
    config.model.mask_source = "gradcam"
    model = build_trainer(config)
    conv = model.generator.get_layer("up_1")
    assert conv.compute_dtype == "bfloat16"
    deployment = deploy.Deployment(deploy.export(model, str(tmp_path), "tflite,onnx", "float32"))
    # ONNX Runtime and LiteRT have no bfloat16 convolution: both load and run,
    # within float32's tolerances of the SavedModel.
    assert sorted(deployment.artifacts()) == ["onnx", "savedmodel", "tflite/float32"]
    assert deploy.load_report(deployment.path)["flagged"] == {}
    inputs = loading.export_latent(deployment.path).inputs_numpy(3, 0)
    exported = deployment.runner("savedmodel")(inputs)["images"]
    for artifact in ("onnx", "tflite/float32"):
        np.testing.assert_allclose(deployment.runner(artifact)(inputs)["images"], exported, atol=1e-5)
    # The same model, in bfloat16's precision, and it trains on in bfloat16.
    tensors = {k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()}
    trained = keras.ops.convert_to_numpy(model.synthesize(tensors)["images"])
    np.testing.assert_allclose(trained, exported, atol=0.1)
    assert conv.compute_dtype == "bfloat16"


@pytest.mark.slow
def test_a_failed_conversion_names_the_op_and_keeps_the_rest(tmp_path, monkeypatch):
    real_convert = tflite.convert

    def refuses_int8(saved_model_dir, path, signature, quantization="float32", representative=None):
        if quantization == "dynamic_int8":
            raise tflite.ConversionError("TFLite (dynamic_int8) cannot convert: unsupported op(s) tf.Betainc")
        real_convert(saved_model_dir, path, signature, quantization, representative)

    class Aborts(runtimes.TFLiteRunner):
        def _run(self, inputs):  # what LiteRT raises when a quantized divisor is its zero point
            raise RuntimeError("tflite/kernels/div.cc:262 data[i] != zero_point was not true.")

    real_tflite_runner = runtimes.RUNNERS["tflite"]

    def int8_aborts(deployment, artifact, signature, num_threads=None):
        runner = Aborts if artifact == "tflite/int8" else real_tflite_runner
        return runner(deployment, artifact, signature, num_threads)

    monkeypatch.setattr(tflite, "convert", refuses_int8)
    monkeypatch.setitem(runtimes.RUNNERS, "tflite", int8_aborts)
    with pytest.raises(deploy.DeploymentError, match="tf.Betainc") as raised:
        deploy.export(make_trainer("none"), str(tmp_path), "tflite", "float32,float16,dynamic_int8,int8")
    message = str(raised.value)
    assert "\n" not in message and "tflite/int8: serving_default fails to run: tflite/kernels/div.cc" in message
    deployment = deploy.Deployment(raised.value.path)
    assert deployment.artifacts() == ["savedmodel", "tflite/float16", "tflite/float32"]
    assert sorted(os.listdir(os.path.join(deployment.path, "tflite"))) == [
        "explain.float16.tflite",
        "explain.float32.tflite",
        "serving_default.float16.tflite",
        "serving_default.float32.tflite",
    ]


@pytest.mark.slow
def test_an_artifact_beyond_its_tolerance_is_kept_and_flagged(tmp_path, monkeypatch):
    # float16 rounds the weights at 1e-3: a tolerance of 1e-7 cannot hold.
    tight = {
        "serving_default": {"max_abs_diff": 1e-7, "min_psnr_db": 100.0},
        "explain": {"max_abs_diff": 1.0, "min_psnr_db": 0.0},
    }
    monkeypatch.setitem(verification.TOLERANCES, "tflite/float16", tight)
    with pytest.warns(deploy.ToleranceWarning) as warned:
        path = deploy.export(make_trainer("none"), str(tmp_path), "tflite", "float32,float16")
    file = os.path.join(path, "tflite", "serving_default.float16.tflite")
    (warning,) = [str(w.message) for w in warned if w.category is deploy.ToleranceWarning]
    assert warning.startswith(f"{file} differs from the SavedModel beyond its tolerance: images max |diff| ")
    assert "> 1e-07" in warning and "\n" not in warning and "flagged in deploy.json" in warning
    report = deploy.load_report(path)
    assert list(report["flagged"]) == ["tflite/float16"]
    assert list(report["flagged"]["tflite/float16"]) == ["serving_default"]
    assert report["tolerances"]["tflite/float16"] == tight and report["failures"] == {}
    measured = report["parity"]["tflite/float16"]["serving_default"]["images"]["max_abs_diff"]
    assert f"images max |diff| {measured:.3g} > 1e-07" in warning
    assert os.path.exists(file)  # kept
    assert "| tflite/float16 | serving_default | images |" in deploy.parity_table(report)
    assert "| BEYOND |" in deploy.parity_table(report)


def test_tolerances_cover_every_variant_and_can_fail():
    assert set(verification.TOLERANCES) == {f"tflite/{q}" for q in tflite.QUANTIZATIONS} | {"onnx"}
    for artifact, signatures in verification.TOLERANCES.items():
        assert set(signatures) == set(deploy.CONVERTED_SIGNATURES)
        for limit in signatures.values():
            # Figures an image-shaped output can exceed: a tolerance that cannot fail judges nothing.
            assert 0 < limit["max_abs_diff"] < 1 and limit["min_psnr_db"] > 10
    figures = {
        "serving_default": {
            "images": {"max_abs_diff": 0.5, "psnr_db": 20.0},
            "images_uint8": {"max_abs_diff": 64.0, "psnr_db": 20.0},
            "ignored": {"max_abs_diff": 99.0, "psnr_db": 0.0},
        }
    }
    beyond = verification.beyond_tolerance("tflite/int8", figures)["serving_default"]
    limit = verification.TOLERANCES["tflite/int8"]["serving_default"]
    assert beyond == [
        f"images max |diff| 0.5 > {limit['max_abs_diff']:g}",
        f"images PSNR 20.0 dB < {limit['min_psnr_db']:g} dB",
        f"images_uint8 max |diff| 64 levels > {int(limit['max_abs_diff'] * 127.5) + 1}",
    ]


def test_unknown_names_list_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"`format` should be among \['savedmodel', 'tflite', 'onnx'\]"):
        deploy.export(make_trainer("none"), str(tmp_path), "savedmodel,coreml")
    with pytest.raises(ValueError, match=r"`quantize` should be among \['float32', 'float16'"):
        deploy.export(make_trainer("none"), str(tmp_path), "tflite", "int4")
    assert not os.path.exists(tmp_path / "0")
