//! A tiny stand-in SPAN model written as a real ONNX file, for tests, `bench` and trying the
//! agent before trained models exist. Per part: Conv 3×3 → ReLU → GlobalAveragePool →
//! Flatten gives a feature; a 1×1 Conv → Sigmoid gives the three view masks. Weights come
//! from a fixed pseudo-random sequence, so the file is the same on every run.

use std::path::{Path, PathBuf};

use super::InferError;
use super::graph::{Attr, GraphBuilder};
use super::manifest::sha256_hex;

/// Input and feature sizes of the fixture model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixtureShape {
    /// Input height.
    pub height: u32,
    /// Input width.
    pub width: u32,
    /// Feature dimension.
    pub dim: usize,
}

const FEATURES: [&str; 4] = ["global", "front", "rear", "side"];

fn weights(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// The ONNX bytes of the fixture model.
pub fn model_bytes(shape: FixtureShape) -> Vec<u8> {
    let (h, w, d) = (
        i64::from(shape.height),
        i64::from(shape.width),
        shape.dim as i64,
    );
    let mut g = GraphBuilder::new();
    g.input("image", &[None, Some(3), Some(h), Some(w)]);
    for (k, name) in FEATURES.iter().enumerate() {
        let wt = g.f32s(
            &format!("{name}_w"),
            &[d, 3, 3, 3],
            weights(k as u64 + 1, shape.dim * 27, 0.5),
        );
        let conv = g.node(
            "Conv",
            &["image", &wt],
            &format!("{name}_conv"),
            &[
                Attr::Ints("kernel_shape", vec![3, 3]),
                Attr::Ints("pads", vec![1, 1, 1, 1]),
            ],
        );
        let relu = g.node("Relu", &[&conv], &format!("{name}_relu"), &[]);
        let pool = g.node("GlobalAveragePool", &[&relu], &format!("{name}_pool"), &[]);
        g.node("Flatten", &[&pool], name, &[Attr::Int("axis", 1)]);
        g.output(name, &[None, Some(d)]);
    }
    let mw = g.f32s("masks_w", &[3, 3, 1, 1], weights(9, 9, 2.0));
    let mb = g.f32s("masks_b", &[3], vec![0.0, -0.5, 0.5]);
    let logits = g.node(
        "Conv",
        &["image", &mw, &mb],
        "masks_logits",
        &[Attr::Ints("kernel_shape", vec![1, 1])],
    );
    g.node("Sigmoid", &[&logits], "masks", &[]);
    g.output("masks", &[None, Some(3), Some(h), Some(w)]);
    g.finish_bytes("span_fixture", "spanreid-edge fixture")
}

/// Writes `fixture.onnx` and a `manifest.toml` naming it `fixture` into `dir`; returns the
/// manifest path.
pub fn write(dir: &Path, shape: FixtureShape) -> Result<PathBuf, InferError> {
    let bytes = model_bytes(shape);
    let model = dir.join("fixture.onnx");
    let manifest = dir.join("manifest.toml");
    let text = format!(
        "# Tiny stand-in model written by `edge-agent fixture`.\n\
         [[model]]\n\
         name = \"fixture\"\n\
         file = \"fixture.onnx\"\n\
         sha256 = \"{}\"\n\
         input = \"image\"\n\
         height = {}\n\
         width = {}\n\
         mean = [0.485, 0.456, 0.406]\n\
         std = [0.229, 0.224, 0.225]\n\
         masks = \"masks\"\n\
         features = [\"global\", \"front\", \"rear\", \"side\"]\n\
         trained_by = \"not trained: fixed pseudo-random weights\"\n",
        sha256_hex(&bytes),
        shape.height,
        shape.width
    );
    let write = |path: &Path, data: &[u8]| {
        std::fs::write(path, data).map_err(|source| InferError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    std::fs::create_dir_all(dir).map_err(|source| InferError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    write(&model, &bytes)?;
    write(&manifest, text.as_bytes())?;
    Ok(manifest)
}
