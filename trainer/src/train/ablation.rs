//! The loss ablation of the paper's Table 1 with one command: SPAN trained with only
//! L_recon, without L_area, without L_div, and with all three, each scored by per-view mask
//! IoU on held-out images.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::SpanConfig;
use crate::train::TrainError;
use crate::train::eval_span::{EvalReport, eval_span};
use crate::train::span_loop::train_span;

/// One row of the ablation: a name, a directory name, and which losses are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AblationRow {
    /// As in Table 1.
    pub label: &'static str,
    /// Sub-directory of the ablation output.
    pub slug: &'static str,
    /// L_area on.
    pub area: bool,
    /// L_div on.
    pub div: bool,
}

/// Table 1's rows, in its order.
pub const ROWS: [AblationRow; 4] = [
    AblationRow {
        label: "only L_recon",
        slug: "recon-only",
        area: false,
        div: false,
    },
    AblationRow {
        label: "w/o L_area",
        slug: "no-area",
        area: false,
        div: true,
    },
    AblationRow {
        label: "w/o L_div",
        slug: "no-div",
        area: true,
        div: false,
    },
    AblationRow {
        label: "L_recon + L_area + L_div",
        slug: "all",
        area: true,
        div: true,
    },
];

impl AblationRow {
    /// `base` with this row's losses switched off (λ = 0).
    pub fn config(&self, base: &SpanConfig) -> SpanConfig {
        let mut c = base.clone();
        if !self.area {
            c.loss.lambda_area = 0.0;
        }
        if !self.div {
            c.loss.lambda_div = 0.0;
        }
        c
    }
}

/// The results as a Markdown table.
pub fn markdown(results: &[(AblationRow, EvalReport)]) -> String {
    let fmt = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"));
    let mut s = String::from(
        "| losses | front IoU | rear IoU | side IoU | mean IoU |\n|---|---|---|---|---|\n",
    );
    for (row, r) in results {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            row.label,
            fmt(r.front),
            fmt(r.rear),
            fmt(r.side),
            fmt(r.mean)
        );
    }
    s
}

/// Trains and scores every row under `out/<slug>/`, then writes `out/ablation.md`.
/// Rows whose run already finished are only re-scored, so an interrupted ablation resumes.
pub fn run_ablation(
    data: &Path,
    out: &Path,
    base: &SpanConfig,
    threshold: f32,
) -> Result<Vec<(AblationRow, EvalReport)>, TrainError> {
    let mut results = Vec::with_capacity(ROWS.len());
    for row in ROWS {
        let run = out.join(row.slug);
        let config = row.config(base);
        let done = crate::train::run_dir::RunDir::new(&run)
            .state()?
            .is_some_and(|s| s.step >= config.train.steps);
        if !done {
            let resume = run.join("state.toml").is_file();
            tracing::info!(row = row.label, "ablation: training");
            train_span(data, &run, &config, resume)?;
        }
        let report = eval_span(&run, data, "image_test", threshold, 8)?;
        results.push((row, report));
    }
    let table = markdown(&results);
    let path = out.join("ablation.md");
    std::fs::write(&path, &table).map_err(|source| TrainError::Io { path, source })?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_switch_off_the_right_losses() {
        let base = SpanConfig::default();
        let lambdas = |r: &AblationRow| {
            let c = r.config(&base);
            (c.loss.lambda_recon, c.loss.lambda_area, c.loss.lambda_div)
        };
        assert_eq!(lambdas(&ROWS[0]), (1.0, 0.0, 0.0));
        assert_eq!(lambdas(&ROWS[1]), (1.0, 0.0, 1.0));
        assert_eq!(lambdas(&ROWS[2]), (1.0, 0.5, 0.0));
        assert_eq!(lambdas(&ROWS[3]), (1.0, 0.5, 1.0));
    }

    #[test]
    fn table_has_a_line_per_row() {
        let report = EvalReport {
            images: 2,
            threshold: 0.5,
            front: Some(0.5),
            rear: None,
            side: Some(0.25),
            mean: Some(0.375),
            overlays: None,
        };
        let md = markdown(&[(ROWS[0], report.clone()), (ROWS[3], report)]);
        assert_eq!(md.lines().count(), 4);
        assert!(
            md.contains("| only L_recon | 0.500 | – | 0.250 | 0.375 |"),
            "{md}"
        );
    }
}
