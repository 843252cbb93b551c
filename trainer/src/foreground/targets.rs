//! The segmentation network's training targets: one S×S plane of 0/1 per image, GrabCut's
//! masks at first, replaced by the network's own prediction where refinement says so, and
//! saved beside the run's checkpoints so a resumed run continues with them.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tch::{Device, Tensor};

use crate::foreground::segnet::torch_err;
use crate::train::TrainError;
use crate::train::example::{flip_rows, load_labels};
use crate::train::run_dir::tmp_name;

/// The training targets: one S×S plane of 0/1 per image, refined as training goes on.
#[derive(Clone, Debug, PartialEq)]
pub struct Targets {
    size: usize,
    planes: Vec<u8>,
    /// Targets replaced so far.
    pub refined: u64,
}

impl Targets {
    /// Reads the GrabCut masks at `size`×`size` (nearest neighbour, on from 128).
    pub fn from_masks(masks: &[PathBuf], size: u32) -> Result<Self, TrainError> {
        let planes: Vec<Vec<u8>> = masks
            .par_iter()
            .map(|m| {
                load_labels(m, size).map(|p| p.into_iter().map(|v| u8::from(v >= 128)).collect())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            size: size as usize,
            planes: planes.concat(),
            refined: 0,
        })
    }

    pub(crate) fn plane(&self, i: usize) -> &[u8] {
        let n = self.size * self.size;
        &self.planes[i * n..(i + 1) * n]
    }

    /// Replaces target `i` by `plane` (given in the orientation of a flipped sample when
    /// `flip`).
    pub fn replace(&mut self, i: usize, mut plane: Vec<u8>, flip: bool) {
        if flip {
            flip_rows(&mut plane, self.size);
        }
        let n = self.size * self.size;
        self.planes[i * n..(i + 1) * n].copy_from_slice(&plane);
        self.refined += 1;
    }

    /// Targets of `picks` as N×1×S×S floats.
    pub(crate) fn batch(&self, picks: &[(usize, bool)], device: Device) -> Tensor {
        let mut out = Vec::with_capacity(picks.len() * self.size * self.size);
        for &(i, flip) in picks {
            let mut p = self.plane(i).to_vec();
            if flip {
                flip_rows(&mut p, self.size);
            }
            out.extend(p.into_iter().map(f32::from));
        }
        let s = self.size as i64;
        Tensor::from_slice(&out)
            .view([picks.len() as i64, 1, s, s])
            .to_device(device)
    }

    pub(crate) fn save(&self, path: &Path, step: u64) -> Result<(), TrainError> {
        let n = (self.planes.len() / (self.size * self.size)) as i64;
        let s = self.size as i64;
        let planes = Tensor::from_slice(&self.planes).view([n, s, s]);
        let meta = Tensor::from_slice(&[step as i64, self.refined as i64]);
        let tmp = tmp_name(path);
        Tensor::write_safetensors(&[("targets", &planes), ("step_refined", &meta)], &tmp)
            .map_err(torch_err(format!("writing {}", path.display())))?;
        std::fs::rename(&tmp, path).map_err(|source| TrainError::Io {
            path: path.to_owned(),
            source,
        })
    }

    pub(crate) fn load(&mut self, path: &Path, step: u64) -> Result<(), TrainError> {
        let corrupt = |reason: String| TrainError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let tensors = Tensor::read_safetensors(path)
            .map_err(torch_err(format!("reading {}", path.display())))?;
        let get = |name: &str| {
            tensors
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.shallow_clone())
                .ok_or_else(|| corrupt(format!("no `{name}` tensor")))
        };
        let planes =
            Vec::<u8>::try_from(get("targets")?.view([-1])).map_err(|e| corrupt(e.to_string()))?;
        if planes.len() != self.planes.len() {
            return Err(corrupt(format!(
                "{} target pixels for a training set of {}",
                planes.len(),
                self.planes.len()
            )));
        }
        let meta =
            Vec::<i64>::try_from(get("step_refined")?).map_err(|e| corrupt(e.to_string()))?;
        if let [saved, refined] = meta[..] {
            if saved as u64 != step {
                tracing::warn!(
                    "{} holds the targets of step {saved}, the checkpoint is at step {step}; \
                     continuing with them",
                    path.display()
                );
            }
            self.refined = refined.max(0) as u64;
        }
        self.planes = planes;
        Ok(())
    }
}
