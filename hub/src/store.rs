//! The durable store: every accepted signature, the match events and the ingest counters.
//!
//! [`Store`] is what the hub needs from a database, so a shared server database can back
//! several hubs later; [`SqliteStore`] is the embedded implementation.
//!
//! Durability of [`SqliteStore`]: the database runs in WAL mode with `synchronous = FULL`, so each commit
//! fsyncs the WAL before returning. The hub acknowledges a message to the broker only after
//! the commit that stored it (or counted its rejection), so an acknowledged signature
//! survives a process kill and a power loss. `NORMAL` would be enough for a process kill
//! but may drop the last commits on power loss, which would break that promise; the cost of
//! `FULL` is paid once per batch, not per signature, because the hub commits all messages
//! that arrived together in one transaction.
//!
//! Each signature is stored as the exact authenticated payload, so a redelivered message
//! (same camera and sequence, same bytes) is recognised as a duplicate and not as a replay.

pub mod browse;
mod reader;
mod schema;
mod sqlite;
mod thumbnails;

pub use browse::Browse;
pub use reader::SqliteReader;
pub use sqlite::SqliteStore;

use super::error::StoreError;
use spanreid::signature::Signature;

/// A verified signature ready to be stored.
#[derive(Clone, Copy, Debug)]
pub struct NewSignature<'a> {
    /// The verified signature.
    pub signature: &'a Signature,
    /// The payload it was decoded from, tag included.
    pub payload: &'a [u8],
    /// Hub clock when it arrived, µs since the epoch.
    pub received_us: u64,
}

/// What storing one signature did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored under this id.
    Inserted(i64),
    /// The same payload is already stored under this id (a redelivery).
    Duplicate(i64),
    /// The camera already used this sequence number for another payload, or the number is
    /// not newer than signatures already evicted.
    Replay,
}

/// A stored signature with its row id.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSignature {
    /// Row id (increasing with arrival order).
    pub id: i64,
    /// The signature.
    pub signature: Signature,
}

/// One stored match: a candidate for a query signature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchRecord {
    /// The new signature.
    pub query_id: i64,
    /// A gallery signature from another camera.
    pub candidate_id: i64,
    /// Rank among the query's candidates, from 1.
    pub rank: u32,
    /// CPDM distance.
    pub distance: f32,
}

/// Counts kept by the database.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStats {
    /// Signatures in the gallery.
    pub signatures: u64,
    /// Signatures per `site/camera`.
    pub per_camera: Vec<(String, u64)>,
    /// Stored match records.
    pub matches: u64,
    /// Ingest counters (`accepted`, `duplicate`, and one per reject reason).
    pub counters: Vec<(String, u64)>,
    /// Oldest and newest capture time in the gallery, µs.
    pub capture_range_us: Option<(u64, u64)>,
}

/// What the hub needs from its database.
pub trait Store {
    /// Store a batch in one transaction, together with counter increments (reason, count)
    /// and the match records `matches` returns: it is called inside the transaction with
    /// the outcomes (so it knows the new ids), and its records commit with the signatures,
    /// so a crash never keeps a signature without its matches. Returns one outcome per
    /// signature, in order.
    fn insert_batch(
        &mut self,
        batch: &[NewSignature<'_>],
        counters: &[(&str, u64)],
        matches: &mut dyn FnMut(&[InsertOutcome]) -> Vec<MatchRecord>,
    ) -> Result<Vec<InsertOutcome>, StoreError>;
    /// Store verified thumbnails in one transaction, each beside the passage of its camera
    /// and sequence (replacing an earlier one), then remove the oldest passages' thumbnails
    /// beyond `max_bytes` in total; `rejected` counts refusals by reason. Counters:
    /// `thumbnail_stored`, `thumbnail_without_passage`, `thumbnail_evicted`.
    fn insert_thumbnails(
        &mut self,
        thumbnails: &[crate::thumbnails::NewThumbnail<'_>],
        rejected: &[(&str, u64)],
        received_us: u64,
        max_bytes: u64,
    ) -> Result<crate::thumbnails::ThumbnailCounts, StoreError>;
    /// Store match records in one transaction.
    fn insert_matches(&mut self, matches: &[MatchRecord]) -> Result<(), StoreError>;
    /// Every stored signature, by increasing id.
    fn load_all(&self) -> Result<Vec<StoredSignature>, StoreError>;
    /// One signature by id.
    fn get(&self, id: i64) -> Result<Option<StoredSignature>, StoreError>;
    /// Remove signatures captured before `older_than_us`, then the oldest beyond
    /// `max_count`. Returns the removed ids, increasing.
    fn evict(&mut self, older_than_us: u64, max_count: usize) -> Result<Vec<i64>, StoreError>;
    /// Stored matches of a query signature, by rank.
    fn matches_of(&self, query_id: i64) -> Result<Vec<MatchRecord>, StoreError>;
    /// Every stored match record, in the order they were stored.
    fn all_matches(&self) -> Result<Vec<MatchRecord>, StoreError>;
    /// Counts for `hub stats`.
    fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Number of stored signatures.
    fn count(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests;
