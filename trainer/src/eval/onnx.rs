//! `trainer eval-onnx`: retrieval accuracy of exported models as the edge runs them (tract,
//! the manifest's preprocessing), and what the signature's int8 features cost in accuracy
//! and save in bytes. No libtorch: this scores shipped files, not training runs.
//!
//! For each model, every query and gallery image is embedded once; the same features are
//! scored twice: as the graph outputs them (f32) and after the signature's per-part int8
//! quantisation (what the hub actually compares).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use spanreid::cpdm::Metric;
use spanreid::eval::Label;
use spanreid::signature::{CameraKey, QuantizedFeature};
use spanreid_infer::Crop;
use spanreid_infer::manifest::Reproduction;
use spanreid_infer::sign::{PassageMeta, Signer, ident};
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Embedder, PartEmbedding, manifest};

use crate::eval::rank_list;
use crate::eval::reid::{ImageFeatures, label, score};
use crate::train::TrainError;
use crate::train::reid_data::{self, ReidImage};

/// Arguments of `trainer eval-onnx`.
#[derive(clap::Args, Debug)]
pub struct EvalOnnxArgs {
    /// Dataset root in VeRi-776 layout with `image_query/` and `image_test/`.
    #[arg(long)]
    pub data: PathBuf,
    /// Model manifest.
    #[arg(long, default_value = "models/manifest.toml")]
    pub manifest: PathBuf,
    /// Model names in the manifest (repeat the flag for several).
    #[arg(long = "model", default_value = "spanreid-mnv2-int8")]
    pub models: Vec<String>,
    /// Crops per tract run.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Where to write the JSON report (default: print only).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write `<model>-ranklist.png` here: queries spread over the query split, each with
    /// its CPDM top 10 on signature (int8) features, true matches framed green.
    #[arg(long)]
    pub rank_list: Option<PathBuf>,
    /// Queries in the rank-list picture.
    #[arg(long, default_value_t = 8)]
    pub rank_list_queries: usize,
    /// Record the render (renderer version, preset, seed, a hash of its name lists) and the
    /// int8 figures in each model's manifest entry (`[model.reproduce]`), for the test that
    /// renders it again and checks them.
    #[arg(long)]
    pub write: bool,
}

/// Figures of one model under one feature precision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrecisionRow {
    /// `f32` (graph output) or `int8` (signature features).
    pub features: &'static str,
    /// Bytes of one signature carrying these features (site and camera ids of 4 bytes);
    /// for `f32` what the same layout would take with 4-byte values (not a wire format).
    pub signature_bytes: usize,
    /// CPDM mAP.
    pub map_cpdm: f64,
    /// CPDM rank-1.
    pub rank1_cpdm: f64,
    /// Global-feature Euclidean mAP (the paper's baseline metric).
    pub map_global: f64,
    /// Global-feature Euclidean rank-1.
    pub rank1_global: f64,
}

/// Figures of one model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelRow {
    /// Manifest name.
    pub model: String,
    /// Feature dimension per part.
    pub dim: usize,
    /// Query images scored.
    pub queries: usize,
    /// Gallery images.
    pub gallery: usize,
    /// Images embedded per second by tract (this machine, this run).
    pub images_per_s: f64,
    /// f32 then int8.
    pub rows: Vec<PrecisionRow>,
}

/// Embeds `images` with `embedder`, `batch` at a time, in order.
pub(crate) fn embed_all(
    embedder: &mut TractEmbedder,
    images: &[ReidImage],
    batch: usize,
) -> Result<Vec<PartEmbedding>, TrainError> {
    let mut out = Vec::with_capacity(images.len());
    for (i, chunk) in images.chunks(batch.max(1)).enumerate() {
        let crops = chunk
            .iter()
            .map(|img| {
                let rgb = image::open(&img.path)
                    .map_err(|e| TrainError::Corrupt {
                        path: img.path.clone(),
                        reason: e.to_string(),
                    })?
                    .to_rgb8();
                Ok(Crop {
                    width: rgb.width(),
                    height: rgb.height(),
                    rgb: rgb.into_raw(),
                })
            })
            .collect::<Result<Vec<_>, TrainError>>()?;
        out.extend(embedder.embed(&crops).map_err(|e| TrainError::Corrupt {
            path: chunk[0].path.clone(),
            reason: format!("inference: {e}"),
        })?);
        if (i + 1) % 50 == 0 {
            tracing::info!(done = out.len(), of = images.len(), "embedding");
        }
    }
    Ok(out)
}

