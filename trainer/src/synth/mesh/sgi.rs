//! Reader for SGI `.rgb` images (the TORCS texture format; the `image` crate has no SGI
//! decoder). Supports 8-bit verbatim and RLE images with 1–4 channels.

use super::{MeshError, Texture};

fn err(name: &str, message: impl Into<String>) -> MeshError {
    MeshError::Texture {
        name: name.to_owned(),
        message: message.into(),
    }
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    let w = [
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ];
    usize::try_from(u32::from_be_bytes(w)).ok()
}

fn unpack_rle(src: &[u8], out: &mut [u8]) -> Option<()> {
    let mut i = 0;
    let mut o = 0;
    loop {
        let b = *src.get(i)?;
        i += 1;
        let n = usize::from(b & 0x7f);
        if n == 0 {
            return Some(());
        }
        if b & 0x80 != 0 {
            out.get_mut(o..o + n)?.copy_from_slice(src.get(i..i + n)?);
            i += n;
        } else {
            let v = *src.get(i)?;
            i += 1;
            out.get_mut(o..o + n)?.fill(v);
        }
        o += n;
    }
}

/// Decodes an SGI image into a top-row-first RGBA texture. `name` is used in errors.
pub fn decode(bytes: &[u8], name: &str) -> Result<Texture, MeshError> {
    if be16(bytes, 0) != Some(474) {
        return Err(err(name, "not an SGI image (bad magic)"));
    }
    let storage = bytes.get(2).copied().unwrap_or(0);
    let bpc = bytes.get(3).copied().unwrap_or(0);
    if bpc != 1 {
        return Err(err(name, format!("{bpc} bytes per channel not supported")));
    }
    let (w, h, zs) = match (be16(bytes, 6), be16(bytes, 8), be16(bytes, 10)) {
        (Some(w), Some(h), Some(z)) if w > 0 && h > 0 => (w, h, z.clamp(1, 4)),
        _ => return Err(err(name, "truncated header")),
    };
    let mut planes = vec![vec![0u8; w * h]; zs];
    for (z, plane) in planes.iter_mut().enumerate() {
        for y in 0..h {
            let row = &mut plane[y * w..(y + 1) * w];
            let ok = if storage == 1 {
                let t = y + z * h;
                be32(bytes, 512 + 4 * t).and_then(|start| {
                    let len = be32(bytes, 512 + 4 * (h * zs + t))?;
                    unpack_rle(bytes.get(start..start + len)?, row)
                })
            } else {
                let at = 512 + (z * h + y) * w;
                bytes.get(at..at + w).map(|src| row.copy_from_slice(src))
            };
            if ok.is_none() {
                return Err(err(
                    name,
                    format!("corrupt or truncated row {y} channel {z}"),
                ));
            }
        }
    }
    let mut texels = Vec::with_capacity(w * h);
    for y in (0..h).rev() {
        for x in 0..w {
            let c = |z: usize| f32::from(planes[z.min(zs - 1)][y * w + x]) / 255.0;
            let rgb = if zs >= 3 {
                [c(0), c(1), c(2)]
            } else {
                [c(0); 3]
            };
            let a = if zs == 4 || zs == 2 { c(zs - 1) } else { 1.0 };
            texels.push([rgb[0], rgb[1], rgb[2], a]);
        }
    }
    Ok(Texture {
        width: u32::try_from(w).map_err(|_| err(name, "too wide"))?,
        height: u32::try_from(h).map_err(|_| err(name, "too tall"))?,
        texels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(storage: u8, w: u16, h: u16, z: u16) -> Vec<u8> {
        let mut b = vec![0u8; 512];
        b[0..2].copy_from_slice(&474u16.to_be_bytes());
        b[2] = storage;
        b[3] = 1;
        b[4..6].copy_from_slice(&3u16.to_be_bytes());
        b[6..8].copy_from_slice(&w.to_be_bytes());
        b[8..10].copy_from_slice(&h.to_be_bytes());
        b[10..12].copy_from_slice(&z.to_be_bytes());
        b
    }

    #[test]
    fn verbatim_rows_are_flipped_to_top_first() {
        let mut b = header(0, 2, 2, 1);
        b.extend_from_slice(&[0, 0, 255, 255]); // bottom row black, top row white
        let t = decode(&b, "v.rgb").unwrap();
        assert_eq!(t.texels[0], [1.0, 1.0, 1.0, 1.0]);
        assert_eq!(t.texels[3], [0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn rle_runs_and_literals() {
        let mut b = header(1, 3, 1, 1);
        let start = 512 + 8;
        b.extend_from_slice(&(start as u32).to_be_bytes());
        b.extend_from_slice(&5u32.to_be_bytes());
        // literal run of 1 (value 255), repeat run of 2 (value 0), end
        b.extend_from_slice(&[0x81, 255, 0x02, 0]);
        b.push(0);
        let t = decode(&b, "r.rgb").unwrap();
        assert_eq!(
            t.texels.iter().map(|p| p[0]).collect::<Vec<_>>(),
            vec![1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let mut b = header(0, 4, 4, 3);
        b.extend_from_slice(&[1, 2, 3]);
        assert!(decode(&b, "t.rgb").is_err());
        assert!(decode(&[1, 2], "t.rgb").is_err());
    }
}
