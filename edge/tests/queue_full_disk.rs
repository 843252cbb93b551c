//! The queue on a full disk. Each test runs itself again inside `unshare` (a private user
//! and mount namespace: no privilege needed, nothing left mounted) with a 64 KiB tmpfs on
//! the queue's directory, which it fills with another file.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spanreid_edge::metrics::Metrics;
use spanreid_edge::publish::{self, Control, PublishSettings, RunState};
use spanreid_edge::queue::{DiskQueue, QueueError, QueueSettings};
use spanreid_service::mqtt::MqttConnection;
use spanreid_testkit::{Mosquitto, subscribe, wait_for};

const INSIDE: &str = "SPANREID_TEST_TMPFS";

/// Inside the namespace: the tmpfs. Outside: runs `test` again inside one, asserts it
/// passed, and returns `None`.
fn on_small_tmpfs(test: &str) -> Option<PathBuf> {
    if let Ok(dir) = std::env::var(INSIDE) {
        return Some(PathBuf::from(dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(dir.path())
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INSIDE, dir.path())
        .output()
        .expect("running `unshare` (util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    #[allow(clippy::print_stderr)] // the inner run's report, shown with --nocapture
    {
        eprint!("{text}");
    }
    assert!(out.status.success(), "{test} on a 64 KiB tmpfs:\n{text}");
    assert!(text.contains("1 passed"), "{test} did not run:\n{text}");
    None
}

/// Fills the filesystem of `dir` with `dir/filler` until a write fails.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    while f.write_all(&[0x55; 4096]).is_ok() {}
    let _ = f.sync_all();
    path
}

fn settings() -> QueueSettings {
    QueueSettings {
        capacity: 10_000,
        max_bytes: u64::MAX,
        segment_records: 8,
    }
}

/// A 1 KB record whose first 8 bytes are `i`.
fn record(i: u64) -> Vec<u8> {
    let mut p = i.to_le_bytes().to_vec();
    p.resize(1000, 0xab);
    p
}

fn numbers(q: &DiskQueue) -> Vec<u64> {
    q.peek_after(None, usize::MAX)
        .unwrap()
        .iter()
        .map(|(_, p)| u64::from_le_bytes(p[..8].try_into().unwrap()))
        .collect()
}

#[test]
fn appends_on_a_full_disk_drop_the_oldest_segments_and_go_on() {
    let Some(dir) = on_small_tmpfs("appends_on_a_full_disk_drop_the_oldest_segments_and_go_on")
    else {
        return;
    };
    let queue = dir.join("queue");
    let (mut q, _) = DiskQueue::open(&queue, settings()).unwrap();
    // 200 KB into 64 KiB: no append fails; whole segments of the oldest make room.
    for i in 0..200 {
        q.push(&record(i)).unwrap();
    }
    let c = q.counts();
    eprintln!("200 appends on a full disk: {} kept, {c:?}", q.len());
    assert!(c.dropped_disk_full >= 100, "{c:?}");
    assert_eq!(c.dropped_disk_full % 8, 0, "whole segments: {c:?}");
    assert_eq!(c.lost_disk_full, 0);
    assert_eq!(q.len() as u64 + c.dropped_disk_full, 200);
    let newest: Vec<u64> = (200 - q.len() as u64..200).collect();
    assert_eq!(numbers(&q), newest);
    drop(q);
    let (q, rec) = DiskQueue::open(&queue, settings()).unwrap();
    assert_eq!(rec.pending, newest.len());
    assert_eq!(numbers(&q), newest);
}

#[test]
fn with_nothing_left_to_drop_a_record_is_refused_and_the_queue_recovers() {
    let Some(dir) =
        on_small_tmpfs("with_nothing_left_to_drop_a_record_is_refused_and_the_queue_recovers")
    else {
        return;
    };
    let queue = dir.join("queue");
    let (mut q, _) = DiskQueue::open(&queue, settings()).unwrap();
    let filler = fill(&dir);
    let err = q.push(&record(0)).unwrap_err();
    assert!(matches!(err, QueueError::DiskFull(_)), "{err}");
    assert!(
        err.to_string().contains(&queue.display().to_string()),
        "{err}"
    );
    assert_eq!(q.counts().lost_disk_full, 1);
    std::fs::remove_file(filler).unwrap();
    q.push(&record(1)).unwrap();
    drop(q);
    let (q, rec) = DiskQueue::open(&queue, settings()).unwrap();
    assert_eq!(rec.pending, 1);
    assert_eq!(numbers(&q), [1]);
}

#[test]
fn removals_on_a_full_disk_never_fail_and_delivered_records_stay_gone() {
    let Some(dir) =
        on_small_tmpfs("removals_on_a_full_disk_never_fail_and_delivered_records_stay_gone")
    else {
        return;
    };
    let queue = dir.join("queue");
    let (mut q, _) = DiskQueue::open(&queue, settings()).unwrap();
    let ids: Vec<u64> = (0..24).map(|i| q.push(&record(i)).unwrap()).collect();
    fill(&dir);
    // The removal log is empty: its first entry needs a block the disk does not have.
    assert_eq!(q.ack_many(&ids[..5]).unwrap(), 5);
    assert_eq!(q.counts().removals_deferred, 1);
    assert_eq!(q.len(), 19);
    assert_eq!(numbers(&q)[0], 5, "acknowledged records are not sent again");
    // Completing the first segment deletes its file: the log now has room.
    assert_eq!(q.ack_many(&ids[5..12]).unwrap(), 7);
    assert_eq!(q.counts().removals_deferred, 2);
    drop(q);
    let (q, rec) = DiskQueue::open(&queue, settings()).unwrap();
    assert_eq!(rec.pending, 12, "nothing acknowledged came back");
    assert_eq!(numbers(&q), (12..24).collect::<Vec<u64>>());
}

#[test]
fn a_publisher_on_a_full_disk_delivers_everything_and_keeps_its_queue_clean() {
    let Some(dir) =
        on_small_tmpfs("a_publisher_on_a_full_disk_delivers_everything_and_keeps_its_queue_clean")
    else {
        return;
    };
    let broker = Mosquitto::start();
    let got = subscribe(broker.port, "spanreid/v1/+/+/signature");
    let queue_dir = dir.join("queue");
    let (mut q, _) = DiskQueue::open(&queue_dir, settings()).unwrap();
    for i in 0..40 {
        q.push(&record(i)).unwrap();
    }
    fill(&dir);
    let queue = Arc::new(Mutex::new(q));
    let metrics = Arc::new(Metrics::default());
    let control = Arc::new(Control::default());
    control.set(RunState::Drain);
    let s = PublishSettings {
        connection: MqttConnection {
            port: broker.port,
            ..MqttConnection::default()
        },
        client_id: "edge-full-disk".into(),
        site: "s1".into(),
        camera: "c001".into(),
        window: 16,
        max_backoff: Duration::from_millis(400),
        status_interval: Duration::from_secs(5),
        receipts: None,
    };
    publish::run(&s, &queue, &metrics, &control).unwrap();
    assert!(queue.lock().unwrap().is_empty());
    eprintln!(
        "publisher on a full disk: {:?}",
        queue.lock().unwrap().counts()
    );
    wait_for("40 deliveries", Duration::from_secs(10), || {
        got.lock().unwrap().len() >= 40
    });
    drop(queue);
    let (_, rec) = DiskQueue::open(&queue_dir, settings()).unwrap();
    assert_eq!(rec.pending, 0, "a restart sends nothing again");
}
