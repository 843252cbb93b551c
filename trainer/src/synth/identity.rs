//! Vehicle identities: a mesh with a paint variant (body colour plus stickers on chosen
//! sides). Some identities are "twins" of the previous one that differ only by one sticker
//! visible from one side, which only part features can tell apart.

use rand::Rng;

use crate::synth::mesh::Vec3;

/// A side of the vehicle a sticker can sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Side {
    /// Vehicle's left (+y).
    Left,
    /// Vehicle's right (−y).
    Right,
    /// Front (+x).
    Front,
    /// Rear (−x).
    Rear,
    /// Roof / bonnet (+z).
    Top,
}

impl Side {
    /// Outward direction in the vehicle frame.
    pub fn normal(self) -> Vec3 {
        match self {
            Side::Left => [0.0, 1.0, 0.0],
            Side::Right => [0.0, -1.0, 0.0],
            Side::Front => [1.0, 0.0, 0.0],
            Side::Rear => [-1.0, 0.0, 0.0],
            Side::Top => [0.0, 0.0, 1.0],
        }
    }
    /// The two vehicle-frame axes spanning the side's plane.
    pub fn plane_axes(self) -> [usize; 2] {
        match self {
            Side::Left | Side::Right => [0, 2],
            Side::Front | Side::Rear => [1, 2],
            Side::Top => [0, 1],
        }
    }
}

/// Sticker outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Shape {
    /// Ellipse inscribed in the sticker's box.
    Disc,
    /// The box itself.
    Rectangle,
    /// A band along the whole first plane axis, of the box's height.
    Stripe,
}

/// A sticker: where it is, its size and colour.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Decal {
    /// Side it is on.
    pub side: Side,
    /// Centre on the side, as fractions of the vehicle's bounding box along the plane axes.
    pub centre: [f32; 2],
    /// Half sizes as fractions of the bounding box along the plane axes.
    pub half: [f32; 2],
    /// Outline.
    pub shape: Shape,
    /// Linear RGB colour.
    pub colour: Vec3,
}

impl Decal {
    /// Whether plane coordinates (as bounding-box fractions) fall on the sticker.
    pub fn contains(&self, uv: [f32; 2]) -> bool {
        let du = (uv[0] - self.centre[0]) / self.half[0];
        let dv = (uv[1] - self.centre[1]) / self.half[1];
        match self.shape {
            Shape::Disc => du * du + dv * dv <= 1.0,
            Shape::Rectangle => du.abs() <= 1.0 && dv.abs() <= 1.0,
            Shape::Stripe => dv.abs() <= 1.0,
        }
    }
}

/// Named body colours with their VeRi-776 colour ids: [`STANDARD_COLOURS`] for the
/// training look, [`HOLDOUT_COLOURS`] (other hues and shades, nearest VeRi id) for the
/// held-out look.
pub const PALETTE: &[(&str, u8, Vec3)] = &[
    ("yellow", 1, [0.85, 0.70, 0.08]),
    ("orange", 2, [0.85, 0.35, 0.05]),
    ("green", 3, [0.10, 0.40, 0.15]),
    ("gray", 4, [0.45, 0.46, 0.48]),
    ("red", 5, [0.70, 0.06, 0.06]),
    ("blue", 6, [0.08, 0.18, 0.55]),
    ("white", 7, [0.88, 0.88, 0.86]),
    ("golden", 8, [0.70, 0.55, 0.25]),
    ("brown", 9, [0.35, 0.20, 0.10]),
    ("black", 10, [0.05, 0.05, 0.06]),
    ("teal", 3, [0.05, 0.42, 0.40]),
    ("purple", 6, [0.35, 0.10, 0.45]),
    ("pink", 5, [0.85, 0.40, 0.55]),
    ("olive", 3, [0.38, 0.40, 0.12]),
    ("maroon", 5, [0.38, 0.05, 0.12]),
    ("sky", 6, [0.40, 0.62, 0.85]),
    ("beige", 8, [0.78, 0.70, 0.55]),
    ("lime", 3, [0.50, 0.80, 0.15]),
    ("steel", 4, [0.30, 0.36, 0.45]),
    ("cream", 7, [0.92, 0.88, 0.72]),
];

