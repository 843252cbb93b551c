use super::*;
use crate::synthetic::{IdentityBank, Sighting};
use spanreid::signature::CameraKey;
use spanreid::signature::wire::encode_to_vec;

fn sig(camera: &str, sequence: u64, t: u64) -> (Signature, Vec<u8>) {
    let bank = IdentityBank::new(3, 8, 5);
    let s = Sighting {
        identity: sequence as usize,
        site: "s",
        camera,
        capture_time_us: t,
        sequence,
        noise: 0.2,
    };
    let sig = bank.signature([1; 16], &s, sequence);
    let bytes = encode_to_vec(&sig, &CameraKey::from_bytes([7; 32])).unwrap();
    (sig, bytes)
}

fn new_batch(items: &[(Signature, Vec<u8>)]) -> Vec<NewSignature<'_>> {
    items
        .iter()
        .map(|(s, p)| NewSignature {
            signature: s,
            payload: p,
            received_us: 1,
        })
        .collect()
}

fn insert(store: &mut SqliteStore, items: &[(Signature, Vec<u8>)]) -> Vec<InsertOutcome> {
    store
        .insert_batch(&new_batch(items), &[("bad_tag", 2)], &mut |_| Vec::new())
        .unwrap()
}

#[test]
fn stores_reloads_and_tells_duplicates_from_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite");
    let a = sig("c1", 1, 100);
    let b = sig("c2", 1, 200);
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let out = insert(&mut store, &[a.clone(), b.clone()]);
        assert_eq!(
            out,
            vec![InsertOutcome::Inserted(1), InsertOutcome::Inserted(2)]
        );
        // Same bytes again: a redelivery. Same camera and sequence, other bytes: a replay.
        let other = (a.0.clone(), sig("c1", 2, 100).1);
        let out = insert(&mut store, &[a.clone(), other]);
        assert_eq!(
            out,
            vec![InsertOutcome::Duplicate(1), InsertOutcome::Replay]
        );
    }
    let store = SqliteStore::open(&path).unwrap();
    let all = store.load_all().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].signature, a.0);
    assert_eq!(all[1].signature, b.0);
    assert_eq!(store.get(2).unwrap().unwrap().signature, b.0);
    assert_eq!(store.get(3).unwrap(), None);
    let stats = store.stats().unwrap();
    assert_eq!(stats.signatures, 2);
    assert_eq!(stats.capture_range_us, Some((100, 200)));
    let counter = |n: &str| stats.counters.iter().find(|c| c.0 == n).map(|c| c.1);
    assert_eq!(counter("accepted"), Some(2));
    assert_eq!(counter("duplicate"), Some(1));
    assert_eq!(counter("replay"), Some(1));
    assert_eq!(counter("bad_tag"), Some(4));
}

#[test]
fn a_damaged_row_is_skipped_on_load_and_kept_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite");
    let (a, b) = (sig("c1", 1, 100), sig("c2", 1, 200));
    insert(&mut SqliteStore::open(&path).unwrap(), &[a, b.clone()]);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE signatures SET payload = x'00ff' WHERE id = 1", [])
        .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let all = store.load_all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].signature, b.0);
    assert_eq!(
        store.stats().unwrap().signatures,
        2,
        "the damaged row is kept"
    );
}

#[test]
fn evicts_by_age_then_capacity_and_rejects_evicted_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let items: Vec<_> = (1..=5).map(|i| sig("c1", i, i * 10)).collect();
    insert(&mut store, &items);
    store
        .insert_matches(&[MatchRecord {
            query_id: 2,
            candidate_id: 1,
            rank: 1,
            distance: 0.5,
        }])
        .unwrap();
    // Age: captured before 25 → ids 1, 2. Capacity 2 of the remaining 3 → id 3.
    let mut evicted = store.evict(25, 2).unwrap();
    evicted.sort();
    assert_eq!(evicted, vec![1, 2, 3]);
    assert_eq!(store.stats().unwrap().matches, 0);
    assert_eq!(
        store
            .load_all()
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![4, 5]
    );
    drop(store);
    // The mark survives a restart: sequence 3 (evicted) and below are replays.
    let mut store = SqliteStore::open(&path).unwrap();
    let out = insert(
        &mut store,
        &[sig("c1", 2, 20), sig("c1", 6, 60), sig("c2", 1, 60)],
    );
    assert_eq!(
        out,
        vec![
            InsertOutcome::Replay,
            InsertOutcome::Inserted(6),
            InsertOutcome::Inserted(7)
        ]
    );
    assert_eq!(store.evict(0, 100).unwrap(), Vec::<i64>::new());
}

