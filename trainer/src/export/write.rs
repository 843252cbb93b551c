//! The `trainer export` command: build, calibrate, check and write the models.

use std::path::PathBuf;

/// Command-line arguments of `trainer export`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// Feature run written by `train-features` (its `span/` holds the frozen SPAN).
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset in VeRi-776 layout: calibration images come from `image_train`, the
    /// accuracy check uses `image_query` and `image_test`.
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder; `manifest.toml` in it gains (or updates) the exported entries.
    #[arg(long, default_value = "models")]
    pub out: PathBuf,
    /// Model name: files `NAME-f32.onnx` and `NAME-int8.onnx`, manifest entries likewise.
    #[arg(long, default_value = "spanreid")]
    pub name: String,
    /// Training images the int8 activation ranges are calibrated on.
    #[arg(long, default_value_t = 64)]
    pub calibration_images: usize,
    /// Write the f32 model only.
    #[arg(long)]
    pub no_int8: bool,
    /// Quantise the depth-wise convolutions too (by default they stay f32 in the int8 model).
    #[arg(long)]
    pub int8_depthwise: bool,
    /// Skip the retrieval-accuracy check on the test split (parity is always checked).
    #[arg(long)]
    pub skip_accuracy: bool,
    /// How the run was made (the trainer commands), recorded in the manifest.
    #[arg(long)]
    pub trained_by: Option<String>,
}

/// Runs `trainer export`.
#[cfg(not(feature = "torch"))]
pub fn run_export(_args: &ExportArgs) -> Result<(), crate::train::TrainError> {
    Err(crate::train::TrainError::NoTorch)
}

#[cfg(all(test, feature = "torch"))]
pub use with_torch::export;
#[cfg(feature = "torch")]
pub use with_torch::run_export;

#[cfg(feature = "torch")]
mod with_torch {
    use serde::Serialize;
    use spanreid::eval::Label;
    use spanreid_infer::manifest::{ModelEntry, sha256_hex};
    use spanreid_infer::tract::TractEmbedder;

    use super::super::check::{self, Accuracy, OutputDiff};
    use super::super::emit::Mode;
    use super::super::network::{self, INPUT, MASKS};
    use super::super::params::{LoadedRun, load};
    use super::super::tract_run::{Runner, calibrate, list_images, load_images, spread};
    use super::super::{ExportError, io_err};
    use super::ExportArgs;
    use crate::model::features::BRANCHES;
    use crate::model::span::{IMAGENET_MEAN, IMAGENET_STD};
    use crate::train::atomic::write_atomic;
    use crate::train::reid_data::{self, GALLERY_DIR, QUERY_DIR, TRAIN_DIR};
    use spanreid_infer::manifest;

    /// Images the libtorch ↔ tract parity is measured on.
    const PARITY_IMAGES: usize = 16;

    /// What `trainer export` measured, written next to the models.
    #[derive(Debug, Serialize)]
    pub struct ExportReport {
        /// Model name.
        pub name: String,
        /// File sizes in bytes: f32, then int8 when written.
        pub bytes: Vec<(String, u64)>,
        /// libtorch vs the f32 graph on the parity images.
        pub parity_f32: Vec<OutputDiff>,
        /// libtorch vs the int8 graph on the parity images.
        pub parity_int8: Vec<OutputDiff>,
        /// Retrieval figures on the test split per engine.
        pub accuracy: Vec<Accuracy>,
        /// Share of queries whose CPDM top-1 is the same for the f32 graph as for libtorch.
        pub top1_agreement_f32: Option<f64>,
        /// The same for the int8 graph.
        pub top1_agreement_int8: Option<f64>,
    }

    fn entry(name: &str, file: &str, bytes: &[u8], size: u32, trained_by: &str) -> ModelEntry {
        ModelEntry {
            name: name.into(),
            file: file.into(),
            sha256: sha256_hex(bytes),
            input: INPUT.into(),
            height: size,
            width: size,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            masks: MASKS.into(),
            features: BRANCHES.map(String::from),
            trained_by: trained_by.into(),
            matching: None,
            reproduce: None,
        }
    }

