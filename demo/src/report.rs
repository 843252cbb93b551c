//! The closing lines of the demo's output (pure: scores in, lines out).

use std::time::Duration;

use crate::idf1::Idf1;
use crate::score::MatchScore;

/// The matching settings the run used, as the report names them.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Candidates per event at most.
    pub top_k: usize,
    /// At most one candidate per other camera.
    pub one_per_camera: bool,
    /// One-to-one association.
    pub one_to_one: bool,
    /// Explicit distance limit; `None`: the model's calibrated threshold.
    pub max_distance: Option<f32>,
    /// Travel-time gating between linked cameras.
    pub gating: bool,
}

/// The report, one line each.
pub fn lines(s: &MatchScore, t: &Idf1, settings: &Settings, elapsed: Duration) -> Vec<String> {
    let limit = settings
        .max_distance
        .map_or_else(|| "calibrated".to_owned(), |d| d.to_string());
    let gating = if settings.gating {
        "travel-time gating"
    } else {
        "no gating"
    };
    vec![
        String::new(),
        format!(
            "passages: {} ground truth, {} signed ({} on a ground-truth vehicle)",
            s.ground_truth_passages, s.passages, s.labelled
        ),
        format!(
            "matches:  {} events, {} reported pairs, {} correct; {} of {} true pairs found",
            s.events, s.reported_pairs, s.correct_pairs, s.found_pairs, s.true_pairs
        ),
        format!(
            "precision {:.3}   recall {:.3}   F1 {:.3}   rank-1 {}/{}   (top_k {}{}, max_distance {limit}, {gating})",
            s.precision,
            s.recall,
            s.f1,
            s.rank1_correct,
            s.rank1_eligible,
            settings.top_k,
            if settings.one_to_one {
                " one-to-one"
            } else if settings.one_per_camera {
                " one per camera"
            } else {
                ""
            },
        ),
        format!(
            "trajectories: IDF1 {:.3} ({} identities formed; IDTP {}, IDFP {}, IDFN {})",
            t.idf1, t.predicted_identities, t.idtp, t.idfp, t.idfn
        ),
        format!("done in {:.0} s", elapsed.as_secs_f64()),
    ]
}
