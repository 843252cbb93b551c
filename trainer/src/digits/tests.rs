//! Tests of the dataset files on real MNIST digits (skipped, with a message, when
//! `install-mnist.sh` has not run) and on drawn strokes, and of training and scoring.

use std::path::Path;

use crate::digits::DigitsError;
use crate::digits::dataset::{DatasetMeta, Split, generate, test_start};
use crate::digits::files::{open_dataset, read_split, write_dataset};
use crate::digits::mnist::{self, ClassDigits, PIXELS, SIDE};

pub(crate) fn meta(classes: Vec<u8>, size: u32, train: usize, test: usize) -> DatasetMeta {
    DatasetMeta {
        classes,
        size,
        min_digits: 1,
        max_digits: 3,
        min_scale: 0.3,
        max_scale: 0.45,
        test_fraction: 0.2,
        train,
        test,
        seed: 5,
    }
}

/// Stand-in "digits": a vertical bar, a horizontal bar and a box, a few variants each.
pub(crate) fn strokes() -> Vec<ClassDigits> {
    let side = SIDE as usize;
    (0u8..3)
        .map(|class| ClassDigits {
            class,
            digits: (0..6)
                .map(|v| {
                    let mut d = vec![0u8; PIXELS];
                    for a in 6..22 {
                        for w in 0..3 + v % 2 {
                            let (x, y) = match class {
                                0 => (12 + w, a),
                                1 => (a, 12 + w),
                                _ => (if a % 2 == 0 { 6 + w } else { 19 + w }, a),
                            };
                            d[y * side + x] = 255;
                        }
                    }
                    d
                })
                .collect(),
        })
        .collect()
}

/// Writes a stroke dataset of `size` px canvases.
pub(crate) fn stroke_dataset(dir: &Path, size: u32, train: usize, test: usize) {
    let m = meta(vec![0, 1, 2], size, train, test);
    let canvases = generate(&m, &strokes()).expect("generates");
    write_dataset(dir, &m, &canvases).expect("writes");
}

fn installed_mnist() -> Option<Vec<ClassDigits>> {
    let dir = mnist::default_dir().ok()?;
    if !dir.join("0.json").is_file() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "skipped: no MNIST digits in {} (run trainer/install-mnist.sh)",
                dir.display()
            );
        }
        return None;
    }
    Some(mnist::load(&dir, &[0, 1, 7]).expect("the installed MNIST digits load"))
}

#[test]
fn real_digits_are_deterministic_and_split_by_source_sample() {
    let Some(digits) = installed_mnist() else {
        return;
    };
    assert!(
        digits.iter().all(|c| c.digits.len() > 800),
        "≈1,000 per class"
    );
    let m = meta(vec![0, 1, 7], 96, 60, 30);
    let a = generate(&m, &digits).expect("generates");
    assert_eq!(
        a,
        generate(&m, &digits).expect("generates"),
        "same seed, same set"
    );
    let other = generate(
        &DatasetMeta {
            seed: 6,
            ..m.clone()
        },
        &digits,
    )
    .expect("generates");
    assert_ne!(a, other);

    let dir = tempfile::tempdir().expect("tempdir");
    write_dataset(dir.path(), &m, &a).expect("writes");
    let (back, records) = open_dataset(dir.path()).expect("reads");
    assert_eq!(back, m);
    assert_eq!(records.len(), 90);
    let sources = |s: Split| -> std::collections::HashSet<(u8, usize)> {
        records
            .iter()
            .filter(|r| r.split == s)
            .flat_map(|r| r.sources.clone())
            .collect()
    };
    let (train, test) = (sources(Split::Train), sources(Split::Test));
    assert!(!train.is_empty() && !test.is_empty());
    assert!(
        train.is_disjoint(&test),
        "an MNIST sample is in both splits"
    );
    for &(class, i) in &test {
        let n = digits
            .iter()
            .find(|c| c.class == class)
            .expect("class")
            .digits
            .len();
        assert!(
            i >= test_start(n, 0.2),
            "test canvas uses training sample {class}:{i}"
        );
    }
    // The files hold exactly the rendered canvases and labels.
    let read = read_split(&records, Split::Train, 96).expect("decodes");
    for ((record, pixels, truth), (_, canvas)) in read.iter().zip(&a) {
        assert_eq!((pixels, truth), (&canvas.pixels, &canvas.truth));
        assert_eq!(record.present, canvas.present);
    }
}

#[test]
fn bad_datasets_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = open_dataset(&dir.path().join("nope")).expect_err("no dataset");
    assert!(err.to_string().contains("synth-digits"), "{err}");

    stroke_dataset(dir.path(), 64, 4, 2);
    let (_, records) = open_dataset(dir.path()).expect("reads");
    std::fs::write(&records[1].image, b"not a png").expect("corrupts");
    let err = read_split(&records, Split::Train, 64).expect_err("corrupt image");
    assert!(err.to_string().contains("000001.png"), "{err}");
    let err = read_split(&records, Split::Test, 32).expect_err("wrong size");
    assert!(err.to_string().contains("32×32"), "{err}");

    let index = dir.path().join("index.csv");
    let text = std::fs::read_to_string(&index).expect("index");
    std::fs::write(
        &index,
        text.replacen("train,train/000000.png", "train,x", 1) + "test,a,b,5,\n",
    )
    .expect("writes");
    let err = open_dataset(dir.path()).expect_err("bad index");
    assert!(matches!(err, DigitsError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("class 5"), "{err}");
}

#[test]
fn bad_synth_options_are_rejected() {
    for m in [
        meta(vec![], 64, 1, 1),
        meta(vec![1, 1], 64, 1, 1),
        meta(vec![12], 64, 1, 1),
        DatasetMeta {
            min_digits: 0,
            ..meta(vec![1], 64, 1, 1)
        },
        DatasetMeta {
            max_scale: 1.5,
            ..meta(vec![1], 64, 1, 1)
        },
        meta(vec![1], 64, 0, 1),
    ] {
        assert!(
            matches!(m.validate(), Err(DigitsError::Invalid { .. })),
            "{m:?}"
        );
    }
}

#[test]
fn missing_mnist_cache_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = crate::digits::SynthDigitsArgs {
        out: dir.path().join("out"),
        classes: vec![0, 1, 2],
        train: 2,
        test: 1,
        size: 64,
        min_digits: 1,
        max_digits: 2,
        min_scale: 0.3,
        max_scale: 0.4,
        test_fraction: 0.2,
        seed: 0,
        mnist: Some(dir.path().join("no-mnist")),
    };
    let err = crate::digits::run_synth_digits(&args).expect_err("no digits");
    assert!(err.to_string().contains("install-mnist.sh"), "{err}");
    assert!(!args.out.exists(), "nothing written");
}
