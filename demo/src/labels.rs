//! The demo's ground truth on what the system reports: which vehicle each signed passage
//! is (from the agents' passage logs and the streams' boxes), and a match event as a line.

use std::collections::BTreeMap;

use spanreid_edge::capture::ground_truth::{self, Sighting};
use spanreid_edge::passage_log;
use spanreid_hub::events::MatchEvent;

use crate::plan::Plan;
use crate::score::PassageKey;

/// Least overlap between a signed crop and a ground-truth box to label the passage.
const LABEL_MIN_IOU: f32 = 0.3;

/// A match event as one line: both passages and whether they are the same vehicle.
pub fn describe(e: &MatchEvent, labels: &BTreeMap<PassageKey, Option<u32>>) -> String {
    let Some(top) = e.candidates.first() else {
        return String::new();
    };
    let id = |camera: &str, seq: u64| labels.get(&(camera.to_owned(), seq)).copied().flatten();
    let verdict = match (
        id(&e.query.camera, e.query.sequence),
        id(&top.signature.camera, top.signature.sequence),
    ) {
        (Some(a), Some(b)) if a == b => format!("same vehicle {a:04}"),
        (Some(a), Some(b)) => format!("WRONG: {a:04} vs {b:04}"),
        _ => "not labelled".to_owned(),
    };
    format!(
        "match  {} track {:>3}  ->  {} track {:>3}   distance {:.3}   {verdict}",
        e.query.camera,
        e.query.track_id,
        top.signature.camera,
        top.signature.track_id,
        top.distance
    )
}

/// Identities of the passages signed so far, from the agents' passage logs.
pub fn label_passages(plan: &Plan, rows: &[Sighting]) -> BTreeMap<PassageKey, Option<u32>> {
    let mut labels = BTreeMap::new();
    for c in &plan.cameras {
        let Ok(records) = passage_log::read(&plan.passage_log(&c.id)) else {
            continue;
        };
        for r in records {
            let id = ground_truth::identify(rows, &c.id, r.frame, &r.bbox, LABEL_MIN_IOU);
            labels.insert((c.id.clone(), r.sequence), id);
        }
    }
    labels
}
