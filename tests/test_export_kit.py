"""The deployment kit in export/: clients build their requests from the model's own signatures."""

import concurrent.futures
import http.server
import json
import os
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf
from conftest import LATENT, SIZE, make_trainer
from google.protobuf import json_format

from keras_attngan.export import serving

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "export"))

import grpc_client  # noqa: E402
import rest_client  # noqa: E402
import signatures as signatures_lib  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = serving.save_version(make_trainer(), str(tmp_path_factory.mktemp("kit")))
    return path, tf.saved_model.load(path)


def _inputs(name):
    return {
        "serving_default": {"z": np.random.default_rng(0).standard_normal((2, LATENT))},
        "sample": {"seed": 5, "count": 2},
        "generate": {"z": np.zeros((2, LATENT)), "mask": np.ones((2, SIZE, SIZE, 1))},
        "explain": {"images": np.zeros((2, SIZE, SIZE, 3))},
    }[name]


def _run(loaded, name, arrays):
    return {k: v.numpy() for k, v in loaded.signatures[name](**{k: tf.constant(v) for k, v in arrays.items()}).items()}


def test_signatures_read_from_the_saved_model_match_the_loaded_ones(exported):
    path, loaded = exported
    read = signatures_lib.from_saved_model(path)
    assert set(read) == set(loaded.signatures) == {"serving_default", "sample", "generate", "explain"}
    for name, signature in read.items():
        function = loaded.signatures[name]
        specs = function.structured_input_signature[1]
        assert {k: (np.dtype(d), s) for k, (d, s) in signature.inputs.items()} == {
            k: (np.dtype(spec.dtype.as_numpy_dtype), tuple(spec.shape.as_list())) for k, spec in specs.items()
        }
        outputs = function.structured_outputs
        assert {k: np.dtype(d) for k, (d, _) in signature.outputs.items()} == {
            k: np.dtype(v.dtype.as_numpy_dtype) for k, v in outputs.items()
        }


@pytest.mark.parametrize("name", ["serving_default", "sample", "generate", "explain"])
def test_rest_and_grpc_requests_match_the_signature(exported, name):
    path, loaded = exported
    signature = signatures_lib.from_saved_model(path)[name]
    expected = _run(loaded, name, signature.check(_inputs(name)))
    body = rest_client.build_request(signature, _inputs(name))
    assert body["signature_name"] == name
    specs = loaded.signatures[name].structured_input_signature[1]
    rest_arrays = {k: np.asarray(v, specs[k].dtype.as_numpy_dtype) for k, v in json.loads(json.dumps(body))["inputs"].items()}
    request = grpc_client.build_request("attngan", signature, _inputs(name))
    assert request.model_spec.signature_name == name
    grpc_arrays = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
    for arrays in (rest_arrays, grpc_arrays):
        assert {k: v.dtype for k, v in arrays.items()} == {k: specs[k].dtype.as_numpy_dtype for k in specs}
        for key, value in _run(loaded, name, arrays).items():
            np.testing.assert_allclose(value, expected[key], atol=1e-6)


def test_requests_that_do_not_fit_are_refused_before_sending(exported):
    path, _ = exported
    signature = signatures_lib.from_saved_model(path)["serving_default"]
    with pytest.raises(ValueError, match=r"takes inputs \['z'\]; received \['noise'\]"):
        rest_client.build_request(signature, {"noise": np.zeros((1, LATENT))})
    with pytest.raises(ValueError, match="Input 'z' has shape"):
        grpc_client.build_request("attngan", signature, {"z": np.zeros((1, LATENT + 1))})
    with pytest.raises(TypeError, match="Input 'seed' should be int64"):
        rest_client.build_request(signatures_lib.from_saved_model(path)["sample"], {"seed": 0.5, "count": 1})


def _metadata(path):
    """What TF Serving's metadata APIs return: the SavedModel's SignatureDefMap."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    definitions = get_model_metadata_pb2.SignatureDefMap()
    for name, definition in saved_model.meta_graphs[0].signature_def.items():
        definitions.signature_def[name].CopyFrom(definition)
    return definitions


@pytest.fixture
def rest_server(exported):
    """A loopback stand-in for TF Serving's REST API over a real export."""
    path, loaded = exported
    metadata = {"metadata": {"signature_def": json_format.MessageToDict(_metadata(path), preserving_proto_field_name=True)}}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, payload):
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            assert self.path == "/v1/models/attngan/metadata"
            self._reply(metadata)

        def do_POST(self):
            assert self.path == "/v1/models/attngan:predict"
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = request["signature_name"]
            specs = loaded.signatures[name].structured_input_signature[1]
            arrays = {k: np.asarray(v, specs[k].dtype.as_numpy_dtype) for k, v in request["inputs"].items()}
            self._reply({"outputs": {k: v.tolist() for k, v in _run(loaded, name, arrays).items()}})

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def test_rest_client_end_to_end(exported, rest_server, tmp_path):
    _, loaded = exported
    signatures = rest_client.fetch_signatures(rest_server, "attngan")
    sampled = rest_client.predict(rest_server, "attngan", signatures["sample"], {"seed": 3, "count": 2})
    expected = loaded.signatures["sample"](seed=tf.constant(3, tf.int64), count=tf.constant(2))
    np.testing.assert_array_equal(sampled["images_uint8"], expected["images_uint8"])
    assert sampled["images_uint8"].dtype == np.uint8
    rest_client.main(["--host", rest_server, "--num", "2", "--out", str(tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["000.png", "000_attention.png", "001.png", "001_attention.png"]
    decoded = tf.io.decode_png(tf.io.read_file(str(tmp_path / "000.png")))
    np.testing.assert_array_equal(decoded, loaded.signatures["sample"](seed=tf.constant(0, tf.int64), count=tf.constant(2))["images_uint8"][0])


def test_grpc_client_end_to_end(exported):
    import grpc
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    path, loaded = exported

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        """A loopback stand-in for TF Serving's gRPC PredictionService."""

        def GetModelMetadata(self, request, context):
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = request.model_spec.name
            response.metadata["signature_def"].Pack(_metadata(path))
            return response

        def Predict(self, request, context):
            arrays = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            response = predict_pb2.PredictResponse()
            for key, value in _run(loaded, request.model_spec.signature_name, arrays).items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        stub = grpc_client.connect(f"127.0.0.1:{port}")
        signatures = grpc_client.fetch_signatures(stub, "attngan")
        assert set(signatures) == set(loaded.signatures)
        z = np.random.default_rng(1).standard_normal((2, LATENT))
        served = grpc_client.predict(stub, "attngan", signatures["serving_default"], {"z": z})
        expected = loaded.signatures["serving_default"](z=tf.constant(z, tf.float32))
        np.testing.assert_allclose(served["images"], expected["images"], atol=1e-6)
        explained = grpc_client.predict(stub, "attngan", signatures["explain"], {"images": served["images"]})
        assert explained["attention"].shape == (2, SIZE, SIZE, 1)
    finally:
        server.stop(None)


def test_png_writer_round_trips(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    rest_client.write_png(str(tmp_path / "a.png"), pixels)
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(str(tmp_path / "a.png"))), pixels)
    grey = pixels[..., :1]
    rest_client.write_png(str(tmp_path / "b.png"), grey)
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(str(tmp_path / "b.png"))), grey)
