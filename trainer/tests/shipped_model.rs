//! The shipped model against the renderer: renders the set recorded in the model's
//! manifest entry (`[model.reproduce]`: renderer version, preset, seed, name-list hash)
//! and checks that the model still scores the recorded int8 figures on its query and test
//! splits, so that the model and the renderer cannot drift apart unnoticed. A failure
//! means the renderer changed under the model: retrain it (`models/train.sh`) and record
//! its figures again (`trainer eval-onnx --write`).

use std::path::Path;
use std::process::Command;

use spanreid_infer::manifest;
use spanreid_trainer::eval::record::names_sha256;
use spanreid_trainer::synth::RENDERER_VERSION;

/// The shipped model the edge runs by default.
const MODEL: &str = "spanreid-mnv2-int8";

/// Largest difference allowed between a recorded and a measured figure (mAP, rank-1): the
/// same render and the same file give the same features up to float summation order.
const TOLERANCE: f64 = 0.005;

#[test]
fn the_shipped_model_scores_its_recorded_figures_on_a_fresh_render() {
    let manifest_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/manifest.toml");
    let text = std::fs::read_to_string(&manifest_path).expect("models/manifest.toml");
    let entry = manifest::select(&text, &manifest_path, MODEL)
        .expect("the shipped model's entry")
        .entry;
    let record = entry
        .reproduce
        .expect("the shipped model records its render (`trainer eval-onnx --write`)");
    assert_eq!(
        record.renderer_version, RENDERER_VERSION,
        "the model was measured on renderer version {}, the renderer is version \
         {RENDERER_VERSION}: retrain it with models/train.sh",
        record.renderer_version
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("render");
    let status = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["synth", "--no-streams", "--preset"])
        .arg(record.preset.to_lowercase())
        .args(["--seed", &record.seed.to_string(), "--out"])
        .arg(&data)
        .status()
        .expect("trainer runs");
    assert!(status.success(), "trainer synth failed");
    assert_eq!(
        names_sha256(&data).expect("name lists"),
        record.names_sha256,
        "the render's image lists differ from the recorded ones"
    );

    let report = dir.path().join("report.json");
    let status = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["eval-onnx", "--model", MODEL, "--data"])
        .arg(&data)
        .arg("--manifest")
        .arg(&manifest_path)
        .arg("--out")
        .arg(&report)
        .status()
        .expect("trainer runs");
    assert!(status.success(), "trainer eval-onnx failed");
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    let int8 = rows[0]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["features"] == "int8")
        .expect("an int8 row")
        .clone();
    for (name, recorded) in [
        ("map_cpdm", record.map_cpdm),
        ("rank1_cpdm", record.rank1_cpdm),
        ("map_global", record.map_global),
        ("rank1_global", record.rank1_global),
    ] {
        let measured = int8[name].as_f64().expect("a number");
        assert!(
            (measured - recorded).abs() <= TOLERANCE,
            "{name}: measured {measured:.4}, recorded {recorded:.4} (tolerance {TOLERANCE})"
        );
    }
}
