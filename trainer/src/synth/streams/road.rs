//! The ground a stream camera sees, drawn in perspective over its photograph: asphalt with
//! a grain and worn wheel tracks, lane markings (dashed between lanes of one direction,
//! double solid in the middle, solid at the edges), kerb stones, a paved footway on both
//! sides and a grass verge up to beyond the camera's pole. Farther, and beyond
//! [`FAR_M`](super::street::FAR_M), the photograph shows.

use rand::Rng;

use crate::synth::streams::street::{
    FAR_M, KERB, LANE_WIDTH, PAVEMENT, ROAD_HALF, Street, ground_distance,
};

/// How far beyond the pole the grass verge on the camera's side reaches, metres.
const VERGE_BEYOND_POLE: f32 = 10.0;

/// Colours and marking style of one camera's road.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoadLook {
    /// Asphalt colour.
    pub asphalt: [f32; 3],
    /// Colour of the white markings (worn paint is greyer).
    pub paint: [f32; 3],
    /// Colour of the centre line.
    pub centre: [f32; 3],
    /// Kerb stone colour.
    pub kerb: [f32; 3],
    /// Footway colour.
    pub pavement: [f32; 3],
    /// Grass colour of the verge on the camera's side.
    pub grass: [f32; 3],
    /// Seed of the texture noise.
    pub seed: u32,
}

impl RoadLook {
    /// A random road: asphalt from fresh black to worn grey, paint more or less worn,
    /// a white or yellow centre line.
    pub fn random(rng: &mut impl Rng) -> Self {
        let grey = rng.random_range(0.13f32..0.32);
        let tint = rng.random_range(-0.015f32..0.015);
        let wear = rng.random_range(0.65f32..0.9);
        let paint = [wear, wear, wear * 0.98];
        let centre = if rng.random_bool(0.5) {
            paint
        } else {
            [0.85 * wear, 0.68 * wear, 0.15]
        };
        let stone = rng.random_range(0.45f32..0.62);
        let pave = rng.random_range(0.35f32..0.55);
        Self {
            asphalt: [grey + tint, grey, grey - tint],
            paint,
            centre,
            kerb: [stone, stone, stone * 0.97],
            pavement: [pave * 1.04, pave, pave * 0.93],
            grass: [
                rng.random_range(0.12..0.22),
                rng.random_range(0.25..0.38),
                rng.random_range(0.06..0.12),
            ],
            seed: rng.random(),
        }
    }
}

/// The background of `street`'s camera: the ground where rays meet it near enough, the
/// `photo` (same size, row-major) elsewhere; 2 × 2 samples per pixel.
pub fn paint_ground(street: &Street, look: &RoadLook, photo: &[[f32; 3]]) -> Vec<[f32; 3]> {
    let k = &street.k;
    let (w, h) = (k.width as usize, k.height as usize);
    let mut out = photo.to_vec();
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0.0f32; 3];
            for (sx, sy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let c =
                    sample(street, look, x as f32 + sx, y as f32 + sy).unwrap_or(photo[y * w + x]);
                for i in 0..3 {
                    acc[i] += c[i] / 4.0;
                }
            }
            out[y * w + x] = acc;
        }
    }
    out
}

/// The ground's colour seen through pixel position `(u, v)`, if the ray meets it within
/// the road, the kerbs and the footways and within [`FAR_M`].
fn sample(street: &Street, look: &RoadLook, u: f32, v: f32) -> Option<[f32; 3]> {
    let k = &street.k;
    let d = street
        .pose
        .unrotate([(u - k.cx) / k.focal, (v - k.cy) / k.focal, 1.0]);
    let c = street.pose.centre;
    if d[2] >= -1e-4 {
        return None;
    }
    let t = -c[2] / d[2];
    let (gx, gy) = (c[0] + t * d[0], c[1] + t * d[1]);
    let dist = ground_distance(&street.pose, gx, gy);
    let ay = gy.abs();
    let pole = street.pose.centre[1];
    // The camera's side: grass from the footway to beyond the pole.
    let verge = if gy * pole > 0.0 {
        pole.abs() + VERGE_BEYOND_POLE
    } else {
        ROAD_HALF + KERB + PAVEMENT
    };
    if dist > FAR_M || ay > verge {
        return None;
    }
    // Ground size of one pixel: finer detail than this is faded out, not aliased.
    let ray = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    let footprint = t * ray / k.focal / (-d[2] / ray).max(0.08);
    let grain = |scale: f32, salt: u32| {
        let fade = (1.0 - footprint / scale).clamp(0.0, 1.0);
        fade * (value_noise(gx / scale, gy / scale, look.seed ^ salt) - 0.5)
    };
    let base = if ay <= ROAD_HALF {
        asphalt(look, gx, gy, &grain)
    } else if ay <= ROAD_HALF + KERB {
        let joint = (gx / 1.0).rem_euclid(1.0) < 0.03 && footprint < 0.05;
        let s = if joint {
            0.7
        } else {
            1.0 + 0.3 * grain(0.2, 7)
        };
        look.kerb.map(|v| v * s)
    } else if ay > ROAD_HALF + KERB + PAVEMENT {
        let s = 1.0 + 0.5 * grain(0.1, 17) + 0.4 * grain(1.5, 19);
        look.grass.map(|v| v * s)
    } else {
        let (jx, jy) = (
            (gx / 0.6).rem_euclid(1.0),
            ((ay - ROAD_HALF) / 0.6).rem_euclid(1.0),
        );
        let joint = (jx < 0.04 || jy < 0.04) && footprint < 0.06;
        let s = if joint {
            0.75
        } else {
            1.0 + 0.35 * grain(0.3, 11) + 0.2 * grain(2.0, 13)
        };
        look.pavement.map(|v| v * s)
    };
    Some(base.map(|v| v.clamp(0.0, 1.0)))
}

