//! The model's input: a vehicle crop as RGB8 pixels, cut by the edge's tracker or decoded
//! from an uploaded image.

/// A vehicle crop, RGB8 row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Crop {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl Crop {
    /// Sharpness: variance of the 4-neighbour Laplacian of the luma (0 for tiny crops).
    pub fn sharpness(&self) -> f32 {
        let (w, h) = (self.width as usize, self.height as usize);
        if w < 3 || h < 3 {
            return 0.0;
        }
        let luma: Vec<f32> = self
            .rgb
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        let (mut sum, mut sum_sq, mut n) = (0.0f64, 0.0f64, 0.0f64);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let c = luma[y * w + x];
                let lap = luma[y * w + x - 1]
                    + luma[y * w + x + 1]
                    + luma[(y - 1) * w + x]
                    + luma[(y + 1) * w + x]
                    - 4.0 * c;
                sum += f64::from(lap);
                sum_sq += f64::from(lap) * f64::from(lap);
                n += 1.0;
            }
        }
        let mean = sum / n;
        (sum_sq / n - mean * mean) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_crop_has_no_sharpness_and_a_checkerboard_has_some() {
        let flat = Crop {
            width: 8,
            height: 8,
            rgb: vec![100; 8 * 8 * 3],
        };
        assert_eq!(flat.sharpness(), 0.0);
        let rgb = (0..64)
            .flat_map(|i| {
                let v = if (i % 8 + i / 8) % 2 == 0 { 0 } else { 255 };
                [v, v, v]
            })
            .collect();
        let checker = Crop {
            width: 8,
            height: 8,
            rgb,
        };
        assert!(checker.sharpness() > 1000.0);
    }
}
