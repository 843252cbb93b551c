//! Signatures the broker has acknowledged and the hub has not yet receipted: protocol state
//! with no I/O. A record leaves the disk queue only when a receipt covering its sequence
//! number arrives; if the oldest waits longer than the timeout, everything still queued is
//! sent again (the hub recognises redeliveries and receipts them again), and the timeout
//! doubles up to [`MAX_TIMEOUT`] until a receipt arrives.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use spanreid::signature::receipt::Receipt;
use spanreid::signature::{CameraKey, Envelope};

use crate::metrics::Metrics;

/// Longest wait for a receipt before sending again, however often it was doubled.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Records awaiting their receipt, by sequence number.
#[derive(Debug)]
pub struct Awaiting {
    by_seq: BTreeMap<u64, (u64, Instant)>,
    base: Duration,
    timeout: Duration,
}

/// What a receipt settled.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Queue record ids to remove.
    pub records: Vec<u64>,
}

impl Awaiting {
    /// Empty, sending again after `timeout` without a receipt.
    pub fn new(timeout: Duration) -> Self {
        let timeout = timeout.max(Duration::from_millis(100));
        Awaiting {
            by_seq: BTreeMap::new(),
            base: timeout,
            timeout,
        }
    }

    /// The broker acknowledged `record`, which carries sequence number `seq`, at `now`.
    pub fn insert(&mut self, seq: u64, record: u64, now: Instant) {
        self.by_seq.insert(seq, (record, now));
    }

    /// Records awaiting a receipt.
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    /// Whether none is awaiting.
    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    /// A verified receipt arrived: the records it covers leave, and the timeout is reset.
    pub fn settle(&mut self, receipt: &Receipt) -> Settled {
        let seqs: Vec<u64> = self
            .by_seq
            .range(receipt.first..=receipt.last)
            .map(|(seq, _)| *seq)
            .collect();
        self.timeout = self.base;
        Settled {
            records: seqs
                .iter()
                .filter_map(|seq| self.by_seq.remove(seq))
                .map(|(record, _)| record)
                .collect(),
        }
    }

    /// At `now`, whether the oldest record has waited longer than the timeout. If so the
    /// state is cleared (the caller sends the queue again from its start) and the timeout
    /// doubles.
    pub fn expired(&mut self, now: Instant) -> bool {
        let Some(oldest) = self.by_seq.values().map(|(_, t)| *t).min() else {
            return false;
        };
        if now.saturating_duration_since(oldest) < self.timeout {
            return false;
        }
        self.by_seq.clear();
        self.timeout = (self.timeout * 2).min(MAX_TIMEOUT.max(self.base));
        true
    }

    /// The current timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// The sequence number of a queued signature (the agent wrote it, so it decodes; `None`
/// leaves the record to the broker's PUBACK).
pub(super) fn sequence_of(payload: &[u8]) -> Option<u64> {
    Envelope::decode(payload)
        .map(|e| e.signature().sequence)
        .map_err(|e| tracing::warn!(error = %e, "a queued record does not decode"))
        .ok()
}

/// Verifies a receipt and returns the records it lets go.
pub(super) fn on_receipt(
    a: &mut Awaiting,
    key: &CameraKey,
    payload: &[u8],
    metrics: &Metrics,
) -> Vec<u64> {
    let receipt = match Receipt::decode(payload, key) {
        Ok(r) => r,
        Err(e) => {
            Metrics::add(&metrics.receipts_invalid, 1);
            tracing::warn!(error = %e, "ignoring a message on the receipt topic");
            return Vec::new();
        }
    };
    let settled = a.settle(&receipt);
    if let Some(counter) = metrics.refused(receipt.outcome)
        && !settled.records.is_empty()
    {
        Metrics::add(counter, settled.records.len() as u64);
        tracing::error!(
            reason = receipt.outcome.name(),
            first = receipt.first,
            last = receipt.last,
            "the hub refused signatures"
        );
    } else {
        Metrics::add(&metrics.signatures_sent, settled.records.len() as u64);
    }
    settled.records
}

#[cfg(test)]
mod tests {
    use super::*;
    use spanreid::signature::receipt::Outcome;

    fn receipt(first: u64, last: u64) -> Receipt {
        Receipt {
            outcome: Outcome::Stored,
            first,
            last,
        }
    }

    #[test]
    fn a_receipt_settles_exactly_the_sequences_it_covers() {
        let t0 = Instant::now();
        let mut a = Awaiting::new(Duration::from_secs(10));
        for seq in 1..=5 {
            a.insert(seq, 100 + seq, t0);
        }
        assert_eq!(a.settle(&receipt(2, 3)).records, [102, 103]);
        assert_eq!(a.settle(&receipt(2, 3)).records, Vec::<u64>::new());
        assert_eq!(a.settle(&receipt(5, 9)).records, [105]);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn the_oldest_waiting_too_long_clears_and_doubles_the_timeout() {
        let t0 = Instant::now();
        let mut a = Awaiting::new(Duration::from_secs(10));
        a.insert(1, 1, t0);
        a.insert(2, 2, t0 + Duration::from_secs(5));
        assert!(!a.expired(t0 + Duration::from_secs(9)));
        assert!(a.expired(t0 + Duration::from_secs(10)));
        assert!(a.is_empty());
        assert_eq!(a.timeout(), Duration::from_secs(20));
        a.insert(3, 3, t0);
        assert!(!a.expired(t0 + Duration::from_secs(19)));
        a.settle(&receipt(3, 3));
        assert_eq!(a.timeout(), Duration::from_secs(10));
        for _ in 0..20 {
            a.insert(4, 4, t0);
            a.expired(t0 + MAX_TIMEOUT * 2);
        }
        assert_eq!(a.timeout(), MAX_TIMEOUT);
    }
}
