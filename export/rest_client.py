"""A TF Serving REST client for an exported keras-attngan model.

    python export/rest_client.py --host localhost:8501 --model attngan --num 4 --seed 0 --out served/

Reads the model's signatures from TF Serving's metadata API, draws images
with `sample` (seed, count: no noise on the client), asks `explain` for D's
score and attention mask, and writes them as PNG files. Every request is
built from, and checked against, the served signature (`signatures.py`).
Standard library, NumPy and protobuf only.
"""

import argparse
import json
import os
import struct
import urllib.request
import zlib

import numpy as np

import signatures as signatures_lib


def fetch_signatures(host, model):
    """``{name: Signature}`` from ``GET /v1/models/MODEL/metadata``."""
    with urllib.request.urlopen(f"http://{host}/v1/models/{model}/metadata", timeout=60) as response:
        metadata = json.loads(response.read())
    return signatures_lib.parse(metadata["metadata"]["signature_def"])


def build_request(signature, inputs):
    """The JSON body of a ``:predict`` call in TF Serving's columnar ("inputs") format."""
    arrays = signature.check(inputs)
    return {"signature_name": signature.name, "inputs": {key: value.tolist() for key, value in arrays.items()}}


def predict(host, model, signature, inputs):
    """Calls `signature` (a `Signature`) with `inputs`; returns ``{output: array}``."""
    body = json.dumps(build_request(signature, inputs)).encode()
    request = urllib.request.Request(
        f"http://{host}/v1/models/{model}:predict", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        outputs = json.loads(response.read())["outputs"]
    # TF Serving's columnar format returns a lone output bare.
    if not isinstance(outputs, dict):
        outputs = {next(iter(signature.outputs)): outputs}
    return {key: np.asarray(value, signature.outputs[key][0]) for key, value in outputs.items()}


def write_png(path, pixels):
    """Writes a uint8 [H, W, 3] or [H, W, 1] array as PNG without extra libraries."""
    height, width, channels = pixels.shape
    colour_type = {1: 0, 3: 2}[channels]
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost:8501")
    parser.add_argument("--model", default="attngan")
    parser.add_argument("--num", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="served")
    args = parser.parse_args(argv)

    signatures = fetch_signatures(args.host, args.model)
    sampled = predict(args.host, args.model, signatures["sample"], {"seed": args.seed, "count": args.num})
    explained = predict(args.host, args.model, signatures["explain"], {"images": sampled["images"]})
    os.makedirs(args.out, exist_ok=True)
    for index, pixels in enumerate(sampled["images_uint8"]):
        write_png(os.path.join(args.out, f"{index:03d}.png"), pixels)
        mask = np.round(explained["attention"][index] * 255).astype(np.uint8)
        write_png(os.path.join(args.out, f"{index:03d}_attention.png"), mask)
        print(f"{index:03d}: D's score {explained['score'][index][0]:.3f}")
    print(f"Wrote {len(sampled['images_uint8'])} images and masks to {args.out}")


if __name__ == "__main__":
    main()
