//! Perspective triangle rasteriser with a z-buffer. It writes a geometry buffer (nearest
//! triangle and its perspective-correct barycentric coordinates per pixel); shading is done
//! afterwards from that buffer.

use crate::synth::mesh::Vec3;

/// Pinhole intrinsics: camera frame `x` right, `y` down, `z` forward; pixel centres at
/// `i + 0.5`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intrinsics {
    /// Focal length in pixels.
    pub focal: f32,
    /// Principal point x in pixels.
    pub cx: f32,
    /// Principal point y in pixels.
    pub cy: f32,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

/// Nearest surface per pixel.
#[derive(Debug, Clone)]
pub struct GBuffer {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `1/z` of the nearest surface, 0 where nothing was drawn.
    pub inv_depth: Vec<f32>,
    /// Index of the nearest triangle, `u32::MAX` where nothing was drawn.
    pub triangle: Vec<u32>,
    /// Perspective-correct barycentric weights of corners 1 and 2 (corner 0 is the rest).
    pub bary: Vec<[f32; 2]>,
}

/// Marks an empty pixel in [`GBuffer::triangle`].
pub const EMPTY: u32 = u32::MAX;

/// Triangles nearer than this (camera `z`) are not drawn.
pub const NEAR: f32 = 0.05;

impl GBuffer {
    /// An empty buffer.
    pub fn new(width: u32, height: u32) -> Self {
        let n = width as usize * height as usize;
        Self {
            width,
            height,
            inv_depth: vec![0.0; n],
            triangle: vec![EMPTY; n],
            bary: vec![[0.0; 2]; n],
        }
    }

    /// Barycentric weights of all three corners at pixel `i`.
    pub fn weights(&self, i: usize) -> [f32; 3] {
        let [b1, b2] = self.bary[i];
        [1.0 - b1 - b2, b1, b2]
    }
}

/// Projects a camera-frame point to pixel coordinates and `1/z`.
pub fn project(k: &Intrinsics, p: Vec3) -> [f32; 3] {
    let iz = 1.0 / p[2];
    [k.focal * p[0] * iz + k.cx, k.focal * p[1] * iz + k.cy, iz]
}

