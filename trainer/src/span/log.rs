//! The step log shared by the training loops on the SPAN losses (vehicle views in
//! [`crate::span::train_loop`], digit classes in `digits`): each step's loss terms on the
//! progress bar and in `loss.csv`, a non-finite loss stops the run, a checkpoint every
//! `checkpoint_every` steps and at the end, and the invocation's [`Summary`].

use std::path::PathBuf;
use std::time::Instant;

use indicatif::ProgressBar;
use tch::nn::VarStore;

use crate::progress::bar as progress_bar;
use crate::span::loss::SpanLosses;
use crate::train::TrainError;
use crate::train::adam::Adam;
use crate::train::run_dir::{LossRow, RunDir, RunState};

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

/// Progress of one invocation of a run from step `start` to `steps`.
pub struct SpanLog<'a> {
    run: &'a RunDir,
    bar: ProgressBar,
    began: Instant,
    start: u64,
    steps: u64,
    checkpoint_every: u64,
    rows: Vec<LossRow>,
    first_total: f64,
    last_total: f64,
    checkpoint: PathBuf,
}

impl<'a> SpanLog<'a> {
    /// Starts the clock and the progress bar.
    pub fn new(run: &'a RunDir, start: u64, steps: u64, checkpoint_every: u64) -> Self {
        Self {
            run,
            bar: progress_bar(start, steps),
            began: Instant::now(),
            start,
            steps,
            checkpoint_every,
            rows: Vec::new(),
            first_total: f64::NAN,
            last_total: f64::NAN,
            checkpoint: run.latest(),
        }
    }

    /// Records the losses of the 0-based `step` and writes the checkpoint when it is due.
    /// A non-finite total flushes the log and fails with [`TrainError::Diverged`].
    pub fn record(
        &mut self,
        step: u64,
        l: &SpanLosses,
        vs: &VarStore,
        opt: &Adam,
    ) -> Result<(), TrainError> {
        let row = LossRow {
            step: step + 1,
            recon: l.recon.double_value(&[]),
            area: l.area.double_value(&[]),
            div: l.div.double_value(&[]),
            total: l.total.double_value(&[]),
            seconds: self.began.elapsed().as_secs_f64(),
        };
        if !row.total.is_finite() {
            self.run.append_rows(&self.rows)?;
            return Err(TrainError::Diverged {
                step: row.step,
                checkpoint: self.run.latest(),
            });
        }
        if self.first_total.is_nan() {
            self.first_total = row.total;
        }
        self.last_total = row.total;
        self.bar.set_message(format!(
            "recon {:.4} area {:.4} div {:.4} total {:.4}",
            row.recon, row.area, row.div, row.total
        ));
        self.bar.inc(1);
        self.rows.push(row);
        let done = step + 1;
        if done.is_multiple_of(self.checkpoint_every) || done == self.steps {
            self.run.append_rows(&self.rows)?;
            self.rows.clear();
            self.run.plot_losses()?;
            self.checkpoint = self.run.checkpoint(vs, opt, RunState { step: done })?;
        }
        Ok(())
    }

    /// Closes the progress bar and sums the invocation up.
    pub fn finish(self) -> Summary {
        self.bar.finish();
        let steps = self.steps.saturating_sub(self.start);
        let secs = self.began.elapsed().as_secs_f64();
        Summary {
            steps,
            steps_per_second: if secs > 0.0 { steps as f64 / secs } else { 0.0 },
            first_total: self.first_total,
            last_total: self.last_total,
            checkpoint: self.checkpoint,
        }
    }
}
