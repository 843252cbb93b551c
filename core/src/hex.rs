//! Hexadecimal text of fixed-size binary values (keys, model ids, signatures): decoding
//! without allocation, upper or lower case, nothing else accepted.

/// The `N` bytes written as exactly `2·N` hexadecimal digits in `hex`.
pub fn decode<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let hex = hex.as_bytes();
    if hex.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_and_digits_only() {
        assert_eq!(decode::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(decode::<2>("0aF"), None);
        assert_eq!(decode::<2>("0aFf0"), None);
        assert_eq!(decode::<2>("+aff"), None, "a sign is not a digit");
        assert_eq!(decode::<1>("g0"), None);
    }
}
