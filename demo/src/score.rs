//! Scoring cross-camera matches against the streams' ground truth (pure: values in,
//! values out).
//!
//! Every signed passage is labelled with the identity whose ground-truth box overlaps its
//! chosen crop most. A *true pair* is one vehicle at two cameras, from the ground truth
//! (whether or not the agents signed both passages); a *reported pair* is a query and one
//! of its candidates in a match event, *correct* when both passages carry one identity. A
//! true pair is *found* when some correct reported pair links its two cameras. Each
//! unordered pair counts once: the hub matches a signature against what is already stored,
//! so a pair is reported (if at all) when the later of the two arrives. A pair an event
//! withdraws (one-to-one association: `replaces`) no longer counts as reported: the
//! scores are those of the pairs standing at the end.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spanreid_hub::events::MatchEvent;

/// A passage as the hub names it: camera and per-camera sequence number.
pub type PassageKey = (String, u64);

/// Precision and recall of the reported pairs, and how the passages were labelled.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MatchScore {
    /// Signed passages (lines in the passage logs).
    pub passages: usize,
    /// Of those, passages whose crop overlaps a ground-truth vehicle.
    pub labelled: usize,
    /// Ground-truth passages (identity × camera) in the streams.
    pub ground_truth_passages: usize,
    /// Match events received.
    pub events: usize,
    /// Distinct reported pairs.
    pub reported_pairs: usize,
    /// Reported pairs of the same identity.
    pub correct_pairs: usize,
    /// True pairs: vehicles × pairs of cameras that saw them, from the ground truth.
    pub true_pairs: usize,
    /// True pairs that some correct reported pair links.
    pub found_pairs: usize,
    /// `correct_pairs / reported_pairs`.
    pub precision: f64,
    /// `found_pairs / true_pairs`.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Events whose first candidate has the query's identity.
    pub rank1_correct: usize,
    /// Events whose query's identity was also signed at another camera.
    pub rank1_eligible: usize,
}

/// The pairs the events report and do not withdraw later, each once (smaller key first).
pub fn standing_pairs(events: &[MatchEvent]) -> BTreeSet<(PassageKey, PassageKey)> {
    let key = |s: &spanreid_hub::events::SignatureRef| (s.camera.clone(), s.sequence);
    let mut pairs = BTreeSet::new();
    for e in events {
        for c in &e.candidates {
            if let Some(old) = &c.replaces {
                pairs.remove(&ordered(key(old), key(&c.signature)));
            }
            pairs.insert(ordered(key(&e.query), key(&c.signature)));
        }
    }
    pairs
}

