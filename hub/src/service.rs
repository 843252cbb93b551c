//! The hub's processing of a batch of received messages: verify, store, match, evict. No
//! sockets here: [`super::mqtt`] feeds batches in and publishes what comes out.

use std::collections::{BTreeMap, HashMap};

use super::config::Settings;
use super::error::StoreError;
use super::events::{MatchEvent, RankedCandidate, SignatureRef};
use super::index::GalleryIndex;
use super::ingest::{Reject, Verifier};
use super::matcher::{CameraIdx, Candidate, Matcher};
use super::receipts::{ReceiptBook, ReceiptMessage};
use super::store::{InsertOutcome, MatchRecord, NewSignature, Store, StoredSignature};
use spanreid::signature::receipt::Outcome as ReceiptOutcome;
use spanreid::signature::{ModelId, Signature};
use spanreid_infer::calibration::MatchCalibration;

/// One received MQTT message.
#[derive(Clone, Debug)]
pub struct Message {
    /// Topic it arrived on.
    pub topic: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// What became of one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Stored under this id (or already stored: a redelivery).
    Stored(i64),
    /// Rejected, with the reason.
    Rejected(Reject),
}

/// Result of one batch.
#[derive(Clone, Debug, Default)]
pub struct BatchResult {
    /// One outcome per message, in order.
    pub outcomes: Vec<Outcome>,
    /// Match events to publish.
    pub events: Vec<MatchEvent>,
    /// Ids evicted by this batch.
    pub evicted: Vec<i64>,
    /// Receipts to publish, once the batch has committed (it has when `process` returns).
    pub receipts: Vec<ReceiptMessage>,
}

/// Seconds between age-based eviction passes (capacity is enforced every batch).
const EVICTION_PERIOD_US: u64 = 10_000_000;

/// Verifier, store and matcher together.
#[derive(Debug)]
pub struct Hub<S, I> {
    verifier: Verifier,
    store: S,
    matcher: Matcher<I>,
    model_id: ModelId,
    retention_us: u64,
    max_signatures: usize,
    max_thumbnail_bytes: u64,
    /// Rows in the store (any model): what the capacity limit counts.
    stored: usize,
    /// The replay window: no signature captured longer ago than this is accepted, so
    /// index entries older than it by more than the longest link are unreachable.
    max_age_us: u64,
    last_eviction_us: u64,
    matching: bool,
    calibration: Option<MatchCalibration>,
}

/// Rounds of searching again for passages that lost their pair (one-to-one): each round
/// can displace further pairs, and the chain is cut here.
const REMATCH_ROUNDS: usize = 2;

impl<S: Store, I: GalleryIndex> Hub<S, I> {
    /// Open the hub over `store`, rebuilding the search gallery from it.
    pub fn open(settings: &Settings, store: S, index: I) -> Result<Self, super::HubError> {
        let cfg = &settings.config;
        let matcher = Matcher::new(index, &cfg.links, cfg.matching.top_k, settings.max_distance)?
            .one_per_camera(cfg.matching.one_per_camera)
            .one_to_one(cfg.matching.one_to_one);
        let mut hub = Hub {
            verifier: Verifier::new(settings),
            store,
            matcher,
            model_id: settings.model_id,
            retention_us: cfg.gallery.retention_s.saturating_mul(1_000_000),
            max_signatures: cfg.gallery.max_signatures,
            max_thumbnail_bytes: cfg.gallery.max_thumbnail_bytes,
            stored: 0,
            max_age_us: cfg.ingest.max_age_s.saturating_mul(1_000_000),
            last_eviction_us: 0,
            matching: cfg.matching.enabled,
            calibration: settings.calibration.clone(),
        };
        let mut other_model = 0usize;
        let all = hub.store.load_all()?;
        hub.stored = all.len();
        for stored in &all {
            if stored.signature.model_id == hub.model_id {
                hub.matcher.insert(stored.id, &stored.signature);
            } else {
                other_model += 1;
            }
        }
        if hub.matcher.is_one_to_one() {
            hub.restore_pairs(&all)?;
        }
        if other_model > 0 {
            // After a model change: one line, not one per row.
            tracing::warn!(
                rows = other_model,
                "stored signatures of another model stay in the database but are not searched"
            );
        }
        tracing::info!(
            signatures = hub.matcher.len(),
            "gallery rebuilt from the database"
        );
        Ok(hub)
    }

