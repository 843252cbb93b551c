#!/usr/bin/env bash
# Builds the release `edge-agent` for NVIDIA Jetson (aarch64 Linux): one binary for JetPack 5
# (L4T 35.x, Ubuntu 20.04, glibc 2.31) and JetPack 6 (L4T 36.x, Ubuntu 22.04, glibc 2.35).
# cargo-zigbuild links it against exactly glibc 2.31, which JetPack 6's newer glibc also
# provides, so one build serves both. The build checks the highest GLIBC_ symbol version the
# binary needs and fails when it is newer than 2.31.
# Result: $SPANREID_CACHE/cross-target/dist/edge-agent-jetson.
#
# Environment:
#   SPANREID_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/spanreid)
#   EDGE_FEATURES    cargo features of spanreid-edge (default "v4l"; "" for replay-only builds)
set -euo pipefail
cd "$(dirname "$0")/.."

SPANREID_CACHE=${SPANREID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spanreid}
EDGE_FEATURES=${EDGE_FEATURES-v4l}
TARGET=aarch64-unknown-linux-gnu
TARGET_ROOT="$SPANREID_CACHE/cross-target"
DIST="$TARGET_ROOT/dist"
ZIG_VENV="$SPANREID_CACHE/zig-venv"
# Pinned so that a JetPack 5 build today links like one next year.
ZIGLANG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.0
SYSROOT=/usr/aarch64-linux-gnu

log() { echo "cross: $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root (or sudo) to run: $*"; return 1; fi
}

ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
    install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_rust_target() {
  rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
}

# cargo-zigbuild's PyPI wheel is a prebuilt binary: installing it takes seconds, where
# `cargo install cargo-zigbuild` compiles ~150 crates (minutes on a small machine).
ensure_zig_venv() {
  local zig_have="" zigbuild_have=""
  if [ -x "$ZIG_VENV/bin/cargo-zigbuild" ]; then
    zig_have=$("$ZIG_VENV/bin/python" -c 'from importlib.metadata import version; print(version("ziglang"))' 2>/dev/null || true)
    zigbuild_have=$("$ZIG_VENV/bin/cargo-zigbuild" --version 2>/dev/null || true)
  fi
  if [ "$zig_have" = "$ZIGLANG_VERSION" ] && [ "$zigbuild_have" = "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ]; then
    return 0
  fi
  log "installing ziglang $ZIGLANG_VERSION and cargo-zigbuild $CARGO_ZIGBUILD_VERSION into $ZIG_VENV"
  python3 -c 'import ensurepip' 2>/dev/null || ensure_debian_packages python3-venv
  python3 -m venv "$ZIG_VENV"
  "$ZIG_VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION"
}

# The highest GLIBC_x.y symbol version the binary references ("none" for a static binary).
glibc_required() {
  local v
  v=$(aarch64-linux-gnu-objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
    sort -uV | tail -n 1)
  echo "${v:-none}"
}

# Fails unless the binary is an aarch64 ELF needing at most glibc $2.
check_binary() {
  local bin=$1 max=$2 need
  aarch64-linux-gnu-readelf -h "$bin" | grep -q 'Machine:.*AArch64' ||
    { log "$bin is not an AArch64 ELF"; return 1; }
  need=$(glibc_required "$bin")
  log "$(basename "$bin"): $(du -h "$bin" | cut -f1), needs glibc $need (at most $max allowed)"
  if [ "$need" != none ] && [ "$(printf '%s\n%s\n' "$need" "$max" | sort -V | tail -n 1)" != "$max" ]; then
    log "$bin needs glibc $need, newer than $max"
    return 1
  fi
}

feature_args() {
  if [ -n "$EDGE_FEATURES" ]; then echo "--features=$EDGE_FEATURES"; fi
}

# bindgen (the `v4l` feature) parses the target's kernel headers from the cross sysroot.
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=$SYSROOT -I$SYSROOT/include"

build_jetson() {
  local dir="$TARGET_ROOT/jetson" start
  ensure_zig_venv
  start=$(date +%s)
  log "Jetson (JetPack 5 and 6, glibc 2.31): cargo zigbuild --release --target $TARGET.2.31 $(feature_args)"
  # shellcheck disable=SC2046
  PATH="$ZIG_VENV/bin:$PATH" CARGO_TARGET_DIR="$dir" \
    cargo-zigbuild zigbuild --release --locked -p spanreid-edge --bin edge-agent \
    --target "$TARGET.2.31" $(feature_args)
  mkdir -p "$DIST"
  # The release profile keeps debug info for profiling; the device gets a stripped copy.
  aarch64-linux-gnu-strip -o "$DIST/edge-agent-jetson" "$dir/$TARGET/release/edge-agent"
  log "build took $(($(date +%s) - start)) s"
  check_binary "$DIST/edge-agent-jetson" 2.31
}

main() {
  if [ $# -gt 0 ]; then
    echo "usage: $0   (builds dist/edge-agent-jetson for JetPack 5 and 6)" >&2
    exit 2
  fi
  # binutils: strip and the glibc check; libc6-dev-arm64-cross: the kernel headers bindgen
  # reads for V4L2.
  local packages=(libc6-dev-arm64-cross binutils-aarch64-linux-gnu)
  [ -n "$EDGE_FEATURES" ] && packages+=(libclang-dev)
  ensure_debian_packages "${packages[@]}"
  ensure_rust_target
  build_jetson
}

main "$@"
