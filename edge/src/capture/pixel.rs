//! Pixel format conversions for camera buffers (pure functions).

/// Converts packed YUYV 4:2:2 (BT.601, limited range) to RGB8. Returns `None` when the
/// buffer is shorter than `width * height * 2` bytes or the width is odd.
pub fn yuyv_to_rgb(yuyv: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let pixels = width as usize * height as usize;
    if !width.is_multiple_of(2) || yuyv.len() < pixels * 2 {
        return None;
    }
    let mut rgb = Vec::with_capacity(pixels * 3);
    for quad in yuyv[..pixels * 2].chunks_exact(4) {
        let (u, v) = (i32::from(quad[1]) - 128, i32::from(quad[3]) - 128);
        for y in [quad[0], quad[2]] {
            let c = 298 * (i32::from(y) - 16);
            rgb.push(clamp((c + 409 * v + 128) >> 8));
            rgb.push(clamp((c - 100 * u - 208 * v + 128) >> 8));
            rgb.push(clamp((c + 516 * u + 128) >> 8));
        }
    }
    Some(rgb)
}

fn clamp(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_limited_range_black_white_and_red() {
        // black (Y 16), white (Y 235), neutral chroma
        let rgb = yuyv_to_rgb(&[16, 128, 235, 128], 2, 1).unwrap();
        assert_eq!(rgb, vec![0, 0, 0, 255, 255, 255]);
        // BT.601 red: Y 81, U 90, V 240
        let red = yuyv_to_rgb(&[81, 90, 81, 240], 2, 1).unwrap();
        assert!(red[0] >= 250 && red[1] <= 3 && red[2] <= 3, "{red:?}");
    }

    #[test]
    fn rejects_short_buffers_and_odd_widths() {
        assert!(yuyv_to_rgb(&[0; 7], 2, 2).is_none());
        assert!(yuyv_to_rgb(&[0; 6], 3, 1).is_none());
    }
}