/// Asphalt at `(x, y)` with its markings.
fn asphalt(look: &RoadLook, x: f32, y: f32, grain: &dyn Fn(f32, u32) -> f32) -> [f32; 3] {
    let ay = y.abs();
    // Painted lines: (centre offset, half width, dashed, colour).
    let dashed = (x / 12.0).rem_euclid(1.0) < 0.25;
    let lines: [(f32, f32, bool, [f32; 3]); 3] = [
        (0.12, 0.06, false, look.centre),
        (LANE_WIDTH, 0.07, true, look.paint),
        (ROAD_HALF - 0.35, 0.08, false, look.paint),
    ];
    for (at, half, is_dashed, colour) in lines {
        if (ay - at).abs() <= half && (!is_dashed || dashed) {
            let s = 1.0 + 0.25 * grain(0.15, 3);
            return colour.map(|v| v * s);
        }
    }
    // Wheel tracks: polished darker bands 0.8 m either side of each lane centre.
    let in_lane = (ay % LANE_WIDTH) - LANE_WIDTH / 2.0;
    let track = (-((in_lane.abs() - 0.8) / 0.3).powi(2)).exp();
    let s =
        1.0 - 0.12 * track + 0.45 * grain(0.08, 1) + 0.35 * grain(0.7, 2) + 0.25 * grain(6.0, 5);
    look.asphalt.map(|v| v * s)
}

/// Smooth value noise in 0..1 at `(x, y)` (lattice spacing 1).
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let (ix, iy) = (x0 as i32, y0 as i32);
    let at = |i: i32, j: i32| hash(i, j, seed);
    let top = at(ix, iy) * (1.0 - sx) + at(ix + 1, iy) * sx;
    let bottom = at(ix, iy + 1) * (1.0 - sx) + at(ix + 1, iy + 1) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// Hash of a lattice point to 0..1.
fn hash(i: i32, j: i32, seed: u32) -> f32 {
    let mut h = (i as u32).wrapping_mul(0x8da6_b343) ^ (j as u32).wrapping_mul(0xd816_3841) ^ seed;
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^= h >> 15;
    (h & 0x00ff_ffff) as f32 / 16_777_216.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::streams::street::street;
    use rand::SeedableRng;

    #[test]
    fn the_road_covers_the_lower_frame_and_the_photo_the_rest() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let cam = crate::synth::camera::plan(1, 1, crate::synth::preset::Look::Standard, &mut rng)
            .remove(0);
        let st = street(&cam, 0.0, 160, 90, &mut rng);
        let look = RoadLook::random(&mut rng);
        let photo = vec![[1.0, 0.0, 1.0]; 160 * 90];
        let bg = paint_ground(&st, &look, &photo);
        let magenta = |p: &[f32; 3]| p[0] > 0.99 && p[1] < 0.01 && p[2] > 0.99;
        // The image centre looks at the carriageway: ground, not photo.
        assert!(!magenta(&bg[45 * 160 + 80]));
        // The top row is the horizon or beyond the crest: photo.
        assert!(bg[..160].iter().any(magenta));
        // Asphalt is dark and grey; markings are brighter than the asphalt.
        let ground: Vec<&[f32; 3]> = bg.iter().filter(|p| !magenta(p)).collect();
        assert!(ground.len() > 160 * 90 / 4);
        let brightest = ground.iter().map(|p| p[1]).fold(0.0f32, f32::max);
        assert!(brightest > look.asphalt[1] * 1.8, "markings show");
    }

    #[test]
    fn noise_is_smooth_and_spans_its_range() {
        let v: Vec<f32> = (0..400)
            .map(|i| value_noise(i as f32 * 0.37, i as f32 * 0.11, 5))
            .collect();
        assert!(v.iter().copied().fold(1.0, f32::min) < 0.2);
        assert!(v.iter().copied().fold(0.0, f32::max) > 0.8);
        assert!((value_noise(2.0, 3.0, 1) - value_noise(2.001, 3.0, 1)).abs() < 0.01);
    }
}
