//! The export against libtorch: a tiny trained run exported, checked and loaded by the
//! edge; and the errors a broken run gives.

use std::path::{Path, PathBuf};

use spanreid_infer::Embedder;
use spanreid_infer::tract::TractEmbedder;

use super::emit::Mode;
use super::network::build;
use super::params::load;
use super::{ExportArgs, ExportError, export};
use crate::config::{Backbone, Preset};
use crate::features::config::FeaturesConfig;
use crate::features::train_loop::train_features;
use crate::span::train_loop::{tests::tiny as tiny_span, train_span};
use crate::train::reid_fixture::write_reid_dataset;

/// Dataset, a 2-step SPAN run and a 4-step feature run under `dir`.
fn trained_run(dir: &Path) -> (PathBuf, PathBuf) {
    let mut c = FeaturesConfig::preset(Preset::Tiny);
    c.train.steps = 4;
    c.train.checkpoint_every = 4;
    trained_run_with(dir, &c)
}

/// Dataset, a 2-step SPAN run and a feature run of `config` under `dir`.
fn trained_run_with(dir: &Path, config: &FeaturesConfig) -> (PathBuf, PathBuf) {
    let (data, span, run) = (dir.join("data"), dir.join("span"), dir.join("run"));
    write_reid_dataset(&data, 6, 6, 4);
    train_span(&data, &span, &tiny_span(2), false).expect("SPAN trains");
    train_features(&data, &span, &run, config, false).expect("features train");
    (data, run)
}

fn args(run: &Path, data: &Path, out: &Path) -> ExportArgs {
    ExportArgs {
        run: run.to_owned(),
        data: data.to_owned(),
        out: out.to_owned(),
        name: "tiny".into(),
        calibration_images: 12,
        no_int8: false,
        int8_depthwise: false,
        skip_accuracy: false,
        trained_by: Some("trainer train-features --preset tiny".into()),
    }
}

#[test]
fn an_exported_run_matches_libtorch_and_loads_in_the_edge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, run) = trained_run(dir.path());
    let out = dir.path().join("models");
    let report = export(&args(&run, &data, &out)).expect("exports");

    // f32: tract on the exported graph equals libtorch to 1e-4 of each output's scale.
    assert_eq!(report.parity_f32.len(), 5);
    for d in &report.parity_f32 {
        assert!(d.max_rel < 1e-4, "f32 {d:?}");
    }
    // int8: masks within 0.1 (they lie in 0..1), features within 25 % of their scale on
    // this barely trained network (trained models: see the export report).
    for d in &report.parity_int8 {
        let bound = if d.output == "masks" { 0.1 } else { 0.25 };
        assert!(d.max_rel < bound, "int8 {d:?}");
    }
    assert_eq!(report.top1_agreement_f32, Some(1.0));
    assert!(report.top1_agreement_int8.is_some());
    assert_eq!(report.accuracy.len(), 3);
    let (torch, onnx) = (&report.accuracy[0], &report.accuracy[1]);
    // Outputs agree to 1e-4, so the rankings agree up to near-ties: on 6 queries one
    // swap of two neighbouring gallery images moves mAP by about 1e-3.
    assert!(
        (torch.map_cpdm - onnx.map_cpdm).abs() < 1e-2,
        "{torch:?} {onnx:?}"
    );
    assert_eq!(torch.rank1_cpdm, onnx.rank1_cpdm, "{torch:?} {onnx:?}");

    // The int8 file holds int8 weights: well under half the f32 size.
    let size = |f: &str| std::fs::metadata(out.join(f)).expect("file").len();
    assert!(size("tiny-int8.onnx") * 2 < size("tiny-f32.onnx"));

    // The edge loads both through the manifest and gets features of the trained dim.
    for name in ["tiny-f32", "tiny-int8"] {
        let model = spanreid_infer::manifest::load(&out.join("manifest.toml"), name)
            .expect("manifest entry");
        assert_eq!(
            model.entry.trained_by,
            "trainer train-features --preset tiny"
        );
        let embedder = TractEmbedder::load(model).expect("edge loads");
        assert_eq!(embedder.dim(), 64);
    }

    // Exporting again under another name keeps the first entries.
    let mut again = args(&run, &data, &out);
    again.name = "other".into();
    again.no_int8 = true;
    again.skip_accuracy = true;
    let second = export(&again).expect("exports");
    assert!(second.parity_int8.is_empty() && second.accuracy.is_empty());
    let text = std::fs::read_to_string(out.join("manifest.toml")).expect("manifest");
    assert_eq!(text.matches("[[model]]").count(), 3);
}

