//! SIGINT and SIGTERM: the first sets a flag the service stops cleanly by; a second, while
//! it does, ends the process at once (status 128 + the signal number).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// Installs the handlers. The returned flag turns `true` on the first signal, and a
/// watcher thread then logs `message` once (a signal handler cannot log).
pub fn on_signal(message: &'static str) -> io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for (signal, status) in [(SIGINT, 130), (SIGTERM, 143)] {
        // Registered first, so it sees the flag as the previous signal left it: the first
        // signal only sets the flag, the second exits.
        flag::register_conditional_shutdown(signal, status, Arc::clone(&stop))?;
        flag::register(signal, Arc::clone(&stop))?;
    }
    let seen = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            while !seen.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            tracing::info!("{message}; a second signal exits at once");
        })?;
    Ok(stop)
}
