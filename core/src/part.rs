//! The four feature branches of the SPAN network and the three views behind them.

use serde::{Deserialize, Serialize};

/// Number of feature vectors per vehicle image: global + front + rear + side.
pub const PARTS: usize = 4;
/// Number of vehicle views SPAN predicts a mask for: front, rear, side.
pub const VIEWS: usize = 3;

/// One feature branch. The order is the paper's: `f_0` global, then `f_1..f_3` for the
/// front, rear and side masks `M_1..M_3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Part {
    /// The whole vehicle (feature `f_0`, area ratio fixed at 1).
    Global = 0,
    /// Front view (mask `M_1`).
    Front = 1,
    /// Rear view (mask `M_2`).
    Rear = 2,
    /// Side view (mask `M_3`).
    Side = 3,
}

impl Part {
    /// All parts in wire and feature order.
    pub const ALL: [Part; PARTS] = [Part::Global, Part::Front, Part::Rear, Part::Side];

    /// Index of this part in `[global, front, rear, side]` arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name, as used in file names, ONNX outputs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Part::Global => "global",
            Part::Front => "front",
            Part::Rear => "rear",
            Part::Side => "side",
        }
    }
}
