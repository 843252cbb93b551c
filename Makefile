# spanreid — the two commands a new user needs:
#   make test   install what is missing, then format check, lints, every test, no_std build,
#               the Jetson (aarch64) builds smoke-run under qemu, a short fuzz run
#   make demo   the main job end to end: render camera streams (cached), start the hub and one
#               edge-agent per camera with the shipped models, score the matches
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

SPANREID_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/spanreid
export SPANREID_CACHE
# libtorch for the trainer's `torch` feature, installed by trainer/install-libtorch.sh.
LIBTORCH ?= $(SPANREID_CACHE)/libtorch-venv/lib/python3.11/site-packages/torch
export LIBTORCH
FUZZ_SECONDS ?= 60

.PHONY: test setup lint unit nostd fuzz-smoke

test: setup lint unit nostd cross fuzz-smoke
	@echo "make test: all checks passed"

setup:
	.ci/setup.sh

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

# One test at a time per binary: libtorch's random generator is process-wide, and the
# trainer's tests that compare two seeded runs (resume = uninterrupted) must not have a
# neighbour drawing from it between seeding and initialisation.
unit:
	cargo test --workspace --all-features -- --test-threads=1

nostd:
	cargo build -p spanreid --no-default-features --target thumbv7em-none-eabihf

# A short run of the signature-decoder fuzzer when nightly and cargo-fuzz are at hand.
fuzz-smoke:
	@if cargo +nightly --version >/dev/null 2>&1; then \
	  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet; \
	  mkdir -p "$${CARGO_TARGET_DIR:-target}/fuzz-corpus"; \
	  cargo +nightly fuzz run decode_signature --fuzz-dir core/fuzz \
	    "$${CARGO_TARGET_DIR:-target}/fuzz-corpus" core/fuzz/seeds -- \
	    -max_total_time=$(FUZZ_SECONDS) 2>&1 | tail -n 20; \
	else echo "fuzz-smoke: no nightly toolchain, skipped"; fi

# The main job. DEMO_DATA is rendered once (trainer synth, no libtorch needed) and reused;
# its name carries the dataset's and the streams' renderer versions, so a changed renderer
# renders afresh.
RENDERER_VERSION := $(shell sed -n 's/^pub const RENDERER_VERSION: u32 = \([0-9]*\);/\1/p' trainer/src/synth/mod.rs)
STREAMS_VERSION := $(shell sed -n 's/^pub const STREAMS_VERSION: u32 = \([0-9]*\);/\1/p' trainer/src/synth/streams/mod.rs)
DEMO_DATA ?= $(SPANREID_CACHE)/demo/synth-small-r$(RENDERER_VERSION)-s$(STREAMS_VERSION)
DEMO_MODEL ?= spanreid-mnv2-int8
DEMO_ARGS ?=
.PHONY: demo
demo:
	cargo build --release --workspace --bins
	@if [ ! -f "$(DEMO_DATA)/streams/ground_truth.csv" ]; then \
	  echo "demo: rendering the synthetic set and its camera streams into $(DEMO_DATA) (once)"; \
	  rm -rf "$(DEMO_DATA).partial"; \
	  "$${CARGO_TARGET_DIR:-target}/release/trainer" synth --preset small --out "$(DEMO_DATA).partial"; \
	  mv "$(DEMO_DATA).partial" "$(DEMO_DATA)"; \
	fi
	"$${CARGO_TARGET_DIR:-target}/release/spanreid-demo" --data "$(DEMO_DATA)" \
	  --manifest models/manifest.toml --model $(DEMO_MODEL) $(DEMO_ARGS)

# The harder streams (denser traffic, more oncoming vehicles, rain, stronger blur).
DEMO_HARD_DATA ?= $(DEMO_DATA)-hard
.PHONY: demo-hard
demo-hard:
	cargo build --release --workspace --bins
	@if [ ! -f "$(DEMO_HARD_DATA)/streams/ground_truth.csv" ]; then \
	  echo "demo-hard: rendering the hard camera streams into $(DEMO_HARD_DATA) (once)"; \
	  rm -rf "$(DEMO_HARD_DATA).partial"; \
	  "$${CARGO_TARGET_DIR:-target}/release/trainer" synth --preset small --streams hard --out "$(DEMO_HARD_DATA).partial"; \
	  mv "$(DEMO_HARD_DATA).partial" "$(DEMO_HARD_DATA)"; \
	fi
	"$${CARGO_TARGET_DIR:-target}/release/spanreid-demo" --data "$(DEMO_HARD_DATA)" \
	  --manifest models/manifest.toml --model $(DEMO_MODEL) $(DEMO_ARGS)

.PHONY: cross
# edge-agent for Jetson (aarch64; one binary for JetPack 5 and 6, glibc 2.31), then the
# aarch64 binary under qemu against the x86 build, publishing to a loopback broker.
cross:
	cross/build.sh
	cross/smoke.sh
