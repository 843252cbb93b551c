//! `trainer calibrate`: the match threshold and confidence curve of a shipped model,
//! measured on training identities and written into the manifest (`[model.matching]`),
//! where the hub reads them.
//!
//! Protocol (a hub matching passages between two cameras): for every ordered pair of
//! cameras and each of `rounds` draws, every training identity seen by both contributes one
//! random image at the first camera (the new passage) and one at the second (the stored
//! passage). Each new passage is compared, on the signature's int8 features under CPDM as
//! the hub compares them, with `candidates` stored passages drawn at random (its own
//! vehicle's among them): the vehicles a passage competes with inside one camera link's
//! travel-time window. Its best candidate is recorded with whether it is the same vehicle. In a share `absent` of the draws the new passage's own
//! vehicle is left out of the stored ones, as when a vehicle reaches a camera whose
//! neighbours never saw it: its best candidate is then always wrong, and the threshold must
//! keep it out. Test identities never enter.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spanreid::cpdm::{self, Metric};
use spanreid_infer::calibration::{MatchCalibration, calibrate};
use spanreid_infer::manifest;
use spanreid_infer::tract::TractEmbedder;

use crate::eval::onnx::{embed_all, through_signature};
use crate::eval::reid::{ImageFeatures, view};
use crate::train::TrainError;
use crate::train::reid_data::{self, ReidImage};

/// Arguments of `trainer calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Dataset root in VeRi-776 layout; only `image_train/` (training identities) is read.
    #[arg(long)]
    pub data: PathBuf,
    /// Model manifest; the model's entry gains `[model.matching]` with `--write`.
    #[arg(long, default_value = "models/manifest.toml")]
    pub manifest: PathBuf,
    /// Model name in the manifest.
    #[arg(long, default_value = "spanreid-mnv2-int8")]
    pub model: String,
    /// Precision the threshold is chosen for.
    #[arg(long, default_value_t = 0.9)]
    pub target_precision: f32,
    /// Share of draws whose new passage has no true match among the stored ones.
    #[arg(long, default_value_t = 0.5)]
    pub absent: f64,
    /// Stored passages a new one is compared with (its own vehicle's included when
    /// present): the vehicles inside one camera link's travel-time window.
    #[arg(long, default_value_t = 10)]
    pub candidates: usize,
    /// Draws per ordered camera pair.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Random seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Crops per tract run.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Write the calibration into the manifest (otherwise only print it).
    #[arg(long)]
    pub write: bool,
}

/// How best candidates are drawn (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// Stored passages per new one.
    pub candidates: usize,
    /// Draws per ordered camera pair.
    pub rounds: usize,
    /// Share of new passages without their vehicle among the stored ones.
    pub absent: f64,
    /// Random seed.
    pub seed: u64,
}