fn ordered(a: PassageKey, b: PassageKey) -> (PassageKey, PassageKey) {
    if a <= b { (a, b) } else { (b, a) }
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The cameras that saw each vehicle, from the ground truth.
pub type Sightings = BTreeMap<u32, BTreeSet<String>>;

/// Scores `events` given each signed passage's identity (`None`: no ground-truth vehicle
/// under its crop) and the cameras that saw each vehicle.
pub fn score(
    labels: &BTreeMap<PassageKey, Option<u32>>,
    seen: &Sightings,
    events: &[MatchEvent],
) -> MatchScore {
    let id_of = |camera: &str, sequence: u64| -> Option<u32> {
        labels
            .get(&(camera.to_owned(), sequence))
            .copied()
            .flatten()
    };
    let mut by_identity: BTreeMap<u32, Vec<&PassageKey>> = BTreeMap::new();
    for (key, id) in labels {
        if let Some(id) = id {
            by_identity.entry(*id).or_default().push(key);
        }
    }
    let true_pairs: usize = seen
        .values()
        .map(|cams| cams.len() * cams.len().saturating_sub(1) / 2)
        .sum();
    let (mut rank1_correct, mut rank1_eligible) = (0, 0);
    for e in events {
        let q = (e.query.camera.clone(), e.query.sequence);
        let q_id = id_of(&q.0, q.1);
        let has_partner = q_id.is_some_and(|id| {
            by_identity
                .get(&id)
                .is_some_and(|keys| keys.iter().any(|k| k.0 != q.0))
        });
        if has_partner {
            rank1_eligible += 1;
            let top = e.candidates.first().map(|c| &c.signature);
            if top.is_some_and(|s| id_of(&s.camera, s.sequence) == q_id) {
                rank1_correct += 1;
            }
        }
    }
    let reported = standing_pairs(events);
    let mut found = BTreeSet::new();
    let mut correct = 0;
    for (a, b) in &reported {
        let id = id_of(&a.0, a.1);
        if id.is_some() && id == id_of(&b.0, b.1) {
            correct += 1;
            found.insert((id, a.0.clone(), b.0.clone()));
        }
    }
    MatchScore {
        passages: labels.len(),
        labelled: labels.values().filter(|l| l.is_some()).count(),
        ground_truth_passages: seen.values().map(BTreeSet::len).sum(),
        events: events.len(),
        reported_pairs: reported.len(),
        correct_pairs: correct,
        true_pairs,
        found_pairs: found.len(),
        precision: ratio(correct, reported.len()),
        recall: ratio(found.len(), true_pairs),
        f1: f1(
            ratio(correct, reported.len()),
            ratio(found.len(), true_pairs),
        ),
        rank1_correct,
        rank1_eligible,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use spanreid_hub::events::{RankedCandidate, SignatureRef};

    fn sig(camera: &str, sequence: u64) -> SignatureRef {
        SignatureRef {
            id: 0,
            site: "demo".into(),
            camera: camera.into(),
            track_id: 0,
            sequence,
            capture_time_us: 0,
        }
    }

    /// An event for `query` with `candidates` in rank order.
    pub(crate) fn event(query: (&str, u64), candidates: &[(&str, u64)]) -> MatchEvent {
        let candidates = candidates
            .iter()
            .enumerate()
            .map(|(i, (c, s))| RankedCandidate {
                confidence: None,
                rank: i as u32 + 1,
                distance: 0.1,
                signature: sig(c, *s),
                replaces: None,
            })
            .collect();
        MatchEvent::new(sig(query.0, query.1), &[0; 16], candidates)
    }

    /// Identities 1 at c1, c2, c3 and 2 at c1, c2, c3 in the ground truth.
    pub(crate) fn seen() -> Sightings {
        let cams: BTreeSet<String> = ["c1", "c2", "c3"].map(String::from).into();
        [(1, cams.clone()), (2, cams)].into()
    }

    /// Identity 1 at c1/1, c2/1, c3/1; identity 2 at c1/2, c2/2 (its c3 passage not signed);
    /// c3/`stray` on no vehicle.
    pub(crate) fn two_vehicles(stray: u64) -> BTreeMap<PassageKey, Option<u32>> {
        [
            (("c1".into(), 1), Some(1)),
            (("c2".into(), 1), Some(1)),
            (("c3".into(), 1), Some(1)),
            (("c1".into(), 2), Some(2)),
            (("c2".into(), 2), Some(2)),
            (("c3".into(), stray), None),
        ]
        .into()
    }

    #[test]
    fn pairs_are_counted_once_and_scored_by_identity() {
        let labels = two_vehicles(2);
        let events = vec![
            event(("c2", 1), &[("c1", 1)]),            // correct
            event(("c2", 2), &[("c1", 1), ("c1", 2)]), // wrong first, then correct
            event(("c3", 1), &[("c2", 1), ("c1", 2)]), // correct, wrong
            event(("c1", 1), &[("c2", 1)]),            // the c1/1–c2/1 pair again
            event(("c3", 2), &[("c1", 2)]),            // unlabelled query: wrong
        ];
        let s = score(&labels, &seen(), &events);
        assert_eq!(s.true_pairs, 6, "three camera pairs of each vehicle");
        assert_eq!(s.reported_pairs, 6);
        assert_eq!(s.correct_pairs, 3);
        assert_eq!(s.found_pairs, 3, "1: c1–c2, c2–c3; 2: c1–c2");
        assert_eq!(s.ground_truth_passages, 6);
        assert!((s.precision - 0.5).abs() < 1e-12);
        assert!((s.recall - 0.5).abs() < 1e-12);
        assert!((s.f1 - 0.5).abs() < 1e-12);
        assert_eq!((s.rank1_correct, s.rank1_eligible), (3, 4));
        assert_eq!((s.passages, s.labelled), (6, 5));
    }

    #[test]
    fn a_withdrawn_pair_no_longer_counts() {
        let labels = two_vehicles(2);
        let mut taking_over = event(("c2", 1), &[("c1", 1)]);
        taking_over.candidates[0].replaces = Some(sig("c2", 2));
        let events = vec![
            event(("c2", 2), &[("c1", 1)]), // wrong, provisional
            taking_over,                    // right, withdraws c2/2–c1/1
        ];
        let s = score(&labels, &seen(), &events);
        assert_eq!(
            (s.reported_pairs, s.correct_pairs, s.found_pairs),
            (1, 1, 1)
        );
        assert!((s.precision - 1.0).abs() < 1e-12);
        assert_eq!(standing_pairs(&events).len(), 1);
    }

    #[test]
    fn no_events_give_zero_precision_and_recall_without_dividing_by_zero() {
        let s = score(&BTreeMap::new(), &Sightings::new(), &[]);
        assert_eq!((s.precision, s.recall), (0.0, 0.0));
    }
}
