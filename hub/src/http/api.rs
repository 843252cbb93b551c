//! The JSON of the HTTP API and the query strings it accepts, as plain values: requests
//! become store filters, store rows become response bodies. No I/O.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use spanreid_infer::calibration::MatchCalibration;

use crate::config::parse_camera_ref;
use crate::store::StoreStats;
use crate::store::browse::{CameraActivity, Pair, PairCursor, PairFilter, Passage, PassageFilter};

use super::error::ApiError;

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 500;

/// A stored match record with both passages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairJson {
    /// The passage that was searched for.
    pub query: Passage,
    /// The candidate found for it at another camera.
    pub candidate: Passage,
    /// Rank among the query's candidates, from 1.
    pub rank: u32,
    /// CPDM distance.
    pub distance: f32,
    /// Probability that both are the same vehicle (the model's calibration); absent for
    /// an uncalibrated model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Capture time of the query minus that of the candidate, seconds.
    pub travel_time_s: f64,
}

/// A pair with its confidence read off `calibration`.
pub fn pair_json(p: &Pair, calibration: Option<&MatchCalibration>) -> PairJson {
    let dt = p.query.capture_time_us as i128 - p.candidate.capture_time_us as i128;
    PairJson {
        query: p.query.clone(),
        candidate: p.candidate.clone(),
        rank: p.rank,
        distance: p.distance,
        confidence: calibration.map(|c| c.confidence(p.distance)),
        travel_time_s: dt as f64 / 1e6,
    }
}

/// A query string's parameters, read one by one so that an error names the parameter.
#[derive(Clone, Debug, Default)]
pub struct Params(std::collections::HashMap<String, String>);

impl Params {
    /// The parameters of a request, refusing any not in `known` (and `token`, which the
    /// token check reads).
    pub fn new(
        all: std::collections::HashMap<String, String>,
        known: &[&str],
    ) -> Result<Self, ApiError> {
        let mut unknown: Vec<&String> = all
            .keys()
            .filter(|k| *k != "token" && !known.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            Some(k) => Err(ApiError::bad_request(format!(
                "unknown parameter {k:?}; this path takes {}",
                known.join(", ")
            ))),
            None => Ok(Params(all)),
        }
    }

    /// Parameter `name` parsed as `T`, `what` saying what it must be.
    pub fn get<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        self.0
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::bad_request(format!("{name} = {v:?} is not {what}")))
            })
            .transpose()
    }

    fn time(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name, "a time in µs since the epoch")
    }
}

/// `GET /api/v1/passages` query string.
#[derive(Clone, Debug, Default)]
pub struct PassageQuery {
    /// `site/camera`.
    pub camera: Option<String>,
    /// Captured at or after, µs.
    pub from_us: Option<u64>,
    /// Captured before, µs.
    pub to_us: Option<u64>,
    /// Ids below this (the previous page's `next`).
    pub before: Option<i64>,
    /// Rows, 1 to [`MAX_LIMIT`].
    pub limit: Option<usize>,
}

impl PassageQuery {
    /// Reads `camera`, `from_us`, `to_us`, `before`, `limit`.
    pub fn from_params(all: std::collections::HashMap<String, String>) -> Result<Self, ApiError> {
        let p = Params::new(all, &["camera", "from_us", "to_us", "before", "limit"])?;
        Ok(PassageQuery {
            camera: p.get("camera", "site/camera")?,
            from_us: p.time("from_us")?,
            to_us: p.time("to_us")?,
            before: p.get("before", "a passage id")?,
            limit: p.get("limit", "a whole number")?,
        })
    }
}

/// `GET /api/v1/matches` query string.
#[derive(Clone, Debug, Default)]
pub struct PairQuery {
    /// Either end at `site/camera`.
    pub camera: Option<String>,
    /// Query captured at or after, µs.
    pub from_us: Option<u64>,
    /// Query captured before, µs.
    pub to_us: Option<u64>,
    /// Confidence at least this (needs a calibrated model).
    pub min_confidence: Option<f32>,
    /// Each query's best candidate only.
    pub best_only: bool,
    /// The previous page's `next` (`<query id>.<rank>`).
    pub after: Option<String>,
    /// Rows, 1 to [`MAX_LIMIT`].
    pub limit: Option<usize>,
}

impl PairQuery {
    /// Reads `camera`, `from_us`, `to_us`, `min_confidence`, `best_only`, `after`, `limit`.
    pub fn from_params(all: std::collections::HashMap<String, String>) -> Result<Self, ApiError> {
        let p = Params::new(
            all,
            &[
                "camera",
                "from_us",
                "to_us",
                "min_confidence",
                "best_only",
                "after",
                "limit",
            ],
        )?;
        Ok(PairQuery {
            camera: p.get("camera", "site/camera")?,
            from_us: p.time("from_us")?,
            to_us: p.time("to_us")?,
            min_confidence: p.get("min_confidence", "a number")?,
            best_only: p.get("best_only", "true or false")?.unwrap_or(false),
            after: p.get("after", "<query id>.<rank>")?,
            limit: p.get("limit", "a whole number")?,
        })
    }
}

fn limit(n: Option<usize>) -> Result<usize, ApiError> {
    match n.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(ApiError::bad_request(format!(
            "limit {n} is not in 1..={MAX_LIMIT}"
        ))),
    }
}

fn camera(c: Option<String>) -> Result<Option<(String, String)>, ApiError> {
    c.map(|c| {
        parse_camera_ref(&c)
            .map_err(|_| ApiError::bad_request(format!("camera {c:?} is not \"site/camera\"")))
    })
    .transpose()
}

