//! The component analysis of the paper's Table 2 with one command: the baseline (global
//! feature alone, Euclidean), SPAN w/ FC, SPAN w/ concat and SPAN w/ CPDM, each a feature
//! network trained with the distance it is scored with, on the same frozen SPAN run, the
//! same preset and seed, then scored on the query / gallery split.
//!
//! Output under `out/`: `span/` (when no SPAN run is given), one run directory per row
//! (`baseline/`, `span-fc/`, `span-concat/`, `span-cpdm/`, each with `eval/report.json` and
//! `eval/ranklist.png`), `table2.md` and `table2.json`. Rows whose run already finished are
//! only re-scored, so an interrupted table resumes where it stopped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spanreid::eval::EvalReport;

use crate::config::aggregation::Aggregation;
use crate::features::config::FeaturesConfig;
use crate::features::eval::evaluate_run;
use crate::features::train_loop::train_features;
use crate::span::config::SpanConfig;
use crate::span::train_loop::train_span;
use crate::train::TrainError;
use crate::train::run_dir::RunDir;

/// Queries drawn in each row's rank-list picture.
const RANK_LIST_QUERIES: usize = 8;

/// One measured row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table2Row {
    /// The row's aggregation.
    pub aggregation: Aggregation,
    /// Its run directory.
    pub run: PathBuf,
    /// Scores under the aggregation's own distance.
    pub report: EvalReport,
    /// Training steps per second, from the run's `loss.csv` (`None` when the run was
    /// resumed, whose clock restarted).
    pub steps_per_second: Option<f64>,
}

/// The whole table as written to `table2.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table2 {
    /// The dataset.
    pub data: PathBuf,
    /// The SPAN run every row used.
    pub span: PathBuf,
    /// Steps of every feature run.
    pub steps: u64,
    /// Seed of every feature run.
    pub seed: u64,
    /// The rows, in Table 2's order.
    pub rows: Vec<Table2Row>,
}

/// The table as Markdown, with each row's mAP gain over the baseline.
pub fn markdown(table: &Table2) -> String {
    let pct = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{:.1}", 100.0 * x));
    let baseline = table
        .rows
        .iter()
        .find(|r| r.aggregation == Aggregation::GlobalOnly)
        .map(|r| r.report.map);
    let mut s = String::from(
        "| method | distance | mAP | Δ mAP | R-1 | R-5 | mINP | steps/s |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &table.rows {
        let delta = baseline.map_or_else(
            || "–".to_owned(),
            |b| format!("{:+.1}", 100.0 * (r.report.map - b)),
        );
        let speed = r
            .steps_per_second
            .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"));
        let _ = writeln!(
            s,
            "| {} | {:?} | {} | {} | {} | {} | {} | {} |",
            r.aggregation.label(),
            r.aggregation.metric(),
            pct(Some(r.report.map)),
            delta,
            pct(r.report.cmc_at(1)),
            pct(r.report.cmc_at(5)),
            pct(Some(r.report.minp)),
            speed
        );
    }
    s
}

/// Steps per second of a run that was not resumed, from the last line of its `loss.csv`
/// (columns `step,…` with the seconds since the run began in column `seconds`).
pub fn steps_per_second(csv: &str) -> Option<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let col = header.iter().position(|h| *h == "seconds")?;
    let rows: Vec<Vec<f64>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let first = rows.first()?;
    let last = rows.last()?;
    // A resumed run restarts its clock: the seconds column goes down somewhere.
    let monotone = rows.windows(2).all(|w| w[1][col] >= w[0][col]);
    (first[0] == 1.0 && monotone && last[col] > 0.0).then(|| last[0] / last[col])
}

