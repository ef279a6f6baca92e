#!/usr/bin/env bash
# The speed benchmark on a GPU machine (XLA on/off and mixed bfloat16 are
# variants within the run). Run from the repository root after `make install`:
#   bash benchmarks/gpu.sh
# Results: benchmarks/results/speed_gpu*.json (tables printed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -c "import tensorflow as tf; gpus = tf.config.list_physical_devices('GPU'); print('GPUs:', gpus); assert gpus, 'no GPU visible to TensorFlow'"
"$PY" benchmarks/speed.py --steps 100 --repeats 5 --out benchmarks/results/speed_gpu.json
