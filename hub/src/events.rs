//! Match events: what the hub publishes on [`MATCH_TOPIC`] for each new signature that has
//! at least one candidate, inside the signed envelope of [`crate::event_key`].
//!
//! Schema of the event (JSON object, one per message, QoS 1):
//!
//! ```json
//! {
//!   "schema": "spanreid.match.v1",
//!   "model_id": "00112233445566778899aabbccddeeff",
//!   "query": {
//!     "id": 4182, "site": "a9", "camera": "north", "track_id": 77, "sequence": 1203,
//!     "capture_time_us": 1795000000000000
//!   },
//!   "candidates": [
//!     { "rank": 1, "distance": 6.31, "confidence": 0.85,
//!       "signature": { "id": 4100, "site": "a9", "camera": "south", "track_id": 12,
//!                      "sequence": 998, "capture_time_us": 1794999940000000 } }
//!   ]
//! }
//! ```
//!
//! - `id` is the hub's signature id (`hub query --signature ID` shows it again).
//! - `candidates` are ordered by increasing CPDM distance, at most `matching.top_k`, each
//!   with a distance at most `matching.max_distance`, all from other cameras than the query
//!   (and, with a camera graph, within the link's travel time).
//! - `replaces` (only with `matching.one_to_one`, and only when it happens) names the
//!   passage of the query's camera that held this candidate until now: that earlier pair
//!   is withdrawn, since a passage pairs with at most one passage per other camera.
//! - `confidence` is the probability that the candidate is the same vehicle, read off the
//!   model's calibration curve (`[model.matching]` in the manifest, made by `trainer
//!   calibrate` on training identities); it is left out when the model has none.
//! - Times are µs since the Unix epoch.

use serde::{Deserialize, Serialize};

use super::config::to_hex;
use spanreid::signature::Signature;

/// Topic the hub publishes match events on.
pub const MATCH_TOPIC: &str = "spanreid/v1/match";

/// Value of the `schema` field.
pub const MATCH_SCHEMA: &str = "spanreid.match.v1";

/// Where and when a signature was seen, as named in events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRef {
    /// Hub signature id.
    pub id: i64,
    /// Site.
    pub site: String,
    /// Camera.
    pub camera: String,
    /// Edge track id.
    pub track_id: u32,
    /// Camera sequence number.
    pub sequence: u64,
    /// Capture time, µs since the epoch.
    pub capture_time_us: u64,
}

impl SignatureRef {
    /// The reference for stored signature `id`.
    pub fn new(id: i64, sig: &Signature) -> Self {
        SignatureRef {
            id,
            site: sig.site.as_str().to_owned(),
            camera: sig.camera.as_str().to_owned(),
            track_id: sig.track_id,
            sequence: sig.sequence,
            capture_time_us: sig.capture_time_us,
        }
    }
}

/// One ranked candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedCandidate {
    /// Rank from 1.
    pub rank: u32,
    /// CPDM distance.
    pub distance: f32,
    /// Probability that this is the same vehicle, from the model's calibration curve at
    /// `distance` (`trainer calibrate`); absent for an uncalibrated model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// The gallery signature.
    pub signature: SignatureRef,
    /// With one-to-one association: the passage (of the query's camera) that was paired
    /// with this candidate until now; that pair is withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<SignatureRef>,
}

/// A match event (see the module documentation for the JSON form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchEvent {
    /// Always [`MATCH_SCHEMA`].
    pub schema: String,
    /// Model id, hexadecimal.
    pub model_id: String,
    /// The new signature.
    pub query: SignatureRef,
    /// Best candidates first.
    pub candidates: Vec<RankedCandidate>,
}

impl MatchEvent {
    /// An event for `query` with its ranked candidates.
    pub fn new(query: SignatureRef, model_id: &[u8], candidates: Vec<RankedCandidate>) -> Self {
        MatchEvent {
            schema: MATCH_SCHEMA.to_owned(),
            model_id: to_hex(model_id),
            query,
            candidates,
        }
    }

    /// The JSON bytes published.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_documented_field_names() {
        let r = |id, cam: &str| SignatureRef {
            id,
            site: "a9".into(),
            camera: cam.into(),
            track_id: 7,
            sequence: 3,
            capture_time_us: 10,
        };
        let event = MatchEvent::new(
            r(2, "north"),
            &[0xab; 16],
            vec![RankedCandidate {
                confidence: None,
                rank: 1,
                distance: 0.5,
                signature: r(1, "south"),
                replaces: None,
            }],
        );
        let v: serde_json::Value = serde_json::from_slice(&event.to_json().unwrap()).unwrap();
        assert_eq!(v["schema"], "spanreid.match.v1");
        assert_eq!(v["model_id"], "ab".repeat(16));
        assert_eq!(v["query"]["camera"], "north");
        assert_eq!(v["candidates"][0]["rank"], 1);
        assert_eq!(v["candidates"][0]["distance"], 0.5);
        assert_eq!(v["candidates"][0]["signature"]["id"], 1);
        let back: MatchEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, event);
    }
}
