//! A captured frame and the pixel operations the later stages need (grey conversion,
//! cropping), as values in and values out.

use spanreid_infer::Crop;

/// One RGB8 frame, row-major, 3 bytes per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Position in the stream, counting from 0 (frames skipped on errors keep their number).
    pub index: u64,
    /// Where the frame came from (file name, or device and sequence number), for logs.
    pub name: String,
    /// Capture time, µs since the Unix epoch.
    pub time_us: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

/// An axis-aligned box in pixels: `x0..x1`, `y0..y1` (exclusive ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BBox {
    /// Left column.
    pub x0: u32,
    /// Top row.
    pub y0: u32,
    /// One past the right column.
    pub x1: u32,
    /// One past the bottom row.
    pub y1: u32,
}

impl BBox {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }

    /// Area in pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width()) * u64::from(self.height())
    }

    /// Centre point.
    pub fn centre(&self) -> (f32, f32) {
        (
            (self.x0 + self.x1) as f32 / 2.0,
            (self.y0 + self.y1) as f32 / 2.0,
        )
    }

    /// Area the two boxes have in common.
    fn intersection(&self, other: &BBox) -> u64 {
        let ix = self.x1.min(other.x1).saturating_sub(self.x0.max(other.x0));
        let iy = self.y1.min(other.y1).saturating_sub(self.y0.max(other.y0));
        u64::from(ix) * u64::from(iy)
    }

    /// Intersection over union with `other` (0 when either is empty).
    pub fn iou(&self, other: &BBox) -> f32 {
        let inter = self.intersection(other);
        let union = self.area() + other.area() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f32 / union as f32
        }
    }

    /// The share of the smaller box that the two boxes have in common (0 when either is
    /// empty): 1 when one contains the other.
    pub fn overlap_of_smaller(&self, other: &BBox) -> f32 {
        let inter = self.intersection(other);
        let smaller = self.area().min(other.area());
        if smaller == 0 {
            0.0
        } else {
            inter as f32 / smaller as f32
        }
    }

    /// Whether the box keeps `margin` pixels away from every edge of a `width`×`height` frame.
    pub fn inside(&self, width: u32, height: u32, margin: u32) -> bool {
        self.x0 >= margin
            && self.y0 >= margin
            && self.x1 + margin <= width
            && self.y1 + margin <= height
    }
}

impl Frame {
    /// A frame of one colour, for tests and benchmarks.
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Self {
        let pixels = width as usize * height as usize;
        Frame {
            index: 0,
            name: String::new(),
            time_us: 0,
            width,
            height,
            rgb: rgb.iter().copied().cycle().take(pixels * 3).collect(),
        }
    }

    /// Luma (BT.601 integer weights), one byte per pixel.
    pub fn to_gray(&self) -> Vec<u8> {
        self.rgb
            .chunks_exact(3)
            .map(|p| {
                let y = 77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]);
                (y >> 8) as u8
            })
            .collect()
    }

    /// The square around `b` that the networks expect: side `max(width, height)` of the
    /// box plus `margin` (fraction) on each side, centred on the box and moved (then, if
    /// need be, shrunk) to stay inside the frame. The trainer frames its images this way
    /// (aspect kept, a few percent of margin), so a crop resized to the model's square
    /// input shows the vehicle undistorted.
    pub fn square_around(&self, b: &BBox, margin: f32) -> BBox {
        let side = (b.width().max(b.height()) as f32 * (1.0 + 2.0 * margin)).round() as u32;
        let side = side.max(1).min(self.width.min(self.height).max(1));
        let place = |centre: f32, limit: u32| -> (u32, u32) {
            let start = (centre - side as f32 / 2.0).round().max(0.0) as u32;
            let start = start.min(limit.saturating_sub(side));
            (start, start + side)
        };
        let (cx, cy) = b.centre();
        let (x0, x1) = place(cx, self.width);
        let (y0, y1) = place(cy, self.height);
        BBox { x0, y0, x1, y1 }
    }

    /// The pixels inside `b` (clipped to the frame) as a new RGB8 image.
    pub fn crop(&self, b: &BBox) -> Crop {
        let x1 = b.x1.min(self.width);
        let y1 = b.y1.min(self.height);
        let x0 = b.x0.min(x1);
        let y0 = b.y0.min(y1);
        let (w, h) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let stride = self.width as usize * 3;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in y0 as usize..y1 as usize {
            let row = y * stride;
            rgb.extend_from_slice(&self.rgb[row + x0 as usize * 3..row + x1 as usize * 3]);
        }
        Crop {
            width: w as u32,
            height: h as u32,
            rgb,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_hand_computed_boxes() {
        let a = BBox {
            x0: 0,
            y0: 0,
            x1: 10,
            y1: 10,
        };
        let b = BBox {
            x0: 5,
            y0: 0,
            x1: 15,
            y1: 10,
        };
        // intersection 50, union 150
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(
            a.iou(&BBox {
                x0: 20,
                y0: 20,
                x1: 30,
                y1: 30
            }),
            0.0
        );
        assert_eq!(a.iou(&a), 1.0);
    }

    #[test]
    fn crop_copies_the_right_pixels_and_clips() {
        let mut f = Frame::filled(4, 3, [0, 0, 0]);
        // pixel (2,1) red
        f.rgb[(4 + 2) * 3] = 255;
        let c = f.crop(&BBox {
            x0: 2,
            y0: 1,
            x1: 9,
            y1: 9,
        });
        assert_eq!((c.width, c.height), (2, 2));
        assert_eq!(&c.rgb[0..3], &[255, 0, 0]);
        assert_eq!(c.rgb.len(), 12);
    }

    #[test]
    fn square_crops_keep_the_aspect_and_stay_inside() {
        let f = Frame::filled(100, 50, [0, 0, 0]);
        let b = BBox {
            x0: 40,
            y0: 20,
            x1: 60,
            y1: 30,
        };
        let s = f.square_around(&b, 0.1);
        assert_eq!((s.width(), s.height()), (24, 24));
        assert_eq!(s.centre(), (50.0, 25.0));
        // near the right edge: moved left, same side
        let edge = BBox {
            x0: 90,
            y0: 10,
            x1: 100,
            y1: 20,
        };
        let s = f.square_around(&edge, 0.0);
        assert_eq!((s.x0, s.x1, s.width(), s.height()), (90, 100, 10, 10));
        // wider than the frame is tall: shrunk to the frame height
        let wide = BBox {
            x0: 0,
            y0: 0,
            x1: 90,
            y1: 40,
        };
        let s = f.square_around(&wide, 0.0);
        assert_eq!((s.width(), s.height(), s.y0, s.y1), (50, 50, 0, 50));
    }

    #[test]
    fn gray_uses_bt601_weights() {
        let f = Frame::filled(1, 1, [255, 255, 255]);
        assert_eq!(f.to_gray(), vec![255]);
        assert_eq!(Frame::filled(1, 1, [255, 0, 0]).to_gray(), vec![76]);
    }
}