/// The training look's colours in [`PALETTE`].
pub const STANDARD_COLOURS: std::ops::Range<usize> = 0..10;
/// The held-out look's colours in [`PALETTE`].
pub const HOLDOUT_COLOURS: std::ops::Range<usize> = 10..20;

/// One vehicle identity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Identity {
    /// 1-based id as written in file names.
    pub id: u32,
    /// Index into the loaded meshes.
    pub mesh: usize,
    /// Index into [`PALETTE`]: the named colour the paint was drawn around.
    pub colour: usize,
    /// Linear-RGB body paint: the named colour with its hue, saturation and brightness
    /// jittered per identity ([`jitter_paint`]), so that training sees a continuum of
    /// paints rather than ten exact ones.
    pub paint: Vec3,
    /// Stickers.
    pub decals: Vec<Decal>,
    /// Id of the identity this one differs from by a single sticker, if any.
    pub twin_of: Option<u32>,
}

impl Identity {
    /// VeRi colour id.
    pub fn colour_id(&self) -> u8 {
        PALETTE.get(self.colour).map_or(4, |p| p.1)
    }
    /// Body colour.
    pub fn body(&self) -> Vec3 {
        self.paint
    }
}

/// Jitters a linear-RGB paint: hue ±30°, saturation ×0.7–1.15, brightness ×0.7–1.2.
pub fn jitter_paint(rgb: Vec3, rng: &mut impl Rng) -> Vec3 {
    let [h, s, v] = rgb_to_hsv(rgb);
    let h = (h + rng.random_range(-30.0f32..30.0)).rem_euclid(360.0);
    let s = (s * rng.random_range(0.7f32..1.15)).clamp(0.0, 1.0);
    let v = (v * rng.random_range(0.7f32..1.2)).clamp(0.02, 0.95);
    hsv_to_rgb([h, s, v])
}

fn rgb_to_hsv([r, g, b]: Vec3) -> Vec3 {
    let max = r.max(g).max(b);
    let d = max - r.min(g).min(b);
    let h = if d <= f32::EPSILON {
        0.0
    } else if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    let s = if max <= f32::EPSILON { 0.0 } else { d / max };
    [h, s, max]
}

fn hsv_to_rgb([h, s, v]: Vec3) -> Vec3 {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0).rem_euclid(2.0) - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r + m, g + m, b + m]
}

const SIDES: [Side; 5] = [Side::Left, Side::Right, Side::Front, Side::Rear, Side::Top];

fn random_decal(rng: &mut impl Rng, side: Side, colours: &std::ops::Range<usize>) -> Decal {
    let shape = match rng.random_range(0..3) {
        0 => Shape::Disc,
        1 => Shape::Rectangle,
        _ => Shape::Stripe,
    };
    let colour = PALETTE[rng.random_range(colours.clone())].2;
    let (c0, c1) = match side {
        Side::Left | Side::Right => (rng.random_range(0.25..0.75), rng.random_range(0.3..0.55)),
        Side::Front | Side::Rear => (rng.random_range(0.3..0.7), rng.random_range(0.35..0.6)),
        Side::Top => (rng.random_range(0.3..0.7), rng.random_range(0.35..0.65)),
    };
    let half = match shape {
        Shape::Stripe => [1.0, rng.random_range(0.03..0.07)],
        _ => [rng.random_range(0.07..0.16), rng.random_range(0.10..0.22)],
    };
    Decal {
        side,
        centre: [c0, c1],
        half,
        shape,
        colour,
    }
}

