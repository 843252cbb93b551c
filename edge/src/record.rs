//! Record framing of the queue files (pure): `len: u32 LE`, `crc32: u32 LE` of the payload,
//! then the payload. A reader stops at the first record that is cut short, claims more than
//! [`MAX_RECORD`] bytes, or fails its checksum.

/// Largest record payload accepted (and believed on recovery).
pub const MAX_RECORD: usize = 1 << 20;
/// Bytes before each payload.
pub const HEADER: usize = 8;

/// One framed record.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut rec = Vec::with_capacity(HEADER + payload.len());
    rec.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    rec.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    rec.extend_from_slice(payload);
    rec
}

/// Splits a file's bytes into framed payloads `(offset, payload)`; returns them and the
/// length of the valid prefix.
pub fn scan(bytes: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= HEADER {
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let crc = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        let end = pos + HEADER + len;
        if len > MAX_RECORD + 8
            || end > bytes.len()
            || crc32fast::hash(&bytes[pos + HEADER..end]) != crc
        {
            break;
        }
        out.push((pos as u64, &bytes[pos + HEADER..end]));
        pos = end;
    }
    (out, pos)
}

/// The little-endian `u64` at the start of `b` (which holds at least 8 bytes).
pub fn u64_at(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_the_header_is_hand_checkable() {
        let r = frame(b"abc");
        assert_eq!(&r[..4], &[3, 0, 0, 0]);
        // CRC-32 (IEEE) of "abc" is 0x352441c2
        assert_eq!(&r[4..8], &0x3524_41c2u32.to_le_bytes());
        let mut two = r.clone();
        two.extend(frame(b""));
        let (records, valid) = scan(&two);
        assert_eq!(valid, two.len());
        assert_eq!(records, vec![(0, &b"abc"[..]), (11, &b""[..])]);
    }

    #[test]
    fn scanning_stops_at_a_cut_or_corrupt_record() {
        let mut bytes = frame(b"first");
        let good = bytes.len();
        bytes.extend(frame(b"second"));
        let (records, valid) = scan(&bytes[..bytes.len() - 1]);
        assert_eq!((records.len(), valid), (1, good));
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        assert_eq!(scan(&bytes).1, good);
        let mut huge = (MAX_RECORD as u32 + 100).to_le_bytes().to_vec();
        huge.extend([0; 4]);
        assert_eq!(scan(&huge), (Vec::new(), 0));
    }
}