#[test]
fn a_resnet50_run_with_last_stride_one_trains_two_steps_and_exports_matching_libtorch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = FeaturesConfig::preset(Preset::Tiny);
    c.model.backbone = Backbone::Resnet50;
    c.model.stage2_head = true;
    // Layer4 with stride 1: the stride-2 bottlenecks are checked in layer2 and layer3, and
    // the graph must follow the option.
    c.model.last_stride_one = true;
    c.train.steps = 2;
    c.train.checkpoint_every = 2;
    let (data, run) = trained_run_with(dir.path(), &c);
    let csv = std::fs::read_to_string(run.join("loss.csv")).expect("loss.csv");
    let totals: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).expect("total").parse().expect("number"))
        .collect();
    assert_eq!(totals.len(), 2);
    assert!(
        totals.iter().all(|t| t.is_finite() && *t > 0.0),
        "{totals:?}"
    );

    let loaded = load(&run).expect("the checkpoint loads");
    assert_eq!(loaded.spec.feature_backbone, Backbone::Resnet50);
    assert!(loaded.spec.stage2.last_stride_one);
    assert!(
        loaded
            .params
            .contains_key("feat.branch_side.backbone.layer4.2.bn3.running_var")
    );
    let mut a = args(&run, &data, &dir.path().join("models"));
    a.skip_accuracy = true;
    let report = export(&a).expect("exports");
    assert_eq!(report.parity_f32.len(), 5);
    for d in &report.parity_f32 {
        assert!(d.max_rel < 1e-4, "f32 {d:?}");
    }
    // int8 (the max-pool output quantised like any convolution input): the bounds of the
    // MobileNetV2 test above.
    assert_eq!(report.parity_int8.len(), 5);
    for d in &report.parity_int8 {
        let bound = if d.output == "masks" { 0.1 } else { 0.25 };
        assert!(d.max_rel < bound, "int8 {d:?}");
    }
}

#[test]
fn a_span_with_a_shortened_cnn_mask_exports_matching_libtorch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, span, run) = (
        dir.path().join("data"),
        dir.path().join("span"),
        dir.path().join("run"),
    );
    write_reid_dataset(&data, 6, 6, 4);
    let mut s = tiny_span(2);
    s.model.stage1_layers = Some(7);
    train_span(&data, &span, &s, false).expect("SPAN trains");
    let mut c = FeaturesConfig::preset(Preset::Tiny);
    c.train.steps = 2;
    c.train.checkpoint_every = 2;
    train_features(&data, &span, &run, &c, false).expect("features train");
    let loaded = load(&run).expect("the checkpoint loads");
    assert_eq!(loaded.spec.span_stage1_layers, Some(7));
    assert!(
        !loaded
            .params
            .keys()
            .any(|k| k.starts_with("span.backbone.features.7."))
    );
    let mut a = args(&run, &data, &dir.path().join("models"));
    a.skip_accuracy = true;
    a.no_int8 = true;
    let report = export(&a).expect("exports");
    assert!(report.parity_f32.iter().any(|d| d.output == "masks"));
    for d in &report.parity_f32 {
        assert!(d.max_rel < 1e-4, "f32 {d:?}");
    }
}

#[test]
fn a_run_missing_a_parameter_or_a_directory_gives_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, run) = trained_run(dir.path());
    let loaded = load(&run).expect("loads");
    let mut params = loaded.params.clone();
    params.remove("feat.branch_rear.neck.running_var");
    let err = build(&params, loaded.spec, Mode::F32).err().expect("fails");
    assert!(
        matches!(&err, ExportError::MissingParam(p) if p == "feat.branch_rear.neck.running_var"),
        "{err}"
    );
    let mut spec = loaded.spec;
    spec.input_size = 70;
    let err = build(&loaded.params, spec, Mode::F32).err().expect("fails");
    assert!(
        err.to_string().contains("multiple of the backbone stride"),
        "{err}"
    );

    let mut spec = loaded.spec;
    spec.span_backbone = Backbone::Resnet50;
    let err = build(&loaded.params, spec, Mode::F32).err().expect("fails");
    assert!(err.to_string().contains("ResNet-50"), "{err}");

    let missing = dir.path().join("no-run");
    let err = export(&args(&missing, &data, &dir.path().join("m"))).expect_err("fails");
    assert!(format!("{err:#}").contains("no-run"), "{err:#}");
}
