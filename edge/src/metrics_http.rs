//! The Prometheus endpoint: a minimal HTTP/1.0 responder serving [`Metrics::prometheus`] for
//! any GET. Each connection is answered on its own short-lived thread (at most
//! [`MAX_CONNECTIONS`] at once; beyond that a 503), so an idle or slow client never delays
//! a scrape.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::metrics::Metrics;

/// Connections answered at once.
pub const MAX_CONNECTIONS: usize = 8;

/// Binds `addr` and serves until `stop` is set; returns the bound address right away.
pub fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("metrics-http".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        if open.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
                            open.fetch_sub(1, Ordering::Relaxed);
                            let _ = stream.write_all(
                                b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                            );
                            continue;
                        }
                        let (metrics, open) = (metrics.clone(), open.clone());
                        let spawned = std::thread::Builder::new()
                            .name("metrics-conn".into())
                            .spawn(move || {
                                respond(stream, &metrics);
                                open.fetch_sub(1, Ordering::Relaxed);
                            });
                        if let Err(e) = spawned {
                            tracing::warn!(error = %e, "metrics endpoint cannot start a thread");
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics endpoint accept failed");
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        })?;
    Ok(local)
}

/// Reads one request (2 s at most) and writes the answer.
fn respond(mut stream: TcpStream, metrics: &Metrics) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap_or(0);
    let response = if buf[..n].starts_with(b"GET ") {
        let body = metrics.prometheus();
        format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n".to_string()
    };
    let _ = stream.write_all(response.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_metrics_text() {
        let m = Arc::new(Metrics::default());
        Metrics::add(&m.tracks, 4);
        let stop = Arc::new(AtomicBool::new(false));
        let addr = serve("127.0.0.1:0".parse().unwrap(), m, stop.clone()).unwrap();
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        stop.store(true, Ordering::Relaxed);
        assert!(text.starts_with("HTTP/1.0 200 OK"), "{text}");
        assert!(text.contains("spanreid_edge_tracks_total 4\n"), "{text}");
    }

    #[test]
    fn an_idle_connection_does_not_hold_up_a_scrape() {
        let m = Arc::new(Metrics::default());
        let stop = Arc::new(AtomicBool::new(false));
        let addr = serve("127.0.0.1:0".parse().unwrap(), m, stop.clone()).unwrap();
        // Connected, sending nothing: the server waits up to 2 s for its request.
        let mut idle = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        // The scrape was answered while the idle client is still waiting, unanswered (one
        // connection at a time would have answered and closed the idle one first).
        idle.set_nonblocking(true).unwrap();
        let still_waiting = matches!(
            idle.read(&mut [0u8; 16]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        );
        stop.store(true, Ordering::Relaxed);
        assert!(text.starts_with("HTTP/1.0 200 OK"), "{text}");
        assert!(
            still_waiting,
            "the idle connection was served before the scrape"
        );
    }
}
