//! `trainer eval-digits`: the run's masks on the test canvases, scored per class at several
//! thresholds against the digits' pixels, with the whole-foreground baseline, written as
//! `eval/digits.json`, `eval/digits.md` and a picture like Fig. 4b, `eval/digits.png`.

use std::path::Path;

use tch::{Device, Kind};

use crate::digits::DigitsError;
use crate::digits::config::DigitsConfig;
use crate::digits::dataset::Split;
use crate::digits::files;
use crate::digits::report::{self, ClassCounts, DigitsReport, ThresholdScores};
use crate::digits::train_loop::{Canvases, DigitsModel, batch};
use crate::train::overlay;

/// Canvases per forward pass.
const EVAL_BATCH: usize = 32;

fn write(path: &Path, bytes: &[u8]) -> Result<(), DigitsError> {
    std::fs::write(path, bytes).map_err(|e| DigitsError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Scores the run's latest checkpoint on the test split of `data` at each of `thresholds`
/// and draws `overlay_rows` canvases.
pub fn eval_digits(
    run: &Path,
    data: &Path,
    thresholds: &[f32],
    overlay_rows: usize,
) -> Result<DigitsReport, DigitsError> {
    let mut config = DigitsConfig::from_file(&run.join("config.toml"))?;
    let (meta, records) = files::open_dataset(data)?;
    if config.classes != meta.classes || config.model.input_size != meta.size {
        return Err(DigitsError::Invalid {
            field: "data",
            reason: format!(
                "the run was trained on classes {:?} at {} px, {} has {:?} at {} px",
                config.classes,
                config.model.input_size,
                data.display(),
                meta.classes,
                meta.size
            ),
        });
    }
    config.model.pretrained = false;
    let test = files::read_split(&records, Split::Test, meta.size)?;
    let device = Device::cuda_if_available();
    let mut model = DigitsModel::new(&config, device);
    model.load(&run.join("latest.safetensors"))?;
    let classes = meta.classes.len();
    let hw = (meta.size * meta.size) as usize;
    let fg_level = (config.loss.foreground_threshold * 255.0).ceil() as u8;

    let mut counts = vec![ClassCounts::new(classes); thresholds.len()];
    let mut baseline = ClassCounts::new(classes);
    let mut rows = Vec::new();
    for chunk in test.chunks(EVAL_BATCH) {
        let canvases = Canvases {
            size: meta.size,
            pixels: chunk.iter().map(|(_, p, _)| p.clone()).collect(),
            present: chunk.iter().map(|(r, _, _)| r.present.clone()).collect(),
        };
        let picks: Vec<usize> = (0..chunk.len()).collect();
        let (images, _, _) = batch(&canvases, &picks, config.loss.foreground_threshold, device);
        let masks = tch::no_grad(|| model.net.masks(&images, false))
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .flatten(0, -1);
        let masks =
            Vec::<f32>::try_from(&masks).map_err(|source| crate::train::TrainError::Torch {
                what: "reading masks".into(),
                source,
            })?;
        for (n, (record, pixels, truth)) in chunk.iter().enumerate() {
            let m = &masks[n * classes * hw..(n + 1) * classes * hw];
            let fg: Vec<bool> = pixels.iter().map(|&p| p >= fg_level).collect();
            for (c, &t) in counts.iter_mut().zip(thresholds) {
                c.add(|k, i| m[k * hw + i] >= t, truth, &fg, &record.present);
            }
            baseline.add(|_, i| fg[i], truth, &fg, &record.present);
            if rows.len() < overlay_rows {
                rows.push(report::overlay_row(pixels, m, truth, meta.size));
            }
        }
    }
    let report = DigitsReport {
        canvases: test.len(),
        classes: meta.classes.clone(),
        network: thresholds
            .iter()
            .zip(&counts)
            .map(|(&threshold, c)| ThresholdScores {
                threshold,
                scores: c.scores(),
            })
            .collect(),
        baseline: baseline.scores(),
    };
    let dir = run.join("eval");
    std::fs::create_dir_all(&dir).map_err(|e| DigitsError::Write {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    let json = serde_json::to_string_pretty(&report).expect("the report is JSON-representable");
    write(&dir.join("digits.json"), json.as_bytes())?;
    write(&dir.join("digits.md"), report::markdown(&report).as_bytes())?;
    if !rows.is_empty() {
        let path = dir.join("digits.png");
        overlay::sheet(&rows)
            .save_with_format(&path, image::ImageFormat::Png)
            .map_err(|e| DigitsError::Write {
                path: path.clone(),
                reason: e.to_string(),
            })?;
    }
    Ok(report)
}
