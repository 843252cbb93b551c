//! Background subtraction with a running average: a pixel is foreground when its luma
//! differs from the background by more than a threshold. The background learns quickly
//! where nothing moves and slowly under moving objects, so a vehicle that stops is absorbed
//! only gradually. The first background is the per-pixel median of the warm-up frames, so a
//! vehicle that is in view while the detector starts leaves no "ghost" behind.

use super::morphology::{Blob, components, open_close};
use super::roi::Roi;
use crate::frame::{BBox, Frame};

/// Tuning of the motion detector.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionSettings {
    /// Learning rate of the background where the pixel is background (0..1).
    pub learning_rate: f32,
    /// Learning rate under foreground pixels (usually much smaller).
    pub foreground_learning_rate: f32,
    /// Luma difference (0..255) above which a pixel is foreground.
    pub threshold: f32,
    /// Radius of the opening that removes noise specks.
    pub open_radius: usize,
    /// Radius of the closing that fills holes in vehicles.
    pub close_radius: usize,
    /// Blobs with fewer pixels are ignored.
    pub min_pixels: u32,
    /// Frames used only to learn the background before anything is reported; their
    /// per-pixel median is the first background (at most [`MAX_WARMUP_FRAMES`] are kept).
    pub warmup_frames: u32,
}

/// Warm-up frames kept for the median (bounds the detector's memory).
pub const MAX_WARMUP_FRAMES: usize = 32;

impl Default for MotionSettings {
    fn default() -> Self {
        MotionSettings {
            learning_rate: 0.05,
            foreground_learning_rate: 0.002,
            threshold: 25.0,
            open_radius: 1,
            close_radius: 3,
            min_pixels: 400,
            warmup_frames: 5,
        }
    }
}

/// A moving object in one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Bounding box.
    pub bbox: BBox,
    /// Foreground pixels in the blob.
    pub pixels: u32,
}

/// The background model of one camera.
#[derive(Debug)]
pub struct MotionDetector {
    settings: MotionSettings,
    roi: Roi,
    size: (u32, u32),
    roi_mask: Vec<bool>,
    background: Vec<f32>,
    frames: u32,
    warmup: Vec<Vec<u8>>,
}

impl MotionDetector {
    /// A detector that learns its background from the first frames it sees.
    pub fn new(settings: MotionSettings, roi: Roi) -> Self {
        MotionDetector {
            settings,
            roi,
            size: (0, 0),
            roi_mask: Vec::new(),
            background: Vec::new(),
            frames: 0,
            warmup: Vec::new(),
        }
    }

    /// Sets the background to the per-pixel median of the warm-up frames.
    fn settle_background(&mut self) {
        let n = self.warmup.len();
        if n == 0 {
            return;
        }
        let mut column = vec![0u8; n];
        for (i, b) in self.background.iter_mut().enumerate() {
            for (c, frame) in column.iter_mut().zip(&self.warmup) {
                *c = frame[i];
            }
            column.sort_unstable();
            *b = f32::from(column[n / 2]);
        }
        self.warmup = Vec::new();
    }

