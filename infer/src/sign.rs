//! From a track's embedding to the authenticated wire bytes of its signature (pure).

use spanreid::QuantizedFeature;
use spanreid::signature::{CameraKey, Ident, ModelId, QuantError, Signature, WireError, wire};

use crate::PartEmbedding;

/// Why a signature could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A site or camera id is too long for the wire format.
    #[error("identifier {0:?} is longer than {max} bytes", max = spanreid::signature::MAX_ID_LEN)]
    IdentTooLong(String),
    /// A feature could not be quantised.
    #[error("feature {part}: {source}")]
    Quant {
        /// Part name.
        part: &'static str,
        /// The cause.
        #[source]
        source: QuantError,
    },
    /// The signature breaks a wire-format rule.
    #[error("encoding the signature: {0}")]
    Wire(#[from] WireError),
}

/// Who signs: the camera's place and key.
#[derive(Clone, Debug)]
pub struct Signer {
    /// Site id.
    pub site: Ident,
    /// Camera id.
    pub camera: Ident,
    /// The camera's key.
    pub key: CameraKey,
    /// Model that computes the features.
    pub model_id: ModelId,
}

/// Parses an identifier for the wire format.
pub fn ident(s: &str) -> Result<Ident, SignError> {
    Ident::try_from(s).map_err(|_| SignError::IdentTooLong(s.to_string()))
}

/// One passage, ready to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassageMeta {
    /// Tracker id.
    pub track_id: u32,
    /// Capture time of the chosen crop, µs since the epoch.
    pub capture_time_us: u64,
    /// Per-camera sequence number.
    pub sequence: u64,
}

impl Signer {
    /// The signature of one passage.
    pub fn signature(&self, meta: PassageMeta, e: &PartEmbedding) -> Result<Signature, SignError> {
        let q = |k: usize| {
            QuantizedFeature::quantize(&e.features[k]).map_err(|source| SignError::Quant {
                part: spanreid::Part::ALL[k].name(),
                source,
            })
        };
        Ok(Signature {
            model_id: self.model_id,
            site: self.site.clone(),
            camera: self.camera.clone(),
            capture_time_us: meta.capture_time_us,
            track_id: meta.track_id,
            sequence: meta.sequence,
            area_ratios: e.area_ratios,
            features: [q(0)?, q(1)?, q(2)?, q(3)?],
        })
    }

    /// The wire bytes (body + tag) of one passage.
    pub fn encode(&self, meta: PassageMeta, e: &PartEmbedding) -> Result<Vec<u8>, SignError> {
        let sig = self.signature(meta, e)?;
        Ok(wire::encode_to_vec(&sig, &self.key)?)
    }
}

/// Next per-camera sequence number: strictly above `previous` and at least the wall clock in
/// µs, so numbers keep increasing across restarts without a state file.
pub fn next_sequence(previous: u64, now_us: u64) -> u64 {
    now_us.max(previous.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use spanreid::AreaRatios;
    use spanreid::signature::Envelope;

    use super::*;

    fn signer() -> Signer {
        Signer {
            site: ident("a9").unwrap(),
            camera: ident("c001").unwrap(),
            key: CameraKey::from_bytes([7; 32]),
            model_id: [3; 16],
        }
    }

    fn embedding(dim: usize) -> PartEmbedding {
        let f: Vec<f32> = (0..dim).map(|k| k as f32 - 2.0).collect();
        PartEmbedding {
            features: [f.clone(), f.clone(), f.clone(), f],
            area_ratios: AreaRatios([0.5, 0.25, 0.25]),
        }
    }

    #[test]
    fn encoded_signature_verifies_with_the_camera_key_only() {
        let s = signer();
        let meta = PassageMeta {
            track_id: 4,
            capture_time_us: 99,
            sequence: 12,
        };
        let bytes = s.encode(meta, &embedding(8)).unwrap();
        let sig = Envelope::decode(&bytes).unwrap().verify(&s.key).unwrap();
        assert_eq!(
            (sig.track_id, sig.sequence, sig.capture_time_us),
            (4, 12, 99)
        );
        assert_eq!(sig.dim(), 8);
        // values run from -2 to 5: scale = 5 / 127
        assert!((sig.features[0].scale - 5.0 / 127.0).abs() < 1e-7);
        assert!(
            Envelope::decode(&bytes)
                .unwrap()
                .verify(&CameraKey::from_bytes([8; 32]))
                .is_err()
        );
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        assert!(matches!(
            ident(&"x".repeat(33)),
            Err(SignError::IdentTooLong(_))
        ));
        let mut e = embedding(4);
        e.features[2][1] = f32::NAN;
        let err = signer()
            .signature(
                PassageMeta {
                    track_id: 0,
                    capture_time_us: 0,
                    sequence: 0,
                },
                &e,
            )
            .unwrap_err();
        assert!(err.to_string().starts_with("feature rear"), "{err}");
    }

    #[test]
    fn sequence_numbers_increase_even_when_the_clock_stalls() {
        assert_eq!(next_sequence(10, 5), 11);
        assert_eq!(next_sequence(10, 500), 500);
        assert_eq!(next_sequence(u64::MAX, 0), u64::MAX);
    }
}
