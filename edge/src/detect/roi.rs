//! Region of interest: a polygon in pixel coordinates, rasterised once into a mask.

/// A polygon (at least three points) or the whole frame.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Roi {
    /// Vertices in pixels, in order; empty means the whole frame.
    pub polygon: Vec<[f32; 2]>,
}

impl Roi {
    /// Whether the point lies inside (even-odd rule); always true for an empty polygon.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let p = &self.polygon;
        if p.len() < 3 {
            return true;
        }
        let mut inside = false;
        let mut j = p.len() - 1;
        for i in 0..p.len() {
            let ([xi, yi], [xj, yj]) = (p[i], p[j]);
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// Mask of a `width`×`height` frame: 1 where the pixel centre is inside.
    pub fn mask(&self, width: u32, height: u32) -> Vec<bool> {
        let mut m = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            for x in 0..width {
                m.push(self.contains(x as f32 + 0.5, y as f32 + 0.5));
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_contains_its_inside_only() {
        let roi = Roi {
            polygon: vec![[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]],
        };
        assert!(roi.contains(2.0, 2.0));
        assert!(!roi.contains(8.0, 8.0));
        assert!(!roi.contains(-1.0, 1.0));
        let m = roi.mask(10, 10);
        // pixels with x + y + 1 < 10 are inside: 45 of them
        assert_eq!(m.iter().filter(|&&b| b).count(), 45);
    }

    #[test]
    fn empty_polygon_is_the_whole_frame() {
        assert!(Roi::default().mask(3, 2).iter().all(|&b| b));
    }
}
