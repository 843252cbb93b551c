//! The segmentation CNN's masks for every image: batched inference, each output resized to
//! its image and thresholded, written as `<stem>.png`; images that cannot be decoded are
//! named and skipped.

use std::path::{Path, PathBuf};

use image::{GrayImage, ImageBuffer, Luma};
use rayon::prelude::*;
use tch::{Device, Tensor};

use crate::foreground::config::ForegroundConfig;
use crate::foreground::files;
use crate::foreground::segnet::{SegNet, torch_err};
use crate::progress::bar as progress_bar;
use crate::train::TrainError;
use crate::train::example::load_image;

/// The mask of one image at its own size: the network's output at S×S, resized
/// (bilinear) to the image and thresholded.
fn to_mask(probs: &[f32], size: u32, (w, h): (u32, u32), threshold: f32) -> GrayImage {
    let plane: ImageBuffer<Luma<f32>, Vec<f32>> =
        ImageBuffer::from_raw(size, size, probs.to_vec()).expect("S×S probabilities");
    let resized = image::imageops::resize(&plane, w, h, image::imageops::FilterType::Triangle);
    GrayImage::from_fn(w, h, |x, y| {
        Luma([if resized.get_pixel(x, y)[0] >= threshold {
            255
        } else {
            0
        }])
    })
}

/// Images of one prediction batch.
const PREDICT_BATCH: usize = 32;

/// An image decoded for prediction: its original size and the network's input.
type Decoded = Result<((u32, u32), Vec<f32>), String>;

/// Writes the CNN's mask of every image into `out_dir` (`<stem>.png`); returns how many
/// were written and the images that could not be decoded (named, skipped).
pub fn predict_masks(
    model: &SegNet,
    config: &ForegroundConfig,
    images: &[PathBuf],
    out_dir: &Path,
) -> Result<(usize, Vec<(PathBuf, String)>), TrainError> {
    files::create_dir(out_dir)?;
    let size = config.model.input_size;
    let device = model.vs.device();
    let bar = progress_bar(0, images.len() as u64);
    let (mut written, mut failed) = (0, Vec::new());
    for chunk in images.chunks(PREDICT_BATCH) {
        let decoded: Vec<Decoded> = chunk
            .par_iter()
            .map(|p| {
                let dims = image::image_dimensions(p).map_err(|e| e.to_string())?;
                let img = load_image(p, size).map_err(|e| format!("{e:#}"))?;
                Ok((dims, img))
            })
            .collect();
        let mut ok = Vec::new();
        for (path, d) in chunk.iter().zip(decoded) {
            match d {
                Ok(v) => ok.push((path, v)),
                Err(e) => {
                    tracing::warn!("{}: {e}; no mask written", path.display());
                    failed.push((path.clone(), e));
                }
            }
        }
        if !ok.is_empty() {
            let s = i64::from(size);
            let flat: Vec<f32> = ok
                .iter()
                .flat_map(|(_, (_, v))| v.iter().copied())
                .collect();
            let x = Tensor::from_slice(&flat)
                .view([ok.len() as i64, 3, s, s])
                .to_device(device);
            let probs = tch::no_grad(|| model.forward(&x, false)).to_device(Device::Cpu);
            let probs = Vec::<f32>::try_from(probs.contiguous().view([-1]))
                .map_err(torch_err("reading predicted masks"))?;
            let plane = (size * size) as usize;
            ok.par_iter()
                .enumerate()
                .map(|(i, (path, (dims, _)))| {
                    let mask = to_mask(
                        &probs[i * plane..(i + 1) * plane],
                        size,
                        *dims,
                        config.threshold,
                    );
                    files::save_mask(&files::mask_path(out_dir, path), &mask)
                })
                .collect::<Result<Vec<()>, _>>()?;
            written += ok.len();
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    Ok((written, failed))
}