    /// Updates the background with `frame` and returns the moving objects in it. A change of
    /// frame size restarts the model.
    pub fn detect(&mut self, frame: &Frame) -> Vec<Detection> {
        let gray = frame.to_gray();
        if self.size != (frame.width, frame.height) {
            self.size = (frame.width, frame.height);
            self.roi_mask = self.roi.mask(frame.width, frame.height);
            self.background = gray.iter().map(|&g| f32::from(g)).collect();
            self.frames = 0;
            self.warmup.clear();
        }
        if self.frames < self.settings.warmup_frames {
            self.frames += 1;
            if self.warmup.len() < MAX_WARMUP_FRAMES {
                self.warmup.push(gray);
            }
            if self.frames == self.settings.warmup_frames {
                self.settle_background();
            }
            return Vec::new();
        }
        let s = &self.settings;
        let mut fg = vec![false; gray.len()];
        for ((f, b), (&g, &inside)) in fg
            .iter_mut()
            .zip(self.background.iter_mut())
            .zip(gray.iter().zip(self.roi_mask.iter()))
        {
            let g = f32::from(g);
            let moving = (g - *b).abs() > s.threshold;
            *f = moving && inside;
            let rate = if moving {
                s.foreground_learning_rate
            } else {
                s.learning_rate
            };
            *b += rate * (g - *b);
        }
        let (w, h) = (frame.width as usize, frame.height as usize);
        let cleaned = open_close(&fg, w, h, s.open_radius, s.close_radius);
        components(&cleaned, w, h)
            .into_iter()
            .filter(|b: &Blob| b.pixels >= s.min_pixels)
            .map(|b| Detection {
                bbox: b.bbox,
                pixels: b.pixels,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured grey background with a dark rectangle at `x` (if any).
    pub(crate) fn scene(w: u32, h: u32, rect: Option<(u32, u32, u32, u32)>) -> Frame {
        let mut f = Frame::filled(w, h, [0, 0, 0]);
        for y in 0..h {
            for x in 0..w {
                let v = 120 + ((x * 7 + y * 3) % 10) as u8;
                let i = ((y * w + x) * 3) as usize;
                f.rgb[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
        if let Some((x0, y0, rw, rh)) = rect {
            for y in y0..(y0 + rh).min(h) {
                for x in x0..(x0 + rw).min(w) {
                    let i = ((y * w + x) * 3) as usize;
                    f.rgb[i..i + 3].copy_from_slice(&[20, 40, 200]);
                }
            }
        }
        f
    }

    fn settings() -> MotionSettings {
        MotionSettings {
            min_pixels: 50,
            warmup_frames: 3,
            ..MotionSettings::default()
        }
    }

    #[test]
    fn finds_a_moving_rectangle_and_nothing_on_a_static_scene() {
        let mut d = MotionDetector::new(settings(), Roi::default());
        for _ in 0..5 {
            assert!(d.detect(&scene(80, 60, None)).is_empty());
        }
        let dets = d.detect(&scene(80, 60, Some((20, 10, 16, 12))));
        assert_eq!(dets.len(), 1);
        assert_eq!(
            dets[0].bbox,
            BBox {
                x0: 20,
                y0: 10,
                x1: 36,
                y1: 22
            }
        );
        assert_eq!(dets[0].pixels, 16 * 12);
    }

    #[test]
    fn ignores_motion_outside_the_roi_and_during_warmup() {
        let roi = Roi {
            polygon: vec![[40.0, 0.0], [80.0, 0.0], [80.0, 60.0], [40.0, 60.0]],
        };
        let mut d = MotionDetector::new(settings(), roi);
        // warm-up frames report nothing even with motion
        assert!(d.detect(&scene(80, 60, None)).is_empty());
        assert!(d.detect(&scene(80, 60, Some((50, 10, 16, 12)))).is_empty());
        for _ in 0..4 {
            d.detect(&scene(80, 60, None));
        }
        assert!(d.detect(&scene(80, 60, Some((5, 10, 16, 12)))).is_empty());
        let dets = d.detect(&scene(80, 60, Some((50, 10, 16, 12))));
        assert_eq!(dets.len(), 1);
    }

    #[test]
    fn small_specks_are_not_vehicles() {
        let mut d = MotionDetector::new(settings(), Roi::default());
        for _ in 0..5 {
            d.detect(&scene(80, 60, None));
        }
        assert!(d.detect(&scene(80, 60, Some((30, 30, 2, 2)))).is_empty());
    }

    #[test]
    fn a_vehicle_in_view_during_warm_up_leaves_no_ghost() {
        let s = MotionSettings {
            warmup_frames: 9,
            ..settings()
        };
        let mut d = MotionDetector::new(s, Roi::default());
        // A rectangle drives across during the warm-up (8 px per frame, 16 px long).
        for f in 0..9u32 {
            assert!(
                d.detect(&scene(160, 60, Some((8 * f, 10, 16, 12))))
                    .is_empty()
            );
        }
        // It has left; another one appears far right. Only that one is reported.
        let dets = d.detect(&scene(160, 60, Some((130, 30, 16, 12))));
        assert_eq!(dets.len(), 1, "{dets:?}");
        assert_eq!(dets[0].bbox.x0, 130);
    }
}
