"""The deployment kit in export/: the REST client speaks our signatures."""

import http.server
import importlib.util
import json
import os
import threading

import numpy as np
import pytest
import tensorflow as tf
from conftest import LATENT, make_trainer

from keras_attngan import serving

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _client():
    spec = importlib.util.spec_from_file_location("client", os.path.join(ROOT, "export", "client.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_png_writer_round_trips(tmp_path):
    client = _client()
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    client.write_png(str(tmp_path / "a.png"), pixels)
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(str(tmp_path / "a.png"))), pixels)
    grey = pixels[..., :1]
    client.write_png(str(tmp_path / "b.png"), grey)
    np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(str(tmp_path / "b.png"))), grey)


@pytest.fixture
def rest_server(tmp_path):
    """A loopback stand-in for TF Serving's REST predict API over a real export."""
    loaded = tf.saved_model.load(serving.export(make_trainer(), str(tmp_path)))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            assert self.path == "/v1/models/attngan:predict"
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            signature = loaded.signatures[request["signature_name"]]
            inputs = {k: tf.constant(v, tf.float32) for k, v in request["inputs"].items()}
            outputs = {k: v.numpy().tolist() for k, v in signature(**inputs).items()}
            # TF Serving's columnar format returns a lone output bare.
            if len(outputs) == 1:
                outputs = next(iter(outputs.values()))
            body = json.dumps({"outputs": outputs}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}", loaded
    server.shutdown()


def test_client_requests_match_the_signatures(rest_server):
    host, loaded = rest_server
    client = _client()
    z = np.random.default_rng(0).standard_normal((2, LATENT))
    images = client.predict(host, "attngan", "serving_default", {"z": z.tolist()})
    expected = loaded.signatures["serving_default"](z=tf.constant(z, tf.float32))["images"]
    np.testing.assert_allclose(np.asarray(images), expected, atol=1e-6)
    explained = client.predict(host, "attngan", "explain", {"images": images})
    assert np.asarray(explained["attention"]).shape == (2, 16, 16, 1)
    assert np.asarray(explained["score"]).shape == (2, 1)
