//! Training and scoring tests of the multi-digit SPAN on a tiny stroke dataset.

use std::path::Path;

use tch::Device;

use crate::digits::DigitsError;
use crate::digits::config::{DigitsConfig, DigitsPreset};
use crate::digits::eval::eval_digits;
use crate::digits::tests::stroke_dataset;
use crate::digits::train_loop::{Canvases, DigitsModel, batch, train_digits};
use crate::train::TrainError;

fn tiny(steps: u64) -> DigitsConfig {
    let mut c = DigitsPreset::Tiny.config();
    c.train.steps = steps;
    c.train.checkpoint_every = 2;
    c
}

fn totals(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("loss.csv")).expect("csv");
    crate::train::run_dir::parse_loss_columns(&text)[3].clone()
}

#[test]
fn a_few_steps_reduce_the_loss_and_eval_writes_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, run) = (dir.path().join("data"), dir.path().join("run"));
    stroke_dataset(&data, 64, 24, 6);
    let s = train_digits(&data, &run, &tiny(30), false).expect("trains");
    assert_eq!(s.steps, 30);
    let t = totals(&run);
    assert_eq!(t.len(), 30);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (early, late) = (mean(&t[..5]), mean(&t[25..]));
    assert!(late < 0.8 * early, "loss {early:.4} → {late:.4}");
    assert!(run.join("loss.png").is_file());
    let saved = DigitsConfig::from_file(&run.join("config.toml")).expect("config");
    assert_eq!(
        saved.classes,
        [0, 1, 2],
        "the run records the dataset's classes"
    );

    let r = eval_digits(&run, &data, &[0.2, 0.5], 3).expect("scores");
    assert_eq!(r.canvases, 6);
    assert_eq!(r.network.len(), 2);
    assert_eq!(
        r.baseline.mean_absent_area,
        Some(1.0),
        "the baseline covers the foreground"
    );
    for f in ["digits.json", "digits.md", "digits.png"] {
        assert!(run.join("eval").join(f).is_file(), "{f}");
    }
    let png = image::open(run.join("eval/digits.png")).expect("picture");
    assert_eq!(
        (png.width(), png.height()),
        (64 * 5, 64 * 3),
        "canvas, 3 masks, truth; 3 rows"
    );
}

#[test]
fn resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    stroke_dataset(&data, 64, 8, 2);
    let (run, straight) = (dir.path().join("run"), dir.path().join("straight"));
    train_digits(&data, &run, &tiny(2), false).expect("trains");
    let err = train_digits(&data, &run, &tiny(2), false).expect_err("exists");
    assert!(
        matches!(err, DigitsError::Train(TrainError::RunExists(_))),
        "{err}"
    );
    let more = train_digits(&data, &run, &tiny(4), true).expect("resumes");
    assert_eq!(more.steps, 2);
    assert_eq!(totals(&run).len(), 4);
    train_digits(&data, &straight, &tiny(4), false).expect("trains");

    let mut config = tiny(4);
    config.classes = vec![0, 1, 2];
    let load = |r: &Path| {
        let mut m = DigitsModel::new(&config, Device::Cpu);
        m.load(&r.join("latest.safetensors")).expect("loads");
        m
    };
    let (a, b) = (load(&run), load(&straight));
    let canvases = Canvases {
        size: 64,
        pixels: vec![
            vec![0; 64 * 64],
            (0..64 * 64).map(|i| (i % 251) as u8).collect(),
        ],
        present: vec![vec![true, false, false]; 2],
    };
    let (x, _, _) = batch(&canvases, &[0, 1], 0.5, Device::Cpu);
    let (ma, mb) = (a.net.masks(&x, false), b.net.masks(&x, false));
    assert!(
        ma.allclose(&mb, 1e-5, 1e-6, false),
        "resumed and uninterrupted runs differ by {}",
        (ma - mb).abs().max().double_value(&[])
    );
    let err = train_digits(&data, &dir.path().join("none"), &tiny(2), true).expect_err("empty");
    assert!(
        matches!(err, DigitsError::Train(TrainError::NothingToResume(_))),
        "{err}"
    );
}

#[test]
fn a_config_that_does_not_fit_the_dataset_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    stroke_dataset(&data, 64, 2, 1);
    let mut c = tiny(1);
    c.model.input_size = 96;
    let err = train_digits(&data, &dir.path().join("a"), &c, false).expect_err("size");
    assert!(err.to_string().contains("canvas size 64"), "{err}");
    let mut c = tiny(1);
    c.classes = vec![0, 1, 7];
    let err = train_digits(&data, &dir.path().join("b"), &c, false).expect_err("classes");
    assert!(err.to_string().contains("[0, 1, 7]"), "{err}");
}
