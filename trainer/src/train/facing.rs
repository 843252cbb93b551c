//! Which way a vehicle's front points in the image: the image-level label the order term
//! of SPAN's training reads ([`crate::span::order`]).

use spanreid::dataset::Orientation;

/// Which way a vehicle's front points in the image: an image-level label, read from the
/// renderer's azimuth or from the left/right part of VeRi-776's 8 orientation classes. A two-view image shows its front (or rear) end on one side of
/// its side surface; [`crate::span::order::order_loss`] uses that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facing {
    /// The front points to the image's left (the vehicle's left side is seen).
    Left,
    /// The front points to the image's right (the vehicle's right side is seen).
    Right,
}

impl Facing {
    /// The facing in the mirror image.
    pub fn flipped(self) -> Self {
        match self {
            Facing::Left => Facing::Right,
            Facing::Right => Facing::Left,
        }
    }

    /// +1 when the front points to larger image x (right), −1 otherwise.
    pub fn sign(self) -> f32 {
        match self {
            Facing::Left => -1.0,
            Facing::Right => 1.0,
        }
    }

    /// The facing of an 8-way orientation: a seen left side puts the front on the image's
    /// left; front and rear views show no side.
    pub fn of_orientation(o: Orientation) -> Option<Self> {
        match o {
            Orientation::Left | Orientation::LeftFront | Orientation::LeftRear => {
                Some(Facing::Left)
            }
            Orientation::Right | Orientation::RightFront | Orientation::RightRear => {
                Some(Facing::Right)
            }
            Orientation::Front | Orientation::Rear => None,
        }
    }

    /// The facing of a camera azimuth (degrees counter-clockwise from the vehicle's
    /// front): a camera on the vehicle's left (0–180°) sees the front on its left. `None`
    /// within 5° of the front or rear axis, where neither side shows.
    pub fn of_azimuth(azimuth_deg: f64) -> Option<Self> {
        let s = azimuth_deg.to_radians().sin();
        if s > 5f64.to_radians().sin() {
            Some(Facing::Left)
        } else if s < -5f64.to_radians().sin() {
            Some(Facing::Right)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facing_follows_the_seen_side_and_flips() {
        assert_eq!(Facing::of_azimuth(45.0), Some(Facing::Left));
        assert_eq!(Facing::of_azimuth(135.0), Some(Facing::Left));
        assert_eq!(Facing::of_azimuth(-45.0), Some(Facing::Right));
        assert_eq!(Facing::of_azimuth(300.0), Some(Facing::Right));
        assert_eq!(Facing::of_azimuth(2.0), None);
        assert_eq!(Facing::of_azimuth(181.0), None);
        assert_eq!(Facing::Left.flipped(), Facing::Right);
        // The renderer's orientation sectors agree with the azimuth.
        for a in [30.0f32, 90.0, 150.0, 210.0, 270.0, 330.0] {
            let o = crate::synth::view::orientation(a);
            assert_eq!(
                Facing::of_orientation(o),
                Facing::of_azimuth(f64::from(a)),
                "{a}"
            );
        }
        assert_eq!(Facing::of_orientation(Orientation::Rear), None);
        assert_eq!(Facing::Left.sign(), -Facing::Left.flipped().sign());
    }
}
