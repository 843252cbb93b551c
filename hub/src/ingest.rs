//! From the bytes of one MQTT message to an authenticated signature, or a reason to reject
//! it. No I/O: the caller supplies the topic, the payload and the hub's clock.
//!
//! Checks, in order: topic shape, decoding (version, size, body, tag length, canonical
//! form, format rules), known camera, topic site/camera equal to the payload's, the tag
//! under that camera's key, model id, feature dimension, capture time within the replay
//! window. The "sequence already seen" half of replay protection needs the gallery and is
//! done by the [`super::store::Store`] in the same transaction that stores the signature.

use std::collections::HashMap;

use spanreid::signature::receipt::Outcome as ReceiptOutcome;
use spanreid::signature::{CameraKey, Envelope, ModelId, Signature, WireError};

use super::config::{CameraId, Settings};

/// Topic filter the hub subscribes to.
pub const SIGNATURE_FILTER: &str = "spanreid/v1/+/+/signature";

/// Why a message was rejected. [`Reject::reason`] names the counter it increments.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Reject {
    /// The topic is not `spanreid/v1/<site>/<camera>/signature`.
    #[error("topic {0:?} is not a signature topic")]
    BadTopic(String),
    /// The payload does not decode.
    #[error("payload does not decode: {0}")]
    Decode(#[from] WireError),
    /// No key is configured for the camera named in the payload.
    #[error("unknown camera {site}/{camera}")]
    UnknownCamera {
        /// Site in the payload.
        site: String,
        /// Camera in the payload.
        camera: String,
    },
    /// The topic names another camera than the payload.
    #[error("topic names {topic_site}/{topic_camera}, payload {site}/{camera}")]
    TopicMismatch {
        /// Site in the topic.
        topic_site: String,
        /// Camera in the topic.
        topic_camera: String,
        /// Site in the payload.
        site: String,
        /// Camera in the payload.
        camera: String,
    },
    /// The tag does not verify under the camera's key.
    #[error("authentication tag does not verify for {site}/{camera}")]
    BadTag {
        /// Site in the payload.
        site: String,
        /// Camera in the payload.
        camera: String,
    },
    /// Signed by a model other than the configured one.
    #[error("signature comes from another model")]
    ModelMismatch,
    /// Feature dimension other than the configured model's.
    #[error("feature dimension {found}, the model has {expected}")]
    DimensionMismatch {
        /// Configured dimension.
        expected: usize,
        /// Dimension in the payload.
        found: usize,
    },
    /// Captured before the replay window.
    #[error("captured {age_s} s ago, outside the replay window")]
    TooOld {
        /// Age in seconds.
        age_s: u64,
    },
    /// Captured too far in the future (clock skew or forgery).
    #[error("captured {ahead_s} s in the future")]
    FromFuture {
        /// Seconds ahead of the hub's clock.
        ahead_s: u64,
    },
    /// The camera already sent this sequence number with another content, or one older
    /// than signatures evicted from the gallery.
    #[error("sequence {sequence} of {site}/{camera} was already seen")]
    Replay {
        /// Site.
        site: String,
        /// Camera.
        camera: String,
        /// Sequence number.
        sequence: u64,
    },
}

impl Reject {
    /// The receipt outcome of a refused authentic signature (`None` for rejections of
    /// messages that may not come from the camera they name: no receipt for those).
    pub fn receipt_outcome(&self) -> Option<ReceiptOutcome> {
        Some(match self {
            Reject::ModelMismatch => ReceiptOutcome::ModelMismatch,
            Reject::DimensionMismatch { .. } => ReceiptOutcome::DimensionMismatch,
            Reject::TooOld { .. } => ReceiptOutcome::TooOld,
            Reject::FromFuture { .. } => ReceiptOutcome::FromFuture,
            Reject::Replay { .. } => ReceiptOutcome::Replay,
            _ => return None,
        })
    }

    /// Stable counter name for this kind of rejection.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::BadTopic(_) => "bad_topic",
            Reject::Decode(e) => match e {
                WireError::Empty => "empty",
                WireError::UnsupportedVersion { .. } => "unsupported_version",
                WireError::Oversized { .. } => "oversized",
                WireError::Malformed(_) | WireError::BadTagLength { .. } => "malformed",
                WireError::NonCanonical => "non_canonical",
                WireError::Invalid(_) | WireError::BufferTooSmall { .. } => "invalid",
            },
            Reject::UnknownCamera { .. } => "unknown_camera",
            Reject::TopicMismatch { .. } => "topic_mismatch",
            Reject::BadTag { .. } => "bad_tag",
            Reject::ModelMismatch => "model_mismatch",
            Reject::DimensionMismatch { .. } => "dimension_mismatch",
            Reject::TooOld { .. } => "too_old",
            Reject::FromFuture { .. } => "from_future",
            Reject::Replay { .. } => "replay",
        }
    }
}

