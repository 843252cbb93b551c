//! The step-2 training loop: PK batches with flips, the frozen SPAN's masks, Adam on
//! `λ_ID·L_ID + λ_trip·L_trip` (ID loss averaged over the four branches' classifiers,
//! batch-hard triplet on CPDM between the FC features), warm-up + step/cosine learning rate,
//! a progress bar, `loss.csv` / `loss.png` and safetensors checkpoints with resume.
//!
//! The run directory holds the [`RunDir`] files (`config.toml` is a [`FeaturesConfig`],
//! `loss.csv` has the columns `step,id,triplet,accuracy,total,seconds,lr`, so the loss
//! picture shows ID loss, triplet loss, training accuracy and total), plus `model.toml`
//! (the number of training identities) and a copy of the SPAN run it was trained with
//! (`span/config.toml`, `span/latest.safetensors`), so that evaluation needs only the run.
//!
//! Resume restores weights, step and Adam's moments, as for SPAN.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::config::aggregation::Aggregation;
use crate::features::cache::FeatureSet;
use crate::features::config::FeaturesConfig;
use crate::features::loss::{
    area_ratios, batch_hard_triplet, cpdm_matrix, id_loss, pairwise_euclidean,
};
use crate::features::model::{
    FeatureModel, ModelInfo, SPAN_SUBDIR, init_backbones, io_err, masks_for, read_model_info,
};
use crate::features::pk_sampler::PkSampler;
use crate::train::TrainError;
use crate::train::adam::Adam;
use crate::train::reid_data::{self};
use crate::train::run_dir::{RunDir, RunState};

/// CSV header of a feature run's `loss.csv`.
pub const CSV_HEADER: &str = "step,id,triplet,accuracy,total,seconds,lr";

/// The loss terms of one step (detached scalars).
pub struct StepLosses {
    /// ID loss, mean over the branches.
    pub id: f64,
    /// Batch-hard CPDM triplet loss.
    pub triplet: f64,
    /// Training accuracy of the global classifier.
    pub accuracy: f64,
    /// Weighted total.
    pub total: f64,
}

/// One optimiser step on `images` with class `labels` (int64, N). The losses follow the
/// configured aggregation: ID loss on every branch's classifier (on the fusion head's alone
/// for `fc`), batch-hard triplet on the distance the aggregation retrieves with.
///
/// `masks` are the batch's SPAN masks when they come from a cache (at any resolution
/// whose cells nest in the network's stage-1 cells); `None` runs SPAN here.
pub fn train_step(
    model: &FeatureModel,
    opt: &mut Adam,
    images: &Tensor,
    labels: &Tensor,
    masks: Option<Tensor>,
    config: &FeaturesConfig,
) -> StepLosses {
    let aggregation = config.model.aggregation;
    let masks = masks.unwrap_or_else(|| masks_for(model, images, aggregation));
    let out = model.net.forward(images, &masks, true);
    let l = &config.loss;
    let mean_id = |logits: &[Tensor]| {
        logits
            .iter()
            .map(|x| id_loss(x, labels, l.label_smoothing))
            .reduce(|a, b| a + b)
            .expect("at least one branch")
            / logits.len() as f64
    };
    let (id, dist, logits) = match (aggregation, &out.fused) {
        (Aggregation::Fc, Some(f)) => (
            id_loss(&f.logits, labels, l.label_smoothing),
            pairwise_euclidean(&f.embedding),
            &f.logits,
        ),
        (Aggregation::Cpdm, _) => (
            mean_id(&out.logits),
            cpdm_matrix(&out.embeddings, &area_ratios(&masks)),
            &out.logits[0],
        ),
        _ => (
            mean_id(&out.logits),
            pairwise_euclidean(&Tensor::cat(&out.embeddings, 1)),
            &out.logits[0],
        ),
    };
    let margin = (!l.soft_margin).then_some(l.margin);
    let triplet = batch_hard_triplet(&dist, labels, margin);
    let total = &id * l.lambda_id + &triplet * l.lambda_triplet;
    opt.backward_step(&total);
    let accuracy = logits
        .argmax(1, false)
        .eq_tensor(labels)
        .to_kind(Kind::Float)
        .mean(Kind::Float);
    StepLosses {
        id: id.double_value(&[]),
        triplet: triplet.double_value(&[]),
        accuracy: accuracy.double_value(&[]),
        total: total.double_value(&[]),
    }
}

/// Outcome of a run.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Steps done in this invocation.
    pub steps: u64,
    /// Steps per second in this invocation (data loading included).
    pub steps_per_second: f64,
    /// Total loss of the first step of this invocation.
    pub first_total: f64,
    /// Total loss of the last step.
    pub last_total: f64,
    /// The last checkpoint written.
    pub checkpoint: PathBuf,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    std::fs::write(path, bytes).map_err(io_err(path))
}