/// Draws camera-frame triangles (both windings) into `buf`; `first_id` is added to the
/// index stored for each triangle so several calls can share a buffer.
pub fn rasterize(buf: &mut GBuffer, k: &Intrinsics, tris: &[[Vec3; 3]], first_id: u32) {
    let (w, h) = (buf.width as i64, buf.height as i64);
    for (ti, t) in tris.iter().enumerate() {
        if t.iter().any(|p| p[2] < NEAR) {
            continue;
        }
        let s = t.map(|p| project(k, p));
        let area =
            (s[1][0] - s[0][0]) * (s[2][1] - s[0][1]) - (s[2][0] - s[0][0]) * (s[1][1] - s[0][1]);
        if area.abs() < 1e-12 {
            continue;
        }
        let xmin = s.iter().map(|v| v[0]).fold(f32::INFINITY, f32::min);
        let xmax = s.iter().map(|v| v[0]).fold(f32::NEG_INFINITY, f32::max);
        let ymin = s.iter().map(|v| v[1]).fold(f32::INFINITY, f32::min);
        let ymax = s.iter().map(|v| v[1]).fold(f32::NEG_INFINITY, f32::max);
        let x0 = ((xmin - 0.5).floor() as i64).max(0);
        let x1 = ((xmax - 0.5).ceil() as i64).min(w - 1);
        let y0 = ((ymin - 0.5).floor() as i64).max(0);
        let y1 = ((ymax - 0.5).ceil() as i64).min(h - 1);
        let inv_area = 1.0 / area;
        let id = first_id + ti as u32;
        for y in y0..=y1 {
            let py = y as f32 + 0.5;
            for x in x0..=x1 {
                let px = x as f32 + 0.5;
                // Edge functions normalised by the signed area: screen-space barycentrics.
                let l1 = ((px - s[0][0]) * (s[2][1] - s[0][1])
                    - (s[2][0] - s[0][0]) * (py - s[0][1]))
                    * inv_area;
                let l2 = ((s[1][0] - s[0][0]) * (py - s[0][1])
                    - (px - s[0][0]) * (s[1][1] - s[0][1]))
                    * inv_area;
                let l0 = 1.0 - l1 - l2;
                if l0 < 0.0 || l1 < 0.0 || l2 < 0.0 {
                    continue;
                }
                let iz = l0 * s[0][2] + l1 * s[1][2] + l2 * s[2][2];
                let i = (y * w + x) as usize;
                if iz <= buf.inv_depth[i] {
                    continue;
                }
                buf.inv_depth[i] = iz;
                buf.triangle[i] = id;
                buf.bary[i] = [l1 * s[1][2] / iz, l2 * s[2][2] / iz];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Intrinsics = Intrinsics {
        focal: 10.0,
        cx: 5.0,
        cy: 5.0,
        width: 10,
        height: 10,
    };

    #[test]
    fn right_triangle_covers_half_the_square() {
        // At z = 1, x,y in [-0.5, 0.5] covers pixels 0..10; lower-left half triangle.
        let tri = [[-0.5, -0.5, 1.0], [0.5, 0.5, 1.0], [-0.5, 0.5, 1.0]];
        let mut b = GBuffer::new(10, 10);
        rasterize(&mut b, &K, &[tri], 0);
        let covered = b.triangle.iter().filter(|&&t| t != EMPTY).count();
        // Pixel centres with x <= y: 55 of 100 (the diagonal is included).
        assert_eq!(covered, 55);
        assert_eq!(b.triangle[9 * 10], 0); // bottom-left
        assert_eq!(b.triangle[9], EMPTY); // top-right
        assert!((b.inv_depth[9 * 10] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn nearer_triangle_wins_regardless_of_order() {
        let far = [[-1.0, -1.0, 4.0], [1.0, -1.0, 4.0], [0.0, 1.0, 4.0]];
        let near = [[-1.0, -1.0, 2.0], [1.0, -1.0, 2.0], [0.0, 1.0, 2.0]];
        for order in [[far, near], [near, far]] {
            let mut b = GBuffer::new(10, 10);
            rasterize(&mut b, &K, &order, 0);
            let centre = 5 * 10 + 5;
            let near_id = if order[0] == near { 0 } else { 1 };
            assert_eq!(b.triangle[centre], near_id);
            assert!((b.inv_depth[centre] - 0.5).abs() < 1e-6);
        }
    }

    #[test]
    fn barycentrics_are_perspective_correct() {
        // A slanted triangle: corner 1 twice as far as corner 0.
        let tri = [[0.0, -1.0, 1.0], [0.0, 1.0, 2.0], [4.0, 0.0, 1.5]];
        let mut b = GBuffer::new(10, 10);
        rasterize(&mut b, &K, &[tri], 7);
        let mut seen = 0;
        for i in 0..100 {
            if b.triangle[i] == EMPTY {
                continue;
            }
            assert_eq!(b.triangle[i], 7);
            seen += 1;
            let wts = b.weights(i);
            let z: f32 = wts.iter().zip(&tri).map(|(w, p)| w * p[2]).sum();
            assert!(
                (1.0 / z - b.inv_depth[i]).abs() < 1e-4,
                "depth from weights must match"
            );
            let x: f32 = wts.iter().zip(&tri).map(|(w, p)| w * p[0]).sum();
            let px = (i % 10) as f32 + 0.5;
            assert!(
                (K.focal * x / z + K.cx - px).abs() < 1e-3,
                "point must project to its pixel"
            );
        }
        assert!(seen > 5);
    }

    #[test]
    fn behind_camera_is_skipped() {
        let tri = [[-1.0, -1.0, -1.0], [1.0, -1.0, 2.0], [0.0, 1.0, 2.0]];
        let mut b = GBuffer::new(10, 10);
        rasterize(&mut b, &K, &[tri], 0);
        assert!(b.triangle.iter().all(|&t| t == EMPTY));
    }
}
