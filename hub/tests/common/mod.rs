//! Shared helpers for integration tests: a real mosquitto broker on a free loopback port,
//! synthetic signed signatures, and polling the hub's database.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use spanreid::signature::wire::encode_to_vec;
use spanreid::signature::{CameraKey, Signature};
use spanreid_hub::config::{CameraConfig, HubConfig, Settings};
use spanreid_hub::events::MatchEvent;
use spanreid_hub::gallery::{SqliteStore, Store, StoreStats};
use spanreid_hub::ingest::signature_topic;
use spanreid_hub::synthetic::{IdentityBank, Sighting};

/// Where mosquitto is installed by Debian's package.
const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A mosquitto process on 127.0.0.1:port, killed on drop.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Mosquitto {
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// A broker whose listener only speaks TLS with the certificates of `tls`.
    pub fn start_tls(tls: &TestCerts) -> Self {
        Self::start_with(&format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            tls.ca.display(),
            tls.server_cert.display(),
            tls.server_key.display()
        ))
    }

    /// A broker with `listener_options` under its loopback listener.
    fn start_with(listener_options: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{listener_options}allow_anonymous true\n\
                 persistence false\nmax_inflight_messages 100\nmax_queued_messages 100000\n\
                 max_packet_size 1000000\nlog_dest none\n"
            ),
        )
        .unwrap();
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {MOSQUITTO} (apt-get install mosquitto): {e}")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start listening"
            );
            thread::sleep(Duration::from_millis(20));
        }
        Mosquitto {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throw-away CA and a server certificate for 127.0.0.1, made with the openssl CLI.
pub struct TestCerts {
    pub ca: std::path::PathBuf,
    pub server_cert: std::path::PathBuf,
    pub server_key: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCerts {
    pub fn make() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=spanreid test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        // mosquitto started as root drops to its own user: it must be able to read them.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        for f in ["ca.pem", "server.pem", "server.key"] {
            std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        TestCerts {
            ca: d.join("ca.pem"),
            server_cert: d.join("server.pem"),
            server_key: d.join("server.key"),
            _dir: dir,
        }
    }
}

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
    cfg.broker.port = port;
    cfg.broker.client_id = client_id.into();
    cfg.model.dim = DIM;
    cfg.model.id = "5a".repeat(16);
    cfg.matching.max_distance = 0.9;
    cfg.matching.top_k = 5;
    for (i, cam) in CAMERAS.iter().enumerate() {
        cfg.cameras.push(CameraConfig {
            site: SITE.into(),
            camera: (*cam).into(),
            key: key_hex(i),
        });
    }
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
    cfg.broker.port = port;
    spanreid_hub::bench::load::publish_all(
        &cfg.broker,
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
    pub fn start(port: u16) -> Self {
        let mut opts = MqttOptions::new(format!("test-sub-{}", free_port()), "127.0.0.1", port);
        opts.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut conn) = Client::new(opts, 100);
        client
            .subscribe(spanreid_hub::events::MATCH_TOPIC, QoS::AtLeastOnce)
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&events);
        let handle = thread::spawn(move || {
            let _client = client;
            for event in conn.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let e: MatchEvent = serde_json::from_slice(&p.payload).unwrap();
                        sink.lock().unwrap().push(e);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("match subscription acknowledged");
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
        "db = {:?}\n[broker]\nport = {}\nclient_id = {:?}\n[model]\nid = \"{}\"\ndim = {DIM}\n\
         [matching]\nmax_distance = 0.9\n",
        settings.config.db,
        settings.config.broker.port,
        settings.config.broker.client_id,
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
