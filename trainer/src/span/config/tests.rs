use super::*;
use std::path::Path;

#[test]
fn defaults_are_the_papers() {
    let c = SpanConfig::default();
    assert_eq!(
        (c.loss.lambda_recon, c.loss.lambda_area, c.loss.lambda_div),
        (1.0, 0.5, 1.0)
    );
    assert_eq!(c.loss.max_area.caps(View::FrontSide), [0.7, 0.0, 0.7]);
    assert_eq!(c.loss.margin.front_side, 0.04);
    assert_eq!(c.model.backbone, Backbone::Resnet34);
    assert_eq!(c.train.learning_rate, 1e-4);
}

#[test]
fn presets_are_valid_and_round_trip_through_toml() {
    for p in [Preset::Tiny, Preset::Cpu, Preset::Paper] {
        let c = p.config();
        c.validate().expect("preset is valid");
        let back = SpanConfig::from_toml(&c.to_toml(), Path::new("x.toml")).expect("parses");
        assert_eq!(back, c);
    }
}

#[test]
fn shipped_config_files_equal_the_presets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    for (file, preset) in [
        ("tiny.toml", Preset::Tiny),
        ("cpu.toml", Preset::Cpu),
        ("paper.toml", Preset::Paper),
    ] {
        let c = SpanConfig::from_file(&dir.join(file)).expect("shipped config parses");
        assert_eq!(c, preset.config(), "{file}");
    } // The recipe the shipped model was trained with, before the stride-8 change.
    let old = SpanConfig::from_file(&dir.join("cpu-stride16.toml")).expect("parses");
    assert_eq!(old.model.backbone, Backbone::MobilenetV2);
    assert_eq!(old.train.views, ViewLabels::default());
    assert_eq!((old.model.frozen_layers, old.loss.div_pool), (0, 1));
    // The cpu recipe with the order term: the same but for [loss] lambda_order.
    let order = SpanConfig::from_file(&dir.join("cpu-order.toml")).expect("parses");
    let mut want = Preset::Cpu.config();
    want.loss.lambda_order = 1.0;
    assert_eq!(order, want);
}

#[test]
fn partial_toml_keeps_defaults() {
    let c = SpanConfig::from_toml(
        "[train]\nbatch_size = 8\n[loss.max_area]\nfront_side = [0.8, 0.0, 0.4]\n",
        Path::new("p.toml"),
    )
    .expect("parses");
    assert_eq!(c.train.batch_size, 8);
    assert_eq!(c.loss.max_area.front_side, [0.8, 0.0, 0.4]);
    assert_eq!(c.loss.max_area.rear_side, [0.0, 0.7, 0.7]);
}

#[test]
fn bad_configs_name_the_problem() {
    let err = SpanConfig::from_toml("[train]\nbatch_size = 0\n", Path::new("a.toml"))
        .expect_err("zero batch");
    assert!(err.to_string().contains("train.batch_size"), "{err}");

    let err = SpanConfig::from_toml("[model]\ninput_size = 100\n", Path::new("b.toml"))
        .expect_err("not a multiple of 8");
    assert!(err.to_string().contains("stride 8"), "{err}");

    let err = SpanConfig::from_toml("[model]\ngenerator_width = 1\n", Path::new("b2.toml"))
        .expect_err("generators too narrow");
    assert!(err.to_string().contains("model.generator_width"), "{err}");

    let err = SpanConfig::from_toml("[train]\nbatchsize = 3\n", Path::new("c.toml"))
        .expect_err("unknown field");
    let text = err.to_string();
    assert!(
        text.contains("c.toml") && text.contains("batchsize"),
        "{text}"
    );

    let err = SpanConfig::from_toml("[loss.max_area]\nfront = [2.0, 0.0, 0.0]\n", Path::new("d"))
        .expect_err("ratio above one");
    assert!(err.to_string().contains("loss.max_area"), "{err}");

    let resnet = "[model]\nbackbone = \"resnet34\"\npretrained = true\n";
    let err = SpanConfig::from_toml(resnet, Path::new("e")).expect_err("no weights");
    assert!(err.to_string().contains("model.weights"), "{err}");
    let with = format!("{resnet}weights = \"/w/resnet34.pth\"\n");
    assert!(SpanConfig::from_toml(&with, Path::new("f")).is_ok());
    let err = SpanConfig::from_toml("[model]\nbackbone = \"resnet50\"\n", Path::new("g"))
        .expect_err("ResNet-50 is for the feature network");
    assert!(err.to_string().contains("model.backbone"), "{err}");

    let mnv2 = "[model]\nbackbone = \"mobilenet_v2_dilated\"\n";
    for bad in [
        "stage1_layers = 3",
        "stage1_layers = 15",
        "stage1_layers = 7\nfrozen_layers = 9\npretrained = true",
    ] {
        let err = SpanConfig::from_toml(&format!("{mnv2}{bad}\n"), Path::new("h")).expect_err(bad);
        assert!(
            err.to_string().contains("model.stage1_layers"),
            "{bad}: {err}"
        );
    }
    assert!(SpanConfig::from_toml(&format!("{mnv2}stage1_layers = 7\n"), Path::new("i")).is_ok());
    let err = SpanConfig::from_toml("[model]\nstage1_layers = 7\n", Path::new("j"))
        .expect_err("ResNet-34 cannot be cut");
    assert!(err.to_string().contains("model.stage1_layers"), "{err}");

    let err = SpanConfig::from_file(Path::new("/nonexistent/span.toml")).expect_err("missing");
    assert!(err.to_string().contains("/nonexistent/span.toml"), "{err}");
}
