//! The run directory: `config.toml`, `loss.csv`, `state.toml` (the last completed step)
//! and safetensors checkpoints (`checkpoints/step-NNNNNN.safetensors`, `latest.safetensors`).
//! Files are written to a temporary name and renamed, so an interrupted run never leaves a
//! half-written checkpoint behind `state.toml`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use crate::train::TrainError;
use crate::train::adam::Adam;
pub(crate) use crate::train::atomic::{io_err, tmp_name, write_atomic};

/// Progress saved next to the checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// Optimiser steps completed.
    pub step: u64,
}

/// One row of `loss.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossRow {
    /// Step just completed (1-based).
    pub step: u64,
    /// eq. 1.
    pub recon: f64,
    /// eq. 2.
    pub area: f64,
    /// eq. 3.
    pub div: f64,
    /// Weighted total.
    pub total: f64,
    /// Seconds since the run (or resume) started.
    pub seconds: f64,
}

/// CSV header of `loss.csv`.
pub const CSV_HEADER: &str = "step,recon,area,div,total,seconds";

impl LossRow {
    /// The row as a CSV line (no newline).
    pub fn csv(&self) -> String {
        format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.3}",
            self.step, self.recon, self.area, self.div, self.total, self.seconds
        )
    }
}

/// The loss columns (recon, area, div, total) of `loss.csv` text; malformed lines are
/// skipped.
pub fn parse_loss_columns(text: &str) -> [Vec<f64>; 4] {
    let mut cols: [Vec<f64>; 4] = Default::default();
    for line in text.lines().skip(1) {
        let vals: Vec<f64> = line
            .split(',')
            .skip(1)
            .take(4)
            .filter_map(|v| v.parse().ok())
            .collect();
        if let [r, a, d, t] = vals[..] {
            for (col, v) in cols.iter_mut().zip([r, a, d, t]) {
                col.push(v);
            }
        }
    }
    cols
}

/// Paths of one run.
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Uses `root` (not created yet).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `latest.safetensors`.
    pub fn latest(&self) -> PathBuf {
        self.root.join("latest.safetensors")
    }

    fn state_path(&self) -> PathBuf {
        self.root.join("state.toml")
    }

    /// `loss.csv`.
    pub fn csv_path(&self) -> PathBuf {
        self.root.join("loss.csv")
    }

    /// The saved state, if this directory holds a run.
    pub fn state(&self) -> Result<Option<RunState>, TrainError> {
        let path = self.state_path();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| TrainError::Corrupt {
                path,
                reason: e.to_string(),
            })
    }

    /// Creates the directory and writes `config.toml` (the configuration as TOML text) and
    /// the CSV header (a fresh run).
    pub fn start_toml(&self, config_toml: &str) -> Result<(), TrainError> {
        std::fs::create_dir_all(self.root.join("checkpoints")).map_err(io_err(&self.root))?;
        self.save_config_toml(config_toml)?;
        write_atomic(&self.csv_path(), format!("{CSV_HEADER}\n").as_bytes())
    }

    /// Rewrites `config.toml` (a resumed run may change e.g. the step count).
    pub fn save_config_toml(&self, config_toml: &str) -> Result<(), TrainError> {
        write_atomic(&self.config_path(), config_toml.as_bytes())
    }

    /// Appends rows to `loss.csv`.
    pub fn append_rows(&self, rows: &[LossRow]) -> Result<(), TrainError> {
        let path = self.csv_path();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let text: String = rows.iter().map(|r| r.csv() + "\n").collect();
        f.write_all(text.as_bytes()).map_err(io_err(&path))
    }

    /// Redraws `loss.png` from `loss.csv`.
    pub fn plot_losses(&self) -> Result<(), TrainError> {
        let csv = self.csv_path();
        let text = std::fs::read_to_string(&csv).map_err(io_err(&csv))?;
        let png = self.root.join("loss.png");
        let tmp = tmp_name(&png);
        crate::train::loss_plot::render(&parse_loss_columns(&text))
            .save_with_format(&tmp, image::ImageFormat::Png)
            .map_err(|e| TrainError::Write {
                path: png.clone(),
                reason: e.to_string(),
            })?;
        std::fs::rename(&tmp, &png).map_err(io_err(&png))
    }

    /// The optimiser state of the latest checkpoint.
    pub fn optimizer_path(&self) -> PathBuf {
        self.root.join("optimizer.safetensors")
    }

    /// Saves the model as `checkpoints/step-N.safetensors` and `latest.safetensors` and the
    /// optimiser's moments as `optimizer.safetensors`, then records `state`.
    pub fn checkpoint(
        &self,
        vs: &VarStore,
        opt: &Adam,
        state: RunState,
    ) -> Result<PathBuf, TrainError> {
        let step_file = self
            .root
            .join("checkpoints")
            .join(format!("step-{:06}.safetensors", state.step));
        save_atomic(vs, &step_file)?;
        save_atomic(vs, &self.latest())?;
        let opt_path = self.optimizer_path();
        let tmp = tmp_name(&opt_path);
        opt.save(&tmp, state.step)?;
        std::fs::rename(&tmp, &opt_path).map_err(io_err(&opt_path))?;
        let text = toml::to_string(&state).expect("RunState is TOML-representable");
        write_atomic(&self.state_path(), text.as_bytes())?;
        Ok(step_file)
    }
}

impl RunDir {
    /// Restores the optimiser's moments saved with the checkpoint at `step`. A run without
    /// them (written before they were saved) or with moments of another step (a crash
    /// between the two files) continues with fresh moments, with a warning.
    pub fn resume_optimizer(&self, opt: &mut Adam, step: u64) -> Result<(), TrainError> {
        let path = self.optimizer_path();
        if !path.is_file() {
            tracing::warn!(
                "{} is missing: Adam's moments restart from zero",
                path.display()
            );
            return Ok(());
        }
        let saved = Adam::saved_step(&path)?;
        if saved != step {
            tracing::warn!(
                "{} was written at step {saved}, the checkpoint is at step {step}: Adam's \
                 moments restart from zero",
                path.display()
            );
            return Ok(());
        }
        opt.load(&path, step)?;
        tracing::info!("optimiser state restored from {}", path.display());
        Ok(())
    }
}

fn save_atomic(vs: &VarStore, path: &Path) -> Result<(), TrainError> {
    let tmp = tmp_name(path);
    vs.save(&tmp).map_err(|source| TrainError::Torch {
        what: format!("saving {}", path.display()),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Appends `lines` (each ending in a newline) to the CSV file at `path`.
pub fn append_csv(path: &Path, lines: &[String]) -> Result<(), TrainError> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(lines.concat().as_bytes()).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_columns_round_trip_through_csv() {
        let rows = [
            LossRow {
                step: 1,
                recon: 0.5,
                area: 0.25,
                div: 0.125,
                total: 1.0,
                seconds: 0.1,
            },
            LossRow {
                step: 2,
                recon: 0.4,
                area: 0.2,
                div: 0.1,
                total: 0.8,
                seconds: 0.2,
            },
        ];
        let text: String = std::iter::once(CSV_HEADER.to_owned())
            .chain(rows.iter().map(LossRow::csv))
            .chain(["garbage,line".to_owned()])
            .map(|l| l + "\n")
            .collect();
        let cols = parse_loss_columns(&text);
        assert_eq!(cols[0], [0.5, 0.4]);
        assert_eq!(cols[3], [1.0, 0.8]);
    }
}
