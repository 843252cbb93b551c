//! SPAN's five viewpoint labels and the semantic label vector `l` of the paper (Sec. 3.1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The viewpoint of a vehicle image as SPAN uses it: which of front, rear and side are
/// visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Only the front is visible.
    Front,
    /// Only the rear is visible.
    Rear,
    /// Only one side is visible.
    Side,
    /// Front and one side.
    FrontSide,
    /// Rear and one side.
    RearSide,
}

impl View {
    /// All views, in the order of the supplementary's Table 1.
    pub const ALL: [View; 5] = [
        View::Front,
        View::Rear,
        View::Side,
        View::FrontSide,
        View::RearSide,
    ];

    /// The semantic label vector `l` (front, rear, side): 1 where the view is visible.
    pub const fn label(self) -> [f32; 3] {
        match self {
            View::Front => [1.0, 0.0, 0.0],
            View::Rear => [0.0, 1.0, 0.0],
            View::Side => [0.0, 0.0, 1.0],
            View::FrontSide => [1.0, 0.0, 1.0],
            View::RearSide => [0.0, 1.0, 1.0],
        }
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

    /// The view of one of VeRi-776's 8 orientation classes (0 front, 1 rear, 2 left,
    /// 3 left-front, 4 left-rear, 5 right, 6 right-front, 7 right-rear).
    pub const fn from_veri_orientation(orientation: u8) -> Option<View> {
        match orientation {
            0 => Some(View::Front),
            1 => Some(View::Rear),
            2 | 5 => Some(View::Side),
            3 | 6 => Some(View::FrontSide),
            4 | 7 => Some(View::RearSide),
            _ => None,
        }
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

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        View::ALL
            .into_iter()
            .find(|v| v.name() == norm)
            .ok_or_else(|| UnknownView(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in View::ALL {
            assert_eq!(v.name().parse::<View>(), Ok(v));
        }
        assert_eq!("Front_Side".parse::<View>(), Ok(View::FrontSide));
        assert!("top".parse::<View>().is_err());
    }

    #[test]
    fn veri_orientations_map_to_the_five_views() {
        let got: Vec<_> = (0..8).filter_map(View::from_veri_orientation).collect();
        use View::*;
        assert_eq!(
            got,
            [
                Front, Rear, Side, FrontSide, RearSide, Side, FrontSide, RearSide
            ]
        );
        assert_eq!(View::from_veri_orientation(8), None);
    }

    #[test]
    fn two_view_labels_have_two_ones() {
        assert_eq!(View::FrontSide.label(), [1.0, 0.0, 1.0]);
        assert_eq!(View::RearSide.label().iter().sum::<f32>(), 2.0);
    }
}
