//! Contact sheet: sample images next to their foreground mask and part mask.

use crate::synth::scene::Rendered;

/// How many samples a sheet shows.
pub const SAMPLES: usize = 12;

/// Part colours: background, front (red), rear (blue), side (green).
pub const PART_COLOURS: [[u8; 3]; 4] = [[0, 0, 0], [230, 60, 50], [50, 90, 235], [60, 200, 90]];

/// An 8-bit RGB image.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Pixels, RGB row-major.
    pub data: Vec<u8>,
}

/// Lays out up to [`SAMPLES`] samples, two per row, each as image | foreground | parts
/// (parts tinted over a dimmed copy of the image), in `tile`-pixel tiles.
pub fn sheet(samples: &[(String, Rendered)], tile: u32) -> Sheet {
    let shown = &samples[..samples.len().min(SAMPLES)];
    let per_row = 2u32;
    let rows = (shown.len() as u32).div_ceil(per_row).max(1);
    let gap = 4u32;
    let width = per_row * (3 * tile + gap) + gap;
    let height = rows * (tile + gap) + gap;
    let mut data = vec![255u8; (width * height * 3) as usize];
    for (i, (_, r)) in shown.iter().enumerate() {
        let (row, col) = (i as u32 / per_row, i as u32 % per_row);
        let ox = gap + col * (3 * tile + gap);
        let oy = gap + row * (tile + gap);
        for y in 0..tile.min(r.height) {
            for x in 0..tile.min(r.width) {
                let s = (y * r.width + x) as usize;
                let rgb = r.rgb[s].map(|v| (v.clamp(0.0, 1.0) * 255.0) as u8);
                let fg = (r.coverage[s] * 255.0) as u8;
                let pc = PART_COLOURS[usize::from(r.parts[s]).min(3)];
                let tint = if r.parts[s] == 0 {
                    rgb.map(|v| v / 3)
                } else {
                    [0, 1, 2].map(|k| pc[k] / 2 + rgb[k] / 2)
                };
                for (t, px) in [rgb, [fg; 3], tint].into_iter().enumerate() {
                    let d = (((oy + y) * width + ox + t as u32 * tile + x) * 3) as usize;
                    data[d..d + 3].copy_from_slice(&px);
                }
            }
        }
    }
    Sheet {
        width,
        height,
        data,
    }
}
