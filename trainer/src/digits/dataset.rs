//! The multi-digit dataset: generation (train/test split by MNIST sample, so no source digit
//! is in both), and its files:
//!
//! ```text
//! DIR/digits.toml          classes, canvas size, seed, counts (DatasetMeta)
//! DIR/index.csv            split,image,truth,present,sources
//! DIR/{train,test}/NNNNNN.png        canvas (grey)
//! DIR/{train,test}/NNNNNN-truth.png  0 background, k+1 a digit pixel of classes[k]
//! ```
//!
//! `present` lists the classes shown (e.g. `0 2`); `sources` the MNIST samples drawn
//! (`class:index`, e.g. `0:17 2:301`).

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::digits::DigitsError;
use crate::digits::canvas::{self, Canvas, CanvasSpec};
use crate::digits::mnist::ClassDigits;

/// Metadata file of a dataset.
pub const META_FILE: &str = "digits.toml";
/// Index file of a dataset.
pub const INDEX_FILE: &str = "index.csv";
/// Header of [`INDEX_FILE`].
pub const INDEX_HEADER: &str = "split,image,truth,present,sources";

/// Train or test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Canvases drawn from the training MNIST samples.
    Train,
    /// Canvases drawn from the held-out MNIST samples.
    Test,
}

impl Split {
    /// The split's name in files.
    pub const fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Everything that determines a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetMeta {
    /// Digit classes, in mask order.
    pub classes: Vec<u8>,
    /// Canvas side in pixels.
    pub size: u32,
    /// Fewest digits per canvas.
    pub min_digits: u32,
    /// Most digits per canvas.
    pub max_digits: u32,
    /// Smallest digit side / canvas side.
    pub min_scale: f32,
    /// Largest digit side / canvas side.
    pub max_scale: f32,
    /// Fraction of each class's MNIST samples (the last ones) reserved for the test split.
    pub test_fraction: f32,
    /// Training canvases.
    pub train: usize,
    /// Test canvases.
    pub test: usize,
    /// Seed of the generator.
    pub seed: u64,
}

impl DatasetMeta {
    /// The canvas part of the spec.
    pub fn canvas(&self) -> CanvasSpec {
        CanvasSpec {
            size: self.size,
            min_digits: self.min_digits,
            max_digits: self.max_digits,
            min_scale: self.min_scale,
            max_scale: self.max_scale,
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), DigitsError> {
        let invalid = |field, reason: String| Err(DigitsError::Invalid { field, reason });
        let mut sorted = self.classes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if self.classes.is_empty() || sorted.len() != self.classes.len() {
            return invalid("classes", "give one or more distinct digits".into());
        }
        if let Some(c) = self.classes.iter().find(|&&c| c > 9) {
            return invalid("classes", format!("{c} is not a digit 0–9"));
        }
        if !(1..=self.max_digits).contains(&self.min_digits) || self.max_digits > 8 {
            return invalid("digits", "need 1 ≤ min-digits ≤ max-digits ≤ 8".into());
        }
        if !(0.05 <= self.min_scale && self.min_scale <= self.max_scale && self.max_scale <= 1.0) {
            return invalid("scale", "need 0.05 ≤ min-scale ≤ max-scale ≤ 1".into());
        }
        if self.size < 16 {
            return invalid("size", format!("{} px is too small a canvas", self.size));
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return invalid("test-fraction", "must lie strictly between 0 and 1".into());
        }
        if self.train == 0 || self.test == 0 {
            return invalid("train/test", "both splits need at least one canvas".into());
        }
        Ok(())
    }
}

/// Index of the first test sample of a class with `n` samples.
pub fn test_start(n: usize, test_fraction: f32) -> usize {
    let test = ((n as f64 * f64::from(test_fraction)).round() as usize).clamp(1, n - 1);
    n - test
}

/// Renders the dataset: `mnist` holds the classes of `meta.classes` in that order.
pub fn generate(
    meta: &DatasetMeta,
    mnist: &[ClassDigits],
) -> Result<Vec<(Split, Canvas)>, DigitsError> {
    meta.validate()?;
    if let Some(c) = mnist.iter().find(|c| c.digits.len() < 2) {
        return Err(DigitsError::Invalid {
            field: "classes",
            reason: format!("class {} has fewer than 2 MNIST samples", c.class),
        });
    }
    let pools = |split: Split| -> Vec<Vec<_>> {
        mnist
            .iter()
            .map(|c| {
                let cut = test_start(c.digits.len(), meta.test_fraction);
                let range = match split {
                    Split::Train => 0..cut,
                    Split::Test => cut..c.digits.len(),
                };
                range.map(|i| (i, &c.digits[i])).collect()
            })
            .collect()
    };
    let spec = meta.canvas();
    let mut rng = ChaCha8Rng::seed_from_u64(meta.seed);
    let mut out = Vec::with_capacity(meta.train + meta.test);
    for (split, count) in [(Split::Train, meta.train), (Split::Test, meta.test)] {
        let p = pools(split);
        out.extend((0..count).map(|_| (split, canvas::render(&spec, &p, &mut rng))));
    }
    Ok(out)
}

/// One row of the index.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Its split.
    pub split: Split,
    /// The canvas PNG.
    pub image: PathBuf,
    /// The ground-truth PNG.
    pub truth: PathBuf,
    /// Per class slot: present?
    pub present: Vec<bool>,
    /// (class, MNIST sample index) of every digit drawn.
    pub sources: Vec<(u8, usize)>,
}

/// The index line of canvas `n` (no newline).
pub fn index_line(meta: &DatasetMeta, split: Split, n: usize, c: &Canvas) -> String {
    let present: Vec<String> = meta
        .classes
        .iter()
        .zip(&c.present)
        .filter(|(_, p)| **p)
        .map(|(class, _)| class.to_string())
        .collect();
    let sources: Vec<String> = c
        .sources
        .iter()
        .map(|&(slot, i)| format!("{}:{i}", meta.classes[slot]))
        .collect();
    let s = split.name();
    format!(
        "{s},{s}/{n:06}.png,{s}/{n:06}-truth.png,{},{}",
        present.join(" "),
        sources.join(" ")
    )
}

/// Parses the index text of a dataset at `root` with `meta`'s classes.
pub fn parse_index(
    text: &str,
    root: &Path,
    meta: &DatasetMeta,
) -> Result<Vec<Record>, DigitsError> {
    let path = root.join(INDEX_FILE);
    let mut lines = text.lines();
    if lines.next() != Some(INDEX_HEADER) {
        return Err(DigitsError::Corrupt {
            path,
            reason: format!("the first line must be `{INDEX_HEADER}`"),
        });
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let bad = |reason: String| DigitsError::Corrupt {
                path: path.clone(),
                reason: format!("line {}: {reason}", i + 2),
            };
            let f: Vec<&str> = line.split(',').collect();
            let [split, image, truth, present, sources] = f[..] else {
                return Err(bad(format!("expected 5 fields, found {}", f.len())));
            };
            let split = match split {
                "train" => Split::Train,
                "test" => Split::Test,
                other => return Err(bad(format!("unknown split `{other}`"))),
            };
            let digit = |s: &str| -> Result<u8, DigitsError> {
                let d: u8 = s
                    .parse()
                    .map_err(|_| bad(format!("`{s}` is not a digit")))?;
                if meta.classes.contains(&d) {
                    Ok(d)
                } else {
                    Err(bad(format!("class {d} is not among {:?}", meta.classes)))
                }
            };
            let shown = present
                .split_whitespace()
                .map(digit)
                .collect::<Result<Vec<_>, _>>()?;
            let sources = sources
                .split_whitespace()
                .map(|s| {
                    let (c, i) = s
                        .split_once(':')
                        .ok_or_else(|| bad(format!("source `{s}`")))?;
                    let i = i.parse().map_err(|_| bad(format!("source `{s}`")))?;
                    Ok((digit(c)?, i))
                })
                .collect::<Result<Vec<_>, DigitsError>>()?;
            Ok(Record {
                split,
                image: root.join(image),
                truth: root.join(truth),
                present: meta.classes.iter().map(|c| shown.contains(c)).collect(),
                sources,
            })
        })
        .collect()
}
