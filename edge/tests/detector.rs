//! The optional ONNX object detector, on the stand-in detector of `detect::fixture`: a
//! 64×64 input seen as 8×8 cells, each bright cell one box of class 0.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::{Path, PathBuf};
use std::process::Command;

use spanreid_edge::config::Config;
use spanreid_edge::detect::fixture::{FixtureDetector, model_bytes};
use spanreid_edge::detect::{
    DetectError, DetectorKind, Layout, OnnxDetector, OnnxDetectorSettings, YoloSettings,
};
use spanreid_edge::frame::{BBox, Frame};
use spanreid_edge::metrics::Metrics;
use spanreid_edge::pipeline::Vehicles;
use spanreid_infer::manifest;

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn fixture(layout: Layout) -> FixtureDetector {
    FixtureDetector {
        layout,
        ..FixtureDetector::default()
    }
}

/// Writes the fixture detector to `dir`; returns settings that fit it.
fn write(dir: &Path, f: FixtureDetector) -> OnnxDetectorSettings {
    let model = dir.join(format!("detector-{}.onnx", f.layout));
    std::fs::write(&model, model_bytes(f)).unwrap();
    OnnxDetectorSettings {
        model,
        sha256: None,
        input_size: f.side,
        yolo: YoloSettings {
            layout: f.layout,
            classes: vec![f.class],
            score_threshold: 0.5,
            nms_iou: 0.45,
        },
    }
}

/// A black frame with a white rectangle.
fn frame(w: u32, h: u32, rect: Option<BBox>) -> Frame {
    let mut f = Frame::filled(w, h, [0, 0, 0]);
    if let Some(r) = rect {
        for y in r.y0..r.y1 {
            for x in r.x0..r.x1 {
                let i = ((y * w + x) * 3) as usize;
                f.rgb[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
    }
    f
}

fn bbox(x0: u32, y0: u32, x1: u32, y1: u32) -> BBox {
    BBox { x0, y0, x1, y1 }
}

#[test]
fn one_bright_cell_is_one_detection_at_its_frame_position() {
    let dir = tempfile::tempdir().unwrap();
    for layout in [Layout::Yolov5, Layout::Yolov8] {
        let d = OnnxDetector::load(write(dir.path(), fixture(layout))).unwrap();
        assert_eq!(d.classes(), 1);
        // 128×64 → scale ½, 16 px of padding above and below: input cell (3, 3),
        // pixels 24..32 both ways, is frame x 48..64, y 16..32.
        // 64×128 → scale ½, 16 px of padding left and right: input cell (4, 5) is
        // frame x 32..48, y 80..96.
        for (w, h, rect) in [
            (128, 64, bbox(48, 16, 64, 32)),
            (64, 128, bbox(32, 80, 48, 96)),
        ] {
            let dets = d.detect(&frame(w, h, Some(rect))).unwrap();
            assert_eq!(dets.len(), 1, "{layout} {w}x{h}: {dets:?}");
            assert_eq!(dets[0].bbox, rect, "{layout} {w}x{h}");
            assert_eq!(dets[0].pixels, 256);
            assert!(d.detect(&frame(w, h, None)).unwrap().is_empty(), "{layout}");
        }
        // Mid grey (below the fixture's level) and the padding are not objects either.
        let grey = Frame::filled(128, 64, [128, 128, 128]);
        assert!(d.detect(&grey).unwrap().is_empty(), "{layout}");
    }
}

#[test]
fn load_errors_name_the_file_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), fixture(Layout::Yolov5));
    let bytes = std::fs::read(&good.model).unwrap();
    let load = |edit: &dyn Fn(&mut OnnxDetectorSettings)| {
        let mut s = good.clone();
        edit(&mut s);
        let err = OnnxDetector::load(s.clone()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&s.model.display().to_string()), "{text}");
        err
    };
    let err = load(&|s| s.model = dir.path().join("missing.onnx"));
    assert!(matches!(err, DetectError::Read { .. }), "{err}");
    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(&|s| s.model = truncated.clone());
    assert!(matches!(err, DetectError::Engine { .. }), "{err}");
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"not protobuf at all \xff\xff\xff").unwrap();
    let err = load(&|s| s.model = garbage.clone());
    assert!(matches!(err, DetectError::Engine { .. }), "{err}");
    let err = load(&|s| s.sha256 = Some("0".repeat(64)));
    assert!(matches!(err, DetectError::Checksum { .. }), "{err}");
    let err = load(&|s| s.input_size = 96);
    assert!(matches!(err, DetectError::Input { .. }), "{err}");
    assert!(err.to_string().contains("[1, 3, 64, 64]"), "{err}");
    assert!(err.to_string().contains("[1, 3, 96, 96]"), "{err}");
    let err = load(&|s| s.yolo.layout = Layout::Yolov8);
    assert!(err.to_string().contains("yolov8 layout"), "{err}");
    let err = load(&|s| s.yolo.classes = vec![2, 5, 7]);
    assert!(err.to_string().contains("class 2"), "{err}");
    // The right hash passes.
    let mut s = good.clone();
    s.sha256 = Some(manifest::sha256_hex(&bytes).to_uppercase());
    OnnxDetector::load(s).unwrap();
}

