//! The hub against a real mosquitto on loopback: matches follow identities, bad payloads
//! are rejected and counted without losing stored ones, the gallery is rebuilt from the
//! database on restart, and a killed hub loses no acknowledged signature.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use spanreid::signature::MAX_ENCODED_LEN;
use spanreid_hub::event_key::EventSigner;
use spanreid_hub::events::{MATCH_TOPIC, MatchEvent, SignatureRef};
use spanreid_hub::store::{SqliteStore, Store};
use spanreid_hub::synthetic::IdentityBank;
use spanreid_hub::{GalleryIndex, Hub};

#[test]
fn published_signatures_produce_the_identity_matches() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-matches");
    let hub = RunningHub::start(&settings);
    let listener = MatchListener::start(&settings);
    wait_for(&settings.config.db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(300));
    // Events anyone else publishes on the match topic: unsigned, and signed by another key.
    // The listener (verifying with the hub's key) must pass on none of them.
    let forger = EventSigner::load_or_create(&dir.path().join("forger.key")).unwrap();
    let fake = |camera: &str| {
        let q = SignatureRef {
            id: 1,
            site: SITE.into(),
            camera: camera.into(),
            track_id: 1,
            sequence: 999,
            capture_time_us: now_us(),
        };
        MatchEvent::new(q, &[0x5a; 16], vec![])
    };
    publish(
        broker.port,
        vec![
            (MATCH_TOPIC.into(), fake("c1").to_json().unwrap()),
            (MATCH_TOPIC.into(), forger.sign(&fake("c2")).unwrap()),
        ],
    );

    let identities = 12;
    let bank = IdentityBank::new(identities, DIM, 3);
    let now = now_us();
    // Each identity passes c1, then c2, then c3; the camera's sequence counts passages.
    let mut messages = Vec::new();
    let mut identity_of = HashMap::new();
    for (cam, cam_name) in CAMERAS.iter().enumerate() {
        for id in 0..identities {
            let sig = sighting(
                &bank,
                &settings,
                id,
                cam,
                id as u64 + 1,
                now - 1000 + cam as u64,
            );
            identity_of.insert(((*cam_name).to_owned(), sig.sequence), id);
            messages.push(signed(&sig, cam));
        }
    }
    publish(broker.port, messages);
    let expected_events = identities * (CAMERAS.len() - 1);
    let stats = wait_for(&settings.config.db, "all stored", |s| {
        s.signatures as usize == identities * CAMERAS.len()
    });
    assert_eq!(
        counter(&stats, "accepted") as usize,
        identities * CAMERAS.len()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while listener.events.lock().unwrap().len() < expected_events {
        assert!(Instant::now() < deadline, "match events did not arrive");
        thread::sleep(Duration::from_millis(20));
    }
    hub.stop();

    // Each passage at camera k matches exactly the same vehicle at the k earlier cameras.
    let events = listener.events.lock().unwrap().clone();
    assert_eq!(events.len(), expected_events);
    let mut seen_queries = BTreeSet::new();
    for e in &events {
        assert_eq!(e.schema, "spanreid.match.v1");
        let q = identity_of[&(e.query.camera.clone(), e.query.sequence)];
        let cam_index = CAMERAS.iter().position(|c| *c == e.query.camera).unwrap();
        assert_eq!(e.candidates.len(), cam_index, "query {:?}", e.query);
        for (rank, c) in (1..).zip(&e.candidates) {
            assert_eq!(c.rank, rank);
            assert_ne!(c.signature.camera, e.query.camera);
            assert_eq!(
                identity_of[&(c.signature.camera.clone(), c.signature.sequence)],
                q
            );
            assert!(c.distance <= settings.max_distance);
        }
        assert!(seen_queries.insert(e.query.id));
    }
    // The same matches are in the database.
    let store = SqliteStore::open(&settings.config.db).unwrap();
    for e in &events {
        let stored = store.matches_of(e.query.id).unwrap();
        let ids: Vec<i64> = stored.iter().map(|m| m.candidate_id).collect();
        let published: Vec<i64> = e.candidates.iter().map(|c| c.signature.id).collect();
        assert_eq!(ids, published);
    }
}

