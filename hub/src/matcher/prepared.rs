//! A batch of new signatures made ready for the matcher's searches.

use std::collections::HashMap;

use crate::index::{GalleryIndex, RowMeta};
use spanreid::signature::Signature;

/// A batch made ready for searching, once for all the searches of its matching: its
/// signatures, their metadata and, for a batch of several, an index of the batch itself
/// (each signature is matched against those before it) with each id's position.
pub(super) struct Prepared<'a, I> {
    pub(super) sigs: Vec<&'a Signature>,
    pub(super) metas: Vec<RowMeta>,
    pub(super) within: Option<(I, HashMap<i64, usize>)>,
}

impl<'a, I: GalleryIndex> Prepared<'a, I> {
    pub(super) fn new(index: &I, batch: &[(i64, &'a Signature)], metas: Vec<RowMeta>) -> Self {
        let within = (batch.len() > 1).then(|| {
            let mut within = index.empty_like();
            for ((id, sig), meta) in batch.iter().zip(&metas) {
                within.insert(*id, sig, *meta);
            }
            let position = batch
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (*id, i))
                .collect();
            (within, position)
        });
        Prepared {
            sigs: batch.iter().map(|(_, s)| *s).collect(),
            metas,
            within,
        }
    }
}
