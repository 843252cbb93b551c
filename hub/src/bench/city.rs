//! A synthetic city for `hub bench`: cameras on a ring road, each linked to its nearest
//! neighbours on both sides with 30–90 s travel-time windows; vehicles enter at a random
//! camera, one after another at the city's passage rate, and drive a few hops along
//! links. Its history fills the store before the hub starts; the passages after it are
//! published through the broker while the hub matches them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use spanreid::signature::wire::encode_to_vec;
use spanreid::signature::{CameraKey, ModelId, Signature};

use crate::config::{CameraConfig, LinkConfig};
use crate::store::{NewSignature, SqliteStore, Store};
use crate::synthetic::{IdentityBank, Sighting};
use crate::{ConfigError, HubError};

/// Site of every city camera.
pub const SITE: &str = "city";

/// Hops a vehicle drives (passages per vehicle).
const HOPS: usize = 5;

/// Fastest and slowest link travel times, seconds (every link).
pub const LINK_S: (f64, f64) = (30.0, 90.0);

/// Rows per store transaction while filling the history.
const FILL_CHUNK: usize = 10_000;

/// The city's shape.
#[derive(Clone, Copy, Debug)]
pub struct City {
    /// Cameras on the ring.
    pub cameras: usize,
    /// Links per camera (even: half on each side).
    pub links_per_camera: usize,
    /// Passages per camera per second (a busy urban road: 0.5).
    pub passages_per_camera_s: f64,
}

/// One passage: a vehicle at a camera.
#[derive(Clone, Copy, Debug)]
pub struct Passage {
    /// Vehicle.
    pub vehicle: usize,
    /// Camera index.
    pub camera: usize,
    /// Capture time, µs since the epoch.
    pub capture_time_us: u64,
    /// The camera's sequence number of this passage.
    pub sequence: u64,
}

impl City {
    /// Camera `i`'s id.
    pub fn camera(i: usize) -> String {
        format!("k{i:03}")
    }

    /// Camera `i`'s HMAC key, hexadecimal.
    pub fn key_hex(i: usize) -> String {
        format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15 + 1)
    }

    /// The cameras, with their keys.
    pub fn camera_configs(&self) -> Vec<CameraConfig> {
        (0..self.cameras)
            .map(|i| CameraConfig {
                site: SITE.into(),
                camera: Self::camera(i),
                key: Self::key_hex(i).into(),
            })
            .collect()
    }

    fn half(&self) -> usize {
        (self.links_per_camera / 2).clamp(1, self.cameras.saturating_sub(1).max(1) / 2)
    }

    /// The links: camera `i` to `i + 1 … i + links/2` round the ring.
    pub fn links(&self) -> Vec<LinkConfig> {
        let mut links = Vec::new();
        for i in 0..self.cameras {
            for step in 1..=self.half() {
                links.push(LinkConfig {
                    from: format!("{SITE}/{}", Self::camera(i)),
                    to: format!("{SITE}/{}", Self::camera((i + step) % self.cameras)),
                    min_s: LINK_S.0,
                    max_s: LINK_S.1,
                });
            }
        }
        links
    }

    /// `n` passages in capture-time order, the last one captured at about `end_us`.
    pub fn passages(&self, n: usize, end_us: u64, seed: u64) -> Vec<Passage> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rate = self.cameras as f64 * self.passages_per_camera_s;
        let span_s = n as f64 / rate;
        let start_us = end_us.saturating_sub((span_s * 1e6) as u64);
        // Vehicles enter from one full trip before `start_us`, so that the city is busy
        // from its first passage on; passages before `start_us` are dropped.
        let trip_us = (HOPS as f64 * LINK_S.1 * 1e6) as u64;
        let first_us = start_us.saturating_sub(trip_us);
        let mut out = Vec::with_capacity(n + n / 10);
        for vehicle in 0.. {
            let mut t = first_us + (vehicle as f64 * HOPS as f64 / rate * 1e6) as u64;
            if t > end_us + trip_us {
                break;
            }
            let mut camera = rng.random_range(0..self.cameras);
            for _ in 0..HOPS {
                if t >= start_us {
                    out.push(Passage {
                        vehicle,
                        camera,
                        capture_time_us: t,
                        sequence: 0,
                    });
                }
                let step = rng.random_range(1..=self.half());
                camera = if rng.random::<bool>() {
                    (camera + step) % self.cameras
                } else {
                    (camera + self.cameras - step) % self.cameras
                };
                // Within the link's window, never at its edges.
                t += (rng.random_range(LINK_S.0 + 5.0..LINK_S.1 - 5.0) * 1e6) as u64;
            }
        }
        out.sort_by_key(|p| (p.capture_time_us, p.camera));
        out.truncate(n);
        // The passage rate is only on average: move the whole history to end at `end_us`.
        let last = out.last().map_or(end_us, |p| p.capture_time_us);
        for p in &mut out {
            p.capture_time_us = (p.capture_time_us + end_us).saturating_sub(last);
        }
        let mut next = vec![0u64; self.cameras];
        for p in &mut out {
            next[p.camera] += 1;
            p.sequence = next[p.camera];
        }
        out
    }
}

