//! The signature an edge unit publishes for one vehicle passage, and its wire format.
//!
//! A signature holds the four SPAN feature vectors (global, front, rear, side) quantised to
//! int8 with one scale each, the three view area ratios CPDM needs, and where and when the
//! vehicle was seen. On the wire it is a postcard body followed by an HMAC-SHA256 tag keyed
//! per camera; see [`wire`] for the layout and [`auth`] for why HMAC. The hub answers with
//! [`receipt`]s, tagged with the same key, once it has committed a camera's signatures;
//! a [`thumbnail`] of the crop, tagged the same way, may follow a signature as evidence.

pub mod auth;
pub mod quant;
pub mod receipt;
#[cfg(test)]
mod tests;
pub mod thumbnail;
pub mod wire;

use heapless::String;
use serde::{Deserialize, Serialize};

use crate::cpdm::AreaRatios;
use crate::part::PARTS;

pub use auth::{AuthError, CameraKey, TAG_LEN, Tag};
pub use quant::{QuantError, QuantizedFeature};
pub use receipt::{Receipt, ReceiptError};
pub use thumbnail::{Thumbnail, ThumbnailError};
pub use wire::{Envelope, FORMAT_VERSION, MAX_ENCODED_LEN, WireError};

/// Capacity of each feature vector: the largest feature dimension a model may use.
pub const MAX_DIM: usize = 512;
/// Capacity of the site and camera identifiers, in bytes of UTF-8.
pub const MAX_ID_LEN: usize = 32;
/// Length of a model id: the first 16 bytes of the SHA-256 over the model files.
pub const MODEL_ID_LEN: usize = 16;

/// Identifier of the model files that produced a signature; signatures are only comparable
/// when their model ids are equal.
pub type ModelId = [u8; MODEL_ID_LEN];
/// A site or camera identifier (for example `"a9-north"`, `"c003"`).
pub type Ident = String<MAX_ID_LEN>;

/// One vehicle passage seen by one camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// Hash of the model files that computed the features.
    pub model_id: ModelId,
    /// Site (installation) the camera belongs to.
    pub site: Ident,
    /// Camera within the site; the authentication key is per camera.
    pub camera: Ident,
    /// Capture time of the frame the features were taken from, µs since the Unix epoch.
    pub capture_time_us: u64,
    /// Track id assigned by the edge tracker (one vehicle passage).
    pub track_id: u32,
    /// Per-camera sequence number, strictly increasing; the hub rejects replays with it.
    pub sequence: u64,
    /// Visible-area ratios of the front, rear and side views.
    pub area_ratios: AreaRatios,
    /// Feature vectors in [`crate::Part`] order: global, front, rear, side. All four have
    /// the same dimension.
    pub features: [QuantizedFeature; PARTS],
}

impl Signature {
    /// Dimension of the feature vectors (that of the global one).
    pub fn dim(&self) -> usize {
        self.features[0].dim()
    }
}
