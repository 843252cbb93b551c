//! Helpers for the hub's integration tests: synthetic signed signatures, a hub in a thread,
//! match listeners and polling the hub's database. The broker is `spanreid-testkit`'s.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use spanreid::signature::wire::encode_to_vec;
use spanreid::signature::{CameraKey, Signature};
use spanreid_hub::config::{CameraConfig, HubConfig, Settings};
use spanreid_hub::event_key::EventSigner;
use spanreid_hub::events::MatchEvent;
use spanreid_hub::ingest::signature_topic;
use spanreid_hub::store::{SqliteStore, Store, StoreStats};
use spanreid_hub::synthetic::{IdentityBank, Sighting};
pub use spanreid_testkit::{Mosquitto, TestCerts, free_port};

pub const SITE: &str = "s";
pub const CAMERAS: [&str; 3] = ["c1", "c2", "c3"];
pub const DIM: usize = 64;

pub fn key_hex(camera: usize) -> String {
    format!("{:02x}", 0x10 + camera).repeat(32)
}

pub fn key(camera: usize) -> CameraKey {
    CameraKey::from_hex(&key_hex(camera)).unwrap()
}

/// Hub settings for the test cameras, a database in `dir` and the broker on `port`.
pub fn settings(dir: &Path, port: u16, client_id: &str) -> Settings {
    let mut cfg = HubConfig {
        db: dir.join("hub.sqlite"),
        ..HubConfig::default()
    };
    cfg.mqtt.port = port;
    cfg.mqtt.client_id = client_id.into();
    cfg.model.dim = DIM;
    cfg.model.id = Some("5a".repeat(16));
    cfg.matching.max_distance = Some(0.9);
    cfg.matching.top_k = 5;
    for (i, cam) in CAMERAS.iter().enumerate() {
        cfg.cameras.push(CameraConfig {
            site: SITE.into(),
            camera: (*cam).into(),
            key: key_hex(i).into(),
        });
    }
    // The hub's event key, made before any hub or listener reads it.
    EventSigner::load_or_create(&cfg.events_key_path()).unwrap();
    cfg.validate().unwrap()
}

pub use spanreid::clock::now_us;

/// Signature of `identity` seen by camera index `camera` with sequence `sequence`.
pub fn sighting(
    bank: &IdentityBank,
    settings: &Settings,
    identity: usize,
    camera: usize,
    sequence: u64,
    t: u64,
) -> Signature {
    let s = Sighting {
        identity,
        site: SITE,
        camera: CAMERAS[camera],
        capture_time_us: t,
        sequence,
        noise: 0.3,
    };
    bank.signature(
        settings.model_id,
        &s,
        (identity as u64) << 8 | camera as u64,
    )
}

pub fn signed(sig: &Signature, camera: usize) -> (String, Vec<u8>) {
    (
        signature_topic(SITE, CAMERAS[camera]),
        encode_to_vec(sig, &key(camera)).unwrap(),
    )
}

/// The hub running in a thread until stopped.
pub struct RunningHub {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl RunningHub {
    pub fn start(settings: &Settings) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let settings = settings.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                spanreid_hub::run(&settings, &stop).unwrap();
            })
        };
        RunningHub {
            stop,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

/// Publish with QoS 1 and wait for every PubAck.
pub fn publish(port: u16, messages: Vec<(String, Vec<u8>)>) {
    let mut cfg = HubConfig::default();
    cfg.mqtt.port = port;
    spanreid_hub::bench::load::publish_all(
        &cfg.mqtt,
        &format!("test-pub-{}", free_port()),
        messages,
    )
    .unwrap();
}

/// A client collecting match events; ready once subscribed.
pub struct MatchListener {
    pub events: Arc<Mutex<Vec<MatchEvent>>>,
    _handle: JoinHandle<()>,
}

impl MatchListener {
    /// Listens to the events of the hub with `settings`, verified with its key.
    pub fn start(settings: &Settings) -> Self {
        let key = EventSigner::load_or_create(&settings.config.events_key_path())
            .unwrap()
            .public();
        let rx = spanreid_hub::watch::subscribe(
            &settings.config.mqtt,
            &format!("test-sub-{}", free_port()),
            key,
            Duration::from_secs(10),
        )
        .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let handle = thread::spawn(move || {
            for e in rx {
                sink.lock().unwrap().push(e);
            }
        });
        MatchListener {
            events,
            _handle: handle,
        }
    }
}

/// Poll the database until `done` holds for its stats (or fail after 30 s).
pub fn wait_for(db: &Path, what: &str, done: impl Fn(&StoreStats) -> bool) -> StoreStats {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = db
            .exists()
            .then(|| SqliteStore::open(db).ok())
            .flatten()
            .and_then(|store| store.stats().ok());
        match stats {
            Some(stats) if done(&stats) => return stats,
            other => assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {other:?}"
            ),
        }
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn counter(stats: &StoreStats, name: &str) -> u64 {
    stats
        .counters
        .iter()
        .find(|c| c.0 == name)
        .map_or(0, |c| c.1)
}

pub fn total_counted(stats: &StoreStats) -> u64 {
    stats.counters.iter().map(|c| c.1).sum()
}

pub fn write_config(
    dir: &std::path::Path,
    settings: &spanreid_hub::Settings,
) -> std::path::PathBuf {
    let path = dir.join("hub.toml");
    let mut toml = format!(
        "db = {:?}\n[mqtt]\nport = {}\nclient_id = {:?}\n[model]\nid = \"{}\"\ndim = {DIM}\n\
         [matching]\nmax_distance = 0.9\n",
        settings.config.db,
        settings.config.mqtt.port,
        settings.config.mqtt.client_id,
        "5a".repeat(16)
    );
    for (i, cam) in CAMERAS.iter().enumerate() {
        toml += &format!(
            "[[cameras]]\nsite = \"{SITE}\"\ncamera = \"{cam}\"\nkey = \"{}\"\n",
            key_hex(i)
        );
    }
    std::fs::write(&path, toml).unwrap();
    path
}

pub fn hub_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hub"));
    cmd.args(args).env("RUST_LOG", "warn");
    cmd
}
