//! `hub bench`: ingest throughput through a real broker with matching on, query latency
//! against gallery size beside the memory-bandwidth bound measured in the same run, and
//! memory per stored signature.

pub mod load;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::config::{CameraConfig, HubConfig};
use super::event_key::EventSigner;
use super::index::{GalleryIndex, RowMeta};
use super::ingest::signature_topic;
use super::store::{SqliteStore, Store};
use super::synthetic::{IdentityBank, Sighting};
use super::{DefaultIndex, Hub, HubError, broker, mqtt};
use spanreid::signature::CameraKey;
use spanreid::signature::wire::encode_to_vec;

/// Options of `hub bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// Broker `host:port` to measure ingest through; without it an embedded broker is used.
    #[arg(long)]
    pub broker: Option<String>,
    /// Signatures published for the ingest measurement.
    #[arg(long, default_value_t = 20_000)]
    pub ingest: usize,
    /// Gallery sizes for the query latency measurement.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    pub sizes: Vec<usize>,
    /// Queries per gallery size.
    #[arg(long, default_value_t = 20)]
    pub queries: usize,
    /// Feature dimension.
    #[arg(long, default_value_t = 256)]
    pub dim: usize,
}

/// Ingest figures.
#[derive(Clone, Debug)]
pub struct IngestFigures {
    /// Broker used.
    pub broker: String,
    /// Whether matching was on.
    pub matching: bool,
    /// Signatures published and stored.
    pub signatures: usize,
    /// From the first publish to the last signature committed.
    pub seconds: f64,
    /// Database bytes per stored signature (file + WAL).
    pub db_bytes_per_signature: f64,
    /// Match events stored.
    pub matches: u64,
    /// The reference (measured with matching off only): seconds for the broker alone to
    /// deliver the same messages to a QoS 1 subscriber that only counts them.
    pub delivery_seconds: Option<f64>,
}

/// Query figures for one gallery size.
#[derive(Clone, Debug)]
pub struct QueryFigures {
    /// Gallery size.
    pub gallery: usize,
    /// Median latency of one top-k query, seconds.
    pub median_s: f64,
    /// Time per query when all queries are searched in one batch, seconds.
    pub batched_s: f64,
    /// Search-index memory per entry, bytes (computed from the layout).
    pub bytes_per_entry: usize,
    /// Growth of resident memory while building the index, per entry (queries excluded).
    pub measured_bytes_per_entry: Option<f64>,
    /// Bytes of feature data one query must read.
    pub bytes_scanned: f64,
    /// Lower bound on the latency: bytes scanned ÷ measured read bandwidth.
    pub bound_s: f64,
}

/// Everything `hub bench` measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Ingest through the broker, matching off then on.
    pub ingest: Vec<IngestFigures>,
    /// Read bandwidth over a large buffer with all cores, bytes/s (same run).
    pub read_bandwidth: f64,
    /// Query latency per gallery size.
    pub queries: Vec<QueryFigures>,
    /// Feature dimension.
    pub dim: usize,
}

const SITE: &str = "bench";
const CAMERAS: [&str; 4] = ["c1", "c2", "c3", "c4"];

fn key(i: usize) -> String {
    format!("{:02x}", i + 1).repeat(32)
}

