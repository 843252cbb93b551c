"""Checks every model of a manifest with the ONNX checker and onnxruntime.

Usage: check-onnxruntime.sh [models/manifest.toml] [--bench]   (the .sh installs the wheels)

For each [[model]]: the sha256 matches, onnx.checker.check_model(full_check=True) passes,
onnxruntime loads the file and runs a batch of 2 normalised random images, and the outputs
named in the manifest have the documented shapes (masks N x 3 x H x W in 0..1, four N x d
features). Exits non-zero on the first failure, naming the model. With --bench, also
prints onnxruntime's crops/s per model at batch 1 and 8 on 1 and 2 threads, the reference
for tract's figures (`edge-agent bench --manifest … --model … --batch B`).
"""
import hashlib
import pathlib
import sys
import time
import tomllib

import numpy as np
import onnx
import onnxruntime as ort


def bench(path: pathlib.Path, m: dict) -> None:
    for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        for batch in (1, 8):
            x = np.zeros((batch, 3, m["height"], m["width"]), np.float32)
            session.run(None, {m["input"]: x})
            runs, began = 0, time.perf_counter()
            while time.perf_counter() - began < 3.0:
                session.run(None, {m["input"]: x})
                runs += 1
            rate = runs * batch / (time.perf_counter() - began)
            print(f"{m['name']}: onnxruntime threads={threads} batch={batch}: {rate:.1f} crops/s")


def check(manifest: pathlib.Path, timing: bool) -> None:
    entries = tomllib.loads(manifest.read_text()).get("model", [])
    if not entries:
        sys.exit(f"{manifest}: no [[model]] entries")
    for m in entries:
        path = manifest.parent / m["file"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != m["sha256"]:
            sys.exit(f"{m['name']}: sha256 {digest} differs from the manifest")
        onnx.checker.check_model(str(path), full_check=True)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        h, w = m["height"], m["width"]
        x = np.random.default_rng(0).standard_normal((2, 3, h, w)).astype(np.float32)
        names = [m["masks"], *m["features"]]
        outs = dict(zip(names, session.run(names, {m["input"]: x})))
        masks = outs[m["masks"]]
        if masks.shape != (2, 3, h, w) or masks.min() < 0 or masks.max() > 1:
            sys.exit(f"{m['name']}: masks shape {masks.shape}, range {masks.min()}..{masks.max()}")
        dims = {outs[f].shape for f in m["features"]}
        if len(dims) != 1 or next(iter(dims))[0] != 2:
            sys.exit(f"{m['name']}: feature shapes {dims}")
        print(f"{m['name']}: ok (onnx checker, onnxruntime {ort.__version__}, features {dims.pop()})")
        if timing:
            bench(path, m)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--bench"]
    check(pathlib.Path(args[0] if args else "models/manifest.toml"), "--bench" in sys.argv)