/// Trains `config` into `run` unless a finished run is already there (resuming a partial
/// one).
pub(crate) fn train_row(
    data: &Path,
    span: &Path,
    run: &Path,
    config: &FeaturesConfig,
) -> Result<(), TrainError> {
    let state = RunDir::new(run).state()?;
    if state.is_some_and(|s| s.step >= config.train.steps) {
        tracing::info!(run = %run.display(), "already trained; scoring only");
        return Ok(());
    }
    let summary = train_features(data, span, run, config, state.is_some())?;
    tracing::info!(
        run = %run.display(),
        steps_per_second = summary.steps_per_second,
        "trained"
    );
    Ok(())
}

/// The SPAN run the rows use: `span` when given, otherwise `out/span` trained with
/// `span_config` (or resumed, or reused when finished).
fn span_run(
    data: &Path,
    out: &Path,
    span: Option<&Path>,
    span_config: &SpanConfig,
) -> Result<PathBuf, TrainError> {
    if let Some(dir) = span {
        crate::span::cli::check_span_run(dir)?;
        return Ok(dir.to_owned());
    }
    let dir = out.join("span");
    let state = RunDir::new(&dir).state()?;
    if state
        .as_ref()
        .is_none_or(|s| s.step < span_config.train.steps)
    {
        tracing::info!(run = %dir.display(), "training SPAN for the table");
        train_span(data, &dir, span_config, state.is_some())?;
    }
    Ok(dir)
}