fn free_port() -> Result<u16, HubError> {
    let io = |source| HubError::Io {
        context: "finding a free loopback port".into(),
        source,
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
    Ok(listener.local_addr().map_err(io)?.port())
}

/// Run the whole bench.
pub fn run(args: &BenchArgs) -> Result<BenchReport, HubError> {
    let ingest = vec![bench_ingest(args, false)?, bench_ingest(args, true)?];
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let read_bandwidth = spanreid::search::read_bandwidth(512 << 20, cores);
    let mut queries = Vec::new();
    for &n in &args.sizes {
        queries.push(bench_query(n, args.dim, args.queries, read_bandwidth));
    }
    Ok(BenchReport {
        ingest,
        read_bandwidth,
        queries,
        dim: args.dim,
    })
}

fn bench_ingest(args: &BenchArgs, matching: bool) -> Result<IngestFigures, HubError> {
    let dir = std::env::temp_dir().join(format!("spanreid-hub-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| HubError::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    let mut cfg = HubConfig {
        db: dir.join("bench.sqlite"),
        ..HubConfig::default()
    };
    cfg.model.dim = args.dim;
    cfg.matching.max_distance = Some(0.8);
    cfg.matching.enabled = matching;
    for (i, cam) in CAMERAS.iter().enumerate() {
        cfg.cameras.push(CameraConfig {
            site: SITE.into(),
            camera: (*cam).into(),
            key: key(i).into(),
        });
    }
    match &args.broker {
        Some(addr) => {
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), "1883"));
            cfg.mqtt.host = host.to_owned();
            cfg.mqtt.port = port.parse().unwrap_or(1883);
        }
        None => {
            cfg.mqtt.port = free_port()?;
            broker::spawn(
                format!("127.0.0.1:{}", cfg.mqtt.port)
                    .parse()
                    .map_err(|_| super::ConfigError::Invalid("embedded broker address".into()))?,
                &[],
            )?;
            thread::sleep(Duration::from_millis(300));
        }
    }
    cfg.mqtt.client_id = format!("spanreid-hub-bench-{}-{matching}", std::process::id());
    let settings = cfg.validate()?;
    let broker_name = args
        .broker
        .clone()
        .unwrap_or_else(|| "embedded rumqttd".into());

    // Messages: identities seen once by each camera in turn, one minute apart.
    let now = spanreid::clock::now_us();
    let bank = IdentityBank::new(args.ingest.div_ceil(CAMERAS.len()).max(1), args.dim, 42);
    let keys: Vec<CameraKey> = (0..CAMERAS.len())
        .filter_map(|i| CameraKey::from_hex(&key(i)))
        .collect();
    let mut messages = Vec::with_capacity(args.ingest);
    for n in 0..args.ingest {
        let cam = n % CAMERAS.len();
        let s = Sighting {
            identity: n / CAMERAS.len(),
            site: SITE,
            camera: CAMERAS[cam],
            capture_time_us: now - 3_600_000_000 + n as u64,
            sequence: (n / CAMERAS.len()) as u64 + 1,
            noise: 0.3,
        };
        let sig = bank.signature(settings.model_id, &s, n as u64);
        let payload = encode_to_vec(&sig, &keys[cam]).map_err(|e| {
            super::ConfigError::Invalid(format!("synthetic signature does not encode: {e}"))
        })?;
        messages.push((signature_topic(SITE, CAMERAS[cam]), payload));
    }

    let delivery_seconds = if matching {
        None
    } else {
        let counter = load::DeliveryCounter::start(
            &settings.config.mqtt,
            &format!("spanreid-bench-counter-{}", std::process::id()),
            super::ingest::SIGNATURE_FILTER,
            messages.len(),
            Duration::from_secs(300),
        )?;
        let start = Instant::now();
        load::publish_all(
            &settings.config.mqtt,
            "spanreid-bench-publisher",
            messages.clone(),
        )?;
        match counter.finish()? {
            (n, Some(last)) if n == messages.len() => Some((last - start).as_secs_f64()),
            (n, _) => {
                tracing::warn!(
                    received = n,
                    sent = messages.len(),
                    "reference subscriber missed messages"
                );
                None
            }
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    let hub_thread = {
        let settings = settings.clone();
        let stop = Arc::clone(&stop);
        thread::spawn(move || -> Result<(), HubError> {
            let store = SqliteStore::open(&settings.config.db)?;
            let mut hub = Hub::open(&settings, store, super::new_index(&settings))?;
            let client_id = settings.config.client_id();
            let signer = EventSigner::load_or_create(&settings.config.events_key_path())?;
            mqtt::run(&mut hub, &settings.config.mqtt, &client_id, &signer, &stop).map(|_| ())
        })
    };
    thread::sleep(Duration::from_millis(500));
    let reader = SqliteStore::open(&settings.config.db)?;
    let start = Instant::now();
    load::publish_all(&settings.config.mqtt, "spanreid-bench-publisher", messages)?;
    while (reader.count()? as usize) < args.ingest && !hub_thread.is_finished() {
        thread::sleep(Duration::from_millis(20));
    }
    let seconds = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    // The hub finishes its last batch (its match records) before it stops.
    let _ = hub_thread.join();
    let stats = reader.stats()?;
    let db_bytes: u64 = ["bench.sqlite", "bench.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(IngestFigures {
        broker: broker_name,
        matching,
        signatures: stats.signatures as usize,
        seconds,
        db_bytes_per_signature: db_bytes as f64 / stats.signatures.max(1) as f64,
        matches: stats.matches,
        delivery_seconds,
    })
}

