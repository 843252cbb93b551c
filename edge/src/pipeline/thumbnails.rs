//! The thumbnail lane of the pipeline: after a signature is queued, its best crop as a
//! small tagged JPEG into a queue of its own (`[thumbnails]`).

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use spanreid::signature::CameraKey;
use spanreid_infer::Crop;

use crate::config::ThumbnailConfig;
use crate::metrics::Metrics;
use crate::queue::{DiskQueue, QueueError, QueueSettings};

/// Where thumbnails go and how they are made.
#[derive(Clone, Debug)]
pub struct ThumbnailLane {
    /// Their queue (never the signatures').
    pub queue: Arc<Mutex<DiskQueue>>,
    /// Longest side, pixels.
    pub max_side: u32,
    /// Largest JPEG, bytes.
    pub max_bytes: usize,
}

impl ThumbnailLane {
    /// The lane `config` asks for (`None` when off), its queue opened (recovering what a
    /// previous run left) under the signature queue's directory `signatures` by default.
    pub fn open(config: &ThumbnailConfig, signatures: &Path) -> Result<Option<Self>, QueueError> {
        if !config.enabled {
            return Ok(None);
        }
        let dir = config.queue_dir(signatures);
        let settings = QueueSettings {
            max_bytes: config.queue_max_bytes,
            ..QueueSettings::default()
        };
        let (queue, recovery) = DiskQueue::open(&dir, settings)?;
        tracing::info!(dir = %dir.display(), pending = recovery.pending, "thumbnail queue opened");
        Ok(Some(ThumbnailLane {
            queue: Arc::new(Mutex::new(queue)),
            max_side: config.max_side,
            max_bytes: config.max_bytes,
        }))
    }

    /// Queues the thumbnail of signature `sequence` from `crop`; never fails the pipeline
    /// (a thumbnail is evidence, not data): a failure is counted and logged.
    pub(super) fn push(&self, sequence: u64, crop: &Crop, key: &CameraKey, metrics: &Metrics) {
        let message = crate::thumbnail::jpeg(crop, self.max_side, self.max_bytes)
            .and_then(|j| crate::thumbnail::message(sequence, &j, key));
        let Some(message) = message else {
            Metrics::add(&metrics.thumbnails_skipped, 1);
            return;
        };
        match self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(&message)
        {
            Ok(_) => Metrics::add(&metrics.thumbnails, 1),
            Err(e) => {
                Metrics::add(&metrics.thumbnails_skipped, 1);
                tracing::warn!(sequence, error = %e, "thumbnail not queued");
            }
        }
    }
}
