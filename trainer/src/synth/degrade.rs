//! Per-camera image degradation: defocus blur, sensor noise, colour cast, and the JPEG
//! quality the camera's images are stored with.

use rand::Rng;

/// How one camera degrades its images.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Degradation {
    /// Gaussian blur sigma in pixels of a 128-px image (scaled with image size).
    pub blur_sigma: f32,
    /// Additive Gaussian noise sigma (0..1 intensity scale).
    pub noise_sigma: f32,
    /// Per-channel gains (colour cast and exposure).
    pub gains: [f32; 3],
    /// JPEG quality the images are written with.
    pub jpeg_quality: u8,
}

impl Degradation {
    /// A random camera: mild to strong blur, noise and cast.
    pub fn random(rng: &mut impl Rng) -> Self {
        let exposure = rng.random_range(0.8f32..1.15);
        Self {
            blur_sigma: rng.random_range(0.0..1.2),
            noise_sigma: rng.random_range(0.005..0.04),
            gains: [
                exposure * rng.random_range(0.9..1.1),
                exposure * rng.random_range(0.93..1.07),
                exposure * rng.random_range(0.9..1.1),
            ],
            jpeg_quality: rng.random_range(55..95),
        }
    }

    /// This camera's degradation for one image: blur ×0.5–1.4, noise ×0.5–1.5, each gain
    /// ×0.95–1.05 and the JPEG quality ±10 — cameras vary frame to frame (focus, gain,
    /// encoder rate control), and training should not learn one camera's exact look.
    pub fn jittered(&self, rng: &mut impl Rng) -> Self {
        Self {
            blur_sigma: self.blur_sigma * rng.random_range(0.5..1.4),
            noise_sigma: self.noise_sigma * rng.random_range(0.5..1.5),
            gains: self.gains.map(|g| g * rng.random_range(0.95..1.05)),
            jpeg_quality: (i32::from(self.jpeg_quality) + rng.random_range(-10..=10)).clamp(40, 98)
                as u8,
        }
    }

    /// Applies blur, cast and noise to a linear-RGB image of `width` × `height`.
    pub fn apply(&self, img: &mut [[f32; 3]], width: usize, height: usize, rng: &mut impl Rng) {
        let sigma = self.blur_sigma * width.max(height) as f32 / 128.0;
        if sigma > 0.2 {
            blur(img, width, height, sigma);
        }
        for p in img.iter_mut() {
            for (c, g) in p.iter_mut().zip(self.gains) {
                *c = (*c * g + self.noise_sigma * gaussian(rng)).clamp(0.0, 1.0);
            }
        }
    }
}

/// Separable Gaussian blur with clamped borders.
pub fn blur(img: &mut [[f32; 3]], width: usize, height: usize, sigma: f32) {
    let r = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / sum).collect();
    let mut tmp = vec![[0.0f32; 3]; img.len()];
    let pass = |src: &[[f32; 3]], dst: &mut [[f32; 3]], horizontal: bool| {
        for y in 0..height {
            for x in 0..width {
                let mut acc = [0.0f32; 3];
                for (k, w) in kernel.iter().enumerate() {
                    let o = k as isize - r;
                    let (sx, sy) = if horizontal {
                        ((x as isize + o).clamp(0, width as isize - 1) as usize, y)
                    } else {
                        (x, (y as isize + o).clamp(0, height as isize - 1) as usize)
                    };
                    let s = src[sy * width + sx];
                    for c in 0..3 {
                        acc[c] += w * s[c];
                    }
                }
                dst[y * width + x] = acc;
            }
        }
    };
    pass(img, &mut tmp, true);
    pass(&tmp, img, false);
}

/// One standard normal sample (Box–Muller).
pub fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_preserves_a_flat_image_and_spreads_a_spike() {
        let mut flat = vec![[0.5f32; 3]; 64];
        blur(&mut flat, 8, 8, 1.0);
        assert!(flat.iter().all(|p| (p[0] - 0.5).abs() < 1e-5));
        let mut spike = vec![[0.0f32; 3]; 81];
        spike[40] = [1.0; 3];
        blur(&mut spike, 9, 9, 1.0);
        let total: f32 = spike.iter().map(|p| p[0]).sum();
        assert!((total - 1.0).abs() < 1e-4);
        assert!(spike[40][0] < 0.5 && spike[41][0] > 0.0);
    }
}
