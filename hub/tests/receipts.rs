//! End to end: the edge publisher deletes a signature only on the hub's receipt, so what the
//! broker loses — the embedded broker dying with the hub, mosquitto dropping messages
//! queued for a hub that is down — is sent again and stored.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use spanreid_edge::metrics::Metrics;
use spanreid_edge::publish::{self, Control, PublishSettings, ReceiptSettings, RunState};
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use spanreid_hub::Settings;
use spanreid_hub::store::{SqliteStore, Store};
use spanreid_hub::synthetic::IdentityBank;
use spanreid_service::mqtt::MqttConnection;

const N: usize = 300;

/// The publisher of camera 0 over a queue of `N` signed signatures, deleting on receipts
/// (`receipts`) or on PUBACKs.
struct Edge {
    queue: Arc<Mutex<DiskQueue>>,
    metrics: Arc<Metrics>,
    control: Arc<Control>,
    thread: thread::JoinHandle<Result<(), publish::PublishError>>,
}

impl Edge {
    fn start(dir: &std::path::Path, settings: &Settings, port: u16, receipts: bool) -> Self {
        Self::start_at(dir, settings, port, receipts, now_us(), N)
    }

    /// Like [`Edge::start`], with `n` signatures captured at `t_us`.
    fn start_at(
        dir: &std::path::Path,
        settings: &Settings,
        port: u16,
        receipts: bool,
        t_us: u64,
        n: usize,
    ) -> Self {
        let (mut q, _) = DiskQueue::open(
            &dir.join("queue"),
            QueueSettings {
                capacity: 10_000,
                segment_records: 64,
                ..QueueSettings::default()
            },
        )
        .unwrap();
        let bank = IdentityBank::new(n, DIM, 5);
        for i in 0..n {
            let (_, payload) = signed(&sighting(&bank, settings, i, 0, i as u64 + 1, t_us), 0);
            q.push(&payload).unwrap();
        }
        let publish_settings = PublishSettings {
            connection: MqttConnection {
                port,
                keep_alive_s: 5,
                ..MqttConnection::default()
            },
            client_id: format!("edge-receipts-{port}"),
            site: SITE.into(),
            camera: CAMERAS[0].into(),
            window: 32,
            max_backoff: Duration::from_millis(300),
            status_interval: Duration::from_secs(5),
            receipts: receipts.then(|| ReceiptSettings {
                key: key(0),
                timeout: Duration::from_secs(2),
                window: 128,
            }),
        };
        let queue = Arc::new(Mutex::new(q));
        let metrics = Arc::new(Metrics::default());
        let control = Arc::new(Control::default());
        let thread = {
            let (queue, metrics, control) = (queue.clone(), metrics.clone(), control.clone());
            thread::spawn(move || publish::run(&publish_settings, &queue, &metrics, &control))
        };
        Edge {
            queue,
            metrics,
            control,
            thread,
        }
    }

    /// Drains and returns the records left in the queue.
    fn drain(self, within: Duration) -> usize {
        self.control.set(RunState::Drain);
        let deadline = std::time::Instant::now() + within;
        while !self.thread.is_finished() && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        if !self.thread.is_finished() {
            self.control.set(RunState::Stop);
        }
        self.thread.join().unwrap().unwrap();
        self.queue.lock().unwrap().len()
    }
}

/// The edge's queue drained (`left` records) and the hub stored sequences `1..=n`.
fn assert_all_stored(settings: &Settings, left: usize, n: usize) {
    assert_eq!(left, 0, "the queue drained");
    assert_eq!(
        stored_sequences(settings),
        (1..=n as u64).collect::<BTreeSet<_>>()
    );
}

fn stored_sequences(settings: &Settings) -> BTreeSet<u64> {
    SqliteStore::open(&settings.config.db)
        .unwrap()
        .load_all()
        .unwrap()
        .iter()
        .map(|s| s.signature.sequence)
        .collect()
}

/// Runs the hub long enough for the broker to hold its subscribed persistent session.
fn open_session(settings: &Settings) {
    let hub = RunningHub::start(settings);
    thread::sleep(Duration::from_millis(700));
    hub.stop();
}

