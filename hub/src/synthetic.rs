//! Synthetic signatures with a known identity, for the bench command and the tests.
//!
//! Each identity has a random base vector per part; a sighting by a camera adds Gaussian
//! noise to it, normalises and quantises. Sightings of one identity are close in CPDM,
//! sightings of different identities are far (random directions in `dim` dimensions).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use spanreid::cpdm::AreaRatios;
use spanreid::part::PARTS;
use spanreid::signature::{ModelId, QuantizedFeature, Signature};

/// A set of identities with fixed random base vectors.
#[derive(Clone, Debug)]
pub struct IdentityBank {
    dim: usize,
    /// `bases[identity][part]`, unit length.
    bases: Vec<[Vec<f32>; PARTS]>,
}

/// Where and when a synthetic sighting happens.
#[derive(Clone, Debug)]
pub struct Sighting<'a> {
    /// Identity index in the bank.
    pub identity: usize,
    /// Site id.
    pub site: &'a str,
    /// Camera id.
    pub camera: &'a str,
    /// Capture time, µs since the epoch.
    pub capture_time_us: u64,
    /// Per-camera sequence number.
    pub sequence: u64,
    /// Standard deviation of the per-coordinate noise relative to a unit vector's
    /// coordinate scale (0.3 keeps identities well apart at dim 64 and above).
    pub noise: f32,
}

impl IdentityBank {
    /// `identities` random identities of dimension `dim` from `seed`.
    pub fn new(identities: usize, dim: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let bases = (0..identities)
            .map(|_| core::array::from_fn(|_| unit(gaussian_vec(&mut rng, dim))))
            .collect();
        IdentityBank { dim, bases }
    }

    /// Number of identities.
    pub fn len(&self) -> usize {
        self.bases.len()
    }

    /// Whether the bank has no identity.
    pub fn is_empty(&self) -> bool {
        self.bases.is_empty()
    }

    /// A signature of one sighting; `rng_seed` makes the noise reproducible.
    pub fn signature(&self, model_id: ModelId, s: &Sighting<'_>, rng_seed: u64) -> Signature {
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let base = &self.bases[s.identity % self.bases.len()];
        let features = core::array::from_fn(|p| {
            let noisy: Vec<f32> = gaussian_vec(&mut rng, self.dim)
                .iter()
                .zip(&base[p])
                .map(|(n, b)| b + n * s.noise / (self.dim as f32).sqrt())
                .collect();
            QuantizedFeature::quantize(&unit(noisy))
                .expect("dimension is at most MAX_DIM and values are finite")
        });
        let areas = [
            rng.random::<f32>(),
            rng.random::<f32>(),
            rng.random::<f32>() + 0.1,
        ];
        Signature {
            model_id,
            site: ident(s.site),
            camera: ident(s.camera),
            capture_time_us: s.capture_time_us,
            track_id: u32::try_from(s.sequence % u64::from(u32::MAX)).unwrap_or(0),
            sequence: s.sequence,
            area_ratios: AreaRatios::from_areas(areas),
            features,
        }
    }
}

fn ident(s: &str) -> spanreid::signature::Ident {
    let mut out = spanreid::signature::Ident::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

fn gaussian_vec(rng: &mut ChaCha8Rng, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|_| {
            // Box–Muller.
            let u1: f32 = rng.random::<f32>().max(f32::MIN_POSITIVE);
            let u2: f32 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (core::f32::consts::TAU * u2).cos()
        })
        .collect()
}

fn unit(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.into_iter().map(|x| x / norm).collect()
    } else {
        v
    }
}
