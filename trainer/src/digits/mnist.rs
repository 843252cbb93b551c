//! Reading the MNIST digits installed by `trainer/install-mnist.sh`: one JSON file per
//! class, `{"data": [...]}` holding 28×28 intensities in [0, 1] per sample, row-major.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::digits::DigitsError;

/// Side of an MNIST digit in pixels.
pub const SIDE: u32 = 28;

/// Pixels of one digit.
pub const PIXELS: usize = (SIDE * SIDE) as usize;

/// One digit: 28×28 grey levels, 0 background, 255 ink.
pub type Digit = Vec<u8>;

/// The digits of one class, in the order of the source file (the index is the sample id).
#[derive(Clone, Debug, PartialEq)]
pub struct ClassDigits {
    /// The class, 0–9.
    pub class: u8,
    /// Its samples.
    pub digits: Vec<Digit>,
}

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

/// The directory `install-mnist.sh` fills: `<cache>/mnist/digits`.
pub fn default_dir() -> Result<PathBuf, DigitsError> {
    crate::torch_env::cache_dir()
        .map(|c| c.join("mnist").join("digits"))
        .ok_or(DigitsError::NoCacheDir)
}

/// Parses one class file; `origin` names it in errors.
pub fn parse_class(class: u8, text: &str, origin: &Path) -> Result<ClassDigits, DigitsError> {
    let corrupt = |reason: String| DigitsError::Corrupt {
        path: origin.to_owned(),
        reason,
    };
    let file: DigitFile = serde_json::from_str(text)
        .map_err(|e| corrupt(format!("not an MNIST digit file ({e})")))?;
    if file.data.is_empty() || !file.data.len().is_multiple_of(PIXELS) {
        return Err(corrupt(format!(
            "{} values is not a positive multiple of {PIXELS} (28×28)",
            file.data.len()
        )));
    }
    if let Some(bad) = file.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(corrupt(format!("intensity {bad} outside [0, 1]")));
    }
    let digits = file
        .data
        .chunks(PIXELS)
        .map(|d| d.iter().map(|v| (v * 255.0).round() as u8).collect())
        .collect();
    Ok(ClassDigits { class, digits })
}

/// Reads the files of `classes` from `dir` (`<class>.json`).
pub fn load(dir: &Path, classes: &[u8]) -> Result<Vec<ClassDigits>, DigitsError> {
    if !dir.is_dir() {
        return Err(DigitsError::MissingMnist(dir.to_owned()));
    }
    classes
        .iter()
        .map(|&class| {
            let path = dir.join(format!("{class}.json"));
            if !path.is_file() {
                return Err(DigitsError::MissingMnist(dir.to_owned()));
            }
            let text = std::fs::read_to_string(&path).map_err(|source| DigitsError::Read {
                path: path.clone(),
                source,
            })?;
            let parsed = parse_class(class, &text, &path)?;
            tracing::debug!(class, samples = parsed.digits.len(), "MNIST digits read");
            Ok(parsed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_and_scales_to_bytes() {
        let mut values = vec![0.0f32; 2 * PIXELS];
        values[3] = 1.0;
        values[PIXELS] = 0.5;
        let text = serde_json::json!({ "data": values }).to_string();
        let c = parse_class(4, &text, Path::new("4.json")).expect("parses");
        assert_eq!(c.digits.len(), 2);
        assert_eq!((c.digits[0][3], c.digits[1][0]), (255, 128));
    }

    #[test]
    fn corrupt_files_name_the_file_and_the_problem() {
        let err = parse_class(1, "{\"data\": [0.5, 0.5]}", Path::new("/m/1.json")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/m/1.json") && text.contains("28×28"),
            "{text}"
        );
        let err = parse_class(1, "not json", Path::new("/m/1.json")).unwrap_err();
        assert!(err.to_string().contains("not an MNIST digit file"), "{err}");
        let err = parse_class(
            1,
            &format!("{{\"data\": [{}2.0]}}", "0,".repeat(PIXELS - 1)),
            Path::new("x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("outside [0, 1]"), "{err}");
    }

    #[test]
    fn missing_cache_says_how_to_install() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = load(&dir.path().join("nope"), &[0]).unwrap_err();
        assert!(err.to_string().contains("install-mnist.sh"), "{err}");
        let err = load(dir.path(), &[0]).unwrap_err();
        assert!(matches!(err, DigitsError::MissingMnist(_)), "{err}");
    }
}
