//! Running exported graphs with tract: preprocessing images exactly as the edge does,
//! running a batch with chosen outputs, and calibrating activation ranges.

use std::path::{Path, PathBuf};

use spanreid_infer::Crop;
use spanreid_infer::preprocess::push_nchw;
use tract_onnx::prelude::*;

use super::quant::{Range, Ranges};
use super::{ExportError, engine, io_err};
use crate::model::span::{IMAGENET_MEAN, IMAGENET_STD};

/// Images per tract run.
const BATCH: usize = 8;

/// Normalised NCHW images of one size, as the edge feeds them.
pub struct ImageSet {
    /// Source files.
    pub paths: Vec<PathBuf>,
    /// Square side.
    pub size: u32,
    /// 3 × size × size values per image, concatenated.
    pub data: Vec<f32>,
}

impl ImageSet {
    /// Values per image.
    pub fn stride(&self) -> usize {
        3 * self.size as usize * self.size as usize
    }

    /// The images `range`'s values.
    pub fn slice(&self, range: std::ops::Range<usize>) -> &[f32] {
        &self.data[range.start * self.stride()..range.end * self.stride()]
    }
}

/// Image files (png, jpg) in `dir`, sorted by name.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// `n` files spread evenly over `files` (all of them when there are fewer).
pub fn spread(files: &[PathBuf], n: usize) -> Vec<PathBuf> {
    if files.len() <= n {
        return files.to_vec();
    }
    (0..n).map(|i| files[i * files.len() / n].clone()).collect()
}

/// Decodes and preprocesses `paths` at `size` with the ImageNet normalisation.
pub fn load_images(paths: Vec<PathBuf>, size: u32) -> Result<ImageSet, ExportError> {
    let mut data = Vec::with_capacity(paths.len() * 3 * (size * size) as usize);
    for p in &paths {
        let img = image::open(p)
            .map_err(|e| ExportError::Io {
                path: p.clone(),
                source: std::io::Error::other(e),
            })?
            .to_rgb8();
        let crop = Crop {
            width: img.width(),
            height: img.height(),
            rgb: img.into_raw(),
        };
        push_nchw(&crop, size, size, IMAGENET_MEAN, IMAGENET_STD, &mut data);
    }
    Ok(ImageSet { paths, size, data })
}

/// A graph loaded in tract with chosen outputs and a symbolic batch.
pub struct Runner {
    plan: std::sync::Arc<TypedRunnableModel>,
    size: usize,
}

impl Runner {
    /// Loads `bytes` with inputs of `size` and the outputs `outputs` (node names).
    pub fn new(bytes: &[u8], size: u32, outputs: &[&str]) -> Result<Self, ExportError> {
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(engine("loading the exported graph"))?;
        model
            .select_outputs_by_name(outputs.iter().copied())
            .map_err(engine("selecting outputs"))?;
        let n = model.sym("N");
        let s = size as usize;
        let fact = InferenceFact::dt_shape(
            f32::datum_type(),
            tvec!(n.to_dim(), 3.to_dim(), s.to_dim(), s.to_dim()),
        );
        let plan = model
            .with_input_fact(0, fact)
            .map_err(engine("setting the input shape"))?
            .into_optimized()
            .map_err(engine("optimising the exported graph"))?
            .into_runnable()
            .map_err(engine("planning the exported graph"))?;
        Ok(Self { plan, size: s })
    }

    /// Runs `n` images; returns each output's values.
    pub fn run(&self, data: &[f32], n: usize) -> Result<Vec<Vec<f32>>, ExportError> {
        let input = Tensor::from_shape(&[n, 3, self.size, self.size], data)
            .map_err(engine("building the input"))?;
        let out = self
            .plan
            .run(tvec!(input.into()))
            .map_err(engine("running the exported graph"))?;
        out.iter()
            .map(|v| {
                v.to_plain_array_view::<f32>()
                    .map(|a| a.iter().copied().collect())
                    .map_err(engine("reading an output"))
            })
            .collect()
    }

    /// Runs every image of `images` in batches; returns each output's values over all.
    pub fn run_all(&self, images: &ImageSet) -> Result<Vec<Vec<f32>>, ExportError> {
        let total = images.paths.len();
        let mut all: Vec<Vec<f32>> = Vec::new();
        for start in (0..total).step_by(BATCH) {
            let end = (start + BATCH).min(total);
            let outs = self.run(images.slice(start..end), end - start)?;
            if all.is_empty() {
                all = vec![Vec::new(); outs.len()];
            }
            for (acc, o) in all.iter_mut().zip(outs) {
                acc.extend(o);
            }
        }
        Ok(all)
    }
}

/// The range of each of `probes` (tensors of the f32 graph `bytes`) over `images`.
pub fn calibrate(
    bytes: &[u8],
    probes: &[String],
    images: &ImageSet,
) -> Result<Ranges, ExportError> {
    let names: Vec<&str> = probes.iter().map(String::as_str).collect();
    let runner = Runner::new(bytes, images.size, &names)?;
    let mut ranges: Ranges = probes.iter().map(|p| (p.clone(), Range::empty())).collect();
    let total = images.paths.len();
    for start in (0..total).step_by(BATCH) {
        let end = (start + BATCH).min(total);
        let outs = runner.run(images.slice(start..end), end - start)?;
        for (name, values) in probes.iter().zip(outs) {
            if let Some(r) = ranges.get_mut(name) {
                *r = r.cover(values);
            }
        }
    }
    Ok(ranges)
}
