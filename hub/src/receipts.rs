//! The receipts a batch earns: every authentic signature the batch stored (or had stored
//! before) or refused for good gets one, sent to its camera and tagged with its key, so the
//! camera can delete it from its queue (see `spanreid::signature::receipt`). Messages that
//! may not come from the camera they name (bad tag, unknown camera, …) get none. No I/O.

use std::collections::BTreeMap;

use spanreid::signature::Signature;
use spanreid::signature::receipt::{Outcome, RECEIPT_LEN, Receipt, runs};

use super::ingest::{Verifier, receipt_topic};

/// One receipt to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptMessage {
    /// `spanreid/v1/<site>/<camera>/receipt`.
    pub topic: String,
    /// The tagged receipt.
    pub payload: [u8; RECEIPT_LEN],
}

/// Sequence numbers and outcomes by camera, gathered over one batch.
#[derive(Debug, Default)]
pub struct ReceiptBook {
    items: BTreeMap<(String, String), Vec<(u64, Outcome)>>,
}

impl ReceiptBook {
    /// `sig` (authentic) had `outcome`.
    pub fn add(&mut self, sig: &Signature, outcome: Outcome) {
        self.items
            .entry((sig.site.as_str().to_owned(), sig.camera.as_str().to_owned()))
            .or_default()
            .push((sig.sequence, outcome));
    }

    /// One receipt per camera and run of consecutive sequences with one outcome.
    pub fn finish(self, verifier: &Verifier) -> Vec<ReceiptMessage> {
        let mut out = Vec::new();
        for ((site, camera), mut items) in self.items {
            let Some(key) = verifier.key(&site, &camera) else {
                continue;
            };
            let empty = Receipt {
                outcome: Outcome::Stored,
                first: 0,
                last: 0,
            };
            let mut receipts = vec![empty; items.len()];
            let n = runs(&mut items, &mut receipts);
            let topic = receipt_topic(&site, &camera);
            out.extend(receipts[..n].iter().map(|r| ReceiptMessage {
                topic: topic.clone(),
                payload: r.encode(key),
            }));
        }
        out
    }
}
