//! The flags every resumable training command shares (`train-span`, `train-features`,
//! `train-digits`): where the run lives, where its configuration comes from, and the
//! schedule overrides. Each command flattens [`RunArgs`] into its own arguments and its
//! training section implements [`Schedule`].

use std::path::{Path, PathBuf};

/// Run directory, configuration source and schedule flags.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Run directory (checkpoints, loss.csv, config.toml).
    #[arg(long)]
    pub out: PathBuf,
    /// TOML configuration instead of the preset (fields left out take their defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint (its config.toml is the base).
    #[arg(long)]
    pub resume: bool,
    /// Total optimiser steps.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Adam (base) learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// libtorch threads (0: its default).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Save a checkpoint every N steps.
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
}

/// The fields of a training section the schedule flags set.
pub struct ScheduleFields<'a> {
    /// Total optimiser steps.
    pub steps: &'a mut u64,
    /// Adam (base) learning rate.
    pub learning_rate: &'a mut f64,
    /// Random seed.
    pub seed: &'a mut u64,
    /// libtorch threads.
    pub threads: &'a mut u32,
    /// Checkpoint period in steps.
    pub checkpoint_every: &'a mut u64,
}

/// A training section with a schedule.
pub trait Schedule {
    /// Its schedule fields.
    fn schedule(&mut self) -> ScheduleFields<'_>;
}

/// Implements [`Schedule`] for a training section whose fields are named `steps`,
/// `learning_rate`, `seed`, `threads` and `checkpoint_every`.
macro_rules! schedule_fields {
    ($section:ty) => {
        impl $crate::train::run_args::Schedule for $section {
            fn schedule(&mut self) -> $crate::train::run_args::ScheduleFields<'_> {
                $crate::train::run_args::ScheduleFields {
                    steps: &mut self.steps,
                    learning_rate: &mut self.learning_rate,
                    seed: &mut self.seed,
                    threads: &mut self.threads,
                    checkpoint_every: &mut self.checkpoint_every,
                }
            }
        }
    };
}
pub(crate) use schedule_fields;

impl RunArgs {
    /// The file the configuration starts from: the run's saved `config.toml` on
    /// `--resume`, else `--config`; `None`: the command's preset.
    pub fn config_file(&self) -> Option<PathBuf> {
        let saved = self.out.join("config.toml");
        if self.resume && saved.is_file() {
            Some(saved)
        } else {
            self.config.clone()
        }
    }

    /// The configuration before the command's own flags: read from
    /// [`Self::config_file`] with `load`, or `preset()`.
    pub fn base<C, E>(
        &self,
        load: impl FnOnce(&Path) -> Result<C, E>,
        preset: impl FnOnce() -> C,
    ) -> Result<C, E> {
        match self.config_file() {
            Some(path) => load(&path),
            None => Ok(preset()),
        }
    }

    /// Sets the schedule fields the flags name.
    pub fn apply(&self, section: &mut impl Schedule) {
        let f = section.schedule();
        *f.steps = self.steps.unwrap_or(*f.steps);
        *f.learning_rate = self.lr.unwrap_or(*f.learning_rate);
        *f.seed = self.seed.unwrap_or(*f.seed);
        *f.threads = self.threads.unwrap_or(*f.threads);
        *f.checkpoint_every = self.checkpoint_every.unwrap_or(*f.checkpoint_every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    #[derive(Default)]
    struct Section {
        steps: u64,
        lr: f64,
        seed: u64,
        threads: u32,
        every: u64,
    }

    impl Schedule for Section {
        fn schedule(&mut self) -> ScheduleFields<'_> {
            ScheduleFields {
                steps: &mut self.steps,
                learning_rate: &mut self.lr,
                seed: &mut self.seed,
                threads: &mut self.threads,
                checkpoint_every: &mut self.every,
            }
        }
    }

    #[test]
    fn flags_set_only_what_they_name_and_resume_reads_the_saved_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().to_str().expect("utf-8").to_owned();
        let cli = Cli::parse_from(["t", "--out", &out, "--steps", "9", "--threads", "2"]);
        let mut s = Section {
            lr: 0.5,
            seed: 7,
            ..Section::default()
        };
        cli.run.apply(&mut s);
        assert_eq!(
            (s.steps, s.lr, s.seed, s.threads, s.every),
            (9, 0.5, 7, 2, 0)
        );
        assert_eq!(cli.run.config_file(), None);

        let cli = Cli::parse_from(["t", "--out", &out, "--resume", "--config", "x.toml"]);
        assert_eq!(
            cli.run.config_file(),
            Some(PathBuf::from("x.toml")),
            "nothing saved yet"
        );
        std::fs::write(dir.path().join("config.toml"), "").expect("write");
        assert_eq!(cli.run.config_file(), Some(dir.path().join("config.toml")));
    }
}
