//! Vehicle views: VeRi-776's 8 annotated orientations and SPAN's 5 views.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// SPAN's view classes, numbered as in the `viewpoint` column of its `dataset.csv`; named
/// in kebab case (`front-side`) in config files and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum View {
    /// Only the front is visible.
    Front = 0,
    /// Only the rear is visible.
    Rear = 1,
    /// Only a side is visible.
    Side = 2,
    /// Front and a side.
    FrontSide = 3,
    /// Rear and a side.
    RearSide = 4,
}

impl View {
    /// All views in `viewpoint` order.
    pub const ALL: [View; 5] = [
        View::Front,
        View::Rear,
        View::Side,
        View::FrontSide,
        View::RearSide,
    ];

    /// The view with this `viewpoint` number.
    pub fn from_index(i: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// This view's `viewpoint` number.
    pub const fn index(self) -> u32 {
        self as u32
    }

    /// SPAN's semantic label vector `l`: which of (front, rear, side) are visible.
    pub const fn visible(self) -> [bool; 3] {
        match self {
            View::Front => [true, false, false],
            View::Rear => [false, true, false],
            View::Side => [false, false, true],
            View::FrontSide => [true, false, true],
            View::RearSide => [false, true, true],
        }
    }

    /// [`View::visible`] as SPAN's f32 label vector `l` (front, rear, side).
    pub const fn label(self) -> [f32; 3] {
        let v = self.visible();
        [v[0] as u8 as f32, v[1] as u8 as f32, v[2] as u8 as f32]
    }

    /// Kebab-case name (`front-side`), as in config files and logs.
    pub const fn name(self) -> &'static str {
        match self {
            View::Front => "front",
            View::Rear => "rear",
            View::Side => "side",
            View::FrontSide => "front-side",
            View::RearSide => "rear-side",
        }
    }

    /// The view of one of VeRi-776's 8 orientation numbers ([`Orientation`]).
    pub fn from_veri_orientation(orientation: u8) -> Option<View> {
        Orientation::from_index(u32::from(orientation)).map(Orientation::view)
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A view name that is none of SPAN's five.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown view `{0}` (expected front, rear, side, front-side or rear-side)")]
pub struct UnknownView(pub String);

impl FromStr for View {
    type Err = UnknownView;

    /// Case-insensitive; `_` for `-` (`Front_Side`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        View::ALL
            .into_iter()
            .find(|v| v.name() == norm)
            .ok_or_else(|| UnknownView(s.to_owned()))
    }
}

/// The 8 orientations of VeRi-776's keypoint annotations, numbered as in those files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Orientation {
    /// Seen from the front.
    Front = 0,
    /// Seen from the rear.
    Rear = 1,
    /// Left side.
    Left = 2,
    /// Left and front.
    LeftFront = 3,
    /// Left and rear.
    LeftRear = 4,
    /// Right side.
    Right = 5,
    /// Right and front.
    RightFront = 6,
    /// Right and rear.
    RightRear = 7,
}

impl Orientation {
    /// All orientations in file order.
    pub const ALL: [Orientation; 8] = [
        Orientation::Front,
        Orientation::Rear,
        Orientation::Left,
        Orientation::LeftFront,
        Orientation::LeftRear,
        Orientation::Right,
        Orientation::RightFront,
        Orientation::RightRear,
    ];

    /// The orientation with this number (0..=7).
    pub fn from_index(i: u32) -> Option<Self> {
        Self::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// This orientation's number.
    pub const fn index(self) -> u32 {
        self as u32
    }

    /// SPAN's view for this orientation (left and right both become a side).
    pub const fn view(self) -> View {
        match self {
            Orientation::Front => View::Front,
            Orientation::Rear => View::Rear,
            Orientation::Left | Orientation::Right => View::Side,
            Orientation::LeftFront | Orientation::RightFront => View::FrontSide,
            Orientation::LeftRear | Orientation::RightRear => View::RearSide,
        }
    }
}

impl From<Orientation> for View {
    fn from(o: Orientation) -> Self {
        o.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientations_map_to_views() {
        let views: Vec<View> = Orientation::ALL.iter().map(|o| o.view()).collect();
        use View::*;
        assert_eq!(
            views,
            [
                Front, Rear, Side, FrontSide, RearSide, Side, FrontSide, RearSide
            ]
        );
    }

    #[test]
    fn names_round_trip_and_labels_match_visibility() {
        for v in View::ALL {
            assert_eq!(v.name().parse::<View>(), Ok(v));
            assert_eq!(v.to_string(), v.name());
            let l = v.label();
            assert_eq!(v.visible(), l.map(|x| x == 1.0));
        }
        assert_eq!("Front_Side".parse::<View>(), Ok(View::FrontSide));
        assert!("top".parse::<View>().is_err());
        assert_eq!(View::FrontSide.label(), [1.0, 0.0, 1.0]);
        assert_eq!(View::from_veri_orientation(6), Some(View::FrontSide));
        assert_eq!(View::from_veri_orientation(8), None);
    }

    #[test]
    fn visibility_vectors() {
        assert_eq!(View::FrontSide.visible(), [true, false, true]);
        assert_eq!(View::RearSide.visible(), [false, true, true]);
        for v in View::ALL {
            let n = v.visible().iter().filter(|&&b| b).count();
            assert!((1..=2).contains(&n));
            assert_eq!(View::from_index(v.index()), Some(v));
        }
        assert_eq!(View::from_index(5), None);
        assert_eq!(Orientation::from_index(8), None);
        assert_eq!(Orientation::from_index(6), Some(Orientation::RightFront));
    }
}
