//! Virtual cameras: each has its own background photograph, light, elevation, distance
//! and degradation; and the pose maths to look at a vehicle from an azimuth.

use rand::Rng;

use crate::synth::degrade::Degradation;
use crate::synth::mesh::{Vec3, cross, dot, normalize, sub};
use crate::synth::preset::Look;
use crate::synth::raster::Intrinsics;

/// Light of one camera's scene, fixed relative to the camera's viewing direction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Light {
    /// Sun azimuth in degrees, relative to the camera's horizontal viewing direction.
    pub azimuth_deg: f32,
    /// Sun elevation in degrees.
    pub elevation_deg: f32,
    /// Sun colour (multiplies diffuse light).
    pub colour: Vec3,
    /// Ambient level.
    pub ambient: f32,
}

impl Light {
    /// The light of one image: the sun ±40° in azimuth and ±12° in elevation, ambient
    /// ×0.85–1.15 and each colour channel ×0.95–1.05 — the time of day and clouds move
    /// between passages, and a model should not key on one camera's exact light.
    pub fn jittered(&self, rng: &mut impl Rng) -> Self {
        Self {
            azimuth_deg: self.azimuth_deg + rng.random_range(-40.0..40.0),
            elevation_deg: (self.elevation_deg + rng.random_range(-12.0..12.0)).clamp(8.0, 85.0),
            colour: self.colour.map(|c| c * rng.random_range(0.95..1.05)),
            ambient: self.ambient * rng.random_range(0.85..1.15),
        }
    }
}

/// One virtual camera.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CameraSpec {
    /// 1-based camera number (`c001` …).
    pub number: u32,
    /// Index into the background photographs.
    pub background: usize,
    /// Mean elevation of the camera above the horizon, degrees.
    pub elevation_deg: f32,
    /// Distance as a multiple of the vehicle's length.
    pub distance: f32,
    /// Light.
    pub light: Light,
    /// Image degradation.
    pub degradation: Degradation,
}

/// Draws `count` cameras with varied placement, light and degradation, in `look`'s ranges:
/// the held-out look places cameras higher, nearer or farther, with darker or brighter
/// ambient light, stronger colour casts, and takes the photographs from the other end of the
/// list.
pub fn plan(count: u32, backgrounds: usize, look: Look, rng: &mut impl Rng) -> Vec<CameraSpec> {
    let n = backgrounds.max(1);
    (1..=count)
        .map(|number| match look {
            Look::Standard => {
                let warm = rng.random_range(-0.12f32..0.12);
                CameraSpec {
                    number,
                    background: (number as usize - 1) % n,
                    elevation_deg: rng.random_range(5.0..48.0),
                    distance: rng.random_range(1.4..3.6),
                    light: Light {
                        azimuth_deg: rng.random_range(-150.0..150.0),
                        elevation_deg: rng.random_range(25.0..70.0),
                        colour: [1.0 + warm, 1.0, 1.0 - warm],
                        ambient: rng.random_range(0.30..0.50),
                    },
                    degradation: Degradation::random(rng),
                }
            }
            Look::Holdout => {
                let cast =
                    rng.random_range(0.12f32..0.22) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let distance = if rng.random_bool(0.5) {
                    rng.random_range(1.15..1.4)
                } else {
                    rng.random_range(3.6..4.4)
                };
                let ambient = if rng.random_bool(0.5) {
                    rng.random_range(0.18..0.30)
                } else {
                    rng.random_range(0.50..0.62)
                };
                CameraSpec {
                    number,
                    background: n - 1 - (number as usize - 1) % n,
                    elevation_deg: rng.random_range(48.0..58.0),
                    distance,
                    light: Light {
                        azimuth_deg: rng.random_range(-150.0..150.0),
                        elevation_deg: rng.random_range(15.0..80.0),
                        colour: [1.0 + cast, 1.0 - cast.abs() * 0.3, 1.0 - cast],
                        ambient,
                    },
                    degradation: Degradation::random(rng),
                }
            }
        })
        .collect()
}

/// A camera pose: world (vehicle frame) → camera frame (`x` right, `y` down, `z` forward).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Rows are the camera axes in the vehicle frame.
    pub rot: [Vec3; 3],
    /// Camera centre in the vehicle frame.
    pub centre: Vec3,
}

impl Pose {
    /// Camera looking at `target` from `centre`, with world `z` up.
    pub fn look_at(centre: Vec3, target: Vec3) -> Self {
        let f = normalize(sub(target, centre));
        let r = normalize(cross(f, [0.0, 0.0, 1.0]));
        let d = cross(f, r);
        Self {
            rot: [r, d, f],
            centre,
        }
    }

    /// Camera at `distance` from `target`, seen from `azimuth_deg` around the vertical
    /// axis (0 = in front of the vehicle, 90 = on its left) and `elevation_deg` up.
    pub fn orbit(target: Vec3, distance: f32, azimuth_deg: f32, elevation_deg: f32) -> Self {
        let (a, e) = (azimuth_deg.to_radians(), elevation_deg.to_radians());
        let dir = [e.cos() * a.cos(), e.cos() * a.sin(), e.sin()];
        let centre = [
            target[0] + distance * dir[0],
            target[1] + distance * dir[1],
            target[2] + distance * dir[2],
        ];
        Self::look_at(centre, target)
    }

