//! `hub bench`: ingest throughput through a real broker with matching on, query latency
//! against gallery size beside the memory-bandwidth bound measured in the same run, and
//! memory per stored signature.

pub mod api;
pub mod city;
pub mod ingest;
pub mod load;
mod render;

use std::thread;
use std::time::Instant;

use self::city::City;
pub use self::ingest::IngestFigures;
use self::ingest::Scratch;
pub use self::render::render;
use super::config::{CameraConfig, HubConfig, Settings};
use super::index::{GalleryIndex, RowMeta};
use super::ingest::signature_topic;
use super::store::SqliteStore;
use super::synthetic::{IdentityBank, Sighting};
use super::{HubError, Int8Index};
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
    /// Signatures the city holds before its ingest is measured (0: no city measurement).
    #[arg(long, default_value_t = 1_000_000)]
    pub city_stored: usize,
    /// Cameras of the city.
    #[arg(long, default_value_t = 100)]
    pub city_cameras: usize,
    /// Links per city camera.
    #[arg(long, default_value_t = 10)]
    pub city_links: usize,
    /// Match with one-to-one association (as the demo does) where matching is on.
    #[arg(long)]
    pub one_to_one: bool,
    /// HTTP API requests of each kind timed on the city's database.
    #[arg(long, default_value_t = 200)]
    pub api_requests: usize,
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
    /// HTTP API latency on the city's database (when the city ran).
    pub api: Option<api::ApiFigures>,
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

/// Run the whole bench.
pub fn run(args: &BenchArgs) -> Result<BenchReport, HubError> {
    let mut ingest = vec![bench_ingest(args, false)?, bench_ingest(args, true)?];
    let mut api = None;
    if args.city_stored > 0 {
        let (figures, requests) = bench_city(args)?;
        ingest.push(figures);
        api = Some(requests);
    }
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let read_bandwidth = spanreid::search::read_bandwidth(512 << 20, cores);
    let mut queries = Vec::new();
    for &n in &args.sizes {
        queries.push(bench_query(n, args.dim, args.queries, read_bandwidth));
    }
    Ok(BenchReport {
        ingest,
        api,
        read_bandwidth,
        queries,
        dim: args.dim,
    })
}

fn four_camera_config(args: &BenchArgs, dir: &Scratch, matching: bool) -> HubConfig {
    let mut cfg = HubConfig {
        db: dir.0.join("bench.sqlite"),
        ..HubConfig::default()
    };
    cfg.model.dim = args.dim;
    cfg.matching.max_distance = Some(0.8);
    cfg.matching.enabled = matching;
    cfg.matching.one_to_one = args.one_to_one;
    for (i, cam) in CAMERAS.iter().enumerate() {
        cfg.cameras.push(CameraConfig {
            site: SITE.into(),
            camera: (*cam).into(),
            key: key(i).into(),
        });
    }
    cfg
}

/// Four cameras, no graph: each signature is searched against everything before it.
fn bench_ingest(args: &BenchArgs, matching: bool) -> Result<IngestFigures, HubError> {
    let dir = Scratch::new(if matching { "on" } else { "off" })?;
    let mut cfg = four_camera_config(args, &dir, matching);
    let broker = ingest::connect(&mut cfg, args.broker.as_deref())?;
    cfg.mqtt.client_id = format!("spanreid-hub-bench-{}-{matching}", std::process::id());
    let settings = cfg.validate()?;

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
        ingest::delivery_reference(&settings, &messages)?
    };
    let figures = measure_on_fresh_broker(args, &settings, messages, &dir)?;
    Ok(IngestFigures {
        scenario: if matching {
            format!(
                "4 cameras, no camera graph, matching on{} (gallery growing from 0, each \
                 signature searched against all earlier ones)",
                association(args)
            )
        } else {
            "4 cameras, matching off".into()
        },
        broker,
        delivery_seconds,
        ..figures
    })
}

/// How candidates are chosen, for the report.
fn association(args: &BenchArgs) -> &'static str {
    if args.one_to_one {
        " with one-to-one association"
    } else {
        ""
    }
}