fn time_range(from: Option<u64>, to: Option<u64>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(a), Some(b)) if a > b => Err(ApiError::bad_request(format!(
            "from_us {a} is after to_us {b}"
        ))),
        _ => Ok(()),
    }
}

impl PassageQuery {
    /// The store filter, or a 400 naming the bad parameter.
    pub fn filter(self) -> Result<PassageFilter, ApiError> {
        time_range(self.from_us, self.to_us)?;
        Ok(PassageFilter {
            camera: camera(self.camera)?,
            from_us: self.from_us,
            to_us: self.to_us,
            before_id: self.before,
            limit: limit(self.limit)?,
        })
    }
}

/// Reads a `next` cursor, `<query id>.<rank>`.
pub fn parse_cursor(s: &str) -> Result<PairCursor, ApiError> {
    let bad = || ApiError::bad_request(format!("after {s:?} is not <query id>.<rank>"));
    let (q, r) = s.split_once('.').ok_or_else(bad)?;
    Ok(PairCursor {
        query_id: q.parse().map_err(|_| bad())?,
        rank: r.parse().map_err(|_| bad())?,
    })
}

/// The cursor after `p`.
pub fn cursor_after(p: &Pair) -> String {
    format!("{}.{}", p.query.id, p.rank)
}

impl PairQuery {
    /// The store filter (a confidence floor becomes a distance ceiling through
    /// `calibration`), or a 400 naming the bad parameter.
    pub fn filter(self, calibration: Option<&MatchCalibration>) -> Result<PairFilter, ApiError> {
        time_range(self.from_us, self.to_us)?;
        let max_distance = match (self.min_confidence, calibration) {
            (None, _) => None,
            (Some(c), _) if !(0.0..=1.0).contains(&c) => {
                return Err(ApiError::bad_request(format!(
                    "min_confidence {c} is not in 0..1"
                )));
            }
            (Some(_), None) => {
                return Err(ApiError::bad_request(
                    "min_confidence needs a calibrated model ([model] manifest with \
                     [model.matching]); this hub has none"
                        .into(),
                ));
            }
            (Some(c), Some(cal)) => Some(cal.max_distance_for(c)).filter(|d| d.is_finite()),
        };
        Ok(PairFilter {
            camera: camera(self.camera)?,
            from_us: self.from_us,
            to_us: self.to_us,
            max_distance,
            best_only: self.best_only,
            after: self.after.as_deref().map(parse_cursor).transpose()?,
            limit: limit(self.limit)?,
        })
    }
}

/// One camera in `GET /api/v1/cameras`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraJson {
    /// Site.
    pub site: String,
    /// Camera.
    pub camera: String,
    /// Stored passages.
    pub passages: u64,
    /// Newest capture time, µs (absent before its first passage).
    pub last_capture_us: Option<u64>,
    /// Newest arrival, µs.
    pub last_received_us: Option<u64>,
    /// The agent's last status message (not authenticated), if one arrived.
    pub status: Option<serde_json::Value>,
    /// When it arrived, µs.
    pub status_received_us: Option<u64>,
}

/// Configured cameras with their live status, joined with what the store holds; cameras
/// only in the store (no longer configured) come last.
pub fn cameras_json(
    live: Vec<(crate::config::CameraId, Option<crate::live::CameraStatus>)>,
    stored: &[CameraActivity],
) -> Vec<CameraJson> {
    let find = |site: &str, cam: &str| stored.iter().find(|a| a.site == site && a.camera == cam);
    let mut out: Vec<CameraJson> = live
        .into_iter()
        .map(|((site, camera), status)| {
            let a = find(&site, &camera);
            CameraJson {
                passages: a.map_or(0, |a| a.passages),
                last_capture_us: a.map(|a| a.last_capture_us),
                last_received_us: a.map(|a| a.last_received_us),
                status_received_us: status.as_ref().map(|s| s.received_us),
                status: status.map(|s| s.status),
                site,
                camera,
            }
        })
        .collect();
    for a in stored {
        if !out.iter().any(|c| c.site == a.site && c.camera == a.camera) {
            out.push(CameraJson {
                site: a.site.clone(),
                camera: a.camera.clone(),
                passages: a.passages,
                last_capture_us: Some(a.last_capture_us),
                last_received_us: Some(a.last_received_us),
                status: None,
                status_received_us: None,
            });
        }
    }
    out
}

/// `GET /api/v1/stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsJson {
    /// Stored passages.
    pub passages: u64,
    /// Stored match records.
    pub matches: u64,
    /// Passages per `site/camera`.
    pub per_camera: std::collections::BTreeMap<String, u64>,
    /// Ingest counters (`accepted`, `duplicate`, one per reject reason).
    pub counters: std::collections::BTreeMap<String, u64>,
    /// Oldest and newest capture time, µs.
    pub capture_range_us: Option<(u64, u64)>,
    /// Hex id of the model signatures must come from.
    pub model_id: String,
    /// Whether match confidences are available.
    pub calibrated: bool,
}

impl StatsJson {
    /// From the store's counts.
    pub fn new(s: StoreStats, model_id: String, calibrated: bool) -> Self {
        StatsJson {
            passages: s.signatures,
            matches: s.matches,
            per_camera: s.per_camera.into_iter().collect(),
            counters: s.counters.into_iter().collect(),
            capture_range_us: s.capture_range_us,
            model_id,
            calibrated,
        }
    }
}

/// A status code and a message, the body of every error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorJson {
    /// HTTP status code.
    pub status: u16,
    /// What went wrong, naming the input.
    pub error: String,
}

impl ErrorJson {
    /// The body for `status`.
    pub fn new(status: StatusCode, error: String) -> Self {
        ErrorJson {
            status: status.as_u16(),
            error,
        }
    }
}