/// Signed wire messages of `passages`: `(topic, payload)`, signatures drawn from `bank`.
pub fn messages(
    passages: &[Passage],
    bank: &IdentityBank,
    model_id: ModelId,
    noise_seed: u64,
) -> Result<Vec<(String, Vec<u8>)>, HubError> {
    Ok(signed(passages, bank, model_id, noise_seed)?
        .into_iter()
        .map(|(topic, _, payload)| (topic, payload))
        .collect())
}

/// A passage's topic, signature and signed payload.
type Signed = (String, Signature, Vec<u8>);

fn signed(
    passages: &[Passage],
    bank: &IdentityBank,
    model_id: ModelId,
    noise_seed: u64,
) -> Result<Vec<Signed>, HubError> {
    let cameras: Vec<String> = (0..=passages.iter().map(|p| p.camera).max().unwrap_or(0))
        .map(City::camera)
        .collect();
    let keys: Vec<CameraKey> = (0..cameras.len())
        .map(|i| CameraKey::from_hex(&City::key_hex(i)))
        .collect::<Option<_>>()
        .ok_or_else(|| ConfigError::Invalid("a city camera key is not 64 hex digits".into()))?;
    let one = |p: &Passage| -> Result<Signed, HubError> {
        let s = Sighting {
            identity: p.vehicle,
            site: SITE,
            camera: &cameras[p.camera],
            capture_time_us: p.capture_time_us,
            sequence: p.sequence,
            noise: 0.3,
        };
        let sig = bank.signature(
            model_id,
            &s,
            noise_seed ^ (p.vehicle as u64) << 8 ^ p.sequence,
        );
        let payload = encode_to_vec(&sig, &keys[p.camera]).map_err(|e| {
            ConfigError::Invalid(format!("synthetic signature does not encode: {e}"))
        })?;
        let topic = crate::ingest::signature_topic(SITE, &cameras[p.camera]);
        Ok((topic, sig, payload))
    };
    // Drawing the noise dominates: split it over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = passages.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = passages
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Result<Vec<_>, _>>()))
            .collect();
        let mut all = Vec::with_capacity(passages.len());
        for h in handles {
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        }
        Ok(all)
    })
}

/// Stores the history `passages` directly (no broker, no matching), in transactions of
/// [`FILL_CHUNK`], logging progress.
pub fn fill(
    store: &mut SqliteStore,
    passages: &[Passage],
    bank: &IdentityBank,
    model_id: ModelId,
    received_us: u64,
) -> Result<(), HubError> {
    for (n, part) in passages.chunks(FILL_CHUNK).enumerate() {
        let signed = signed(part, bank, model_id, 1)?;
        let new: Vec<NewSignature<'_>> = signed
            .iter()
            .map(|(_, signature, payload)| NewSignature {
                signature,
                payload,
                received_us,
            })
            .collect();
        store.insert_batch(&new, &[], &mut |_| Vec::new())?;
        if (n + 1) % 10 == 0 {
            tracing::info!(
                stored = (n + 1) * FILL_CHUNK,
                of = passages.len(),
                "filling the city's history"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_drives_along_its_links_in_time_order_and_ends_at_the_given_time() {
        let city = City {
            cameras: 20,
            links_per_camera: 4,
            passages_per_camera_s: 0.5,
        };
        let links = city.links();
        assert_eq!(links.len(), 20 * 2);
        let end = 10_000_000_000;
        let passages = city.passages(2_000, end, 3);
        assert_eq!(passages.len(), 2_000);
        assert!(
            passages
                .windows(2)
                .all(|w| w[0].capture_time_us <= w[1].capture_time_us)
        );
        assert_eq!(passages.last().map(|p| p.capture_time_us), Some(end));
        // 2,000 passages at 10 per second: about 200 s of the city.
        let span_s = (end - passages[0].capture_time_us) as f64 / 1e6;
        assert!((150.0..250.0).contains(&span_s), "{span_s}");
        // Consecutive passages of a vehicle are at linked cameras within the window.
        let mut last: std::collections::HashMap<usize, &Passage> = Default::default();
        let mut hops = 0;
        for p in &passages {
            if let Some(prev) = last.insert(p.vehicle, p) {
                let ring = (p.camera + 20 - prev.camera) % 20;
                assert!(ring.min(20 - ring) <= 2, "{prev:?} → {p:?}");
                let dt = (p.capture_time_us - prev.capture_time_us) as f64 / 1e6;
                assert!((LINK_S.0..=LINK_S.1).contains(&dt), "{dt}");
                hops += 1;
            }
        }
        assert!(hops > 1_000, "{hops}");
        // Sequences count each camera's passages from 1.
        let k7: Vec<u64> = passages
            .iter()
            .filter(|p| p.camera == 7)
            .map(|p| p.sequence)
            .collect();
        assert_eq!(k7, (1..=k7.len() as u64).collect::<Vec<_>>());
    }
}