fn spawn_hub(args: &[&str], config: &std::path::Path) -> Child {
    hub_command(args)
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "no broker on {port}");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_embedded_broker_dying_with_the_hub_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let settings = settings(dir.path(), port, "hub-embedded-kill");
    let config = write_config(dir.path(), &settings);
    let args = ["run", "--embedded-broker", "--config"];
    let mut hub = spawn_hub(&args, &config);
    wait_listening(port);
    // Enough that the kill comes in the middle of ingest.
    let n = 3000;
    let edge = Edge::start_at(dir.path(), &settings, port, true, now_us(), n);
    wait_for(&settings.config.db, "ingest under way", |s| {
        s.signatures > 30
    });
    hub.kill().unwrap(); // SIGKILL: the broker and whatever it held go with it
    hub.wait().unwrap();
    let at_kill = stored_sequences(&settings).len();
    thread::sleep(Duration::from_millis(500));
    let mut hub = spawn_hub(&args, &config);
    let left = edge.drain(Duration::from_secs(60));
    hub.kill().unwrap();
    hub.wait().unwrap();
    assert!(
        at_kill < n,
        "the kill came before the end ({at_kill} stored)"
    );
    assert_all_stored(&settings, left, n);
}

#[test]
fn a_broker_dropping_what_it_queued_for_a_stopped_hub_loses_nothing() {
    let broker = Mosquitto::start_dropping(20);
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-dropping");
    // The hub's persistent session exists, then the hub goes away.
    open_session(&settings);
    let edge = Edge::start(dir.path(), &settings, broker.port, true);
    let metrics = edge.metrics.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while metrics
        .receipt_timeouts
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "no receipt timeout");
        thread::sleep(Duration::from_millis(50));
    }
    let hub = RunningHub::start(&settings);
    let left = edge.drain(Duration::from_secs(60));
    hub.stop();
    assert_all_stored(&settings, left, N);
}

#[test]
fn deleting_on_the_broker_ack_loses_what_the_broker_drops() {
    // The reference for the test above: the same outage with `delete_on = "broker_ack"`.
    let broker = Mosquitto::start_dropping(20);
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-dropping-ack");
    open_session(&settings);
    let edge = Edge::start(dir.path(), &settings, broker.port, false);
    assert_eq!(edge.drain(Duration::from_secs(30)), 0);
    let hub = RunningHub::start(&settings);
    thread::sleep(Duration::from_secs(2));
    hub.stop();
    let stored = stored_sequences(&settings).len();
    assert!(
        stored < N,
        "{stored} of {N} stored: the broker dropped none"
    );
}

/// Publishes one message of `bytes` zero bytes on camera 0's signature topic.
fn publish_junk(port: u16, bytes: usize) {
    let mut o = rumqttc::MqttOptions::new("junk-publisher", "127.0.0.1", port);
    o.set_max_packet_size(1 << 21, 1 << 21);
    let (client, mut conn) = rumqttc::Client::new(o, 8);
    let topic = spanreid_hub::ingest::signature_topic(SITE, CAMERAS[0]);
    client
        .publish(topic, rumqttc::QoS::AtLeastOnce, false, vec![0u8; bytes])
        .unwrap();
    for event in conn.iter() {
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = event {
            break;
        }
    }
}

#[test]
fn an_oversized_message_neither_stops_ingest_nor_loses_what_follows() {
    let broker = Mosquitto::start(); // takes packets up to 1 MB, more than the hub reads
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-oversized");
    open_session(&settings);
    // Queued for the hub's session ahead of every signature.
    publish_junk(broker.port, 300_000);
    let edge = Edge::start(dir.path(), &settings, broker.port, true);
    thread::sleep(Duration::from_millis(300));
    let hub = RunningHub::start(&settings);
    let left = edge.drain(Duration::from_secs(60));
    hub.stop();
    assert_all_stored(&settings, left, N);
    let stats = SqliteStore::open(&settings.config.db)
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(counter(&stats, "oversized"), 1);
}

#[test]
fn signatures_the_hub_refuses_leave_the_queue_counted_by_reason() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-refuses");
    let hub = RunningHub::start(&settings);
    // Two days old: outside the hub's 24 h replay window.
    let old = now_us() - 48 * 3_600_000_000;
    let edge = Edge::start_at(dir.path(), &settings, broker.port, true, old, N);
    let metrics = edge.metrics.clone();
    let left = edge.drain(Duration::from_secs(60));
    hub.stop();
    assert_eq!(left, 0, "refused signatures leave the queue");
    assert_eq!(
        metrics
            .refused_too_old
            .load(std::sync::atomic::Ordering::Relaxed),
        N as u64
    );
    assert_eq!(
        metrics
            .signatures_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(metrics.refusals(), format!("too_old: {N}"));
    assert!(stored_sequences(&settings).is_empty());
}
