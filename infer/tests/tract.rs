//! The tract path on a real ONNX file: loading, checksum, preprocessing and batching.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use spanreid_infer::Crop;
use spanreid_infer::fixture::{self, FixtureShape};
use spanreid_infer::manifest;
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Embedder, InferError};

const SHAPE: FixtureShape = FixtureShape {
    height: 32,
    width: 24,
    dim: 16,
};

fn crop(w: u32, h: u32, rgb: [u8; 3], stripe: bool) -> Crop {
    let mut px = Vec::new();
    for y in 0..h {
        for _x in 0..w {
            let c = if stripe && y % 4 < 2 {
                [255 - rgb[0], 255 - rgb[1], 255 - rgb[2]]
            } else {
                rgb
            };
            px.extend_from_slice(&c);
        }
    }
    Crop {
        width: w,
        height: h,
        rgb: px,
    }
}

fn load(dir: &std::path::Path) -> Result<TractEmbedder, InferError> {
    let manifest = fixture::write(dir, SHAPE)?;
    TractEmbedder::load(manifest::load(&manifest, "fixture")?)
}

#[test]
fn batch_results_equal_single_runs_and_differ_between_vehicles() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = load(dir.path()).unwrap();
    assert_eq!(e.dim(), 16);
    let crops = [
        crop(40, 30, [200, 30, 30], false),
        crop(17, 50, [20, 20, 220], true),
        crop(24, 32, [90, 200, 90], false),
    ];
    let batch = e.embed(&crops).unwrap();
    assert_eq!(batch.len(), 3);
    for (c, b) in crops.iter().zip(&batch) {
        let single = e.embed(std::slice::from_ref(c)).unwrap().remove(0);
        for (fa, fb) in single.features.iter().zip(&b.features) {
            assert_eq!(fa.len(), 16);
            for (x, y) in fa.iter().zip(fb) {
                assert!((x - y).abs() < 1e-4, "batched {y} vs single {x}");
            }
        }
        let sum: f32 = b.area_ratios.0.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "{:?}", b.area_ratios);
    }
    let dist: f32 = batch[0].features[0]
        .iter()
        .zip(&batch[1].features[0])
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(dist > 1e-3, "different vehicles gave the same feature");
    // the four part outputs come from different weights
    assert_ne!(batch[0].features[0], batch[0].features[1]);
    assert!(e.embed(&[]).unwrap().is_empty());
}

#[test]
fn model_id_is_the_sha256_prefix_and_stable() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (ea, eb) = (load(a.path()).unwrap(), load(b.path()).unwrap());
    assert_eq!(ea.model_id(), eb.model_id());
    let bytes = std::fs::read(a.path().join("fixture.onnx")).unwrap();
    let hex = manifest::sha256_hex(&bytes);
    let prefix: String = ea.model_id().iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.starts_with(&prefix));
}

#[test]
fn a_tampered_or_missing_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let manifest_path = fixture::write(dir.path(), SHAPE).unwrap();
    let model = dir.path().join("fixture.onnx");
    let mut bytes = std::fs::read(&model).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x40;
    std::fs::write(&model, &bytes).unwrap();
    let err = TractEmbedder::load(manifest::load(&manifest_path, "fixture").unwrap()).unwrap_err();
    assert!(matches!(err, InferError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("fixture.onnx"), "{err}");
    std::fs::remove_file(&model).unwrap();
    let err = TractEmbedder::load(manifest::load(&manifest_path, "fixture").unwrap()).unwrap_err();
    assert!(matches!(err, InferError::Read { .. }), "{err}");
}

#[test]
fn a_model_that_is_not_onnx_is_an_engine_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest_path = fixture::write(dir.path(), SHAPE).unwrap();
    let junk = b"definitely not protobuf \xff\xff\xff";
    std::fs::write(dir.path().join("fixture.onnx"), junk).unwrap();
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let old = text.lines().find(|l| l.starts_with("sha256")).unwrap();
    let text = text.replace(old, &format!("sha256 = \"{}\"", manifest::sha256_hex(junk)));
    std::fs::write(&manifest_path, text).unwrap();
    let err = TractEmbedder::load(manifest::load(&manifest_path, "fixture").unwrap()).unwrap_err();
    assert!(matches!(err, InferError::Engine { .. }), "{err}");
}