    /// Process messages that arrived together; everything stored is committed when this
    /// returns `Ok`, so the caller may acknowledge them all.
    pub fn process(&mut self, batch: &[Message], now_us: u64) -> Result<BatchResult, StoreError> {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
        let mut verified: Vec<(usize, Signature)> = Vec::new();
        let mut rejects: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut book = ReceiptBook::default();
        for (i, msg) in batch.iter().enumerate() {
            let checked = self
                .verifier
                .authenticate(&msg.topic, &msg.payload)
                .and_then(|sig| match self.verifier.admit(&sig, now_us) {
                    Ok(()) => Ok(sig),
                    Err(reject) => {
                        if let Some(outcome) = reject.receipt_outcome() {
                            book.add(&sig, outcome);
                        }
                        Err(reject)
                    }
                });
            match checked {
                Ok(sig) => {
                    verified.push((i, sig));
                    outcomes.push(None);
                }
                Err(reject) => {
                    tracing::debug!(topic = %msg.topic, %reject, "rejected");
                    *rejects.entry(reject.reason()).or_default() += 1;
                    outcomes.push(Some(Outcome::Rejected(reject)));
                }
            }
        }
        let new: Vec<NewSignature<'_>> = verified
            .iter()
            .map(|(i, sig)| NewSignature {
                signature: sig,
                payload: &batch[*i].payload,
                received_us: now_us,
            })
            .collect();
        let counters: Vec<(&str, u64)> = rejects.into_iter().collect();
        // Matching runs inside the store's transaction, once the new ids are known, so the
        // signatures and their match records commit together.
        let mut candidates: Vec<Vec<Candidate>> = Vec::new();
        let matching = self.matching;
        let matcher = &mut self.matcher;
        let stored =
            self.store
                .insert_batch(&new, &counters, &mut |outcomes: &[InsertOutcome]| {
                    let inserted = newly_inserted(&verified, outcomes);
                    candidates = if matching {
                        matcher.candidates_batch(&inserted)
                    } else {
                        Vec::new()
                    };
                    match_records(&inserted, &candidates)
                })?;

        let mut events = Vec::new();
        let inserted = newly_inserted(&verified, &stored);
        for ((i, sig), outcome) in verified.iter().zip(stored) {
            book.add(
                sig,
                match outcome {
                    InsertOutcome::Replay => ReceiptOutcome::Replay,
                    _ => ReceiptOutcome::Stored,
                },
            );
            outcomes[*i] = Some(match outcome {
                InsertOutcome::Inserted(id) => Outcome::Stored(id),
                InsertOutcome::Duplicate(id) => Outcome::Stored(id),
                InsertOutcome::Replay => Outcome::Rejected(Reject::Replay {
                    site: sig.site.as_str().to_owned(),
                    camera: sig.camera.as_str().to_owned(),
                    sequence: sig.sequence,
                }),
            });
        }
        for (id, sig) in &inserted {
            self.matcher.insert(*id, sig);
        }
        self.stored += inserted.len();
        self.matcher.settle();
        for ((id, sig), candidates) in inserted.iter().zip(&candidates) {
            if !candidates.is_empty() {
                events.push(self.event(*id, sig, candidates)?);
            }
        }
        self.rematch_displaced(&mut events)?;
        let evicted = self.evict(now_us)?;
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.expect("every message got an outcome above"))
            .collect();
        Ok(BatchResult {
            outcomes,
            events,
            evicted,
            receipts: book.finish(&self.verifier),
        })
    }

    /// Adds `n` to the reject counter `reason` (for messages the connection discarded
    /// before they could be processed).
    pub fn count(&mut self, reason: &str, n: u64) -> Result<(), StoreError> {
        self.store
            .insert_batch(&[], &[(reason, n)], &mut |_| Vec::new())
            .map(|_| ())
    }

    fn event(
        &self,
        id: i64,
        sig: &Signature,
        candidates: &[Candidate],
    ) -> Result<MatchEvent, StoreError> {
        let mut ranked = Vec::with_capacity(candidates.len());
        for (rank, c) in (1u32..).zip(candidates) {
            if let Some(g) = self.store.get(c.id)? {
                let replaces = match c.replaces {
                    Some(old) => self
                        .store
                        .get(old)?
                        .map(|o| SignatureRef::new(o.id, &o.signature)),
                    None => None,
                };
                ranked.push(RankedCandidate {
                    rank,
                    replaces,
                    distance: c.distance,
                    confidence: self.calibration.as_ref().map(|m| m.confidence(c.distance)),
                    signature: SignatureRef::new(g.id, &g.signature),
                });
            }
        }
        Ok(MatchEvent::new(
            SignatureRef::new(id, sig),
            &self.model_id,
            ranked,
        ))
    }

    /// Replays the stored match records, in the order they were stored, into the
    /// one-to-one pairs.
    fn restore_pairs(&mut self, all: &[StoredSignature]) -> Result<(), StoreError> {
        let by_id: HashMap<i64, &Signature> = all.iter().map(|s| (s.id, &s.signature)).collect();
        for m in self.store.all_matches()? {
            if let (Some(q), Some(c)) = (by_id.get(&m.query_id), by_id.get(&m.candidate_id)) {
                self.matcher
                    .restore_pair((m.query_id, q), (m.candidate_id, c), m.distance);
            }
        }
        Ok(())
    }

    /// One-to-one: passages that lost their pair to a nearer query search again at that
    /// camera, for at most [`REMATCH_ROUNDS`] rounds (each may displace another). Their
    /// new pairs are stored as further match records of theirs and published as events of
    /// theirs. The batch is already committed: a failure here loses only the new search.
    fn rematch_displaced(&mut self, events: &mut Vec<MatchEvent>) -> Result<(), StoreError> {
        for _ in 0..REMATCH_ROUNDS {
            let displaced = self.matcher.take_displaced();
            if displaced.is_empty() {
                break;
            }
            let mut stored = Vec::with_capacity(displaced.len());
            for (id, camera) in displaced {
                if let Some(s) = self.store.get(id)? {
                    stored.push((s, camera));
                }
            }
            let items: Vec<(i64, &Signature, CameraIdx)> = stored
                .iter()
                .map(|(s, camera)| (s.id, &s.signature, *camera))
                .collect();
            let found = self.matcher.rematch(&items);
            let mut records = Vec::new();
            for ((id, _, _), candidates) in items.iter().zip(&found) {
                let last = self
                    .store
                    .matches_of(*id)?
                    .iter()
                    .map(|m| m.rank)
                    .max()
                    .unwrap_or(0);
                records.extend((last + 1..).zip(candidates).map(|(rank, c)| MatchRecord {
                    query_id: *id,
                    candidate_id: c.id,
                    rank,
                    distance: c.distance,
                }));
            }
            self.store.insert_matches(&records)?;
            self.matcher.settle();
            for ((id, sig, _), candidates) in items.iter().zip(&found) {
                if !candidates.is_empty() {
                    events.push(self.event(*id, sig, candidates)?);
                }
            }
        }
        Ok(())
    }

    fn evict(&mut self, now_us: u64) -> Result<Vec<i64>, StoreError> {
        let over_capacity = self.stored > self.max_signatures;
        let due = now_us.saturating_sub(self.last_eviction_us) >= EVICTION_PERIOD_US;
        if !over_capacity && !due {
            return Ok(Vec::new());
        }
        self.last_eviction_us = now_us;
        let evicted = self.store.evict(
            now_us.saturating_sub(self.retention_us),
            self.max_signatures,
        )?;
        self.matcher.remove(&evicted);
        self.stored = self.stored.saturating_sub(evicted.len());
        if !evicted.is_empty() {
            tracing::info!(count = evicted.len(), "evicted signatures");
        }
        let unreachable = self
            .matcher
            .forget_unreachable(now_us.saturating_sub(self.max_age_us));
        if unreachable > 0 {
            tracing::debug!(
                count = unreachable,
                "signatures no new passage can reach left the search index (still stored)"
            );
        }
        Ok(evicted)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The matcher.
    pub fn matcher(&self) -> &Matcher<I> {
        &self.matcher
    }
}

/// The signatures of `verified` that `outcomes` says were newly stored, with their ids.
fn newly_inserted<'s>(
    verified: &'s [(usize, Signature)],
    outcomes: &[InsertOutcome],
) -> Vec<(i64, &'s Signature)> {
    verified
        .iter()
        .zip(outcomes)
        .filter_map(|((_, sig), o)| match o {
            InsertOutcome::Inserted(id) => Some((*id, sig)),
            _ => None,
        })
        .collect()
}

/// One record per candidate of each new signature, ranked from 1.
fn match_records(
    inserted: &[(i64, &Signature)],
    candidates: &[Vec<Candidate>],
) -> Vec<MatchRecord> {
    inserted
        .iter()
        .zip(candidates)
        .flat_map(|((id, _), cs)| {
            (1u32..).zip(cs).map(move |(rank, c)| MatchRecord {
                query_id: *id,
                candidate_id: c.id,
                rank,
                distance: c.distance,
            })
        })
        .collect()
}

mod thumbnails;

#[cfg(test)]
mod tests;
