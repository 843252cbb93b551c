//! `[thumbnails]`: a small JPEG of each passage's best crop, published beside its
//! signature as evidence for the hub's page. Off by default: it costs uplink bytes
//! (several times a signature's).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use spanreid::signature::thumbnail::MAX_JPEG_LEN;

use super::ConfigError;

/// `[thumbnails]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThumbnailConfig {
    /// Publish thumbnails on `spanreid/v1/<site>/<camera>/thumbnail`.
    pub enabled: bool,
    /// Longest side of the picture, pixels (the crop is scaled down to it, never up).
    pub max_side: u32,
    /// Largest JPEG, bytes; the quality steps down until it fits (at most the wire
    /// format's 12 KiB).
    pub max_bytes: usize,
    /// Their own store-and-forward queue; default `<queue.dir>/thumbnails`.
    pub queue_dir: Option<PathBuf>,
    /// Bytes that queue may hold; beyond it the oldest thumbnails are dropped (never a
    /// signature: thumbnails wait behind signatures and never take their room).
    pub queue_max_bytes: u64,
}

impl Default for ThumbnailConfig {
    fn default() -> Self {
        ThumbnailConfig {
            enabled: false,
            max_side: 128,
            max_bytes: 8 * 1024,
            queue_dir: None,
            queue_max_bytes: 16 << 20,
        }
    }
}

impl ThumbnailConfig {
    /// The queue directory for a signature queue in `signatures`.
    pub fn queue_dir(&self, signatures: &Path) -> PathBuf {
        self.queue_dir
            .clone()
            .unwrap_or_else(|| signatures.join("thumbnails"))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &'static str, message: String| ConfigError::Invalid { key, message };
        if !(16..=1024).contains(&self.max_side) {
            return Err(bad("thumbnails.max_side", "must be 16–1024 pixels".into()));
        }
        if !(1024..=MAX_JPEG_LEN).contains(&self.max_bytes) {
            return Err(bad(
                "thumbnails.max_bytes",
                format!("must be 1024–{MAX_JPEG_LEN} bytes"),
            ));
        }
        if self.queue_max_bytes < super::MIN_QUEUE_BYTES {
            return Err(bad(
                "thumbnails.queue_max_bytes",
                "must be at least 1 MiB (1048576)".into(),
            ));
        }
        Ok(())
    }
}
