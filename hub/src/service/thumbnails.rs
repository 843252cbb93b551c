//! [`Hub::thumbnails`]: a batch of thumbnails verified and stored beside their passages.

use std::collections::BTreeMap;

use super::{Hub, Message};
use crate::error::StoreError;
use crate::index::GalleryIndex;
use crate::store::Store;
use crate::thumbnails::{ThumbnailCounts, verify};

impl<S: Store, I: GalleryIndex> Hub<S, I> {
    /// Store the thumbnails that arrived together (one transaction): each verified one
    /// beside its passage, refusals counted by reason.
    pub fn thumbnails(
        &mut self,
        batch: &[Message],
        now_us: u64,
    ) -> Result<ThumbnailCounts, StoreError> {
        let mut ok = Vec::with_capacity(batch.len());
        let mut rejects: BTreeMap<&'static str, u64> = BTreeMap::new();
        for msg in batch {
            match verify(&self.verifier, &msg.topic, &msg.payload) {
                Ok(t) => ok.push(t),
                Err(reason) => {
                    tracing::debug!(topic = %msg.topic, reason, "thumbnail refused");
                    *rejects.entry(reason).or_default() += 1;
                }
            }
        }
        let rejected: Vec<(&str, u64)> = rejects.into_iter().collect();
        self.store
            .insert_thumbnails(&ok, &rejected, now_us, self.max_thumbnail_bytes)
    }
}
