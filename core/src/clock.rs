//! The system's one time base: capture and receive times are µs since the Unix epoch
//! (signature `captured_us`, the hub's `received_us`, the edge's sequence numbers).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in µs since the Unix epoch (0 for a clock set before 1970).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_2020_and_moves_forward() {
        let a = super::now_us();
        assert!(a > 1_577_836_800_000_000, "{a}");
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(super::now_us() > a);
    }
}
