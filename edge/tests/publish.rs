//! Publishing through a real mosquitto, with the broker stopped and restarted mid-stream.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spanreid_edge::metrics::Metrics;
use spanreid_edge::publish::{self, Control, PublishSettings, RunState};
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use spanreid_service::mqtt::MqttConnection;
use spanreid_testkit::{Mosquitto, subscribe, wait_for};

fn settings(port: u16) -> PublishSettings {
    PublishSettings {
        connection: MqttConnection {
            port,
            keep_alive_s: 5,
            ..MqttConnection::default()
        },
        client_id: format!("edge-test-{port}"),
        site: "s1".into(),
        camera: "c001".into(),
        window: 32,
        max_backoff: Duration::from_millis(400),
        status_interval: Duration::from_millis(200),
        receipts: None,
    }
}

fn record(i: u64) -> Vec<u8> {
    let mut p = i.to_le_bytes().to_vec();
    p.extend_from_slice(&[0xab; 600]);
    p
}

fn indices(got: &Mutex<Vec<Vec<u8>>>) -> BTreeSet<u64> {
    got.lock()
        .unwrap()
        .iter()
        .filter(|p| p.len() == 608)
        .map(|p| u64::from_le_bytes(p[..8].try_into().unwrap()))
        .collect()
}

#[test]
fn broker_restart_mid_stream_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start_persistent(dir.path());
    let got = subscribe(broker.port, "spanreid/v1/+/+/signature");
    let status = subscribe(broker.port, "spanreid/v1/s1/c001/status");
    let (q, _) = DiskQueue::open(
        &dir.path().join("queue"),
        QueueSettings {
            capacity: 10_000,
            segment_records: 64,
            ..QueueSettings::default()
        },
    )
    .unwrap();
    let queue = Arc::new(Mutex::new(q));
    for i in 0..300 {
        queue.lock().unwrap().push(&record(i)).unwrap();
    }
    let metrics = Arc::new(Metrics::default());
    let control = Arc::new(Control::default());
    let s = settings(broker.port);
    let publisher = {
        let (queue, metrics, control) = (queue.clone(), metrics.clone(), control.clone());
        std::thread::spawn(move || publish::run(&s, &queue, &metrics, &control))
    };
    wait_for("the first deliveries", Duration::from_secs(20), || {
        indices(&got).len() >= 50
    });
    broker.stop();
    for i in 300..400 {
        queue.lock().unwrap().push(&record(i)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        queue.lock().unwrap().len() >= 100,
        "records written during the outage wait on disk"
    );
    broker.restart();
    control.set(RunState::Drain);
    wait_for("the publisher to drain", Duration::from_secs(30), || {
        publisher.is_finished()
    });
    publisher.join().unwrap().unwrap();
    assert!(queue.lock().unwrap().is_empty());
    // What the publisher guarantees: every record acknowledged by the broker (below) and
    // so delivered at least once. What the broker does with them is its own: now and then
    // (1 in ~17 runs, 2026-12-07, mosquitto 2.0.11) the persistent subscriber misses a run
    // of acknowledged messages around the SIGTERM restart (14 of 400: 208–221) — the
    // reason agents delete on the hub's receipts, not on PUBACKs
    // (`hub/tests/receipts.rs`). The records queued during the outage, published well
    // after the restart, must all arrive.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let after_restart = || {
        (300..400)
            .filter(|i| !indices(&got).contains(i))
            .collect::<Vec<u64>>()
    };
    while !after_restart().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        after_restart(),
        Vec::<u64>::new(),
        "published after the restart, not received"
    );
    let missing: Vec<u64> = (0..300).filter(|i| !indices(&got).contains(i)).collect();
    if !missing.is_empty() {
        eprintln!("the broker lost deliveries across its restart: {missing:?}");
    }
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(metrics.signatures_sent.load(Relaxed), 400);
    assert!(metrics.mqtt_reconnects.load(Relaxed) >= 1);
    let statuses = status.lock().unwrap().clone();
    assert!(
        statuses.iter().any(|s| s.starts_with(b"{\"online\":true")),
        "status messages published"
    );
}

#[test]
fn nothing_is_removed_without_a_broker() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = DiskQueue::open(
        dir.path(),
        QueueSettings {
            capacity: 100,
            segment_records: 64,
            ..QueueSettings::default()
        },
    )
    .unwrap();
    let queue = Arc::new(Mutex::new(q));
    for i in 0..5 {
        queue.lock().unwrap().push(&record(i)).unwrap();
    }
    let metrics = Metrics::default();
    let control = Arc::new(Control::default());
    let c2 = control.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        c2.set(RunState::Stop);
    });
    // nobody listens on this port
    publish::run(
        &settings(spanreid_testkit::free_port()),
        &queue,
        &metrics,
        &control,
    )
    .unwrap();
    stopper.join().unwrap();
    assert_eq!(queue.lock().unwrap().len(), 5);
    assert_eq!(
        metrics
            .signatures_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn thumbnails_go_out_after_the_queued_signatures_and_leave_on_the_broker_ack() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start();
    // One subscription for both topics: the broker keeps the publisher's order.
    let got = subscribe(broker.port, "spanreid/v1/s1/c001/+");
    let open = |name: &str| {
        let (q, _) = DiskQueue::open(&dir.path().join(name), QueueSettings::default()).unwrap();
        Arc::new(Mutex::new(q))
    };
    let (queue, thumbnails) = (open("queue"), open("thumbnails"));
    for i in 0..20 {
        queue.lock().unwrap().push(&record(i)).unwrap();
        thumbnails.lock().unwrap().push(&[0xd8; 40]).unwrap();
    }
    let metrics = Arc::new(Metrics::default());
    let control = Arc::new(Control::default());
    control.set(RunState::Drain);
    let s = settings(broker.port);
    publish::run_with_thumbnails(&s, &queue, Some(&thumbnails), &metrics, &control).unwrap();
    assert!(queue.lock().unwrap().is_empty());
    assert!(thumbnails.lock().unwrap().is_empty(), "deleted on PUBACK");
    let sent = metrics
        .thumbnails_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(sent, 20);
    wait_for("every message", Duration::from_secs(10), || {
        got.lock()
            .unwrap()
            .iter()
            .filter(|p| p.len() != 40 || p[0] != 0xd8)
            .count()
            >= 20
            && got
                .lock()
                .unwrap()
                .iter()
                .filter(|p| p == &&vec![0xd8; 40])
                .count()
                == 20
    });
    let kinds: Vec<bool> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.len() == 608 || p == &&vec![0xd8; 40])
        .map(|p| p.len() == 40)
        .collect();
    let first_thumbnail = kinds.iter().position(|t| *t).unwrap();
    assert_eq!(
        first_thumbnail, 20,
        "every queued signature before any thumbnail: {kinds:?}"
    );
}
