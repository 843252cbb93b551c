//! Binary morphology (square structuring element) and connected components on masks.

use crate::frame::BBox;

/// Dilation (`grow = true`) or erosion with a `(2r+1)`² square, done as two 1-D passes.
pub fn square(mask: &[bool], width: usize, height: usize, r: usize, grow: bool) -> Vec<bool> {
    if r == 0 {
        return mask.to_vec();
    }
    let pass = |src: &[bool], horizontal: bool| -> Vec<bool> {
        let mut out = vec![false; src.len()];
        for y in 0..height {
            for x in 0..width {
                let (pos, len) = if horizontal { (x, width) } else { (y, height) };
                let lo = pos.saturating_sub(r);
                let hi = (pos + r).min(len - 1);
                let at = |k: usize| {
                    if horizontal {
                        src[y * width + k]
                    } else {
                        src[k * width + x]
                    }
                };
                out[y * width + x] = if grow {
                    (lo..=hi).any(at)
                } else {
                    // Pixels outside the frame are ignored, so a vehicle entering the
                    // frame keeps its edge.
                    (lo..=hi).all(at)
                };
            }
        }
        out
    };
    let h = pass(mask, true);
    pass(&h, false)
}

/// Opening (removes specks smaller than the element) then closing (fills small holes).
pub fn open_close(
    mask: &[bool],
    width: usize,
    height: usize,
    open: usize,
    close: usize,
) -> Vec<bool> {
    let eroded = square(mask, width, height, open, false);
    let opened = square(&eroded, width, height, open, true);
    let dilated = square(&opened, width, height, close, true);
    square(&dilated, width, height, close, false)
}

/// One 8-connected blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Bounding box.
    pub bbox: BBox,
    /// Number of pixels.
    pub pixels: u32,
}

/// The 8-connected components of `mask`, in scan order of their first pixel.
pub fn components(mask: &[bool], width: usize, height: usize) -> Vec<Blob> {
    let mut seen = vec![false; mask.len()];
    let mut blobs = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (sx, sy) = ((start % width) as u32, (start / width) as u32);
        let mut b = BBox {
            x0: sx,
            y0: sy,
            x1: sx + 1,
            y1: sy + 1,
        };
        let mut pixels = 0u32;
        while let Some(i) = stack.pop() {
            pixels += 1;
            let (x, y) = (i % width, i / width);
            b.x0 = b.x0.min(x as u32);
            b.y0 = b.y0.min(y as u32);
            b.x1 = b.x1.max(x as u32 + 1);
            b.y1 = b.y1.max(y as u32 + 1);
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let j = ny * width + nx;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        blobs.push(Blob { bbox: b, pixels });
    }
    blobs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&str]) -> (Vec<bool>, usize, usize) {
        let w = rows[0].len();
        (
            rows.iter()
                .flat_map(|r| r.bytes().map(|c| c == b'#'))
                .collect(),
            w,
            rows.len(),
        )
    }

    #[test]
    fn opening_removes_a_speck_and_keeps_a_block() {
        let (m, w, h) = grid(&["#.......", "....###.", "....###.", "....###.", "........"]);
        let out = open_close(&m, w, h, 1, 0);
        assert!(!out[0]);
        assert_eq!(out.iter().filter(|&&b| b).count(), 9);
    }

    #[test]
    fn closing_fills_a_one_pixel_hole() {
        let (m, w, h) = grid(&[
            ".......", ".......", "..###..", "..#.#..", "..###..", ".......", ".......",
        ]);
        let out = open_close(&m, w, h, 0, 1);
        assert!(out[3 * w + 3]);
        assert_eq!(out.iter().filter(|&&b| b).count(), 9);
    }

    #[test]
    fn components_are_eight_connected() {
        let (m, w, h) = grid(&["##...", "..#..", ".....", "...##"]);
        let blobs = components(&m, w, h);
        assert_eq!(blobs.len(), 2);
        assert_eq!(blobs[0].pixels, 3);
        assert_eq!(
            blobs[0].bbox,
            BBox {
                x0: 0,
                y0: 0,
                x1: 3,
                y1: 2
            }
        );
        assert_eq!(
            blobs[1].bbox,
            BBox {
                x0: 3,
                y0: 3,
                x1: 5,
                y1: 4
            }
        );
    }
}
