//! The reference a search's speed is judged against: how fast this machine reads memory.

use std::thread;
use std::time::Instant;

/// Bytes per second that `threads` threads read summing a buffer of `bytes` bytes of `u64`
/// (each its own contiguous share), best of three. Measure with a buffer far larger than the
/// caches (the hub bench uses 512 MiB on every core, the core bench 1 GiB on one).
pub fn read_bandwidth(bytes: usize, threads: usize) -> f64 {
    let words = (bytes / 8).max(1);
    let buf: Vec<u64> = (0..words as u64).collect();
    let threads = threads.max(1);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let total: u64 = thread::scope(|s| {
            let handles: Vec<_> = buf
                .chunks(words.div_ceil(threads))
                .map(|chunk| s.spawn(move || chunk.iter().fold(0u64, |a, &x| a.wrapping_add(x))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0, u64::wrapping_add)
        });
        std::hint::black_box(total);
        best = best.min(start.elapsed().as_secs_f64());
    }
    (words * 8) as f64 / best
}