    fn graph_bytes(
        loaded: &LoadedRun,
        mode: Mode<'_>,
        args: &ExportArgs,
    ) -> Result<(Vec<u8>, Vec<String>), ExportError> {
        let mut e = network::build(&loaded.params, loaded.spec, mode)?;
        let precision = if matches!(mode, Mode::F32) {
            "f32"
        } else {
            "int8"
        };
        let s = loaded.spec;
        for (k, v) in [
            ("model_id", format!("{}-{precision}", args.name)),
            ("spanreid.precision", precision.to_owned()),
            ("spanreid.input_size", s.input_size.to_string()),
            ("spanreid.feature_dim", s.dim.to_string()),
            ("spanreid.backbone", format!("{:?}", s.feature_backbone)),
            ("spanreid.mean", format!("{IMAGENET_MEAN:?}")),
            ("spanreid.std", format!("{IMAGENET_STD:?}")),
            (
                "spanreid.outputs",
                "masks N×3×H×W (front, rear, side); global, front, rear, side N×d".into(),
            ),
        ] {
            e.graph.metadata(k, &v);
        }
        let probes = e.probes().to_vec();
        Ok((e.graph.finish_bytes("spanreid", "spanreid-trainer"), probes))
    }

    /// Builds, checks and writes the models; returns the report.
    pub fn export(args: &ExportArgs) -> Result<ExportReport, ExportError> {
        let loaded = load(&args.run)?;
        let size = loaded.spec.input_size;
        tracing::info!(run = %args.run.display(), spec = ?loaded.spec, "exporting");
        let (f32_bytes, probes) = graph_bytes(&loaded, Mode::F32, args)?;
        let train_dir = args.data.join(TRAIN_DIR);
        let files = list_images(&train_dir)?;
        if files.is_empty() {
            return Err(ExportError::NoImages(train_dir));
        }
        let calib = load_images(spread(&files, args.calibration_images.max(1)), size)?;
        let parity_set = load_images(spread(&files, PARITY_IMAGES), size)?;
        let outputs = check::output_names();
        let reference = check::torch_outputs(&loaded.model, &parity_set)?;
        let f32_runner = Runner::new(&f32_bytes, size, &outputs)?;
        let parity = |runner: &Runner| -> Result<Vec<OutputDiff>, ExportError> {
            let got = check::graph_outputs(runner, &parity_set)?;
            Ok(outputs
                .iter()
                .zip(reference.iter().zip(&got))
                .map(|(name, (r, g))| check::diff(name, r, g))
                .collect())
        };
        let parity_f32 = parity(&f32_runner)?;
        tracing::info!(?parity_f32, "libtorch vs tract, f32 graph");

        let mut parity_int8 = Vec::new();
        let mut int8_runner = None;
        let mut int8 = None;
        if !args.no_int8 {
            let ranges = calibrate(&f32_bytes, &probes, &calib)?;
            tracing::info!(
                tensors = ranges.len(),
                images = calib.paths.len(),
                "calibrated"
            );
            let (int8_bytes, _) = graph_bytes(
                &loaded,
                Mode::Int8 {
                    ranges: &ranges,
                    depthwise: args.int8_depthwise,
                },
                args,
            )?;
            let runner = Runner::new(&int8_bytes, size, &outputs)?;
            parity_int8 = parity(&runner)?;
            tracing::info!(?parity_int8, "libtorch vs tract, int8 graph");
            int8_runner = Some(runner);
            int8 = Some(int8_bytes);
        }
        let mut written = vec![(format!("{}-f32", args.name), f32_bytes)];
        if let Some(b) = int8 {
            written.push((format!("{}-int8", args.name), b));
        }

        std::fs::create_dir_all(&args.out).map_err(io_err(&args.out))?;
        let trained_by = args.trained_by.clone().unwrap_or_else(|| {
            format!(
                "trainer export --run {} (see that run's config.toml)",
                args.run.display()
            )
        });
        let mut entries = Vec::new();
        let mut bytes = Vec::new();
        for (name, data) in &written {
            let file = format!("{name}.onnx");
            write_atomic(&args.out.join(&file), data)?;
            entries.push(entry(name, &file, data, size, &trained_by));
            bytes.push((file, data.len() as u64));
        }
        let manifest_path = args.out.join("manifest.toml");
        let existing = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_err(&manifest_path)(e)),
        };
        let text =
            manifest::merge(&existing, &entries).map_err(|message| ExportError::Manifest {
                path: manifest_path.clone(),
                message,
            })?;
        write_atomic(&manifest_path, text.as_bytes())?;
        // The edge's own loader must accept what was written.
        for e in &entries {
            let model = spanreid_infer::manifest::load(&manifest_path, &e.name)?;
            TractEmbedder::load(model)?;
        }
        tracing::info!(manifest = %manifest_path.display(), "written and loaded by the edge");

        let mut report = ExportReport {
            name: args.name.clone(),
            bytes,
            parity_f32,
            parity_int8,
            accuracy: Vec::new(),
            top1_agreement_f32: None,
            top1_agreement_int8: None,
        };
        if !args.skip_accuracy {
            accuracy(
                args,
                &loaded,
                &f32_runner,
                int8_runner.as_ref(),
                &mut report,
            )?;
        }
        Ok(report)
    }

    fn accuracy(
        args: &ExportArgs,
        loaded: &LoadedRun,
        f32_runner: &Runner,
        int8_runner: Option<&Runner>,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let query =
            reid_data::scan_split(&args.data, QUERY_DIR).map_err(crate::train::TrainError::from)?;
        let gallery = reid_data::scan_split(&args.data, GALLERY_DIR)
            .map_err(crate::train::TrainError::from)?;
        let all: Vec<_> = query.iter().chain(&gallery).collect();
        let labels: Vec<Label> = all.iter().map(|i| Label::new(i.id, i.camera)).collect();
        let images = load_images(
            all.iter().map(|i| i.path.clone()).collect(),
            loaded.spec.input_size,
        )?;
        let n = labels.len();
        tracing::info!(
            queries = query.len(),
            gallery = gallery.len(),
            "accuracy on the test split"
        );
        let torch = check::image_features(&check::torch_outputs(&loaded.model, &images)?, n);
        let onnx = check::image_features(&check::graph_outputs(f32_runner, &images)?, n);
        let top_torch = check::top1(&torch, &labels, query.len());
        report.top1_agreement_f32 = Some(check::agreement(
            &top_torch,
            &check::top1(&onnx, &labels, query.len()),
        ));
        report
            .accuracy
            .push(check::accuracy("libtorch", &labels, torch, query.len())?);
        report
            .accuracy
            .push(check::accuracy("onnx-f32", &labels, onnx, query.len())?);
        if let Some(runner) = int8_runner {
            let int8 = check::image_features(&check::graph_outputs(runner, &images)?, n);
            report.top1_agreement_int8 = Some(check::agreement(
                &top_torch,
                &check::top1(&int8, &labels, query.len()),
            ));
            report
                .accuracy
                .push(check::accuracy("onnx-int8", &labels, int8, query.len())?);
        }
        tracing::info!(accuracy = ?report.accuracy, "retrieval");
        Ok(())
    }

    /// Runs `trainer export` and writes `OUT/NAME.export.json`.
    pub fn run_export(args: &ExportArgs) -> Result<(), ExportError> {
        let report = export(args)?;
        let path = args.out.join(format!("{}.export.json", args.name));
        let json = serde_json::to_string_pretty(&report).map_err(|e| ExportError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, json.as_bytes())?;
        tracing::info!(report = %path.display(), "export report");
        Ok(())
    }
}
