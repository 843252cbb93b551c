//! One ingest measurement of `hub bench`: signed messages published through a broker to a
//! running hub, timed from the first publish to the last signature committed, beside the
//! broker alone delivering the same messages (the reference, measured in the same run).

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::load;
use crate::config::{HubConfig, Settings};
use crate::event_key::EventSigner;
use crate::store::{SqliteStore, Store};
use crate::{ConfigError, Hub, HubError, broker, mqtt};

/// How long the hub may store nothing before a measurement is abandoned.
const STALL: Duration = Duration::from_secs(60);

/// Ingest figures.
#[derive(Clone, Debug)]
pub struct IngestFigures {
    /// What was measured, for the report.
    pub scenario: String,
    /// Broker used.
    pub broker: String,
    /// Whether matching was on.
    pub matching: bool,
    /// Signatures in the store before the measurement.
    pub stored_before: usize,
    /// Signatures published and stored.
    pub signatures: usize,
    /// From the first publish to the last signature committed.
    pub seconds: f64,
    /// Database bytes per stored signature (file + WAL).
    pub db_bytes_per_signature: f64,
    /// Match events stored.
    pub matches: u64,
    /// The reference: seconds for the broker alone to deliver the same messages to a QoS 1
    /// subscriber that only counts them (when measured).
    pub delivery_seconds: Option<f64>,
}

impl IngestFigures {
    /// Signatures stored per second.
    pub fn rate(&self) -> f64 {
        self.signatures as f64 / self.seconds.max(1e-9)
    }
}

/// A scratch directory for one measurement's database, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates `spanreid-hub-bench-<pid>-<name>` under the system's temporary directory.
    pub fn new(name: &str) -> Result<Self, HubError> {
        let dir =
            std::env::temp_dir().join(format!("spanreid-hub-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| HubError::Io {
            context: format!("creating {}", dir.display()),
            source,
        })?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16, HubError> {
    let io = |source| HubError::Io {
        context: "finding a free loopback port".into(),
        source,
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
    Ok(listener.local_addr().map_err(io)?.port())
}

/// Points `cfg` at the broker `addr` (`host:port`), or starts an embedded broker on a free
/// port. Returns the broker's name for the report.
pub fn connect(cfg: &mut HubConfig, addr: Option<&str>) -> Result<String, HubError> {
    match addr {
        Some(addr) => {
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "1883"));
            cfg.mqtt.host = host.to_owned();
            cfg.mqtt.port = port.parse().unwrap_or(1883);
            Ok(addr.to_owned())
        }
        None => {
            cfg.mqtt.port = free_port()?;
            let listen = format!("127.0.0.1:{}", cfg.mqtt.port)
                .parse()
                .map_err(|_| ConfigError::Invalid("embedded broker address".into()))?;
            broker::spawn(listen, &[])?;
            thread::sleep(Duration::from_millis(300));
            Ok("embedded rumqttd".into())
        }
    }
}

/// Seconds for the broker alone to deliver `messages` to a counting QoS 1 subscriber, or
/// `None` (with a warning) when it missed some.
pub fn delivery_reference(
    settings: &Settings,
    messages: &[(String, Vec<u8>)],
) -> Result<Option<f64>, HubError> {
    let counter = load::DeliveryCounter::start(
        &settings.config.mqtt,
        &format!("spanreid-bench-counter-{}", std::process::id()),
        crate::ingest::SIGNATURE_FILTER,
        messages.len(),
        Duration::from_secs(300),
    )?;
    let start = Instant::now();
    load::publish_all(
        &settings.config.mqtt,
        "spanreid-bench-publisher",
        messages.to_vec(),
    )?;
    Ok(match counter.finish()? {
        (n, Some(last)) if n == messages.len() => Some((last - start).as_secs_f64()),
        (n, _) => {
            tracing::warn!(
                received = n,
                sent = messages.len(),
                "reference subscriber missed messages"
            );
            None
        }
    })
}

/// Starts a hub on `settings` (its database may hold rows already), waits until it has
/// rebuilt its index, publishes `messages` and waits until they are all committed.
/// Returns the figures without the reference.
pub fn measure(
    settings: &Settings,
    messages: Vec<(String, Vec<u8>)>,
    dir: &Scratch,
) -> Result<IngestFigures, HubError> {
    let reader = SqliteStore::open(&settings.config.db)?;
    let stored_before = reader.count()? as usize;
    let newest_before = newest_id(settings)?;
    let expected = newest_before + messages.len() as i64;
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let hub_thread = {
        let settings = settings.clone();
        let (stop, ready) = (Arc::clone(&stop), Arc::clone(&ready));
        thread::spawn(move || -> Result<(), HubError> {
            let store = SqliteStore::open(&settings.config.db)?;
            let mut hub = Hub::open(&settings, store, crate::new_index(&settings))?;
            ready.store(true, Ordering::Release);
            let client_id = settings.config.client_id();
            let signer = EventSigner::load_or_create(&settings.config.events_key_path())?;
            let live = Arc::new(crate::live::Live::new(settings.keys.keys().cloned()));
            mqtt::run(
                &mut hub,
                &settings.config.mqtt,
                &client_id,
                &signer,
                &live,
                &stop,
            )
            .map(|_| ())
        })
    };
    while !ready.load(Ordering::Acquire) && !hub_thread.is_finished() {
        thread::sleep(Duration::from_millis(20));
    }
    // The hub subscribes once its index is rebuilt.
    thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    load::publish_all(&settings.config.mqtt, "spanreid-bench-publisher", messages)?;
    // Polled by the newest id, not a count: counting a large table would compete with
    // the hub for the cores being measured. Nothing is evicted during a measurement.
    let (mut newest, mut progress_at) = (newest_before, Instant::now());
    while newest < expected && !hub_thread.is_finished() {
        thread::sleep(Duration::from_millis(20));
        let now = newest_id(settings)?;
        if now > newest {
            (newest, progress_at) = (now, Instant::now());
        } else if progress_at.elapsed() > STALL {
            stop.store(true, Ordering::Relaxed);
            return Err(HubError::Io {
                context: format!(
                    "bench: the hub stored nothing for {} s ({} of {} signatures)",
                    STALL.as_secs(),
                    newest - newest_before,
                    expected - newest_before
                ),
                source: std::io::ErrorKind::TimedOut.into(),
            });
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    // The hub finishes its last batch (its match records) before it stops.
    match hub_thread.join() {
        Ok(Err(e)) => return Err(e),
        Err(_) => tracing::error!("the hub thread panicked"),
        Ok(Ok(())) => {}
    }
    let stats = reader.stats()?;
    let db_bytes: u64 = std::fs::read_dir(&dir.0)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let signatures = (stats.signatures as usize).saturating_sub(stored_before);
    Ok(IngestFigures {
        scenario: String::new(),
        broker: String::new(),
        matching: settings.config.matching.enabled,
        stored_before,
        signatures,
        seconds,
        db_bytes_per_signature: db_bytes as f64 / stats.signatures.max(1) as f64,
        matches: stats.matches,
        delivery_seconds: None,
    })
}

/// The largest signature id in the database (0 when empty).
fn newest_id(settings: &Settings) -> Result<i64, HubError> {
    let db = &settings.config.db;
    let err = |source: rusqlite::Error| crate::StoreError::Sqlite {
        path: db.clone(),
        context: "read the newest signature id",
        source,
    };
    let conn = rusqlite::Connection::open(db).map_err(err)?;
    conn.query_row("SELECT coalesce(max(id), 0) FROM signatures", [], |r| {
        r.get(0)
    })
    .map_err(|e| err(e).into())
}