#[test]
fn bad_payloads_are_rejected_and_counted_and_nothing_stored_is_lost() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-rejects");
    let hub = RunningHub::start(&settings);
    wait_for(&settings.config.db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(300));

    let bank = IdentityBank::new(4, DIM, 11);
    let now = now_us();
    let good: Vec<_> = (0..4)
        .map(|i| sighting(&bank, &settings, i, 0, i as u64 + 1, now))
        .collect();
    let topic = signed(&good[0], 0).0;
    let mut messages: Vec<(String, Vec<u8>)> = good.iter().map(|s| signed(s, 0)).collect();
    let valid = messages[0].1.clone();
    let mut wrong_key = good[1].clone();
    wrong_key.sequence = 100;
    let mut replay = good[2].clone();
    replay.capture_time_us += 1; // same camera and sequence, different content
    let mut oversized = valid.clone();
    oversized.resize(MAX_ENCODED_LEN + 10, 7);
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"\x01garbage that is not a signature".to_vec()),
        ("unsupported_version", b"definitely not postcard".to_vec()),
        ("empty", Vec::new()),
        ("malformed", valid[..valid.len() / 3].to_vec()),
        ("malformed", valid[..valid.len() - 1].to_vec()),
        ("oversized", oversized),
        ("oversized", {
            let mut big = vec![1u8; 200_000];
            big[0] = 1;
            big
        }),
        (
            "bad_tag",
            spanreid::signature::wire::encode_to_vec(&wrong_key, &key(1)).unwrap(),
        ),
        ("replay", signed(&replay, 0).1),
        ("duplicate", valid.clone()),
    ];
    for (_, payload) in &bad {
        messages.push((topic.clone(), payload.clone()));
    }
    messages.push(("spanreid/v1/s/c2/signature".into(), valid.clone()));
    publish(broker.port, messages.clone());
    let stats = wait_for(&settings.config.db, "every message counted", |s| {
        total_counted(s) as usize == messages.len()
    });
    hub.stop();

    let mut expected: HashMap<&str, u64> = HashMap::new();
    for (reason, _) in &bad {
        *expected.entry(reason).or_default() += 1;
    }
    expected.insert("accepted", 4);
    expected.insert("topic_mismatch", 1);
    for (reason, count) in &expected {
        assert_eq!(counter(&stats, reason), *count, "{reason}: {stats:?}");
    }
    assert_eq!(stats.counters.len(), expected.len(), "{stats:?}");
    let store = SqliteStore::open(&settings.config.db).unwrap();
    let stored: Vec<_> = store
        .load_all()
        .unwrap()
        .into_iter()
        .map(|s| s.signature)
        .collect();
    assert_eq!(stored, good);
}

#[test]
fn restart_rebuilds_the_gallery_from_the_database() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-restart");
    let bank = IdentityBank::new(30, DIM, 5);
    let now = now_us();
    let hub = RunningHub::start(&settings);
    wait_for(&settings.config.db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(300));
    let first: Vec<_> = (0..30)
        .map(|i| sighting(&bank, &settings, i, i % 2, i as u64 + 1, now))
        .collect();
    publish(
        broker.port,
        first
            .iter()
            .enumerate()
            .map(|(i, s)| signed(s, i % 2))
            .collect(),
    );
    wait_for(&settings.config.db, "first batch", |s| s.signatures == 30);
    hub.stop();

    // The rebuilt index holds exactly the stored signatures.
    let store = SqliteStore::open(&settings.config.db).unwrap();
    let stored = store.load_all().unwrap();
    let rebuilt = Hub::open(&settings, store, spanreid_hub::new_index(&settings)).unwrap();
    let ids: Vec<i64> = stored.iter().map(|s| s.id).collect();
    assert_eq!(rebuilt.matcher().index().ids(), ids);
    let sigs: Vec<_> = stored.into_iter().map(|s| s.signature).collect();
    assert_eq!(sigs.len(), first.len());
    for s in &first {
        assert!(sigs.contains(s));
    }
    drop(rebuilt);

    // After a restart, a new sighting matches signatures stored before it.
    let hub = RunningHub::start(&settings);
    thread::sleep(Duration::from_millis(300));
    let later = sighting(&bank, &settings, 7, 2, 1, now + 10);
    publish(broker.port, vec![signed(&later, 2)]);
    let stats = wait_for(&settings.config.db, "match after restart", |s| {
        s.matches > 0
    });
    hub.stop();
    assert_eq!(stats.signatures, 31);
    let store = SqliteStore::open(&settings.config.db).unwrap();
    let new_id = store.load_all().unwrap().last().unwrap().id;
    let candidates = store.matches_of(new_id).unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!(
        store
            .get(candidates[0].candidate_id)
            .unwrap()
            .unwrap()
            .signature,
        first[7]
    );
}