/// Best-candidate samples `(distance, right)` of the protocol above over `images` and their
/// features (same order).
pub fn samples(
    images: &[ReidImage],
    features: &[ImageFeatures],
    draw: Draw,
) -> Result<Vec<(f32, bool)>, TrainError> {
    let Draw {
        candidates,
        rounds,
        absent,
        seed,
    } = draw;
    let corrupt = |reason: String| TrainError::Corrupt {
        path: PathBuf::new(),
        reason,
    };
    // camera → identity → image indices
    let mut by_camera: BTreeMap<u32, BTreeMap<u32, Vec<usize>>> = BTreeMap::new();
    for (i, img) in images.iter().enumerate() {
        by_camera
            .entry(img.camera)
            .or_default()
            .entry(img.id)
            .or_default()
            .push(i);
    }
    let views = features
        .iter()
        .map(view)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(e.to_string()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (&a, ids_a) in &by_camera {
        for (&b, ids_b) in &by_camera {
            if a == b {
                continue;
            }
            let shared: Vec<u32> = ids_a
                .keys()
                .filter(|id| ids_b.contains_key(id))
                .copied()
                .collect();
            for _ in 0..rounds {
                let pick = |ids: &BTreeMap<u32, Vec<usize>>, rng: &mut ChaCha8Rng| {
                    shared
                        .iter()
                        .filter_map(|id| Some((*id, *ids.get(id)?.choose(rng)?)))
                        .collect::<Vec<_>>()
                };
                let (new, stored) = (pick(ids_a, &mut rng), pick(ids_b, &mut rng));
                for &(id, q) in &new {
                    let leave_out = rng.random_bool(absent.clamp(0.0, 1.0));
                    let own = stored.iter().filter(|s| s.0 == id && !leave_out);
                    let others: Vec<&(u32, usize)> = stored.iter().filter(|s| s.0 != id).collect();
                    let room = candidates.max(1) - usize::from(!leave_out);
                    let pool = own.chain(others.choose_multiple(&mut rng, room).copied());
                    let mut best: Option<(f32, u32)> = None;
                    for &(gid, g) in pool {
                        let d = cpdm::distance(Metric::Cpdm, &views[q], &views[g])
                            .map_err(|e| corrupt(e.to_string()))?;
                        if best.is_none_or(|(bd, _)| d < bd) {
                            best = Some((d, gid));
                        }
                    }
                    if let Some((d, gid)) = best {
                        out.push((d, gid == id));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Runs the protocol with the model of the manifest; returns its calibration.
pub fn run(args: &CalibrateArgs) -> Result<MatchCalibration, TrainError> {
    let bad_model = |e: spanreid_infer::InferError| TrainError::Corrupt {
        path: args.manifest.clone(),
        reason: format!("model {}: {e}", args.model),
    };
    let resolved = manifest::load(&args.manifest, &args.model).map_err(bad_model)?;
    let mut embedder = TractEmbedder::load(resolved).map_err(bad_model)?;
    let images = reid_data::scan_split(&args.data, reid_data::TRAIN_DIR)?;
    tracing::info!(model = %args.model, images = images.len(), "embedding training identities");
    let embedded = embed_all(&mut embedder, &images, args.batch)?;
    let features = embedded
        .iter()
        .map(through_signature)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| TrainError::Corrupt {
            path: args.manifest.clone(),
            reason,
        })?;
    let draw = Draw {
        candidates: args.candidates,
        rounds: args.rounds,
        absent: args.absent,
        seed: args.seed,
    };
    let samples = samples(&images, &features, draw)?;
    let right = samples.iter().filter(|s| s.1).count();
    tracing::info!(samples = samples.len(), right, "best candidates drawn");
    // A render names itself by what made it, not by where it lies on this machine.
    let data = match crate::eval::record::render_record(&args.data) {
        Ok(r) => format!(
            "synth-{} (renderer version {}, seed {})",
            r.preset.to_lowercase(),
            r.renderer_version,
            r.seed
        ),
        Err(_) => args.data.display().to_string(),
    };
    let on = format!(
        "{data} image_train ({} images), int8 CPDM, best of {} candidates per new passage between \
         two cameras, {} draws per camera pair, true match absent in {:.0} % (seed {})",
        images.len(),
        args.candidates,
        args.rounds,
        args.absent * 100.0,
        args.seed
    );
    let calibration =
        calibrate(&samples, args.target_precision, &on).map_err(|e| TrainError::Corrupt {
            path: args.data.clone(),
            reason: e.to_string(),
        })?;
    if args.write {
        write(args, &calibration)?;
    }
    Ok(calibration)
}

/// Puts `calibration` into the model's manifest entry.
fn write(args: &CalibrateArgs, calibration: &MatchCalibration) -> Result<(), TrainError> {
    super::record::update_entry(&args.manifest, &args.model, |entry| {
        entry.matching = Some(calibration.clone());
    })
}

/// The calibration as a short report.
pub fn report(c: &MatchCalibration) -> String {
    let mut s = format!(
        "threshold {:.4} (precision {:.2} of best candidates up to it; {} samples)\n\
         distance → P(right):",
        c.threshold, c.target_precision, c.samples
    );
    for [d, p] in &c.confidence {
        s += &format!(" {d:.3}→{p:.2}");
    }
    s + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanreid::cpdm::AreaRatios;

    fn img(id: u32, camera: u32) -> ReidImage {
        ReidImage {
            path: PathBuf::from(format!("{id:04}_c{camera:03}.jpg")),
            id,
            camera,
        }
    }

    /// Identity `id`'s features: a one-hot direction, so vehicles are far apart.
    fn feat(id: u32, noise: f32) -> ImageFeatures {
        let v: Vec<f32> = (0..8)
            .map(|i| if i == id as usize { 1.0 } else { noise })
            .collect();
        ImageFeatures {
            parts: [v.clone(), v.clone(), v.clone(), v],
            ratios: AreaRatios::from_areas([1.0, 0.0, 1.0]),
        }
    }

    #[test]
    fn present_matches_are_right_and_absent_ones_wrong() {
        let mut images = Vec::new();
        let mut features = Vec::new();
        for id in 0..4 {
            for camera in 1..=2 {
                images.push(img(id, camera));
                features.push(feat(id, 0.01 * camera as f32));
            }
        }
        let draw = |absent| Draw {
            candidates: 2,
            rounds: 3,
            absent,
            seed: 1,
        };
        let all = samples(&images, &features, draw(0.0)).unwrap();
        assert_eq!(all.len(), 2 * 3 * 4, "pairs × rounds × identities");
        assert!(all.iter().all(|s| s.1));
        let none = samples(&images, &features, draw(1.0)).unwrap();
        assert!(none.iter().all(|s| !s.1));
        let (d_right, d_wrong) = (all[0].0, none[0].0);
        assert!(d_right < d_wrong, "{d_right} vs {d_wrong}");
    }
}