/// The features the hub sees: each part quantised to int8 and back, as in a signature.
pub fn through_signature(e: &PartEmbedding) -> Result<ImageFeatures, String> {
    let mut parts: [Vec<f32>; 4] = Default::default();
    for (out, f) in parts.iter_mut().zip(&e.features) {
        let q = QuantizedFeature::quantize(f).map_err(|err| err.to_string())?;
        out.resize(f.len(), 0.0);
        q.dequantize_into(out);
    }
    Ok(ImageFeatures {
        parts,
        ratios: e.area_ratios,
    })
}

/// Encoded size of one signature of `e` (4-byte site and camera ids, a current timestamp
/// and sequence number).
fn signature_bytes(
    e: &PartEmbedding,
    model_id: spanreid::signature::ModelId,
) -> Result<usize, String> {
    let signer = Signer {
        site: ident("s001").map_err(|err| err.to_string())?,
        camera: ident("c001").map_err(|err| err.to_string())?,
        key: CameraKey::from_bytes([7; 32]),
        model_id,
    };
    let meta = PassageMeta {
        track_id: 1_234,
        capture_time_us: 1_795_000_000_000_000,
        sequence: 1_795_000_000_000_000,
    };
    signer
        .encode(meta, e)
        .map(|b| b.len())
        .map_err(|err| err.to_string())
}

fn row(
    features: &'static str,
    signature_bytes: usize,
    q: &[(Label, ImageFeatures)],
    g: &[(Label, ImageFeatures)],
) -> Result<PrecisionRow, TrainError> {
    let cpdm = score(Metric::Cpdm, q, g)?;
    let global = score(Metric::GlobalEuclidean, q, g)?;
    Ok(PrecisionRow {
        features,
        signature_bytes,
        map_cpdm: cpdm.map,
        rank1_cpdm: cpdm.cmc_at(1).unwrap_or(0.0),
        map_global: global.map,
        rank1_global: global.cmc_at(1).unwrap_or(0.0),
    })
}

/// Scores one model of `manifest` on `data`'s query and gallery splits; draws its rank
/// list into `rank_list` (a folder) when given.
pub fn evaluate_model(
    manifest_path: &Path,
    name: &str,
    data: &Path,
    batch: usize,
    rank_list: Option<(&Path, usize)>,
) -> Result<ModelRow, TrainError> {
    let bad_model = |e: spanreid_infer::InferError| TrainError::Corrupt {
        path: manifest_path.to_owned(),
        reason: format!("model {name}: {e}"),
    };
    let mut embedder = TractEmbedder::load(manifest::load(manifest_path, name).map_err(bad_model)?)
        .map_err(bad_model)?;
    let query = reid_data::scan_split(data, reid_data::QUERY_DIR)?;
    let gallery = reid_data::scan_split(data, reid_data::GALLERY_DIR)?;
    tracing::info!(
        model = name,
        queries = query.len(),
        gallery = gallery.len(),
        "embedding"
    );
    let began = Instant::now();
    let qe = embed_all(&mut embedder, &query, batch)?;
    let ge = embed_all(&mut embedder, &gallery, batch)?;
    let images_per_s = (qe.len() + ge.len()) as f64 / began.elapsed().as_secs_f64();

    let corrupt = |reason: String| TrainError::Corrupt {
        path: manifest_path.to_owned(),
        reason: format!("model {name}: {reason}"),
    };
    let f32_of = |imgs: &[ReidImage], es: &[PartEmbedding]| -> Vec<(Label, ImageFeatures)> {
        imgs.iter()
            .zip(es)
            .map(|(img, e)| {
                let features = ImageFeatures {
                    parts: e.features.clone(),
                    ratios: e.area_ratios,
                };
                (label(img), features)
            })
            .collect()
    };
    let int8_of = |imgs: &[ReidImage], es: &[PartEmbedding]| {
        imgs.iter()
            .zip(es)
            .map(|(img, e)| Ok((label(img), through_signature(e).map_err(corrupt)?)))
            .collect::<Result<Vec<_>, TrainError>>()
    };
    let first = qe.first().ok_or_else(|| corrupt("no query image".into()))?;
    let int8_bytes = signature_bytes(first, embedder.model_id()).map_err(corrupt)?;
    let values = spanreid::PARTS * embedder.dim();
    let f32_bytes = int8_bytes + 3 * values;
    let (q8, g8) = (int8_of(&query, &qe)?, int8_of(&gallery, &ge)?);
    let rows = vec![
        row(
            "f32",
            f32_bytes,
            &f32_of(&query, &qe),
            &f32_of(&gallery, &ge),
        )?,
        row("int8", int8_bytes, &q8, &g8)?,
    ];
    if let Some((dir, count)) = rank_list {
        let path = dir.join(format!("{name}-ranklist.png"));
        rank_list::draw(&path, Metric::Cpdm, &query, &gallery, &q8, &g8, count)?;
    }
    Ok(ModelRow {
        model: name.to_owned(),
        dim: embedder.dim(),
        queries: query.len(),
        gallery: gallery.len(),
        images_per_s,
        rows,
    })
}

