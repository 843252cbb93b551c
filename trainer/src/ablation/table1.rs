//! The loss ablation of the paper's Table 1 with one command: SPAN trained with only
//! L_recon, without L_area, without L_div, with all three, and with all three but without
//! the order term (when the base configuration has one), each scored by per-view mask
//! IoU on held-out images and, when a feature configuration is given, by the re-ID mAP and
//! rank-1 of a part feature network trained on that row's masks with the CPDM distance
//! (Table 1's own figures).
//!
//! Output under `out/`: `<slug>/` (the SPAN run, with `eval/mask_iou.toml`),
//! `<slug>/features/` (the CPDM feature run, with `eval/report.json`), `ablation.md` and
//! `ablation.json`. Finished runs are only re-scored, so an interrupted ablation resumes.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::ablation::table2::train_row;
use crate::config::aggregation::Aggregation;
use crate::features::config::FeaturesConfig;
use crate::features::eval::evaluate_run;
use crate::span::config::SpanConfig;
use crate::span::eval::{EvalReport, eval_span};
use crate::span::train_loop::train_span;
use crate::train::TrainError;

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
    /// The order term kept as the base configuration has it (off: λ_order = 0).
    pub order: bool,
}

/// Table 1's rows, in its order, then the full row without the order term (a deviation
/// from the paper, ablated here).
pub const ROWS: [AblationRow; 5] = [
    AblationRow {
        label: "only L_recon",
        slug: "recon-only",
        area: false,
        div: false,
        order: true,
    },
    AblationRow {
        label: "w/o L_area",
        slug: "no-area",
        area: false,
        div: true,
        order: true,
    },
    AblationRow {
        label: "w/o L_div",
        slug: "no-div",
        area: true,
        div: false,
        order: true,
    },
    AblationRow {
        label: "L_recon + L_area + L_div",
        slug: "all",
        area: true,
        div: true,
        order: true,
    },
    AblationRow {
        label: "L_recon + L_area + L_div, w/o L_order",
        slug: "no-order",
        area: true,
        div: true,
        order: false,
    },
];

/// The rows that differ under `base`: the row without the order term only when `base`
/// has one.
pub fn rows(base: &SpanConfig) -> Vec<AblationRow> {
    ROWS.into_iter()
        .filter(|r| r.order || base.loss.lambda_order > 0.0)
        .collect()
}

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
        if !self.order {
            c.loss.lambda_order = 0.0;
        }
        c
    }
}

/// Re-ID scores of the CPDM feature network trained on one row's masks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReidScore {
    /// mAP under CPDM on the query / gallery split.
    pub map: f64,
    /// Rank-1 under CPDM.
    pub rank1: Option<f64>,
    /// Feature-network steps.
    pub steps: u64,
}

/// One measured row of the ablation.
#[derive(Clone, Debug, Serialize)]
pub struct AblationResult {
    /// Table 1's label of the row.
    pub label: &'static str,
    /// Its directory under the ablation output.
    pub slug: &'static str,
    /// Mask IoU of its SPAN run on held-out images.
    pub masks: EvalReport,
    /// mAP / rank-1 of a CPDM feature network on its masks, when asked for.
    pub reid: Option<ReidScore>,
}

/// The results as a Markdown table; mAP and rank-1 columns appear when any row has them.
pub fn markdown(results: &[AblationResult]) -> String {
    let fmt = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"));
    let pct = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{:.1}", 100.0 * x));
    let with_reid = results.iter().any(|r| r.reid.is_some());
    let mut s = String::from("| losses | front IoU | rear IoU | side IoU | mean IoU |");
    s.push_str(if with_reid {
        " CPDM mAP | CPDM R-1 |\n|---|---|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|---|\n"
    });
    for r in results {
        let m = &r.masks;
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.label,
            fmt(m.front),
            fmt(m.rear),
            fmt(m.side),
            fmt(m.mean)
        );
        if with_reid {
            let reid = r.reid.as_ref();
            let _ = write!(
                s,
                " {} | {} |",
                pct(reid.map(|x| x.map)),
                pct(reid.and_then(|x| x.rank1))
            );
        }
        s.push('\n');
    }
    s
}

/// Trains (or resumes) the CPDM feature network of one row on its SPAN run and scores it.
fn reid_row(data: &Path, span: &Path, features: &FeaturesConfig) -> Result<ReidScore, TrainError> {
    let run = span.join("features");
    let mut config = features.clone();
    config.model.aggregation = Aggregation::Cpdm;
    train_row(data, span, &run, &config)?;
    let eval = evaluate_run(&run, data, None, None)?;
    let report_path = run.join("eval").join("report.json");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TrainError::Io { path, source }
    };
    let dir = run.join("eval");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let json = serde_json::to_string_pretty(&eval).expect("reports serialise");
    std::fs::write(&report_path, json).map_err(io(&report_path))?;
    let report = eval
        .metrics
        .into_iter()
        .find(|m| m.metric == Aggregation::Cpdm.metric())
        .map(|m| m.report)
        .ok_or_else(|| TrainError::Corrupt {
            path: report_path.clone(),
            reason: "no CPDM score".to_owned(),
        })?;
    Ok(ReidScore {
        map: report.map,
        rank1: report.cmc_at(1),
        steps: config.train.steps,
    })
}

