//! Signed match events: the hub signs every event with its own Ed25519 key, so that a
//! subscriber holding the hub's public key rejects events published by anyone else on the
//! broker (a camera's login, an anonymous client where the broker admits one).
//!
//! On the wire (JSON object, one per message on [`MATCH_TOPIC`](crate::events::MATCH_TOPIC)):
//!
//! ```json
//! { "event": "{\"schema\":\"spanreid.match.v1\", …}",
//!   "signed_by": "<public key, 64 hex digits>",
//!   "signature": "<Ed25519 signature of the bytes of `event`, 128 hex digits>" }
//! ```
//!
//! `event` is the match event's JSON as a string: a consumer in any language verifies the
//! signature over exactly those UTF-8 bytes, then parses them. The private key lives in a
//! file of 64 hex digits (the Ed25519 seed), created with mode 0600 on first use; `hub
//! events-key` prints the public key to give to consumers.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::config::to_hex;
use crate::events::MatchEvent;

/// Why an event key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EventKeyError {
    /// Reading or writing the key file failed.
    #[error("match event key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold 64 hexadecimal digits.
    #[error("match event key {0}: not 64 hexadecimal digits (an Ed25519 seed)")]
    Malformed(PathBuf),
}

/// Why a received match event was rejected.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventAuthError {
    /// Not a signed event envelope, or its event is not a match event.
    #[error("not a signed match event: {0}")]
    Malformed(String),
    /// Signed by another key than the hub's.
    #[error("signed by {0}, not by the hub's key")]
    OtherKey(String),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    event: String,
    signed_by: String,
    signature: String,
}

/// The hub's signing key.
pub struct EventSigner {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for EventSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSigner")
            .field("public", &self.public().to_hex())
            .finish_non_exhaustive()
    }
}

impl EventSigner {
    /// The key in `path`, created (a fresh random seed, mode 0600) when the file is missing.
    pub fn load_or_create(path: &Path) -> Result<Self, EventKeyError> {
        let io = |source| EventKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let seed = match std::fs::read_to_string(path) {
            Ok(text) => spanreid::hex::decode::<32>(text.trim())
                .ok_or_else(|| EventKeyError::Malformed(path.into()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut seed)
                    .map_err(|_| io(std::io::Error::other("no system randomness")))?;
                write_private(path, &to_hex(&seed)).map_err(io)?;
                tracing::info!(file = %path.display(), "created the match event key");
                seed
            }
            Err(e) => return Err(io(e)),
        };
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| EventKeyError::Malformed(path.into()))?;
        Ok(EventSigner { pair })
    }

    /// The public key consumers verify with.
    pub fn public(&self) -> EventKey {
        let mut k = [0u8; 32];
        k.copy_from_slice(self.pair.public_key().as_ref());
        EventKey(k)
    }

    /// The signed envelopes of `events`, in order; a batch of many is signed on every core
    /// (an Ed25519 signature costs about as much as storing a signature).
    pub fn sign_all(&self, events: &[MatchEvent]) -> Result<Vec<Vec<u8>>, serde_json::Error> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if threads == 1 || events.len() < PARALLEL_EVENTS {
            return events.iter().map(|e| self.sign(e)).collect();
        }
        let chunk = events.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = events
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().map(|e| self.sign(e)).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// The signed envelope of `event`, as published.
    pub fn sign(&self, event: &MatchEvent) -> Result<Vec<u8>, serde_json::Error> {
        let json = String::from_utf8(event.to_json()?).unwrap_or_default();
        let signature = self.pair.sign(json.as_bytes());
        serde_json::to_vec(&Envelope {
            event: json,
            signed_by: self.public().to_hex(),
            signature: to_hex(signature.as_ref()),
        })
    }
}

/// Events in a batch from which [`EventSigner::sign_all`] uses every core.
const PARALLEL_EVENTS: usize = 16;

/// A hub's public key for match events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKey([u8; 32]);

impl EventKey {
    /// From 64 hexadecimal digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        spanreid::hex::decode(hex.trim()).map(EventKey)
    }

    /// As 64 hexadecimal digits.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// The match event in `payload` if this key signed it.
    pub fn verify(&self, payload: &[u8]) -> Result<MatchEvent, EventAuthError> {
        let env: Envelope = serde_json::from_slice(payload)
            .map_err(|e| EventAuthError::Malformed(e.to_string()))?;
        if !env.signed_by.eq_ignore_ascii_case(&self.to_hex()) {
            return Err(EventAuthError::OtherKey(env.signed_by));
        }
        let signature =
            spanreid::hex::decode::<64>(&env.signature).ok_or(EventAuthError::BadSignature)?;
        UnparsedPublicKey::new(&ED25519, self.0)
            .verify(env.event.as_bytes(), &signature)
            .map_err(|_| EventAuthError::BadSignature)?;
        serde_json::from_str(&env.event).map_err(|e| EventAuthError::Malformed(e.to_string()))
    }
}

/// Writes `text` to a new file only its owner can read (temp file + rename).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests;
