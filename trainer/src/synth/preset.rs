//! Dataset size presets.

/// How big a dataset to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum PresetName {
    /// Seconds on two cores; for tests and CI.
    Tiny,
    /// CPU training in minutes.
    Small,
    /// At least 400 identities × 30 images.
    Full,
    /// A test-only set that never enters training: `small`'s size with another paint
    /// palette and liveries, other camera placements, light and backgrounds (render it with
    /// a seed of its own). For generalisation figures.
    Holdout,
}

/// The look of a preset's world: the paint palette, liveries and camera set it draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Look {
    /// The training look.
    Standard,
    /// Held out: colours, camera heights, distances, light and photographs the standard look
    /// never uses.
    Holdout,
}

/// Sizes of one preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Preset {
    /// Number of identities.
    pub identities: u32,
    /// Number of cameras.
    pub cameras: u32,
    /// Views per identity and camera (azimuths).
    pub views_per_camera: u32,
    /// Square crop size in pixels.
    pub size: u32,
    /// Supersampling per axis.
    pub supersample: u32,
    /// Whether to render camera streams.
    pub streams: bool,
    /// Supersampling per axis of stream frames.
    pub stream_supersample: u32,
    /// Stream frame width.
    pub stream_width: u32,
    /// Stream frame height.
    pub stream_height: u32,
    /// Palette and camera set.
    pub look: Look,
}

impl PresetName {
    /// The sizes.
    pub fn preset(self) -> Preset {
        match self {
            PresetName::Tiny => Preset {
                identities: 6,
                cameras: 3,
                views_per_camera: 3,
                size: 96,
                supersample: 2,
                streams: true,
                stream_supersample: 1,
                stream_width: 256,
                stream_height: 144,
                look: Look::Standard,
            },
            PresetName::Small => Preset {
                identities: 250,
                cameras: 4,
                views_per_camera: 6,
                size: 128,
                supersample: 2,
                streams: true,
                stream_supersample: 2,
                stream_width: 640,
                stream_height: 360,
                look: Look::Standard,
            },
            PresetName::Full => Preset {
                identities: 480,
                cameras: 6,
                views_per_camera: 6,
                size: 192,
                supersample: 3,
                streams: true,
                stream_supersample: 2,
                stream_width: 640,
                stream_height: 360,
                look: Look::Standard,
            },
            PresetName::Holdout => Preset {
                identities: 60,
                streams: false,
                look: Look::Holdout,
                ..PresetName::Small.preset()
            },
        }
    }
}

impl Preset {
    /// Images per identity.
    pub fn images_per_identity(&self) -> u32 {
        self.cameras * self.views_per_camera
    }
    /// Identities used for training (the rest are test); about 60 %, as 576 of 776 in VeRi.
    /// A held-out set keeps a single (unused) training identity: the rest is test.
    pub fn train_identities(&self) -> u32 {
        if self.look == Look::Holdout {
            return 1;
        }
        ((self.identities as f32 * 0.6).round() as u32)
            .clamp(1, self.identities.saturating_sub(1).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_meets_the_minimum_and_tiny_is_small() {
        let f = PresetName::Full.preset();
        assert!(f.identities >= 400 && f.images_per_identity() >= 30);
        let t = PresetName::Tiny.preset();
        assert!(t.identities * t.images_per_identity() <= 64);
        assert!(t.train_identities() < t.identities);
    }

    #[test]
    fn holdout_is_a_test_set_with_its_own_look() {
        let h = PresetName::Holdout.preset();
        assert_eq!(h.look, Look::Holdout);
        assert_eq!(h.train_identities(), 1);
        assert!(!h.streams);
        assert_eq!(PresetName::Small.preset().look, Look::Standard);
    }
}