/// A config running the fixture detector at `model`, with extra `[camera]` and
/// `[detect]` lines.
fn toml(model: &Path, camera: &str, detect: &str) -> String {
    format!(
        "[camera]\nkey_hex = \"{KEY}\"\n{camera}\n[detect]\ndetector = \"onnx\"\n\
         min_hits = 3\n{detect}\n[detect.onnx]\nmodel = \"{}\"\ninput_size = 64\n\
         layout = \"yolov5\"\nclasses = [0]\n",
        model.display()
    )
}

#[test]
fn the_vehicle_stage_runs_the_configured_detector_inside_the_roi() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), fixture(Layout::Yolov5)).model;
    let rect = bbox(48, 16, 64, 32);
    let run = |extra: &str| {
        let v = Config::from_toml(&toml(&model, "", extra), Path::new("edge.toml"))
            .unwrap()
            .validate()
            .unwrap();
        let mut vehicles = Vehicles::open(&v).unwrap();
        assert_eq!(vehicles.detector_kind(), DetectorKind::Onnx);
        let metrics = Metrics::default();
        let mut jobs = Vec::new();
        for k in 0..10u64 {
            let mut f = frame(128, 64, (k < 5).then_some(rect));
            f.index = k;
            jobs.extend(vehicles.push(&f, &metrics));
        }
        jobs.extend(vehicles.finish(&metrics));
        (jobs, metrics)
    };
    let (jobs, metrics) = run("");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].candidates[0].bbox, rect);
    assert_eq!(metrics.detections.into_inner(), 5);
    // The box is centred at (56, 24): outside a ROI over the right half.
    let (jobs, metrics) = run("roi = [[64.0, 0.0], [128.0, 0.0], [128.0, 64.0], [64.0, 64.0]]");
    assert!(jobs.is_empty());
    assert_eq!(metrics.detections.into_inner(), 0);
    // A missing model fails to open the stage, naming the file.
    let gone = toml(&dir.path().join("gone.onnx"), "", "");
    let v = Config::from_toml(&gone, Path::new("edge.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let err = Vehicles::open(&v).unwrap_err();
    assert!(err.to_string().contains("gone.onnx"), "{err}");
}

#[test]
fn check_loads_the_fixture_detector_written_by_the_fixture_command() {
    const BIN: &str = env!("CARGO_BIN_EXE_edge-agent");
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let status = Command::new(BIN)
        .args(["fixture", "--detector"])
        .arg(&models)
        .status()
        .unwrap();
    assert!(status.success());
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    image::RgbImage::new(32, 24)
        .save(frames.join("000000.png"))
        .unwrap();
    let check = |model: PathBuf| {
        let cfg = dir.path().join("edge.toml");
        let camera = format!("replay_dir = \"{}\"", frames.display());
        let text = format!(
            "{}[model]\nmanifest = \"{}\"\nname = \"fixture\"\n[queue]\ndir = \"{}\"\n",
            toml(&model, &camera, ""),
            models.join("manifest.toml").display(),
            dir.path().join("queue").display(),
        );
        std::fs::write(&cfg, text).unwrap();
        Command::new(BIN)
            .args(["check", "--offline", "--config"])
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let out = check(models.join("detector.onnx"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("object detector loads"), "{log}");
    let out = check(models.join("nope.onnx"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(log.contains("nope.onnx"), "{log}");
}
