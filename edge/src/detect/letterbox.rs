//! Letterboxing for square-input object detectors (YOLO): the frame is scaled to fit an
//! `N`×`N` input with its aspect kept, centred, and the rest padded with grey 114/255 as
//! YOLO's training pipeline pads; boxes found in the input map back to frame pixels by the
//! inverse transform. Pure geometry and pixel copying, no I/O.

use std::ops::Deref;

use image::imageops::FilterType;
use image::{ImageBuffer, Rgb};

use crate::frame::{BBox, Frame};

/// Value of the padding (114 of 255, as YOLO pads).
pub const PAD: f32 = 114.0 / 255.0;

/// Where a frame lands inside the square network input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Letterbox {
    /// Side `N` of the network input.
    pub side: u32,
    /// Frame width and height.
    pub frame: (u32, u32),
    /// Width and height of the scaled frame inside the input.
    pub scaled: (u32, u32),
    /// Left and top padding, in input pixels.
    pub pad: (u32, u32),
}

impl Letterbox {
    /// The letterbox of a `width`×`height` frame in a `side`×`side` input.
    pub fn new(width: u32, height: u32, side: u32) -> Self {
        let scale = (side as f32 / width.max(1) as f32).min(side as f32 / height.max(1) as f32);
        let fit = |v: u32| ((v as f32 * scale).round() as u32).clamp(1, side.max(1));
        let scaled = (fit(width), fit(height));
        Letterbox {
            side,
            frame: (width, height),
            scaled,
            pad: (
                side.saturating_sub(scaled.0) / 2,
                side.saturating_sub(scaled.1) / 2,
            ),
        }
    }

    /// Input pixels per frame pixel, horizontally and vertically (equal up to rounding).
    fn scales(&self) -> (f32, f32) {
        (
            self.scaled.0 as f32 / self.frame.0.max(1) as f32,
            self.scaled.1 as f32 / self.frame.1.max(1) as f32,
        )
    }

    /// A frame point in input pixels.
    pub fn to_input(&self, x: f32, y: f32) -> (f32, f32) {
        let (sx, sy) = self.scales();
        (x * sx + self.pad.0 as f32, y * sy + self.pad.1 as f32)
    }

    /// A box `[x0, y0, x1, y1]` in input pixels as a box in frame pixels, clamped to the
    /// frame and rounded; `None` when nothing of it is left or a coordinate is not finite.
    pub fn to_frame(&self, b: [f32; 4]) -> Option<BBox> {
        if !b.iter().all(|v| v.is_finite()) {
            return None;
        }
        let (sx, sy) = self.scales();
        let (w, h) = (self.frame.0 as f32, self.frame.1 as f32);
        let x = |v: f32| ((v - self.pad.0 as f32) / sx).clamp(0.0, w).round() as u32;
        let y = |v: f32| ((v - self.pad.1 as f32) / sy).clamp(0.0, h).round() as u32;
        let bbox = BBox {
            x0: x(b[0]),
            y0: y(b[1]),
            x1: x(b[2]),
            y1: y(b[3]),
        };
        (bbox.width() > 0 && bbox.height() > 0).then_some(bbox)
    }

    /// The NCHW input data of `frame` (3 × `side` × `side` values, RGB scaled to 0..1):
    /// resized with a triangle (bilinear) filter, centred, padded with [`PAD`]. A frame
    /// whose pixels do not match its size gives a padding-only input.
    pub fn tensor(&self, frame: &Frame) -> Vec<f32> {
        let n = self.side as usize;
        let mut out = vec![PAD; 3 * n * n];
        let Some(img) =
            ImageBuffer::<Rgb<u8>, &[u8]>::from_raw(frame.width, frame.height, &frame.rgb[..])
                .filter(|img| img.width() > 0 && img.height() > 0)
        else {
            return out;
        };
        if (img.width(), img.height()) == self.scaled {
            self.place(&img, &mut out);
        } else {
            let (w, h) = self.scaled;
            let resized = image::imageops::resize(&img, w, h, FilterType::Triangle);
            self.place(&resized, &mut out);
        }
        out
    }

