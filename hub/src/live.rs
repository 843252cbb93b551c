//! What the hub knows that is not in its database, shared with the HTTP server: the stream
//! of match events as they are made, and each camera's last status message. No I/O; the
//! MQTT loop feeds it, the HTTP server reads it.
//!
//! Statuses are the edge agents' retained `spanreid/v1/<site>/<camera>/status` messages
//! (`{"online":true,"frames":…}`, and the broker's last will `{"online":false}` when an
//! agent drops off). Unlike signatures they are not authenticated: the page shows them as
//! health hints, and only for configured cameras.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::config::CameraId;
use crate::events::MatchEvent;

/// Topic filter of the edge agents' status messages.
pub const STATUS_FILTER: &str = "spanreid/v1/+/+/status";

/// Largest status message kept, bytes.
pub const MAX_STATUS_BYTES: usize = 4096;

/// Match events buffered for a slow stream reader before it misses some.
const EVENT_BUFFER: usize = 1024;

/// A camera's last status message.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraStatus {
    /// The message, a JSON object.
    pub status: serde_json::Value,
    /// Hub clock when it arrived, µs since the epoch.
    pub received_us: u64,
}

/// Why a status message was not kept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The topic is not `spanreid/v1/<site>/<camera>/status`.
    #[error("topic {0:?} is not a status topic")]
    Topic(String),
    /// The camera is not configured.
    #[error("status of unconfigured camera {0}/{1}")]
    UnknownCamera(String, String),
    /// Larger than [`MAX_STATUS_BYTES`].
    #[error("status of {0} bytes is larger than {MAX_STATUS_BYTES}")]
    TooLarge(usize),
    /// Not a JSON object.
    #[error("status is not a JSON object: {0}")]
    NotJson(String),
}

/// Live state shared by the MQTT loop and the HTTP server.
#[derive(Debug)]
pub struct Live {
    events: broadcast::Sender<Arc<str>>,
    cameras: HashSet<CameraId>,
    statuses: Mutex<BTreeMap<CameraId, CameraStatus>>,
}

/// `(site, camera)` of a status topic.
pub fn parse_status_topic(topic: &str) -> Option<(&str, &str)> {
    crate::ingest::parse_camera_topic(topic, "status")
}

impl Live {
    /// Live state for the configured `cameras`.
    pub fn new(cameras: impl IntoIterator<Item = CameraId>) -> Self {
        Live {
            events: broadcast::channel(EVENT_BUFFER).0,
            cameras: cameras.into_iter().collect(),
            statuses: Mutex::new(BTreeMap::new()),
        }
    }

    /// Hands new match events to every stream reader (none listening: dropped).
    pub fn publish(&self, events: &[MatchEvent]) {
        if self.events.receiver_count() == 0 {
            return;
        }
        for event in events {
            match serde_json::to_string(event) {
                Ok(json) => {
                    let _ = self.events.send(Arc::from(json));
                }
                Err(e) => tracing::warn!(error = %e, "cannot serialise a match event"),
            }
        }
    }

    /// A stream of match events (JSON, as in [`crate::events`]) made from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    /// Keeps a status message received on `topic` at `now_us`.
    pub fn record_status(
        &self,
        topic: &str,
        payload: &[u8],
        now_us: u64,
    ) -> Result<(), StatusError> {
        let (site, camera) =
            parse_status_topic(topic).ok_or_else(|| StatusError::Topic(topic.to_owned()))?;
        let id = (site.to_owned(), camera.to_owned());
        if !self.cameras.contains(&id) {
            return Err(StatusError::UnknownCamera(id.0, id.1));
        }
        if payload.len() > MAX_STATUS_BYTES {
            return Err(StatusError::TooLarge(payload.len()));
        }
        let status: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| StatusError::NotJson(e.to_string()))?;
        if !status.is_object() {
            return Err(StatusError::NotJson("not an object".into()));
        }
        let mut statuses = self.statuses.lock().unwrap_or_else(PoisonError::into_inner);
        statuses.insert(
            id,
            CameraStatus {
                status,
                received_us: now_us,
            },
        );
        Ok(())
    }

    /// Every configured camera with its last status, if any, by site and camera.
    pub fn cameras(&self) -> Vec<(CameraId, Option<CameraStatus>)> {
        let statuses = self.statuses.lock().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<CameraId> = self.cameras.iter().cloned().collect();
        all.sort();
        all.into_iter()
            .map(|id| {
                let status = statuses.get(&id).cloned();
                (id, status)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Live {
        Live::new([("a9".to_owned(), "north".to_owned())])
    }

    #[test]
    fn keeps_the_last_status_of_configured_cameras_only() {
        let live = live();
        let topic = "spanreid/v1/a9/north/status";
        live.record_status(topic, br#"{"online":true,"frames":5}"#, 10)
            .unwrap();
        live.record_status(topic, br#"{"online":false}"#, 20)
            .unwrap();
        let cams = live.cameras();
        assert_eq!(cams.len(), 1);
        let status = cams[0].1.as_ref().unwrap();
        assert_eq!(status.status["online"], false);
        assert_eq!(status.received_us, 20);
        assert_eq!(
            live.record_status("spanreid/v1/a9/south/status", b"{}", 1),
            Err(StatusError::UnknownCamera("a9".into(), "south".into()))
        );
        assert!(matches!(
            live.record_status(topic, b"[1]", 1),
            Err(StatusError::NotJson(_))
        ));
        assert!(matches!(
            live.record_status(topic, b"{", 1),
            Err(StatusError::NotJson(_))
        ));
        let big = vec![b' '; MAX_STATUS_BYTES + 1];
        assert_eq!(
            live.record_status(topic, &big, 1),
            Err(StatusError::TooLarge(big.len()))
        );
        assert!(matches!(
            live.record_status("spanreid/v1/a9/north/signature", b"{}", 1),
            Err(StatusError::Topic(_))
        ));
        // The rejected messages left the last good one in place.
        assert_eq!(live.cameras()[0].1.as_ref().unwrap().received_us, 20);
    }

    #[test]
    fn stream_readers_get_events_made_after_they_subscribed() {
        let live = live();
        let r = |id| crate::events::SignatureRef {
            id,
            site: "a9".into(),
            camera: "north".into(),
            track_id: 1,
            sequence: 1,
            capture_time_us: 1,
        };
        let event = MatchEvent::new(r(2), &[0; 16], Vec::new());
        live.publish(std::slice::from_ref(&event)); // nobody listening yet
        let mut rx = live.subscribe();
        live.publish(std::slice::from_ref(&event));
        let json = rx.try_recv().unwrap();
        let back: MatchEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
        assert!(
            rx.try_recv().is_err(),
            "the event before subscribing is not replayed"
        );
    }
}