fn bench_query(n: usize, dim: usize, queries: usize, bandwidth: f64) -> QueryFigures {
    // Identities are reused beyond 10k so the bank stays small; the gallery rows differ.
    let bank = IdentityBank::new(n.clamp(1, 10_000), dim, 7);
    let model = [0u8; 16];
    let resident_before = resident_bytes();
    let mut index = DefaultIndex::new(model, dim);
    index.reserve(n);
    for i in 0..n {
        let s = Sighting {
            identity: i,
            site: SITE,
            camera: CAMERAS[i % CAMERAS.len()],
            capture_time_us: i as u64,
            sequence: i as u64,
            noise: 0.3,
        };
        let meta = RowMeta {
            camera: (i % CAMERAS.len()) as u32,
            capture_time_us: i as u64,
        };
        index.insert(i as i64, &bank.signature(model, &s, i as u64), meta);
    }
    let query_sigs: Vec<_> = (0..queries.max(1))
        .map(|q| {
            let s = Sighting {
                identity: q * 7919,
                site: SITE,
                camera: "query",
                capture_time_us: 0,
                sequence: 0,
                noise: 0.3,
            };
            bank.signature(model, &s, 1_000_000 + q as u64)
        })
        .collect();
    let measured_bytes_per_entry = match (resident_before, resident_bytes()) {
        (Some(a), Some(b)) if n > 0 => Some(b.saturating_sub(a) as f64 / n as f64),
        _ => None,
    };
    let keep = |_: usize, _: i64, _: RowMeta| true;
    let mut times = Vec::with_capacity(queries);
    for query in &query_sigs {
        let start = Instant::now();
        let hits = index.search_many(&[query], 5, f32::INFINITY, &keep);
        times.push(start.elapsed().as_secs_f64());
        std::hint::black_box(hits);
    }
    times.sort_by(f64::total_cmp);
    let median_s = times.get(times.len() / 2).copied().unwrap_or(0.0);
    let all: Vec<_> = query_sigs.iter().collect();
    let start = Instant::now();
    std::hint::black_box(index.search_many(&all, 5, f32::INFINITY, &keep));
    let batched_s = start.elapsed().as_secs_f64() / all.len() as f64;
    let bytes_scanned = index.value_bytes() as f64;
    QueryFigures {
        gallery: n,
        median_s,
        batched_s,
        bytes_scanned,
        bound_s: bytes_scanned / bandwidth,
        bytes_per_entry: index.bytes_per_entry(),
        measured_bytes_per_entry,
    }
}

/// Resident memory of this process (Linux `/proc/self/statm`, 4 KiB pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The report as text (Markdown table for the README).
pub fn render(r: &BenchReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for i in &r.ingest {
        let matching = if i.matching {
            "matching on (gallery growing from 0, each signature searched against all earlier ones)"
        } else {
            "matching off"
        };
        let _ = writeln!(
            out,
            "ingest through {}: {} signatures (dim {}) in {:.2} s = {:.0} signatures/s, {}; \
             {} match records; database {:.0} bytes/signature",
            i.broker,
            i.signatures,
            r.dim,
            i.seconds,
            i.signatures as f64 / i.seconds.max(1e-9),
            matching,
            i.matches,
            i.db_bytes_per_signature
        );
        if let Some(d) = i.delivery_seconds {
            let rate = i.signatures as f64 / i.seconds.max(1e-9);
            let reference = i.signatures as f64 / d.max(1e-9);
            let _ = writeln!(
                out,
                "reference, same run: the broker alone delivers the same messages to a QoS 1 \
                 subscriber that only counts at {reference:.0}/s; ingest = {:.2}× of it",
                rate / reference
            );
        }
    }
    let _ = writeln!(
        out,
        "read bandwidth (all cores, same run): {:.1} GB/s",
        r.read_bandwidth / 1e9
    );
    let _ = writeln!(
        out,
        "| gallery | one query (median) | bytes scanned | bandwidth bound | ratio | \
         per query in a batch | index bytes/entry (layout / resident) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for q in &r.queries {
        let _ = writeln!(
            out,
            "| {} | {:.2} ms | {:.1} MB | {:.2} ms | {:.2}× | {:.3} ms | {} / {} |",
            q.gallery,
            q.median_s * 1e3,
            q.bytes_scanned / 1e6,
            q.bound_s * 1e3,
            q.median_s / q.bound_s.max(1e-12),
            q.batched_s * 1e3,
            q.bytes_per_entry,
            q.measured_bytes_per_entry
                .map_or("n/a".into(), |b| format!("{b:.0}"))
        );
    }
    out
}