/// Checks messages against the configured cameras, model and replay window.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: HashMap<CameraId, CameraKey>,
    model_id: ModelId,
    dim: usize,
    max_age_us: u64,
    max_future_us: u64,
}

impl Verifier {
    /// A verifier for the validated settings.
    pub fn new(settings: &Settings) -> Self {
        let ingest = &settings.config.ingest;
        Verifier {
            keys: settings.keys.clone(),
            model_id: settings.model_id,
            dim: settings.config.model.dim,
            max_age_us: ingest.max_age_s.saturating_mul(1_000_000),
            max_future_us: ingest.max_future_s.saturating_mul(1_000_000),
        }
    }

    /// Verify one message received on `topic` at hub time `now_us` (µs since the epoch):
    /// [`Verifier::authenticate`], then [`Verifier::admit`].
    pub fn verify(&self, topic: &str, payload: &[u8], now_us: u64) -> Result<Signature, Reject> {
        let sig = self.authenticate(topic, payload)?;
        self.admit(&sig, now_us)?;
        Ok(sig)
    }

    /// Whether the message is a signature of a configured camera, on that camera's topic,
    /// tagged with its key: then it comes from that camera, and its sequence number may be
    /// receipted to it.
    pub fn authenticate(&self, topic: &str, payload: &[u8]) -> Result<Signature, Reject> {
        let (topic_site, topic_camera) =
            parse_topic(topic).ok_or_else(|| Reject::BadTopic(topic.to_owned()))?;
        let envelope = Envelope::decode(payload)?;
        let unverified = envelope.signature();
        let site = unverified.site.as_str().to_owned();
        let camera = unverified.camera.as_str().to_owned();
        let id = (site, camera);
        let Some(key) = self.keys.get(&id) else {
            return Err(Reject::UnknownCamera {
                site: id.0,
                camera: id.1,
            });
        };
        if topic_site != id.0 || topic_camera != id.1 {
            return Err(Reject::TopicMismatch {
                topic_site: topic_site.to_owned(),
                topic_camera: topic_camera.to_owned(),
                site: id.0,
                camera: id.1,
            });
        }
        envelope.verify(key).map_err(|_| Reject::BadTag {
            site: id.0.clone(),
            camera: id.1.clone(),
        })
    }

    /// Whether an authentic signature fits the hub: its model, dimension and the replay
    /// window around `now_us`.
    pub fn admit(&self, sig: &Signature, now_us: u64) -> Result<(), Reject> {
        if sig.model_id != self.model_id {
            return Err(Reject::ModelMismatch);
        }
        if sig.dim() != self.dim {
            return Err(Reject::DimensionMismatch {
                expected: self.dim,
                found: sig.dim(),
            });
        }
        let t = sig.capture_time_us;
        if t.saturating_add(self.max_age_us) < now_us {
            return Err(Reject::TooOld {
                age_s: (now_us - t) / 1_000_000,
            });
        }
        if t > now_us.saturating_add(self.max_future_us) {
            return Err(Reject::FromFuture {
                ahead_s: (t - now_us) / 1_000_000,
            });
        }
        Ok(())
    }

    /// The key of a configured camera.
    pub fn key(&self, site: &str, camera: &str) -> Option<&CameraKey> {
        self.keys.get(&(site.to_owned(), camera.to_owned()))
    }
}

/// Topic the hub publishes a camera's receipts on.
pub fn receipt_topic(site: &str, camera: &str) -> String {
    format!("spanreid/v1/{site}/{camera}/receipt")
}

/// Topic a camera publishes its signatures on.
pub fn signature_topic(site: &str, camera: &str) -> String {
    format!("spanreid/v1/{site}/{camera}/signature")
}

/// `(site, camera)` of a signature topic.
pub fn parse_topic(topic: &str) -> Option<(&str, &str)> {
    parse_camera_topic(topic, "signature")
}

/// `(site, camera)` of a topic `spanreid/v1/<site>/<camera>/<leaf>` (signature, status,
/// thumbnail); `None` for any other topic or an empty site or camera.
pub fn parse_camera_topic<'a>(topic: &'a str, leaf: &str) -> Option<(&'a str, &'a str)> {
    let mut parts = topic.split('/');
    let (Some("spanreid"), Some("v1"), Some(site), Some(camera), Some(last), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (last == leaf && !site.is_empty() && !camera.is_empty()).then_some((site, camera))
}

#[cfg(test)]
mod tests;
