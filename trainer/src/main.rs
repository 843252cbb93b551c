//! `trainer`: the command line over the `spanreid_trainer` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use spanreid_trainer::{ablation, digits, eval, export, features, foreground, span, synth};

#[derive(Parser)]
#[command(name = "trainer", version, about = "spanreid trainer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the synthetic multi-view vehicle dataset (VeRi-776 layout) and camera streams.
    Synth(synth::SynthArgs),
    /// Foreground masks for a dataset without them: GrabCut (feature `grabcut`), then a
    /// segmentation CNN trained on GrabCut's masks with target refinement (`torch`); scored
    /// against the true masks when the dataset has them.
    Foreground(foreground::ForegroundArgs),
    /// Train SPAN's part-attention masks (step 1; needs the `torch` feature).
    TrainSpan(span::TrainSpanArgs),
    /// Score SPAN masks against ground-truth part masks (per-view IoU) and draw them.
    EvalSpan(span::EvalSpanArgs),
    /// The loss ablation of the paper's Table 1 (four SPAN runs), scored by mask IoU.
    AblateSpan(ablation::AblateSpanArgs),
    /// Train the part feature network with ID + CPDM triplet losses (step 2; `torch`).
    TrainFeatures(features::TrainFeaturesArgs),
    /// The component analysis of the paper's Table 2: baseline, SPAN w/ FC, w/ concat and
    /// w/ CPDM, each trained and scored (mAP, CMC, mINP) with one command.
    AblateFeatures(ablation::AblateFeaturesArgs),
    /// Score a feature run on query/gallery: mAP, CMC, mINP under three metrics (JSON).
    Eval(features::EvalFeaturesArgs),
    /// Score exported ONNX models as the edge runs them (tract), with f32 and with the
    /// signature's int8 features: mAP, rank-1 and bytes per signature (no libtorch needed).
    EvalOnnx(eval::EvalOnnxArgs),
    /// Measure a shipped model's match threshold and confidence curve on training
    /// identities (tract, int8 CPDM) and write them into the manifest (`--write`).
    Calibrate(eval::CalibrateArgs),
    /// Render the multi-digit dataset of the paper's Fig. 4b from real MNIST digits
    /// (install them with trainer/install-mnist.sh).
    SynthDigits(digits::SynthDigitsArgs),
    /// Train SPAN with one mask generator per digit class from image-level labels (`torch`).
    TrainDigits(digits::TrainDigitsArgs),
    /// Score the digit masks (per-class IoU at several thresholds, absent-class area, and
    /// the whole-foreground baseline) and draw them like Fig. 4b.
    EvalDigits(digits::EvalDigitsArgs),
    /// Write the trained SPAN + feature network as ONNX (f32 and int8) with a manifest.
    Export(export::ExportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("trainer: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth(args) => synth::run(args)?,
        Command::Foreground(args) => foreground::run_foreground(&args)?,
        Command::TrainSpan(args) => span::run_train_span(&args)?,
        Command::EvalSpan(args) => span::run_eval_span(&args)?,
        Command::AblateSpan(args) => ablation::run_ablate_span(&args)?,
        Command::TrainFeatures(args) => features::run_train_features(&args)?,
        Command::AblateFeatures(args) => ablation::run_ablate_features(&args)?,
        Command::Eval(args) => features::run_eval_features(&args)?,
        Command::Export(args) => export::run_export(&args)?,
        Command::SynthDigits(args) => digits::run_synth_digits(&args)?,
        Command::TrainDigits(args) => digits::run_train_digits(&args)?,
        Command::EvalDigits(args) => {
            let table = digits::run_eval_digits(&args)?;
            #[allow(clippy::print_stdout)]
            {
                print!("{table}");
            }
        }
        Command::Calibrate(args) => {
            let calibration = eval::calibrate::run(&args)?;
            #[allow(clippy::print_stdout)]
            {
                print!("{}", eval::calibrate::report(&calibration));
            }
        }
        Command::EvalOnnx(args) => {
            let table = eval::run_eval_onnx(&args)?;
            #[allow(clippy::print_stdout)]
            {
                print!("{table}");
            }
        }
    }
    Ok(())
}