    /// Vehicle-frame point → camera frame.
    pub fn apply(&self, p: Vec3) -> Vec3 {
        let q = sub(p, self.centre);
        [
            dot(self.rot[0], q),
            dot(self.rot[1], q),
            dot(self.rot[2], q),
        ]
    }

    /// Camera-frame direction → vehicle frame.
    pub fn unrotate(&self, v: Vec3) -> Vec3 {
        let r = &self.rot;
        [
            r[0][0] * v[0] + r[1][0] * v[1] + r[2][0] * v[2],
            r[0][1] * v[0] + r[1][1] * v[1] + r[2][1] * v[2],
            r[0][2] * v[0] + r[1][2] * v[1] + r[2][2] * v[2],
        ]
    }
}

/// Intrinsics that fit the camera-frame points into a `width`×`height` image with
/// `margin` (fraction of the size) on the tightest side, shifted by `shift` (fraction of
/// the size) to imitate an imperfect detector crop.
pub fn fit(points: &[Vec3], width: u32, height: u32, margin: f32, shift: [f32; 2]) -> Intrinsics {
    let mut lo = [f32::INFINITY; 2];
    let mut hi = [f32::NEG_INFINITY; 2];
    for p in points.iter().filter(|p| p[2] > 1e-3) {
        for k in 0..2 {
            let v = p[k] / p[2];
            lo[k] = lo[k].min(v);
            hi[k] = hi[k].max(v);
        }
    }
    let (w, h) = (width as f32, height as f32);
    let span = [(hi[0] - lo[0]).max(1e-6), (hi[1] - lo[1]).max(1e-6)];
    let focal = ((1.0 - 2.0 * margin) * (w / span[0]).min(h / span[1])).max(1e-3);
    Intrinsics {
        focal,
        cx: w / 2.0 - focal * (lo[0] + hi[0]) / 2.0 + shift[0] * w,
        cy: h / 2.0 - focal * (lo[1] + hi[1]) / 2.0 + shift[1] * h,
        width,
        height,
    }
}

/// Direction towards the light in the vehicle frame, for a vehicle seen from
/// `azimuth_deg`: the light is fixed relative to the camera, so it turns with it.
pub fn light_direction(light: &Light, azimuth_deg: f32) -> Vec3 {
    // Camera looks along azimuth + 180°; the sun's azimuth is relative to that.
    let a = (azimuth_deg + 180.0 + light.azimuth_deg).to_radians();
    let e = light.elevation_deg.to_radians();
    [e.cos() * a.cos(), e.cos() * a.sin(), e.sin()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Vec3, b: Vec3) -> bool {
        (0..3).all(|k| (a[k] - b[k]).abs() < 1e-5)
    }

    #[test]
    fn holdout_cameras_stand_where_training_cameras_never_do() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let standard = plan(40, 19, Look::Standard, &mut rng);
        let holdout = plan(4, 19, Look::Holdout, &mut rng);
        let max_elev = standard.iter().map(|c| c.elevation_deg).fold(0.0, f32::max);
        for c in &holdout {
            assert!(
                c.elevation_deg > max_elev,
                "{} vs {max_elev}",
                c.elevation_deg
            );
            assert!(!(1.4..3.6).contains(&c.distance), "{}", c.distance);
            assert!(
                !(0.30..0.50).contains(&c.light.ambient),
                "{}",
                c.light.ambient
            );
        }
        // The first cameras of each look use different photographs.
        let bg = |cams: &[CameraSpec]| {
            cams.iter()
                .take(4)
                .map(|c| c.background)
                .collect::<Vec<_>>()
        };
        assert!(bg(&standard).iter().all(|b| !bg(&holdout).contains(b)));
    }

    #[test]
    fn front_view_looks_backward_along_x() {
        let p = Pose::orbit([0.0, 0.0, 1.0], 10.0, 0.0, 0.0);
        assert!(close(p.centre, [10.0, 0.0, 1.0]));
        // target straight ahead
        assert!(close(p.apply([0.0, 0.0, 1.0]), [0.0, 0.0, 10.0]));
        // the vehicle's left (+y) appears on the image's right when seen from the front
        assert!(p.apply([0.0, 1.0, 1.0])[0] > 0.0);
        // up is image-up (negative y)
        assert!(p.apply([0.0, 0.0, 2.0])[1] < 0.0);
        assert!(close(p.unrotate([0.0, 0.0, 1.0]), [-1.0, 0.0, 0.0]));
    }

    #[test]
    fn fit_centres_and_fills() {
        let pts = [[-1.0, -0.5, 2.0], [1.0, 0.5, 2.0]];
        let k = fit(&pts, 100, 100, 0.1, [0.0, 0.0]);
        // x span 1.0 at focal f covers 80 px
        assert!((k.focal - 80.0).abs() < 1e-3);
        assert!((k.cx - 50.0).abs() < 1e-3 && (k.cy - 50.0).abs() < 1e-3);
    }
}
