//! API latency on the city's database: the hub's HTTP server on loopback answering the
//! operator's usual requests against everything the city stored, one request at a time,
//! each on a fresh connection, p50 and p99.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Settings;
use crate::error::HubError;
use crate::live::Live;
use crate::store::{Browse, SqliteReader};

/// Latency of one kind of request.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestFigures {
    /// What was asked.
    pub request: &'static str,
    /// Requests made.
    pub count: usize,
    /// Median latency, seconds.
    pub p50_s: f64,
    /// 99th percentile, seconds.
    pub p99_s: f64,
}

/// The API's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiFigures {
    /// Passages in the database.
    pub passages: u64,
    /// Match records in the database.
    pub matches: u64,
    /// One row per kind of request.
    pub requests: Vec<RequestFigures>,
}

/// Makes the path of one request from the random source.
type PathMaker = Box<dyn FnMut(&mut ChaCha8Rng) -> String>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// One GET on a fresh connection; the time to the whole answer, or why it failed.
fn get(addr: SocketAddr, path: &str) -> Result<f64, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if !answer.starts_with(b"HTTP/1.1 200") {
        let head = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
        return Err(format!("GET {path}: {head}"));
    }
    Ok(seconds)
}

/// Serves the database of `settings` on a free loopback port and measures `count`
/// requests of each kind.
pub fn measure(settings: &Settings, count: usize) -> Result<ApiFigures, HubError> {
    let mut settings = settings.clone();
    settings.config.http.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    settings.config.http.token = None;
    let live = Arc::new(Live::new(settings.keys.keys().cloned()));
    let server = crate::http::spawn(&settings, live)?;
    let reader = SqliteReader::open(&settings.config.db)?;
    let stats = reader.stats()?;
    let Some((first, last)) = stats.capture_range_us else {
        return Ok(ApiFigures {
            passages: 0,
            matches: 0,
            requests: Vec::new(),
        });
    };
    let cameras: Arc<Vec<String>> =
        Arc::new(stats.per_camera.iter().map(|c| c.0.clone()).collect());
    let max_id = reader
        .passages(&crate::store::browse::PassageFilter {
            limit: 1,
            ..Default::default()
        })?
        .first()
        .map_or(1, |p| p.id);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let pick = |cameras: &[String], rng: &mut ChaCha8Rng| {
        cameras[rng.random_range(0..cameras.len().max(1))].clone()
    };
    let window = {
        let cameras = Arc::clone(&cameras);
        move |rng: &mut ChaCha8Rng| {
            let from = rng.random_range(first..=last.saturating_sub(600_000_000).max(first));
            let camera = pick(&cameras, rng);
            let to = from + 600_000_000;
            format!("/api/v1/passages?camera={camera}&from_us={from}&to_us={to}")
        }
    };
    let kinds: [(&'static str, PathMaker); 4] = [
        (
            "passages of one camera in a 10-minute window (limit 50)",
            Box::new(window),
        ),
        (
            "one passage with its candidates and who found it",
            Box::new(move |rng: &mut ChaCha8Rng| {
                format!("/api/v1/passages/{}", rng.random_range(1..=max_id))
            }),
        ),
        (
            "newest 50 best matches",
            Box::new(|_: &mut ChaCha8Rng| "/api/v1/matches?best_only=true&limit=50".to_owned()),
        ),
        (
            "newest 50 matches of one camera",
            Box::new(move |rng: &mut ChaCha8Rng| {
                format!("/api/v1/matches?camera={}&limit=50", pick(&cameras, rng))
            }),
        ),
    ];
    let mut requests = Vec::new();
    for (request, mut path) in kinds {
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let p = path(&mut rng);
            times.push(get(server.addr(), &p).map_err(|message| HubError::Io {
                context: format!("bench API request failed: {message}"),
                source: std::io::Error::other("unexpected answer"),
            })?);
        }
        times.sort_by(f64::total_cmp);
        requests.push(RequestFigures {
            request,
            count,
            p50_s: percentile(&times, 0.5),
            p99_s: percentile(&times, 0.99),
        });
    }
    Ok(ApiFigures {
        passages: stats.signatures,
        matches: stats.matches,
        requests,
    })
}