/// Trains and scores every row under `out/<slug>/` (and, with `features`, a CPDM feature
/// network per row under `out/<slug>/features/`), then writes `out/ablation.md` and
/// `out/ablation.json`. Finished runs are only re-scored, so an interrupted ablation resumes.
pub fn run_ablation(
    data: &Path,
    out: &Path,
    base: &SpanConfig,
    threshold: f32,
    features: Option<&FeaturesConfig>,
) -> Result<Vec<AblationResult>, TrainError> {
    let rows = rows(base);
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
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
        let masks = eval_span(&run, data, "image_test", threshold, 8)?;
        let reid = match features {
            Some(f) => {
                tracing::info!(row = row.label, "ablation: CPDM feature network");
                Some(reid_row(data, &run, f)?)
            }
            None => None,
        };
        results.push(AblationResult {
            label: row.label,
            slug: row.slug,
            masks,
            reid,
        });
    }
    let table = markdown(&results);
    let path = out.join("ablation.md");
    std::fs::write(&path, &table).map_err(|source| TrainError::Io { path, source })?;
    let path = out.join("ablation.json");
    let json = serde_json::to_string_pretty(&results).expect("results serialise");
    std::fs::write(&path, json).map_err(|source| TrainError::Io { path, source })?;
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
        // Without an order term in the base there is no fifth row; with one there is.
        assert_eq!(rows(&base).len(), 4);
        let mut order = crate::config::Preset::Cpu.config();
        order.loss.lambda_order = 1.0;
        assert_eq!(rows(&order).len(), 5);
        assert_eq!(ROWS[3].config(&order).loss.lambda_order, 1.0);
        assert_eq!(ROWS[4].config(&order).loss.lambda_order, 0.0);
        assert_eq!(ROWS[4].config(&order).loss.lambda_div, 1.0);
    }

    fn masks(front: Option<f64>) -> EvalReport {
        EvalReport {
            images: 2,
            threshold: 0.5,
            front,
            rear: None,
            side: Some(0.25),
            mean: Some(0.375),
            overlays: None,
            detail: None,
        }
    }

    fn result(row: AblationRow, reid: Option<ReidScore>) -> AblationResult {
        AblationResult {
            label: row.label,
            slug: row.slug,
            masks: masks(Some(0.5)),
            reid,
        }
    }

    #[test]
    fn table_has_a_line_per_row() {
        let md = markdown(&[result(ROWS[0], None), result(ROWS[3], None)]);
        assert_eq!(md.lines().count(), 4);
        assert!(
            md.contains("| only L_recon | 0.500 | – | 0.250 | 0.375 |\n"),
            "{md}"
        );
        assert!(!md.contains("mAP"), "{md}");
    }

    #[test]
    fn re_id_columns_appear_with_re_id_scores() {
        let reid = ReidScore {
            map: 0.6125,
            rank1: Some(0.5),
            steps: 10,
        };
        let md = markdown(&[result(ROWS[0], None), result(ROWS[3], Some(reid))]);
        assert_eq!(md.lines().count(), 4);
        assert!(
            md.lines()
                .next()
                .is_some_and(|h| h.ends_with("CPDM mAP | CPDM R-1 |")),
            "{md}"
        );
        assert!(
            md.contains("| only L_recon | 0.500 | – | 0.250 | 0.375 | – | – |"),
            "{md}"
        );
        assert!(md.contains("| 0.375 | 61.3 | 50.0 |"), "{md}");
    }

    #[test]
    fn one_command_gives_mask_iou_and_map_per_row_and_resumes() {
        use crate::config::Preset;
        use crate::span::train_loop::tests::tiny as tiny_span;
        use crate::train::reid_fixture::write_reid_dataset;

        let dir = tempfile::tempdir().expect("tempdir");
        let (data, out) = (dir.path().join("data"), dir.path().join("t1"));
        write_reid_dataset(&data, 6, 6, 4);
        let mut features = FeaturesConfig::preset(Preset::Tiny);
        features.train.steps = 2;
        features.train.checkpoint_every = 2;
        let results = run_ablation(&data, &out, &tiny_span(2), 0.5, Some(&features)).expect("runs");
        // The tiny preset has no order term: the paper's four rows.
        assert_eq!(results.len(), 4);
        for (r, row) in results.iter().zip(ROWS) {
            assert_eq!(r.slug, row.slug);
            // The fixture's part masks are all side: the side IoU is defined on every row.
            assert!(
                r.masks.side.is_some_and(|v| (0.0..=1.0).contains(&v)),
                "{r:?}"
            );
            let reid = r.reid.as_ref().expect("re-ID scored");
            assert!((0.0..=1.0).contains(&reid.map), "{r:?}");
            assert_eq!(reid.steps, 2);
            let run = out.join(row.slug).join("features");
            assert!(run.join("eval/report.json").is_file());
            let saved =
                crate::features::config::FeaturesConfig::from_file(&run.join("config.toml"))
                    .expect("feature config");
            assert_eq!(saved.model.aggregation, Aggregation::Cpdm);
        }
        let md = std::fs::read_to_string(out.join("ablation.md")).expect("markdown");
        assert_eq!(md.lines().count(), 6, "{md}");
        assert!(md.contains("CPDM mAP"), "{md}");
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("ablation.json")).expect("json"),
        )
        .expect("parses");
        assert_eq!(json.as_array().map(Vec::len), Some(4));

        // A second call trains nothing and scores the same.
        let checkpoint = out.join("all/features/latest.safetensors");
        let modified = || {
            std::fs::metadata(&checkpoint)
                .and_then(|m| m.modified())
                .expect("checkpoint")
        };
        let before = modified();
        let again = run_ablation(&data, &out, &tiny_span(2), 0.5, Some(&features)).expect("reruns");
        assert_eq!(before, modified());
        for (a, b) in again.iter().zip(&results) {
            assert_eq!(a.reid, b.reid);
        }
    }
}