/// [`ingest::measure`], on a fresh embedded broker when the bench runs its own: rumqttd
/// keeps the reference's messages in its log and would hand them to the hub's new
/// subscription too.
fn measure_on_fresh_broker(
    args: &BenchArgs,
    settings: &Settings,
    messages: Vec<(String, Vec<u8>)>,
    dir: &Scratch,
) -> Result<IngestFigures, HubError> {
    if args.broker.is_some() {
        return ingest::measure(settings, messages, dir);
    }
    let mut cfg = settings.config.clone();
    ingest::connect(&mut cfg, None)?;
    ingest::measure(&cfg.validate()?, messages, dir)
}

/// The city: its history stored first, then `args.ingest` passages published while the
/// hub matches them through its windowed index.
/// The city's ingest, then the HTTP API's latency on the database it left.
fn bench_city(args: &BenchArgs) -> Result<(IngestFigures, api::ApiFigures), HubError> {
    let dir = Scratch::new("city")?;
    let city = City {
        cameras: args.city_cameras,
        links_per_camera: args.city_links,
        passages_per_camera_s: 0.5,
    };
    let mut cfg = HubConfig {
        db: dir.0.join("bench.sqlite"),
        cameras: city.camera_configs(),
        links: city.links(),
        ..HubConfig::default()
    };
    cfg.model.dim = args.dim;
    cfg.matching.max_distance = Some(0.8);
    cfg.matching.one_to_one = args.one_to_one;
    cfg.gallery.max_signatures = args.city_stored + args.ingest + 1;
    let broker = ingest::connect(&mut cfg, args.broker.as_deref())?;
    cfg.mqtt.client_id = format!("spanreid-hub-bench-{}-city", std::process::id());
    let settings = cfg.validate()?;
    let now = spanreid::clock::now_us();
    let passages = city.passages(args.city_stored + args.ingest, now, 11);
    let (history, live) = passages.split_at(args.city_stored.min(passages.len()));
    let bank = IdentityBank::new(20_000, args.dim, 5);
    let started = Instant::now();
    let mut store = SqliteStore::open(&settings.config.db)?;
    city::fill(&mut store, history, &bank, settings.model_id, now)?;
    drop(store);
    tracing::info!(
        rows = history.len(),
        seconds = started.elapsed().as_secs_f64(),
        "city history stored"
    );
    let messages = city::messages(live, &bank, settings.model_id, 2)?;
    let delivery_seconds = ingest::delivery_reference(&settings, &messages)?;
    let figures = measure_on_fresh_broker(args, &settings, messages, &dir)?;
    let requests = api::measure(&settings, args.api_requests)?;
    let figures = IngestFigures {
        scenario: format!(
            "city of {} cameras, {} links each, {:.0}–{:.0} s windows, {} signatures stored \
             before, matching on{} (windowed index)",
            city.cameras,
            city.links_per_camera,
            city::LINK_S.0,
            city::LINK_S.1,
            figures.stored_before,
            association(args)
        ),
        broker,
        delivery_seconds,
        ..figures
    };
    Ok((figures, requests))
}

fn bench_query(n: usize, dim: usize, queries: usize, bandwidth: f64) -> QueryFigures {
    // Identities are reused beyond 10k so the bank stays small; the gallery rows differ.
    let bank = IdentityBank::new(n.clamp(1, 10_000), dim, 7);
    let model = [0u8; 16];
    let resident_before = resident_bytes();
    let mut index = Int8Index::new(model, dim);
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
        let hits = index.search_many(&[query], None, 5, f32::INFINITY, &keep);
        times.push(start.elapsed().as_secs_f64());
        std::hint::black_box(hits);
    }
    times.sort_by(f64::total_cmp);
    let median_s = times.get(times.len() / 2).copied().unwrap_or(0.0);
    let all: Vec<_> = query_sigs.iter().collect();
    let start = Instant::now();
    std::hint::black_box(index.search_many(&all, None, 5, f32::INFINITY, &keep));
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
