"""Screenshots of TensorBoard on a tiny training run: how a reader first sees the logs.

    python docs/tensorboard_screenshots.py                      # smoke run, into docs/images
    python docs/tensorboard_screenshots.py --workdir runs/demo  # an existing run's logs

Trains `configs/symbols_attn.py:smoke` (seconds on a CPU) into `--workdir`
unless it already holds TensorBoard logs, serves them with the TensorBoard of
this Python environment on localhost, and has headless Chromium take a
screenshot of the *Time Series* and of the *Images* tab:

- ``tensorboard_time_series.png``: the groups as TensorBoard opens them (the
  first two, ``loss`` and ``mask``, open; the others collapsed);
- ``tensorboard_images.png``: the labelled pictures (``samples/inner_loop``,
  ``samples/overlays``, ``samples/samples``).

Needs a Chromium (Debian: ``apt-get install chromium``; not a dependency of the
package) and nothing from the network. Not run by the tests: the pictures show
what a person sees, which no assertion replaces; rerun it when the tags or the
pictures change and look at the result.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# Long enough for curves with a shape and pictures with a subject (a minute on a CPU).
DEFAULT_SETTINGS = ("train.steps=200", "log.images_every=50")
# `forceSVG` draws the charts as SVG: headless Chromium has no WebGL for them.
# File -> (page, window height): tall enough for the open groups and the
# collapsed ones' headers, and for the three pictures.
PAGES = {
    "tensorboard_time_series.png": ("?forceSVG=true#timeseries", 2300),
    "tensorboard_images.png": ("?forceSVG=true#images", 1800),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", help="run directory; default: a new temporary one")
    parser.add_argument("--config", default="configs/symbols_attn.py:smoke")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a config key of the training run (repeatable); default: "
        + " ".join(DEFAULT_SETTINGS),
    )
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "images"))
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--width", type=int, default=1280, help="window width in pixels")
    parser.add_argument(
        "--wait_ms",
        type=int,
        default=20000,
        help="virtual time the page gets to load its data before the screenshot",
    )
    return parser.parse_args(argv)


def train(workdir, config, settings):
    """Runs `attngan train` into `workdir` (the command of this environment)."""
    command = [
        os.path.join(os.path.dirname(sys.executable), "attngan"),
        "train",
        f"--config={config}",
        f"--workdir={workdir}",
    ] + [f"--config.{setting}" for setting in settings]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(logdir, port):
    """Starts TensorBoard on `logdir`; returns the process once every run is listed."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            f"--logdir={logdir}",
            "--host=127.0.0.1",
            f"--port={port}",
            # The Python loader reads small logs at once and needs no binary.
            "--load_fast=false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs = sorted(name for name in os.listdir(logdir) if os.path.isdir(os.path.join(logdir, name)))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=5) as reply:
                if sorted(json.load(reply)) == runs:
                    return server
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"TensorBoard exited with code {server.returncode}")
        time.sleep(1)
    server.terminate()
    raise RuntimeError(f"TensorBoard did not list the runs {runs} within 120 s")


def screenshot(chromium, url, path, window, wait_ms):
    """Has headless Chromium load `url` and write a PNG of the page to `path`.

    The PNG is then stored with a palette of 256 colours (a third of the
    bytes, no visible change to flat UI colours and charts), when Pillow is
    installed (matplotlib brings it).
    """
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={window}",
                f"--virtual-time-budget={wait_ms}",
                f"--screenshot={os.path.abspath(path)}",
                url,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
        )
    try:
        from PIL import Image
    except ImportError:
        pass
    else:
        with Image.open(path) as image:
            palette = image.convert("RGB").quantize(colors=256)
        palette.save(path, optimize=True)
    print("wrote", path, flush=True)


def main(argv=None):
    args = parse_args(argv)
    if shutil.which(args.chromium) is None:
        sys.exit(f"No {args.chromium!r} found: install Chromium (Debian: apt-get install chromium).")
    workdir = args.workdir or tempfile.mkdtemp(prefix="tensorboard_screenshots_")
    logdir = os.path.join(workdir, "logs")
    if not os.path.isdir(logdir):
        train(workdir, args.config, DEFAULT_SETTINGS if args.set is None else args.set)
    os.makedirs(args.out, exist_ok=True)
    port = free_port()
    server = serve(logdir, port)
    try:
        for name, (page, height) in PAGES.items():
            screenshot(
                args.chromium,
                f"http://127.0.0.1:{port}/{page}",
                os.path.join(args.out, name),
                f"{args.width},{height}",
                args.wait_ms,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