    /// Copies the scaled image into the padded planes.
    fn place<C: Deref<Target = [u8]>>(&self, img: &ImageBuffer<Rgb<u8>, C>, out: &mut [f32]) {
        let n = self.side as usize;
        let plane = n * n;
        for (x, y, p) in img.enumerate_pixels() {
            let (ix, iy) = ((x + self.pad.0) as usize, (y + self.pad.1) as usize);
            if ix >= n || iy >= n {
                continue;
            }
            for (c, v) in p.0.iter().enumerate() {
                out[c * plane + iy * n + ix] = f32::from(*v) / 255.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landscape_and_portrait_frames_are_centred() {
        let lb = Letterbox::new(128, 64, 64);
        assert_eq!((lb.scaled, lb.pad), ((64, 32), (0, 16)));
        let lb = Letterbox::new(60, 120, 64);
        assert_eq!((lb.scaled, lb.pad), ((32, 64), (16, 0)));
        let lb = Letterbox::new(1280, 720, 640);
        assert_eq!((lb.scaled, lb.pad), ((640, 360), (0, 140)));
    }

    #[test]
    fn boxes_round_trip_between_frame_and_input() {
        for (w, h, side) in [
            (128, 64, 64),
            (1280, 720, 640),
            (480, 640, 320),
            (100, 100, 64),
        ] {
            let lb = Letterbox::new(w, h, side);
            for b in [
                BBox {
                    x0: 0,
                    y0: 0,
                    x1: w,
                    y1: h,
                },
                BBox {
                    x0: w / 4,
                    y0: h / 3,
                    x1: w / 2,
                    y1: h / 2 + 10,
                },
            ] {
                let (x0, y0) = lb.to_input(b.x0 as f32, b.y0 as f32);
                let (x1, y1) = lb.to_input(b.x1 as f32, b.y1 as f32);
                assert_eq!(lb.to_frame([x0, y0, x1, y1]), Some(b), "{w}x{h} in {side}");
            }
        }
    }

    #[test]
    fn boxes_are_clamped_to_the_frame_and_padding_only_boxes_vanish() {
        let lb = Letterbox::new(128, 64, 64);
        // From the top padding into the frame: clipped at the frame's top edge.
        let b = lb.to_frame([-10.0, 4.0, 8.0, 24.0]).unwrap();
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (0, 0, 16, 16));
        assert_eq!(lb.to_frame([0.0, 0.0, 64.0, 16.0]), None);
        assert_eq!(lb.to_frame([f32::NAN, 0.0, 64.0, 40.0]), None);
        assert_eq!(lb.to_frame([0.0, 20.0, f32::INFINITY, 40.0]), None);
    }

    #[test]
    fn tensor_is_planar_rgb_with_grey_padding() {
        let mut frame = Frame::filled(4, 2, [255, 0, 51]);
        frame.rgb[0] = 0; // pixel (0, 0) has no red
        let lb = Letterbox::new(4, 2, 4);
        assert_eq!((lb.scaled, lb.pad), ((4, 2), (0, 1)));
        let t = lb.tensor(&frame);
        assert_eq!(t.len(), 3 * 16);
        let at = |c: usize, y: usize, x: usize| t[c * 16 + y * 4 + x];
        for x in 0..4 {
            for c in 0..3 {
                assert_eq!(at(c, 0, x), PAD);
                assert_eq!(at(c, 3, x), PAD);
            }
            assert_eq!(at(1, 1, x), 0.0);
            assert!((at(2, 2, x) - 0.2).abs() < 1e-6);
        }
        assert_eq!(at(0, 1, 0), 0.0);
        assert_eq!(at(0, 1, 1), 1.0);
        // A flat frame that needs resizing stays flat inside the padding.
        let t = Letterbox::new(10, 5, 8).tensor(&Frame::filled(10, 5, [255, 255, 255]));
        assert!(t[..16].iter().all(|v| *v == PAD));
        assert!(t[16..48].iter().all(|v| (v - 1.0).abs() < 1e-6));
        // Pixels that do not match the size: padding only.
        let mut broken = Frame::filled(4, 2, [9, 9, 9]);
        broken.rgb.pop();
        assert!(lb.tensor(&broken).iter().all(|v| *v == PAD));
    }
}