/// Plans `count` identities over `meshes` meshes. About a quarter are twins of the
/// previous identity with one extra sticker on one side; the rest get a random colour and
/// zero to two stickers, body and sticker colours from `colours` (indices into [`PALETTE`]).
pub fn plan(
    count: u32,
    meshes: usize,
    colours: std::ops::Range<usize>,
    rng: &mut impl Rng,
) -> Vec<Identity> {
    let mut out: Vec<Identity> = Vec::with_capacity(count as usize);
    for id in 1..=count {
        let twin = match out.last() {
            Some(prev) if prev.twin_of.is_none() && rng.random_bool(0.25) => Some(prev.clone()),
            _ => None,
        };
        let identity = match twin {
            Some(prev) => {
                let mut decals = prev.decals.clone();
                let side = SIDES[rng.random_range(0..SIDES.len())];
                decals.push(random_decal(rng, side, &colours));
                Identity {
                    id,
                    mesh: prev.mesh,
                    colour: prev.colour,
                    paint: prev.paint,
                    decals,
                    twin_of: Some(prev.id),
                }
            }
            None => {
                let n = rng.random_range(0..3);
                let decals = (0..n)
                    .map(|_| {
                        let side = SIDES[rng.random_range(0..SIDES.len())];
                        random_decal(rng, side, &colours)
                    })
                    .collect();
                let colour = rng.random_range(colours.clone());
                Identity {
                    id,
                    mesh: (id as usize - 1) % meshes.max(1),
                    colour,
                    paint: jitter_paint(PALETTE[colour].2, rng),
                    decals,
                    twin_of: None,
                }
            }
        };
        out.push(identity);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn hsv_round_trip_and_jitter_stays_near_its_colour() {
        for &(_, _, rgb) in PALETTE {
            let back = hsv_to_rgb(rgb_to_hsv(rgb));
            for (a, b) in rgb.iter().zip(back) {
                assert!((a - b).abs() < 1e-5, "{rgb:?} -> {back:?}");
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let red = PALETTE[4].2;
        let mut differ = 0;
        for _ in 0..100 {
            let p = jitter_paint(red, &mut rng);
            // a jittered red stays red-dominant, but is rarely the exact palette red
            assert!(p[0] > p[1] && p[0] > p[2], "{p:?}");
            differ += usize::from(p != red);
        }
        assert_eq!(differ, 100);
    }

    #[test]
    fn twins_differ_by_exactly_one_sticker() {
        let ids = plan(200, 7, STANDARD_COLOURS, &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(ids.len(), 200);
        let twins: Vec<&Identity> = ids.iter().filter(|i| i.twin_of.is_some()).collect();
        assert!(twins.len() > 20, "expected some twins, got {}", twins.len());
        for t in twins {
            let prev = &ids[t.twin_of.unwrap() as usize - 1];
            assert_eq!(prev.id + 1, t.id);
            assert_eq!((prev.mesh, prev.colour), (t.mesh, t.colour));
            assert_eq!(t.decals[..prev.decals.len()], prev.decals[..]);
            assert_eq!(t.decals.len(), prev.decals.len() + 1);
        }
    }

    #[test]
    fn holdout_colours_never_meet_the_standard_ones() {
        let ids = plan(100, 7, HOLDOUT_COLOURS, &mut ChaCha8Rng::seed_from_u64(4));
        assert!(ids.iter().all(|i| HOLDOUT_COLOURS.contains(&i.colour)));
        let standard: Vec<Vec3> = PALETTE[STANDARD_COLOURS].iter().map(|p| p.2).collect();
        for i in &ids {
            assert!(!standard.contains(&i.body()));
            assert!(i.decals.iter().all(|d| !standard.contains(&d.colour)));
        }
    }

    #[test]
    fn same_seed_same_plan() {
        let a = plan(50, 5, STANDARD_COLOURS, &mut ChaCha8Rng::seed_from_u64(9));
        let b = plan(50, 5, STANDARD_COLOURS, &mut ChaCha8Rng::seed_from_u64(9));
        assert_eq!(a, b);
        assert!(a.iter().all(|i| i.mesh < 5));
        assert_ne!(
            a,
            plan(50, 5, STANDARD_COLOURS, &mut ChaCha8Rng::seed_from_u64(10))
        );
    }

    #[test]
    fn disc_and_stripe_coverage() {
        let d = Decal {
            side: Side::Left,
            centre: [0.5, 0.5],
            half: [0.1, 0.2],
            shape: Shape::Disc,
            colour: [1.0; 3],
        };
        assert!(d.contains([0.5, 0.5]));
        assert!(d.contains([0.59, 0.5]));
        assert!(!d.contains([0.59, 0.69]));
        let s = Decal {
            shape: Shape::Stripe,
            ..d
        };
        assert!(s.contains([0.0, 0.6]));
        assert!(!s.contains([0.5, 0.75]));
    }
}
