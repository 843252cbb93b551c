use super::*;
use crate::config::{CameraConfig, HubConfig};
use crate::store::SqliteStore;
use crate::synthetic::{IdentityBank, Sighting};
use spanreid::signature::CameraKey;
use spanreid::signature::wire::encode_to_vec;

const NOW: u64 = 1_800_000_000_000_000;
const DIM: usize = 32;

fn settings(db: &std::path::Path) -> Settings {
    let mut cfg = HubConfig {
        db: db.to_owned(),
        ..HubConfig::default()
    };
    cfg.model.dim = DIM;
    cfg.gallery.max_signatures = 4;
    cfg.gallery.retention_s = 3600;
    cfg.matching.max_distance = Some(0.9);
    for cam in ["a", "b"] {
        let key = if cam == "a" { "aa" } else { "bb" }.repeat(32);
        cfg.cameras.push(CameraConfig {
            site: "s".into(),
            camera: cam.into(),
            key: key.into(),
        });
    }
    cfg.validate().unwrap()
}

fn message(bank: &IdentityBank, identity: usize, cam: &str, seq: u64, t: u64) -> Message {
    let s = Sighting {
        identity,
        site: "s",
        camera: cam,
        capture_time_us: t,
        sequence: seq,
        noise: 0.3,
    };
    let key = CameraKey::from_hex(&if cam == "a" { "aa" } else { "bb" }.repeat(32)).unwrap();
    Message {
        topic: format!("spanreid/v1/s/{cam}/signature"),
        payload: encode_to_vec(
            &bank.signature([0; 16], &s, seq << 4 | identity as u64),
            &key,
        )
        .unwrap(),
    }
}

#[test]
fn one_to_one_pairs_are_taken_over_by_nearer_queries_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&dir.path().join("h.sqlite"));
    settings.config.matching.one_to_one = true;
    settings.config.matching.max_distance = Some(1e6);
    settings.max_distance = 1e6;
    settings.config.gallery.max_signatures = 100;
    let bank = IdentityBank::new(5, DIM, 8);
    let open = |s: &Settings| {
        let store = SqliteStore::open(&s.config.db).unwrap();
        Hub::open(s, store, crate::new_index(s)).unwrap()
    };
    let mut hub = open(&settings);
    // a/1 is vehicle 0; b/1 (vehicle 1) takes it for lack of anything else
    let r = hub
        .process(
            &[
                message(&bank, 0, "a", 1, NOW),
                message(&bank, 1, "b", 1, NOW + 1),
            ],
            NOW,
        )
        .unwrap();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].candidates[0].replaces, None);
    // b/2 is vehicle 0 itself: nearer, it takes a/1 over and says whose pair ends
    let r = hub
        .process(&[message(&bank, 0, "b", 2, NOW + 2)], NOW)
        .unwrap();
    let c = &r.events[0].candidates[0];
    assert_eq!(
        (c.signature.camera.as_str(), c.signature.sequence),
        ("a", 1)
    );
    assert_eq!(c.replaces.as_ref().map(|s| s.sequence), Some(1));
    drop(hub);
    // After a restart the pairs are replayed from the store: b/3 (vehicle 2) is
    // farther from a/1 than b/2 is, so a/1 stays taken and b/3 gets no pair.
    let mut hub = open(&settings);
    let r = hub
        .process(&[message(&bank, 2, "b", 3, NOW + 3)], NOW)
        .unwrap();
    assert!(r.events.is_empty(), "{:?}", r.events);
    // Without one-to-one the same query would have been given a/1.
    settings.config.matching.one_to_one = false;
    let mut hub = open(&settings);
    let r = hub
        .process(&[message(&bank, 2, "b", 4, NOW + 4)], NOW)
        .unwrap();
    assert_eq!(r.events.len(), 1);
}

#[test]
fn batch_stores_matches_and_enforces_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(&dir.path().join("h.sqlite"));
    let store = SqliteStore::open(&settings.config.db).unwrap();
    let mut hub = Hub::open(&settings, store, crate::new_index(&settings)).unwrap();
    let bank = IdentityBank::new(5, DIM, 8);
    let batch: Vec<Message> = (0..3)
        .flat_map(|id| {
            [
                message(&bank, id, "a", id as u64 + 1, NOW),
                message(&bank, id, "b", id as u64 + 1, NOW + 1),
            ]
        })
        .chain([Message {
            topic: "x".into(),
            payload: vec![1],
        }])
        .collect();
    let r = hub.process(&batch, NOW).unwrap();
    assert_eq!(r.outcomes.len(), 7);
    assert!(matches!(
        r.outcomes[6],
        Outcome::Rejected(Reject::BadTopic(_))
    ));
    // Each b sighting matches its a sighting, stored just before it in the same batch.
    assert_eq!(r.events.len(), 3);
    for (n, e) in r.events.iter().enumerate() {
        assert_eq!(e.query.camera, "b");
        assert_eq!(e.candidates.len(), 1);
        assert_eq!(e.candidates[0].signature.sequence, n as u64 + 1);
        assert_eq!(e.candidates[0].signature.camera, "a");
    }
    // Capacity 4 of 6: the two oldest (first captured) are gone from store and index.
    assert_eq!(r.evicted, vec![1, 3]);
    assert_eq!(hub.matcher().index().ids(), vec![2, 4, 5, 6]);
    assert_eq!(hub.store().stats().unwrap().signatures, 4);
    // Past the retention everything goes on the next pass.
    let later = NOW + 3_700_000_000;
    let r = hub
        .process(&[message(&bank, 4, "a", 10, later)], later)
        .unwrap();
    assert_eq!(r.evicted, vec![2, 4, 5, 6]);
    assert_eq!(hub.matcher().index().ids(), vec![7]);
}

#[test]
fn with_a_camera_graph_old_passages_leave_the_index_but_not_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(&dir.path().join("h.sqlite"));
    settings.config.gallery.max_signatures = 100;
    settings.config.ingest.max_age_s = 600;
    settings.config.links.push(crate::config::LinkConfig {
        from: "s/a".into(),
        to: "s/b".into(),
        min_s: 10.0,
        max_s: 60.0,
    });
    let store = SqliteStore::open(&settings.config.db).unwrap();
    let mut hub = Hub::open(&settings, store, crate::new_index(&settings)).unwrap();
    let bank = IdentityBank::new(3, DIM, 9);
    let s = 1_000_000;
    hub.process(&[message(&bank, 0, "a", 1, NOW)], NOW).unwrap();
    // 30 s later at b: linked, inside the window.
    let r = hub
        .process(&[message(&bank, 0, "b", 1, NOW + 30 * s)], NOW + 30 * s)
        .unwrap();
    assert_eq!(r.events.len(), 1);
    assert_eq!(hub.matcher().len(), 2);
    // 600 s (the replay window) + 60 s (the longest link) later, a/1 is unreachable.
    let later = NOW + 30 * s + 661 * s;
    hub.process(&[message(&bank, 1, "a", 2, later)], later)
        .unwrap();
    assert_eq!(hub.matcher().len(), 1, "only the new passage is searchable");
    assert_eq!(hub.store().count().unwrap(), 3, "nothing stored is lost");
}
