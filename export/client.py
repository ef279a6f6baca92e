"""A minimal TF Serving REST client for an exported keras-attngan model.

    python export/client.py --host localhost:8501 --model attngan --num 4 --out /tmp/served

Calls `serving_default` (noise -> images) and `explain` (images -> D's score
and attention mask) over TF Serving's REST API and writes the images and
masks as PNG files. Standard library and NumPy only.
"""

import argparse
import json
import os
import urllib.request
import zlib
import struct

import numpy as np


def predict(host, model, signature, inputs):
    """POSTs a `predict` request in TF Serving's columnar ("inputs") format."""
    body = json.dumps({"signature_name": signature, "inputs": inputs}).encode()
    request = urllib.request.Request(
        f"http://{host}/v1/models/{model}:predict",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["outputs"]


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost:8501")
    parser.add_argument("--model", default="attngan")
    parser.add_argument("--latent_dim", type=int, default=64)
    parser.add_argument("--num", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="served")
    args = parser.parse_args()

    z = np.random.default_rng(args.seed).standard_normal((args.num, args.latent_dim))
    images = np.asarray(predict(args.host, args.model, "serving_default", {"z": z.tolist()}))
    explained = predict(args.host, args.model, "explain", {"images": images.tolist()})
    os.makedirs(args.out, exist_ok=True)
    for index, image in enumerate(images):
        pixels = np.clip(np.round((image + 1.0) * 127.5), 0, 255).astype(np.uint8)
        write_png(os.path.join(args.out, f"{index:03d}.png"), pixels)
        mask = np.round(np.asarray(explained["attention"][index]) * 255).astype(np.uint8)
        write_png(os.path.join(args.out, f"{index:03d}_attention.png"), mask)
        print(f"{index:03d}: D's score {explained['score'][index][0]:.3f}")
    print(f"Wrote {len(images)} images and masks to {args.out}")


if __name__ == "__main__":
    main()