/// Trains and scores every row of Table 2 under `out/`, writing `table2.md` and
/// `table2.json` there.
pub fn run_table2(
    data: &Path,
    out: &Path,
    span: Option<&Path>,
    span_config: &SpanConfig,
    base: &FeaturesConfig,
) -> Result<Table2, TrainError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TrainError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let span = span_run(data, out, span, span_config)?;
    let mut rows = Vec::with_capacity(Aggregation::ALL.len());
    for aggregation in Aggregation::ALL {
        let run = out.join(aggregation.slug());
        let mut config = base.clone();
        config.model.aggregation = aggregation;
        tracing::info!(row = aggregation.label(), "Table 2 row");
        train_row(data, &span, &run, &config)?;
        let picture = run.join("eval").join("ranklist.png");
        let eval = evaluate_run(
            &run,
            data,
            None,
            Some((picture.as_path(), RANK_LIST_QUERIES)),
        )?;
        let report_path = run.join("eval").join("report.json");
        let json = serde_json::to_string_pretty(&eval).expect("reports serialise");
        std::fs::write(&report_path, json).map_err(io(&report_path))?;
        let report = eval
            .metrics
            .into_iter()
            .find(|m| m.metric == aggregation.metric())
            .map(|m| m.report)
            .ok_or_else(|| TrainError::Corrupt {
                path: report_path.clone(),
                reason: format!("no {:?} score", aggregation.metric()),
            })?;
        let csv = std::fs::read_to_string(RunDir::new(&run).csv_path()).unwrap_or_default();
        rows.push(Table2Row {
            aggregation,
            run,
            report,
            steps_per_second: steps_per_second(&csv),
        });
    }
    let table = Table2 {
        data: data.to_owned(),
        span,
        steps: base.train.steps,
        seed: base.train.seed,
        rows,
    };
    let md = out.join("table2.md");
    std::fs::write(&md, markdown(&table)).map_err(io(&md))?;
    let json = out.join("table2.json");
    let text = serde_json::to_string_pretty(&table).expect("the table serialises");
    std::fs::write(&json, text).map_err(io(&json))?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(map: f64, r1: f64) -> EvalReport {
        EvalReport {
            map,
            map_veri_official: map,
            minp: map / 2.0,
            cmc: vec![(1, r1), (5, 1.0)],
            queries_scored: 4,
            queries_skipped_no_match: 0,
        }
    }

    #[test]
    fn the_table_shows_each_row_against_the_baseline() {
        let rows = [(Aggregation::GlobalOnly, 0.5), (Aggregation::Cpdm, 0.62)]
            .map(|(aggregation, map)| Table2Row {
                aggregation,
                run: PathBuf::from(aggregation.slug()),
                report: report(map, 0.75),
                steps_per_second: Some(1.5),
            })
            .to_vec();
        let table = Table2 {
            data: "d".into(),
            span: "s".into(),
            steps: 10,
            seed: 0,
            rows,
        };
        let md = markdown(&table);
        assert_eq!(md.lines().count(), 4, "{md}");
        assert!(
            md.contains("| SPAN w/ CPDM | Cpdm | 62.0 | +12.0 | 75.0 | 100.0 | 31.0 | 1.50 |"),
            "{md}"
        );
        assert!(md.contains("| 50.0 | +0.0 |"), "{md}");
    }

    #[test]
    fn one_command_trains_scores_and_resumes_every_row() {
        use crate::config::Preset;
        use crate::span::train_loop::tests::tiny as tiny_span;
        use crate::train::reid_fixture::write_reid_dataset;

        let dir = tempfile::tempdir().expect("tempdir");
        let (data, out) = (dir.path().join("data"), dir.path().join("t2"));
        write_reid_dataset(&data, 8, 8, 6);
        let mut config = FeaturesConfig::preset(Preset::Tiny);
        config.train.steps = 3;
        config.train.checkpoint_every = 3;
        let table = run_table2(&data, &out, None, &tiny_span(2), &config).expect("runs");
        let order: Vec<Aggregation> = table.rows.iter().map(|r| r.aggregation).collect();
        assert_eq!(order, Aggregation::ALL);
        for row in &table.rows {
            assert!((0.0..=1.0).contains(&row.report.map), "{row:?}");
            assert!(row.steps_per_second.is_some_and(|v| v > 0.0), "{row:?}");
            assert!(row.run.join("eval/ranklist.png").is_file());
            assert!(row.run.join("eval/report.json").is_file());
        }
        assert_eq!(table.span, out.join("span"));
        let md = std::fs::read_to_string(out.join("table2.md")).expect("markdown");
        assert_eq!(md.lines().count(), 6, "{md}");
        let json: Table2 =
            serde_json::from_str(&std::fs::read_to_string(out.join("table2.json")).expect("json"))
                .expect("parses");
        assert_eq!(json.rows.len(), table.rows.len());
        for (a, b) in json.rows.iter().zip(&table.rows) {
            assert_eq!(a.aggregation, b.aggregation);
            assert!((a.report.map - b.report.map).abs() < 1e-12);
        }

        // A second call trains nothing: the checkpoints stay as they are, the scores equal.
        let before = std::fs::metadata(out.join("span-cpdm/latest.safetensors"))
            .and_then(|m| m.modified())
            .expect("checkpoint");
        let again = run_table2(&data, &out, None, &tiny_span(2), &config).expect("reruns");
        let after = std::fs::metadata(out.join("span-cpdm/latest.safetensors"))
            .and_then(|m| m.modified())
            .expect("checkpoint");
        assert_eq!(before, after);
        assert_eq!(again.rows, table.rows);
    }

    #[test]
    fn a_missing_span_run_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run_table2(
            dir.path(),
            &dir.path().join("out"),
            Some(&dir.path().join("no-span")),
            &SpanConfig::default(),
            &FeaturesConfig::default(),
        )
        .expect_err("no SPAN run");
        assert!(err.to_string().contains("no-span"), "{err}");
    }

    #[test]
    fn speed_comes_only_from_runs_that_were_not_resumed() {
        let csv = "step,id,seconds\n1,0.5,2.0\n2,0.4,3.0\n3,0.3,4.0\n";
        assert_eq!(steps_per_second(csv), Some(0.75));
        let resumed = "step,id,seconds\n1,0.5,2.0\n2,0.4,3.0\n3,0.3,1.0\n";
        assert_eq!(steps_per_second(resumed), None);
        assert_eq!(steps_per_second("step,id,seconds\n"), None);
        assert_eq!(steps_per_second(""), None);
    }
}
