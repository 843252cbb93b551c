//! The common re-identification protocol: which gallery entries count for a query.

use serde::{Deserialize, Serialize};

/// What an evaluation needs to know about one image: its vehicle identity and camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Label {
    /// Vehicle identity (e.g. `2` for VeRi-776's `0002`).
    pub id: u32,
    /// Camera number (e.g. `2` for VeRi-776's `c002`).
    pub camera: u32,
}

impl Label {
    /// A label from an identity and a camera.
    pub const fn new(id: u32, camera: u32) -> Self {
        Self { id, camera }
    }
}

/// How one gallery entry counts for a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relevance {
    /// Same identity seen by another camera: a true match.
    Hit,
    /// Another identity.
    Miss,
    /// Same identity and same camera: removed from the ranking, as if never retrieved.
    Junk,
}

/// Classifies a gallery entry for a query under the common protocol (VeRi-776, Market-1501,
/// fast-reid, torchreid): entries sharing the query's identity AND camera are junk.
pub const fn relevance(query: Label, gallery: Label) -> Relevance {
    if gallery.id != query.id {
        Relevance::Miss
    } else if gallery.camera == query.camera {
        Relevance::Junk
    } else {
        Relevance::Hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_id_same_camera_is_junk_and_other_camera_is_a_hit() {
        let q = Label::new(7, 3);
        assert_eq!(relevance(q, Label::new(7, 3)), Relevance::Junk);
        assert_eq!(relevance(q, Label::new(7, 4)), Relevance::Hit);
        assert_eq!(relevance(q, Label::new(8, 3)), Relevance::Miss);
        assert_eq!(relevance(q, Label::new(8, 4)), Relevance::Miss);
    }
}
