//! Property tests: the one-pass scores against literal reference implementations.

use proptest::prelude::*;

use super::protocol::{Label, Relevance, relevance};
use super::report::{EvalConfig, Evaluator};

/// The official VeRi-776 loop, literally: ngood known up front, junk skipped with a counter.
fn veri_reference(query: Label, ranked: &[Label]) -> Option<f64> {
    let ngood = ranked
        .iter()
        .filter(|&&g| relevance(query, g) == Relevance::Hit)
        .count();
    if ngood == 0 {
        return None;
    }
    let (mut ap, mut old_recall, mut old_precision) = (0.0, 0.0, 1.0);
    let (mut intersect, mut junk, mut found) = (0usize, 0usize, 0usize);
    for (i, &g) in ranked.iter().enumerate() {
        let n = i + 1;
        match relevance(query, g) {
            Relevance::Junk => {
                junk += 1;
                continue;
            }
            Relevance::Hit => {
                intersect += 1;
                found += 1;
            }
            Relevance::Miss => {}
        }
        let recall = intersect as f64 / ngood as f64;
        let precision = intersect as f64 / (n - junk) as f64;
        ap += (recall - old_recall) * (old_precision + precision) / 2.0;
        old_recall = recall;
        old_precision = precision;
        if found == ngood {
            break;
        }
    }
    Some(ap)
}

/// Common AP and mINP after explicit junk removal.
fn common_reference(query: Label, ranked: &[Label]) -> Option<(f64, f64)> {
    let kept: Vec<bool> = ranked
        .iter()
        .filter(|&&g| relevance(query, g) != Relevance::Junk)
        .map(|&g| relevance(query, g) == Relevance::Hit)
        .collect();
    let hit_ranks: Vec<usize> = (0..kept.len())
        .filter(|&i| kept[i])
        .map(|i| i + 1)
        .collect();
    let last = *hit_ranks.last()?;
    let ap = hit_ranks
        .iter()
        .enumerate()
        .map(|(k, &r)| (k + 1) as f64 / r as f64)
        .sum::<f64>()
        / hit_ranks.len() as f64;
    Some((ap, hit_ranks.len() as f64 / last as f64))
}

fn labels() -> impl Strategy<Value = Vec<Label>> {
    prop::collection::vec(
        (0u32..4, 0u32..3).prop_map(|(i, c)| Label::new(i, c)),
        0..40,
    )
}

proptest! {
    #[test]
    fn one_pass_matches_references(query in (0u32..4, 0u32..3), gallery in labels()) {
        let query = Label::new(query.0, query.1);
        let mut ev = Evaluator::new(EvalConfig::default());
        let score = ev.add_ranked(query, gallery.iter().copied());
        match (score, veri_reference(query, &gallery), common_reference(query, &gallery)) {
            (Some(s), Some(veri), Some((ap, inp))) => {
                prop_assert!((s.ap_veri_official - veri).abs() < 1e-9);
                prop_assert!((s.ap - ap).abs() < 1e-9);
                prop_assert!((s.inp - inp).abs() < 1e-9);
                prop_assert!(s.ap > 0.0 && s.ap <= 1.0 + 1e-12);
                prop_assert!(s.ap_veri_official > 0.0 && s.ap_veri_official <= 1.0 + 1e-12);
            }
            (None, None, None) => prop_assert_eq!(ev.finish().queries_skipped_no_match, 1),
            other => prop_assert!(false, "disagreement: {:?}", other),
        }
    }

    #[test]
    fn cmc_is_monotone_and_bounded(
        queries in prop::collection::vec(((0u32..4, 0u32..3), labels()), 1..10),
    ) {
        let mut ev = Evaluator::new(EvalConfig { max_rank: 8 });
        for ((i, c), g) in &queries {
            ev.add_ranked(Label::new(*i, *c), g.iter().copied());
        }
        let r = ev.finish();
        prop_assert_eq!(r.queries_scored + r.queries_skipped_no_match, queries.len() as u64);
        let values: Vec<f64> = r.cmc.iter().map(|(_, v)| *v).collect();
        prop_assert!(values.windows(2).all(|w| w[0] <= w[1]));
        prop_assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
        prop_assert!(r.map <= 1.0 + 1e-12 && r.minp <= 1.0 + 1e-12);
    }

    #[test]
    fn distance_order_equals_the_sorted_ranking(
        gallery in labels(),
        seed in any::<u64>(),
    ) {
        // Distinct distances from a permutation, so the expected ranking is unambiguous.
        let n = gallery.len();
        let mut keys: Vec<(u64, usize)> =
            (0..n).map(|i| ((i as u64 + 1).wrapping_mul(seed | 1).rotate_left(17), i)).collect();
        keys.sort();
        let mut distances = vec![0f32; n];
        for (rank, &(_, i)) in keys.iter().enumerate() {
            distances[i] = rank as f32;
        }
        let q = Label::new(1, 1);
        let mut a = Evaluator::new(EvalConfig::default());
        a.add_query(q, &gallery, &distances).unwrap();
        let mut b = Evaluator::new(EvalConfig::default());
        b.add_ranked(q, keys.iter().map(|&(_, i)| gallery[i]));
        prop_assert_eq!(a.finish(), b.finish());
    }
}