#[test]
fn killed_hub_loses_no_acknowledged_signature() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-killed");
    let config_path = write_config(dir.path(), &settings);
    let spawn = || {
        hub_command(&["run", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = spawn();
    wait_for(&settings.config.db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(500));

    let n = 3000;
    let bank = IdentityBank::new(n, DIM, 13);
    let now = now_us();
    let messages: Vec<_> = (0..n)
        .map(|i| {
            signed(
                &sighting(&bank, &settings, i, i % 3, (i / 3) as u64 + 1, now),
                i % 3,
            )
        })
        .collect();
    let publisher = {
        let port = broker.port;
        thread::spawn(move || publish(port, messages))
    };
    // Kill the hub while it is ingesting.
    wait_for(&settings.config.db, "ingest under way", |s| {
        s.signatures > 200
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = SqliteStore::open(&settings.config.db)
        .unwrap()
        .load_all()
        .unwrap();
    publisher.join().unwrap();

    // The broker kept the unacknowledged messages for the persistent session.
    let mut child = spawn();
    let stats = wait_for(&settings.config.db, "all signatures after restart", |s| {
        s.signatures as usize == n
    });
    thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        at_kill.len() < n,
        "the kill happened before the end of ingest"
    );
    assert_eq!(counter(&stats, "accepted") as usize, n);
    assert_eq!(counter(&stats, "replay"), 0);
    let store = SqliteStore::open(&settings.config.db).unwrap();
    let stored = store.load_all().unwrap();
    for s in &at_kill {
        assert!(
            stored.contains(s),
            "signature {} stored before the kill is gone",
            s.id
        );
    }
    let rebuilt = Hub::open(&settings, store, spanreid_hub::new_index(&settings)).unwrap();
    assert_eq!(
        rebuilt.matcher().index().ids(),
        stored.iter().map(|s| s.id).collect::<Vec<_>>()
    );
}

#[test]
fn one_command_runs_with_the_embedded_broker_and_the_cli_reports() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let settings = settings(dir.path(), port, "hub-embedded");
    let config = write_config(dir.path(), &settings);
    let mut child = hub_command(&["run", "--embedded-broker", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "embedded broker did not listen");
        thread::sleep(Duration::from_millis(20));
    }
    wait_for(&settings.config.db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(500));
    let bank = IdentityBank::new(5, DIM, 21);
    let now = now_us();
    let messages = (0..10)
        .map(|i| {
            signed(
                &sighting(&bank, &settings, i % 5, i / 5, (i % 5) as u64 + 1, now),
                i / 5,
            )
        })
        .collect();
    publish(port, messages);
    let stats = wait_for(&settings.config.db, "stored via embedded broker", |s| {
        s.signatures == 10 && s.matches == 5
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(counter(&stats, "accepted"), 10);

    let db = settings.config.db.to_str().unwrap();
    let out = hub_command(&["stats", "--db", db]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("signatures  10"), "{text}");
    assert!(text.contains("matches     5"), "{text}");
    // Signature 6 is identity 0 at c2: its nearest other-camera signature is identity 0 at c1.
    let out = hub_command(&["query", "--db", db, "--signature", "6", "-k", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().nth(2).unwrap();
    assert!(first.contains("#1 s/c1"), "{text}");
    let out = hub_command(&["query", "--db", db, "--signature", "99"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no signature 99")
    );
}

#[test]
fn the_hub_ingests_over_tls_and_refuses_an_untrusted_broker() {
    let certs = TestCerts::make();
    let broker = Mosquitto::start_tls(&certs);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), broker.port, "hub-tls");
    settings.config.mqtt.tls_ca = Some(certs.ca.clone());
    let hub = RunningHub::start(&settings);
    wait_for(&settings.config.db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(300));

    let bank = IdentityBank::new(2, DIM, 3);
    let now = now_us();
    let messages: Vec<_> = (0..2)
        .map(|cam| signed(&sighting(&bank, &settings, 1, cam, 1, now - 1000), cam))
        .collect();
    // The test publisher connects with the same TLS settings.
    spanreid_hub::bench::load::publish_all(&settings.config.mqtt, "test-pub-tls", messages)
        .unwrap();
    let stats = wait_for(&settings.config.db, "both stored", |s| s.signatures == 2);
    assert_eq!(counter(&stats, "accepted"), 2);
    hub.stop();

    // A CA that did not sign the broker's certificate: the handshake fails, nothing is sent.
    let other = TestCerts::make();
    let mut untrusted = settings.config.mqtt.clone();
    untrusted.tls_ca = Some(other.ca.clone());
    let err = spanreid_hub::bench::load::publish_all(
        &untrusted,
        "test-pub-untrusted",
        vec![("spanreid/v1/s/c1/signature".into(), vec![1])],
    )
    .expect_err("untrusted broker certificate");
    assert!(format!("{err:#}").contains("MQTT"), "{err:#}");
}

#[test]
fn events_key_prints_the_public_key_the_events_are_signed_with() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    let db = dir.path().join("data/hub.sqlite");
    std::fs::write(&config, format!("db = {:?}\n", db.to_str().unwrap())).unwrap();
    let out = hub_command(&["events-key", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    // Made beside the database on first use; the hub signs with the same key.
    let key_file = dir.path().join("data/hub.events-key");
    let signer = EventSigner::load_or_create(&key_file).unwrap();
    assert_eq!(printed.trim(), signer.public().to_hex());
    std::fs::write(&key_file, "short\n").unwrap();
    let out = hub_command(&["events-key", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hub.events-key"), "{stderr}");
}
