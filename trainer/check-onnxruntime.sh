#!/usr/bin/env bash
# Validates exported models with the ONNX checker and onnxruntime from PyPI (installed once
# into a cached venv): trainer/check-onnxruntime.sh [models/manifest.toml]
set -euo pipefail
cache="${SPANREID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spanreid}"
venv="$cache/ort-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import onnxruntime, onnx' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check onnxruntime==1.23.2 onnx==1.19.1 numpy
fi
exec "$venv/bin/python" "$(dirname "$0")/check-onnxruntime.py" "$@"
