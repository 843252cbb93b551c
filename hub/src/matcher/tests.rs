use super::*;
use crate::index::{ExactIndex, Int8Index, WindowIndex};
use crate::synthetic::{IdentityBank, Sighting};

const DIM: usize = 64;

fn sig(bank: &IdentityBank, identity: usize, camera: &str, t_s: u64, seed: u64) -> Signature {
    let s = Sighting {
        identity,
        site: "s",
        camera,
        capture_time_us: t_s * 1_000_000,
        sequence: seed,
        noise: 0.3,
    };
    bank.signature([3; 16], &s, seed)
}

fn link(from: &str, to: &str, min_s: f64, max_s: f64) -> LinkConfig {
    LinkConfig {
        from: from.into(),
        to: to.into(),
        min_s,
        max_s,
    }
}

#[test]
fn a_passage_that_loses_its_pair_finds_its_own_vehicle_on_a_second_search() {
    let bank = IdentityBank::new(4, DIM, 3);
    let mut m = Matcher::new(Int8Index::new([3; 16], DIM), &[], 3, 1e6)
        .unwrap()
        .one_to_one(true);
    m.insert(1, &sig(&bank, 0, "a", 0, 1));
    // b/2 (vehicle 1) takes a/1 (vehicle 0): nothing else at camera a yet
    let b2 = sig(&bank, 1, "b", 0, 2);
    let hits = m.candidates_batch(&[(2, &b2)]);
    assert_eq!(hits[0][0].id, 1);
    m.settle();
    m.insert(2, &b2);
    m.insert(3, &sig(&bank, 1, "a", 0, 3)); // vehicle 1 at camera a, stored unmatched
    // b/4 is vehicle 0: nearer to a/1, it takes it over from b/2
    let b4 = sig(&bank, 0, "b", 0, 4);
    let hits = m.candidates_batch(&[(4, &b4)]);
    assert_eq!((hits[0][0].id, hits[0][0].replaces), (1, Some(2)));
    m.settle();
    m.insert(4, &b4);
    let displaced = m.take_displaced();
    assert_eq!(displaced.len(), 1);
    assert_eq!(displaced[0].0, 2);
    // b/2 searched again at camera a: a/1 is held by a nearer pair, a/3 is free
    let again = m.rematch(&[(2, &b2, displaced[0].1)]);
    assert_eq!(again[0].len(), 1);
    assert_eq!((again[0][0].id, again[0][0].replaces), (3, None));
    m.settle();
    assert!(m.take_displaced().is_empty());
}

#[test]
fn finds_the_same_identity_on_other_cameras_only() {
    let bank = IdentityBank::new(20, DIM, 1);
    let mut m = Matcher::new(Int8Index::new([3; 16], DIM), &[], 3, 0.9).unwrap();
    for id in 0..20 {
        m.insert(id as i64, &sig(&bank, id, "a", 0, id as u64));
        m.insert(100 + id as i64, &sig(&bank, id, "b", 0, 100 + id as u64));
    }
    let hits = m.candidates(&sig(&bank, 4, "a", 0, 999));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].id, 104);
    let hits = m.candidates(&sig(&bank, 4, "c", 0, 998));
    let ids: Vec<i64> = hits.iter().map(|c| c.id).collect();
    assert!(ids == vec![4, 104] || ids == vec![104, 4], "{ids:?}");
    m.remove(&[104]);
    assert_eq!(m.len(), 39);
    assert_eq!(m.candidates(&sig(&bank, 4, "a", 0, 997)), Vec::new());
}

#[test]
fn camera_graph_gates_by_link_and_travel_time() {
    camera_graph_gates(Int8Index::new([3; 16], DIM));
    camera_graph_gates(WindowIndex::new([3; 16], DIM));
}