#[test]
fn matches_round_trip_by_rank() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("g.sqlite")).unwrap();
    let recs = [
        MatchRecord {
            query_id: 9,
            candidate_id: 4,
            rank: 2,
            distance: 0.75,
        },
        MatchRecord {
            query_id: 9,
            candidate_id: 3,
            rank: 1,
            distance: 0.5,
        },
    ];
    store.insert_matches(&recs).unwrap();
    assert_eq!(store.matches_of(9).unwrap(), vec![recs[1], recs[0]]);
    assert!(store.matches_of(8).unwrap().is_empty());
}

#[test]
fn signatures_and_their_matches_commit_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite");
    let (a, b) = (sig("c1", 1, 100), sig("c2", 1, 200));
    let items = [a, b];
    let new = new_batch(&items);
    // The records are computed from the ids the transaction assigns.
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let outcomes = store
            .insert_batch(&new, &[], &mut |outcomes: &[InsertOutcome]| {
                let ids: Vec<i64> = outcomes
                    .iter()
                    .filter_map(|o| match o {
                        InsertOutcome::Inserted(id) => Some(*id),
                        _ => None,
                    })
                    .collect();
                vec![MatchRecord {
                    query_id: ids[1],
                    candidate_id: ids[0],
                    rank: 1,
                    distance: 0.25,
                }]
            })
            .unwrap();
        assert_eq!(outcomes.len(), 2);
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.count().unwrap(), 2);
    assert_eq!(store.matches_of(2).unwrap()[0].candidate_id, 1);

    // A failure while the matches are computed (a crash between the two steps) leaves
    // neither the signatures nor any match behind.
    let items = [sig("c3", 1, 300)];
    let new = new_batch(&items);
    let mut store = SqliteStore::open(&path).unwrap();
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.insert_batch(&new, &[], &mut |_| panic!("crash while matching"))
    }));
    assert!(crashed.is_err());
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.count().unwrap(), 2);
    assert!(store.matches_of(3).unwrap().is_empty());
}

#[test]
fn thumbnails_stay_under_their_byte_cap_and_leave_with_their_passage() {
    use crate::store::browse::Browse;
    use crate::thumbnails::NewThumbnail;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sqlite");
    let mut store = SqliteStore::open(&path).unwrap();
    let items: Vec<_> = (1..=3).map(|s| sig("c1", s, 100 * s)).collect();
    insert(&mut store, &items);
    fn t(sequence: u64, jpeg: &[u8]) -> NewThumbnail<'_> {
        NewThumbnail {
            site: "s",
            camera: "c1",
            sequence,
            jpeg,
        }
    }
    let (j1, j2, j3) = (&[1u8; 100][..], &[2u8; 100][..], &[3u8; 100][..]);
    let counts = store
        .insert_thumbnails(
            &[t(1, j1), t(2, j2), t(9, j1)],
            &[("thumbnail_bad_tag", 1)],
            5,
            250,
        )
        .unwrap();
    assert_eq!(
        (
            counts.stored,
            counts.without_passage,
            counts.rejected,
            counts.evicted
        ),
        (2, 1, 1, 0)
    );
    // A third one goes over 250 bytes: the oldest passage's thumbnail leaves.
    let counts = store.insert_thumbnails(&[t(3, j3)], &[], 6, 250).unwrap();
    assert_eq!(counts.evicted, 1);
    let reader = SqliteReader::open(&path).unwrap();
    assert_eq!(reader.thumbnail(1).unwrap(), None);
    assert_eq!(reader.thumbnail(2).unwrap().as_deref(), Some(j2));
    assert_eq!(reader.thumbnail(3).unwrap().as_deref(), Some(j3));
    // Evicting passage 2 takes its thumbnail.
    store.evict(201, usize::MAX).unwrap();
    assert_eq!(reader.thumbnail(2).unwrap(), None);
    let stats = store.stats().unwrap();
    let counter = |n: &str| stats.counters.iter().find(|c| c.0 == n).map_or(0, |c| c.1);
    assert_eq!(
        [
            counter("thumbnail_stored"),
            counter("thumbnail_without_passage"),
            counter("thumbnail_evicted")
        ],
        [3, 1, 1]
    );
}