/// The report as a Markdown table.
pub fn table(rows: &[ModelRow]) -> String {
    let mut s = String::from(
        "| model | features | bytes / signature | CPDM mAP | CPDM R-1 | global mAP | global R-1 |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for m in rows {
        for r in &m.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {:.4} | {:.3} | {:.4} | {:.3} |\n",
                m.model,
                r.features,
                r.signature_bytes,
                r.map_cpdm,
                r.rank1_cpdm,
                r.map_global,
                r.rank1_global
            ));
        }
    }
    s
}

/// Runs `trainer eval-onnx`; returns the Markdown table it also logs.
pub fn run_eval_onnx(args: &EvalOnnxArgs) -> Result<String, TrainError> {
    let rows = args
        .models
        .iter()
        .map(|name| {
            let rank_list = args
                .rank_list
                .as_deref()
                .map(|dir| (dir, args.rank_list_queries));
            evaluate_model(&args.manifest, name, &args.data, args.batch, rank_list)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(path) = &args.out {
        let json = serde_json::to_string_pretty(&rows).map_err(|e| TrainError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        std::fs::write(path, json).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        tracing::info!("report written to {}", path.display());
    }
    for m in &rows {
        tracing::info!(model = %m.model, images_per_s = m.images_per_s, "tract speed");
    }
    if args.write {
        let render = super::record::render_record(&args.data)?;
        for m in &rows {
            let Some(int8) = m.rows.iter().find(|r| r.features == "int8") else {
                continue;
            };
            let record = Reproduction {
                map_cpdm: int8.map_cpdm,
                rank1_cpdm: int8.rank1_cpdm,
                map_global: int8.map_global,
                rank1_global: int8.rank1_global,
                ..render.clone()
            };
            super::record::update_entry(&args.manifest, &m.model, |entry| {
                entry.reproduce = Some(record);
            })?;
            tracing::info!(model = %m.model, manifest = %args.manifest.display(), "figures recorded");
        }
    }
    Ok(table(&rows))
}

#[cfg(test)]
mod tests {
    use spanreid::AreaRatios;

    use super::*;

    #[test]
    fn signature_features_stay_within_one_quantisation_step() {
        let e = PartEmbedding {
            features: [
                vec![0.5, -1.27, 0.0, 0.3],
                vec![1e-3, 2e-3, -4e-3, 0.0],
                vec![0.0; 4],
                vec![10.0, -10.0, 5.0, 2.5],
            ],
            area_ratios: AreaRatios([0.5, 0.2, 0.3]),
        };
        let f = through_signature(&e).expect("quantises");
        for (q, x) in f.parts.iter().zip(&e.features) {
            let step = x.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in q.iter().zip(x) {
                assert!(
                    (a - b).abs() <= step * 0.5 + 1e-7,
                    "{a} vs {b} (step {step})"
                );
            }
        }
        assert_eq!(f.ratios, e.area_ratios);
        let bytes = signature_bytes(&e, [0; 16]).expect("encodes");
        // 4 parts × (4 values + 4-byte scale + length) plus header and 32-byte tag.
        assert!((4 * 4 + 32..400).contains(&bytes), "{bytes}");
    }

    #[test]
    fn table_lists_each_precision() {
        let m = ModelRow {
            model: "m".into(),
            dim: 4,
            queries: 1,
            gallery: 2,
            images_per_s: 1.0,
            rows: vec![PrecisionRow {
                features: "int8",
                signature_bytes: 100,
                map_cpdm: 0.5,
                rank1_cpdm: 1.0,
                map_global: 0.25,
                rank1_global: 0.0,
            }],
        };
        assert!(table(&[m]).contains("| m | int8 | 100 | 0.5000 | 1.000 | 0.2500 | 0.000 |"));
    }
}
