//! Viewpoint labels from the camera azimuth, and ground-truth part labels from surface
//! normals, both in the vehicle frame (`x` forward, `y` left, `z` up).
//!
//! Azimuth is the direction from the vehicle to the camera, in degrees counter-clockwise
//! from the vehicle's front seen from above: 0 sees the front, 90 the left side, 180 the
//! rear, 270 the right side.

pub use spanreid::dataset::{Orientation, View};

use crate::synth::mesh::Vec3;

/// The 8-way orientation of a camera azimuth (45° sectors centred on the axes).
pub fn orientation(azimuth_deg: f32) -> Orientation {
    let a = azimuth_deg.rem_euclid(360.0);
    let sector = (((a + 22.5) / 45.0).floor() as i32).rem_euclid(8);
    match sector {
        0 => Orientation::Front,
        1 => Orientation::LeftFront,
        2 => Orientation::Left,
        3 => Orientation::LeftRear,
        4 => Orientation::Rear,
        5 => Orientation::RightRear,
        6 => Orientation::Right,
        _ => Orientation::RightFront,
    }
}

/// Ground-truth part of a surface point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Faces forward (or lies on the front of the roof line: bonnet).
    Front = 1,
    /// Faces backward (or the boot lid).
    Rear = 2,
    /// Faces sideways (or the roof).
    Side = 3,
}

/// Part label of a surface point from its outward face normal `n` and position `p`,
/// both in the vehicle frame; `half_length` is half the vehicle's length and `height` its
/// height. Surfaces facing mostly sideways, forward or backward go by the horizontal
/// direction of the normal in 45° sectors; near-horizontal surfaces go by where they lie:
/// the roof (top fifth of the height) is side, the bonnet front and the boot lid rear.
pub fn part(n: Vec3, p: Vec3, half_length: f32, height: f32) -> Part {
    let horizontal = (n[0] * n[0] + n[1] * n[1]).sqrt();
    if horizontal < 0.35 {
        return if p[2] > 0.8 * height {
            Part::Side
        } else if p[0] > 0.45 * half_length {
            Part::Front
        } else if p[0] < -0.55 * half_length {
            Part::Rear
        } else {
            Part::Side
        };
    }
    let c = n[0] / horizontal;
    if c >= std::f32::consts::FRAC_1_SQRT_2 {
        Part::Front
    } else if c <= -std::f32::consts::FRAC_1_SQRT_2 {
        Part::Rear
    } else {
        Part::Side
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn orientation_sectors() {
        assert_eq!(orientation(0.0), Orientation::Front);
        assert_eq!(orientation(22.0), Orientation::Front);
        assert_eq!(orientation(23.0), Orientation::LeftFront);
        assert_eq!(orientation(90.0), Orientation::Left);
        assert_eq!(orientation(180.0), Orientation::Rear);
        assert_eq!(orientation(-90.0), Orientation::Right);
        assert_eq!(orientation(315.0), Orientation::RightFront);
        assert_eq!(orientation(337.6), Orientation::Front);
        assert_eq!(orientation(220.0), Orientation::RightRear);
    }

    #[test]
    fn part_from_normals_on_a_box() {
        let (hl, h) = (2.0, 1.5);
        assert_eq!(part([1.0, 0.0, 0.0], [2.0, 0.0, 0.5], hl, h), Part::Front);
        assert_eq!(part([-1.0, 0.0, 0.0], [-2.0, 0.0, 0.5], hl, h), Part::Rear);
        assert_eq!(part([0.0, 1.0, 0.0], [0.0, 1.0, 0.5], hl, h), Part::Side);
        assert_eq!(part([0.0, -1.0, 0.0], [1.9, -1.0, 0.5], hl, h), Part::Side);
        // windscreen leaning back: 60° from vertical still faces forward
        assert_eq!(part([0.5, 0.0, 0.866], [0.8, 0.0, 1.0], hl, h), Part::Front);
        // bonnet, roof, boot; a bus-like roof reaching the ends is still side
        assert_eq!(part([0.0, 0.0, 1.0], [1.5, 0.0, 0.9], hl, h), Part::Front);
        assert_eq!(part([0.0, 0.0, 1.0], [0.0, 0.0, 1.4], hl, h), Part::Side);
        assert_eq!(part([0.0, 0.0, 1.0], [-1.6, 0.0, 0.9], hl, h), Part::Rear);
        assert_eq!(part([0.0, 0.0, 1.0], [1.9, 0.0, 1.45], hl, h), Part::Side);
    }

    proptest! {
        #[test]
        fn mirrored_left_right_have_the_same_labels(a in 0.0f32..360.0, nx in -1.0f32..1.0, ny in -1.0f32..1.0, px in -2.0f32..2.0) {
            let m = |o: Orientation| match o {
                Orientation::Left => Orientation::Right,
                Orientation::LeftFront => Orientation::RightFront,
                Orientation::LeftRear => Orientation::RightRear,
                Orientation::Right => Orientation::Left,
                Orientation::RightFront => Orientation::LeftFront,
                Orientation::RightRear => Orientation::LeftRear,
                other => other,
            };
            // avoid exact sector boundaries
            prop_assume!(((a + 22.5) / 45.0).fract().abs() > 1e-3);
            prop_assert_eq!(orientation(-a), m(orientation(a)));
            prop_assert_eq!(orientation(-a).view(), orientation(a).view());
            prop_assert_eq!(part([nx, ny, 0.3], [px, 0.0, 1.0], 2.0, 1.5), part([nx, -ny, 0.3], [px, 0.0, 1.0], 2.0, 1.5));
        }
    }
}
