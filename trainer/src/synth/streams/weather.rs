//! The `hard` streams' weather: rain as slanted bright streaks over the frame and a grey
//! haze that flattens contrast (drawn before the camera's own blur, noise and JPEG).

use rand::Rng;

/// Rain streaks per frame of 640 × 360 (scaled with the frame's area).
const STREAKS: f32 = 500.0;
/// Share of a grey veil mixed into every pixel.
const HAZE: f32 = 0.18;
/// Grey level of the veil.
const VEIL: f32 = 0.62;

/// Draws rain falling at `slant` (pixels sideways per pixel down) and the haze into a
/// linear-RGB frame of `width` × `height`.
pub fn rain(img: &mut [[f32; 3]], width: usize, height: usize, slant: f32, rng: &mut impl Rng) {
    for p in img.iter_mut() {
        *p = p.map(|v| v * (1.0 - HAZE) + VEIL * HAZE);
    }
    let count = (STREAKS * (width * height) as f32 / (640.0 * 360.0)).round() as usize;
    for _ in 0..count {
        let (x0, y0) = (
            rng.random_range(0.0..width as f32),
            rng.random_range(0.0..height as f32),
        );
        let length = rng.random_range(6.0f32..18.0);
        let alpha = rng.random_range(0.08f32..0.25);
        for step in 0..length as usize {
            let y = y0 + step as f32;
            let x = x0 + slant * step as f32;
            if y >= height as f32 || x < 0.0 || x >= width as f32 {
                break;
            }
            let p = &mut img[y as usize * width + x as usize];
            *p = p.map(|v| v * (1.0 - alpha) + 0.9 * alpha);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rain_brightens_some_pixels_and_the_haze_lifts_the_blacks() {
        let (w, h) = (160, 90);
        let mut img = vec![[0.0f32; 3]; w * h];
        rain(
            &mut img,
            w,
            h,
            0.2,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
        );
        let veil = VEIL * HAZE;
        assert!(img.iter().all(|p| p[0] >= veil - 1e-6));
        let streaked = img.iter().filter(|p| p[0] > veil + 0.05).count();
        assert!(streaked > 100 && streaked < w * h / 4, "{streaked}");
    }
}