/// Creates a fresh run: directories, config, model facts, the SPAN copy, the CSV header.
fn start_run(
    out: &Path,
    config: &FeaturesConfig,
    info: ModelInfo,
    span_dir: &Path,
) -> Result<(), TrainError> {
    let span_copy = out.join(SPAN_SUBDIR);
    std::fs::create_dir_all(out.join("checkpoints")).map_err(io_err(out))?;
    std::fs::create_dir_all(&span_copy).map_err(io_err(&span_copy))?;
    for name in ["config.toml", "latest.safetensors"] {
        let (from, to) = (span_dir.join(name), span_copy.join(name));
        std::fs::copy(&from, &to).map_err(io_err(&from))?;
    }
    write_file(&out.join("config.toml"), config.to_toml().as_bytes())?;
    let info = toml::to_string(&info).expect("ModelInfo is TOML-representable");
    write_file(&out.join("model.toml"), info.as_bytes())?;
    write_file(&out.join("loss.csv"), format!("{CSV_HEADER}\n").as_bytes())
}

/// Trains the feature network on `data/image_train` with the SPAN run in `span_dir`,
/// writing the run to `out`.
pub fn train_features(
    data: &Path,
    span_dir: &Path,
    out: &Path,
    config: &FeaturesConfig,
    resume: bool,
) -> Result<Summary, TrainError> {
    config.validate()?;
    let images = reid_data::scan_split(data, reid_data::TRAIN_DIR)?;
    let (classes, class_count) = reid_data::class_indices(&images);
    let run = RunDir::new(out);
    let state = run.state()?;
    match (state, resume) {
        (Some(_), false) => return Err(TrainError::RunExists(out.to_owned())),
        (None, true) => return Err(TrainError::NothingToResume(out.to_owned())),
        _ => {}
    }
    if config.train.threads > 0 {
        tch::set_num_threads(config.train.threads as i32);
    }
    let device = Device::cuda_if_available();
    let info = ModelInfo {
        classes: class_count as u32,
    };
    let start = match state {
        Some(s) => {
            let saved = read_model_info(out)?;
            if saved != info {
                return Err(TrainError::Corrupt {
                    path: out.join("model.toml"),
                    reason: format!(
                        "the run has {} identities, the data {}",
                        saved.classes, info.classes
                    ),
                });
            }
            s.step
        }
        None => {
            start_run(out, config, info, span_dir)?;
            0
        }
    };
    let mut model = FeatureModel::new(config, info.classes, &out.join(SPAN_SUBDIR), device)?;
    if start > 0 {
        model.load(&run.latest())?;
        write_file(&out.join("config.toml"), config.to_toml().as_bytes())?;
    } else {
        init_backbones(&mut model, config)?;
    }
    let t = &config.train;
    let sampler = PkSampler::new(
        &classes,
        t.ids_per_batch as usize,
        t.images_per_id as usize,
        t.seed,
        t.flip,
    );
    tracing::info!(
        images = images.len(),
        identities = sampler.identities(),
        batch = sampler.batch_len(),
        ?device,
        start,
        steps = t.steps,
        "training the part feature network"
    );
    let mut opt = Adam::new(&model.vs, t.learning_rate);
    if start > 0 {
        run.resume_optimizer(&mut opt, start)?;
    }
    let set = FeatureSet::new(
        &images,
        config.model.input_size,
        &model,
        config.model.aggregation,
        device,
    )?;
    let bar = crate::progress::bar(start, t.steps);
    let began = Instant::now();
    let (mut lines, mut first_total, mut last_total) = (Vec::new(), f64::NAN, f64::NAN);
    let mut checkpoint = run.latest();
    for step in start..t.steps {
        let lr = config.learning_rate(step);
        opt.set_lr(lr);
        let picks = sampler.batch(step);
        let batch = set.batch(&picks, device)?;
        let labels: Vec<i64> = picks.iter().map(|p| classes[p.index] as i64).collect();
        let labels = Tensor::from_slice(&labels).to_device(device);
        let l = train_step(&model, &mut opt, &batch, &labels, set.masks(&picks), config);
        if !l.total.is_finite() {
            crate::train::run_dir::append_csv(&run.csv_path(), &lines)?;
            return Err(TrainError::Diverged {
                step: step + 1,
                checkpoint: run.latest(),
            });
        }
        if first_total.is_nan() {
            first_total = l.total;
        }
        last_total = l.total;
        bar.set_message(format!(
            "id {:.4} trip {:.4} acc {:.2} total {:.4}",
            l.id, l.triplet, l.accuracy, l.total
        ));
        bar.inc(1);
        lines.push(format!(
            "{},{:.6},{:.6},{:.4},{:.6},{:.3},{:.3e}\n",
            step + 1,
            l.id,
            l.triplet,
            l.accuracy,
            l.total,
            began.elapsed().as_secs_f64(),
            lr
        ));
        let done = step + 1;
        if done % t.checkpoint_every == 0 || done == t.steps {
            crate::train::run_dir::append_csv(&run.csv_path(), &lines)?;
            lines.clear();
            run.plot_losses()?;
            checkpoint = run.checkpoint(&model.vs, &opt, RunState { step: done })?;
        }
    }
    bar.finish();
    let steps = t.steps.saturating_sub(start);
    let secs = began.elapsed().as_secs_f64();
    Ok(Summary {
        steps,
        steps_per_second: if secs > 0.0 { steps as f64 / secs } else { 0.0 },
        first_total,
        last_total,
        checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::features::eval::evaluate_model;
    use crate::span::train_loop::{tests::tiny as tiny_span, train_span};
    use crate::train::reid_fixture::write_reid_dataset;
    use spanreid::cpdm::Metric;

    fn tiny(steps: u64) -> FeaturesConfig {
        let mut c = FeaturesConfig::preset(Preset::Tiny);
        c.train.steps = steps;
        c.train.checkpoint_every = steps.max(1);
        c
    }

    /// Dataset and a 2-step SPAN run under `dir`.
    fn setup(dir: &Path) -> (PathBuf, PathBuf) {
        let (data, span) = (dir.join("data"), dir.join("span"));
        write_reid_dataset(&data, 8, 8, 6);
        train_span(&data, &span, &tiny_span(2), false).expect("SPAN trains");
        (data, span)
    }

    fn cpdm_map(model: &FeatureModel, data: &Path, config: &FeaturesConfig) -> f64 {
        let report = evaluate_model(
            model,
            data,
            config.model.input_size,
            Device::Cpu,
            None,
            None,
        )
        .expect("eval");
        assert_eq!((report.queries, report.gallery), (8, 40));
        report
            .metrics
            .iter()
            .find(|m| m.metric == Metric::Cpdm)
            .expect("cpdm row")
            .report
            .map
    }

    /// Column `col` of `loss.csv`.
    fn csv_column(run: &Path, col: usize) -> Vec<f64> {
        let text = std::fs::read_to_string(run.join("loss.csv")).expect("csv");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(CSV_HEADER));
        lines
            .map(|l| {
                l.split(',')
                    .nth(col)
                    .expect("column")
                    .parse()
                    .expect("number")
            })
            .collect()
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn short_training_learns_the_training_identities_and_resume_continues() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, span) = setup(dir.path());
        let run = dir.path().join("run");
        let config = tiny(100);
        let summary = train_features(&data, &span, &run, &config, false).expect("trains");
        assert_eq!(summary.steps, 100);
        let (total, accuracy) = (csv_column(&run, 4), csv_column(&run, 3));
        assert_eq!(total.len(), 100);
        // The SPAN beside it is 2 steps old (near-random masks): the drop depends on them
        // (just under 20 % with the stride-8 tiny SPAN, over 20 % with the stride-16 one), so
        // 15 % is asked.
        let (early, late) = (mean(&total[..20]), mean(&total[80..]));
        assert!(late < 0.85 * early, "total loss {early:.3} → {late:.3}");
        let (early, late) = (mean(&accuracy[..20]), mean(&accuracy[80..]));
        assert!(late > early, "training accuracy {early:.3} → {late:.3}");
        assert!(run.join("loss.png").is_file());
        assert!(run.join("span/latest.safetensors").is_file());

        let (_, trained) = crate::features::model::load_run(&run, Device::Cpu).expect("loads");
        let map = cpdm_map(&trained, &data, &config);
        assert!((0.0..=1.0).contains(&map), "{map}");

        let err = train_features(&data, &span, &run, &config, false).expect_err("exists");
        assert!(matches!(err, TrainError::RunExists(_)), "{err}");
        let more = train_features(&data, &span, &run, &tiny(102), true).expect("resumes");
        assert_eq!(more.steps, 2);
        assert_eq!(csv_column(&run, 2).len(), 102);
        let err = train_features(&data, &span, &dir.path().join("none"), &config, true)
            .expect_err("nothing to resume");
        assert!(matches!(err, TrainError::NothingToResume(_)), "{err}");
    }
}