fn camera_graph_gates<I: GalleryIndex>(index: I) {
    let bank = IdentityBank::new(2, DIM, 2);
    let links = [link("s/a", "s/b", 10.0, 60.0)];
    let mut m = Matcher::new(index, &links, 5, 0.9).unwrap();
    m.insert(1, &sig(&bank, 0, "a", 1000, 1));
    m.insert(2, &sig(&bank, 0, "c", 1030, 2)); // no link a–c or b–c
    let mut at = |t| m_ids(&mut m, &sig(&bank, 0, "b", t, 9));
    assert_eq!(at(1005), Vec::<i64>::new()); // 5 s: faster than possible
    assert_eq!(at(1030), vec![1]);
    assert_eq!(at(1060), vec![1]);
    assert_eq!(at(1061), Vec::<i64>::new());
    assert_eq!(at(970), vec![1]); // the other direction, reported late
}

#[test]
fn one_per_camera_gives_each_other_camera_its_nearest_only() {
    let bank = IdentityBank::new(3, DIM, 4);
    let mut m = Matcher::new(Int8Index::new([3; 16], DIM), &[], 5, f32::INFINITY).unwrap();
    // Vehicle 0 twice at b (a second, noisier passage), once at c; vehicle 1 at b.
    m.insert(1, &sig(&bank, 0, "b", 0, 1));
    m.insert(2, &sig(&bank, 0, "b", 0, 2));
    m.insert(3, &sig(&bank, 0, "c", 0, 3));
    m.insert(4, &sig(&bank, 1, "b", 0, 4));
    let query = sig(&bank, 0, "a", 0, 9);
    let all = m_ids(&mut m, &query);
    assert_eq!(all.len(), 4, "without the option, everything within reach");
    let mut m = m.one_per_camera(true);
    let hits = m.candidates(&query);
    let ids: Vec<i64> = hits.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 2, "one from b, one from c: {ids:?}");
    assert!(ids.contains(&3));
    assert!(
        ids[0] != 4 && ids[1] != 4,
        "b's nearest is vehicle 0: {ids:?}"
    );
    assert!(hits[0].distance <= hits[1].distance);
    // The same within one batch: the earlier signatures of the batch count as gallery.
    let mut fresh = Matcher::new(Int8Index::new([3; 16], DIM), &[], 5, f32::INFINITY)
        .unwrap()
        .one_per_camera(true);
    let (s1, s2, s3) = (
        sig(&bank, 0, "b", 0, 1),
        sig(&bank, 0, "b", 0, 2),
        query.clone(),
    );
    let got = fresh.candidates_batch(&[(1, &s1), (2, &s2), (9, &s3)]);
    assert_eq!(got[2].len(), 1, "{:?}", got[2]);
    assert!(got[1].is_empty(), "same camera as its only predecessor");
}

fn m_ids<I: GalleryIndex>(m: &mut Matcher<I>, s: &Signature) -> Vec<i64> {
    m.candidates(s).into_iter().map(|c| c.id).collect()
}

#[test]
fn int8_index_agrees_with_the_exact_f32_reference() {
    let bank = IdentityBank::new(50, DIM, 3);
    let mut exact = Matcher::new(ExactIndex::default(), &[], 10, f32::INFINITY).unwrap();
    let mut int8 = Matcher::new(Int8Index::new([3; 16], DIM), &[], 10, f32::INFINITY).unwrap();
    for id in 0..50 {
        let s = sig(&bank, id, ["a", "b"][id % 2], 0, id as u64);
        exact.insert(id as i64, &s);
        int8.insert(id as i64, &s);
    }
    for q in 0..5 {
        let query = sig(&bank, q * 3, "q", 0, 500 + q as u64);
        let (e, i) = (exact.candidates(&query), int8.candidates(&query));
        assert_eq!(e.len(), i.len());
        assert_eq!(e[0].id, i[0].id);
        for (a, b) in e.iter().zip(&i) {
            // Both work on the same int8 values; only the arithmetic differs.
            assert!((a.distance - b.distance).abs() < 1e-3, "{a:?} vs {b:?}");
        }
    }
    for id in [0, 17, 49, 23] {
        exact.remove(&[id]);
        int8.remove(&[id]);
    }
    assert_eq!(exact.index().ids(), int8.index().ids());
    let query = sig(&bank, 17, "q", 0, 777);
    let ids = |c: Vec<Candidate>| c.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(ids(exact.candidates(&query)), ids(int8.candidates(&query)));
}

