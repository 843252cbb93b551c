//! What the operator's HTTP API reads: passages (stored signatures without their features)
//! by camera and time, and stored match records with both ends. [`Browse`] is the read
//! side of a store, kept apart from [`super::Store`] (the ingest side) so a reader can run
//! on its own connection beside the hub's writer; [`super::SqliteReader`] implements it.

use crate::error::StoreError;

/// Where and when a vehicle was seen: a stored signature's metadata, no features. The
/// HTTP API shows it as it is (JSON, the field names below).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Passage {
    /// Hub signature id.
    pub id: i64,
    /// Site.
    pub site: String,
    /// Camera.
    pub camera: String,
    /// Edge track id.
    pub track_id: u32,
    /// Camera sequence number.
    pub sequence: u64,
    /// Capture time, µs since the epoch.
    pub capture_time_us: u64,
    /// Hub clock when it arrived, µs since the epoch.
    pub received_us: u64,
}

/// A stored match record with both passages.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// The passage that was searched for (the newer one).
    pub query: Passage,
    /// The candidate found for it at another camera.
    pub candidate: Passage,
    /// Rank among the query's candidates, from 1.
    pub rank: u32,
    /// CPDM distance.
    pub distance: f32,
}

/// A position in a newest-first listing: rows strictly after it are returned next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairCursor {
    /// Query id of the last row returned.
    pub query_id: i64,
    /// Its rank.
    pub rank: u32,
}

/// Which passages to list (newest first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassageFilter {
    /// Only this `(site, camera)`.
    pub camera: Option<(String, String)>,
    /// Captured at or after this time, µs.
    pub from_us: Option<u64>,
    /// Captured before this time, µs.
    pub to_us: Option<u64>,
    /// Only ids below this one (paging).
    pub before_id: Option<i64>,
    /// At most this many rows.
    pub limit: usize,
}

/// Which match records to list (newest query first, then by rank).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairFilter {
    /// Either end at this `(site, camera)`.
    pub camera: Option<(String, String)>,
    /// Query captured at or after this time, µs.
    pub from_us: Option<u64>,
    /// Query captured before this time, µs.
    pub to_us: Option<u64>,
    /// Distance at most this (a confidence floor, read through the calibration).
    pub max_distance: Option<f32>,
    /// Only rank 1 (each query's best candidate).
    pub best_only: bool,
    /// Rows after this position (paging).
    pub after: Option<PairCursor>,
    /// At most this many rows.
    pub limit: usize,
}

/// What the store holds for one camera.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraActivity {
    /// Site.
    pub site: String,
    /// Camera.
    pub camera: String,
    /// Stored passages.
    pub passages: u64,
    /// Newest capture time, µs.
    pub last_capture_us: u64,
    /// Newest arrival at the hub, µs.
    pub last_received_us: u64,
}

/// The read side of a store, for the HTTP API.
pub trait Browse {
    /// Passages matching `filter`, newest id first.
    fn passages(&self, filter: &PassageFilter) -> Result<Vec<Passage>, StoreError>;
    /// One passage.
    fn passage(&self, id: i64) -> Result<Option<Passage>, StoreError>;
    /// Stored candidates of passage `id` as a query, by rank.
    fn candidates_of(&self, id: i64) -> Result<Vec<Pair>, StoreError>;
    /// Stored pairs where passage `id` is the candidate (later passages that found it).
    fn found_by(&self, id: i64) -> Result<Vec<Pair>, StoreError>;
    /// Match records matching `filter`, newest query first, then by rank.
    fn pairs(&self, filter: &PairFilter) -> Result<Vec<Pair>, StoreError>;
    /// Per camera with stored passages: counts and newest times.
    fn cameras(&self) -> Result<Vec<CameraActivity>, StoreError>;
    /// The thumbnail (JPEG) of passage `id`, if one was stored.
    fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Gallery counts, as `hub stats` shows them.
    fn stats(&self) -> Result<super::StoreStats, StoreError>;
}