/// A ring of six cameras, each linked to the next two with 30–90 s windows; vehicles
/// drive round it. Passages of 40 vehicles, in capture-time order, matched in batches.
fn ring_city(bank: &IdentityBank) -> (Vec<LinkConfig>, Vec<(i64, Signature)>) {
    let cams = ["c0", "c1", "c2", "c3", "c4", "c5"];
    let mut links = Vec::new();
    for i in 0..cams.len() {
        for step in [1, 2] {
            let j = (i + step) % cams.len();
            links.push(link(
                &format!("s/{}", cams[i]),
                &format!("s/{}", cams[j]),
                30.0,
                90.0,
            ));
        }
    }
    let mut passages = Vec::new();
    for v in 0..40usize {
        let mut t = 1_000 + (v as u64 * 37) % 400;
        let mut cam = v % cams.len();
        for hop in 0..4 {
            let seed = (v * 10 + hop) as u64;
            passages.push((t, sig(bank, v, cams[cam], t, seed)));
            t += 40 + (seed * 13) % 45;
            cam = (cam + 1 + hop % 2) % cams.len();
        }
    }
    passages.sort_by_key(|p| p.0);
    let passages = passages
        .into_iter()
        .enumerate()
        .map(|(i, (_, s))| (i as i64 + 1, s))
        .collect();
    (links, passages)
}

#[test]
fn the_windowed_index_finds_what_the_full_scan_finds() {
    let bank = IdentityBank::new(40, DIM, 8);
    let (links, passages) = ring_city(&bank);
    for one_to_one in [false, true] {
        let mut full = Matcher::new(Int8Index::new([3; 16], DIM), &links, 3, 1e6)
            .unwrap()
            .one_to_one(one_to_one);
        let mut windowed = Matcher::new(WindowIndex::new([3; 16], DIM), &links, 3, 1e6)
            .unwrap()
            .one_to_one(one_to_one);
        let mut found = 0;
        for batch in passages.chunks(7) {
            let batch: Vec<(i64, &Signature)> = batch.iter().map(|(id, s)| (*id, s)).collect();
            let (a, b) = (
                full.candidates_batch(&batch),
                windowed.candidates_batch(&batch),
            );
            assert_eq!(a, b, "one_to_one {one_to_one}");
            found += a.iter().filter(|c| !c.is_empty()).count();
            full.settle();
            windowed.settle();
            for (id, s) in &batch {
                full.insert(*id, s);
                windowed.insert(*id, s);
            }
            // Removal swaps rows inside the windowed index: keep checking after it.
            if batch[0].0 % 3 == 1 {
                full.remove(&[batch[0].0 - 2]);
                windowed.remove(&[batch[0].0 - 2]);
            }
        }
        assert!(
            found > 60,
            "the city must produce matches to compare: {found}"
        );
        assert_eq!(full.index().ids(), windowed.index().ids());
    }
}

#[test]
fn entries_beyond_every_link_leave_the_windowed_index_only() {
    let bank = IdentityBank::new(40, DIM, 8);
    let (links, passages) = ring_city(&bank);
    let mut m = Matcher::new(WindowIndex::new([3; 16], DIM), &links, 3, 1e6).unwrap();
    for (id, s) in &passages {
        m.insert(*id, s);
    }
    let oldest_query_us = 1_200 * 1_000_000;
    let before = passages
        .iter()
        .filter(|(_, s)| s.capture_time_us < oldest_query_us - 90 * 1_000_000)
        .count();
    assert!(before > 0);
    assert_eq!(m.forget_unreachable(oldest_query_us), before);
    assert_eq!(m.len(), passages.len() - before);
    // Without a graph nothing is unreachable.
    let mut open = Matcher::new(WindowIndex::new([3; 16], DIM), &[], 3, 1e6).unwrap();
    open.insert(1, &passages[0].1);
    assert_eq!(open.forget_unreachable(u64::MAX), 0);
}
