//! spanreid-testkit: helpers for the tests of every package (a dev-dependency only).
//!
//! - [`Mosquitto`]: Debian's mosquitto on a free loopback port, in memory or persistent,
//!   plain or TLS, stopped (SIGTERM, sessions saved) and restarted at will, killed on drop.
//! - [`TestCerts`]: a throw-away CA and a server certificate for 127.0.0.1.
//! - [`Browser`]: headless Chromium through chromedriver (W3C WebDriver).
//! - [`subscribe`]: a persistent QoS 1 subscriber collecting payloads.
//! - [`wait_for`], [`free_port`].
//! - [`assert_quiet_into_closed_pipe`]: a command whose stdout reader has gone exits 0 without
//!   a panic message.
//!
//! Panics instead of returning errors: a helper that cannot do its job fails the test.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod browser;
mod certs;
mod mosquitto;

use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

pub use browser::Browser;
pub use certs::TestCerts;
pub use mosquitto::Mosquitto;

/// A loopback port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `cond` every 20 ms until it holds; fails the test after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Subscribes to `filter` on the broker at `port` (persistent session, QoS 1) and collects
/// every payload received; returns once the subscription is acknowledged.
pub fn subscribe(port: u16, filter: &str) -> Arc<Mutex<Vec<Vec<u8>>>> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let got = Arc::new(Mutex::new(Vec::new()));
    let mut o = MqttOptions::new(format!("test-sub-{port}-{n}"), "127.0.0.1", port);
    o.set_clean_session(false);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut conn) = Client::new(o, 100);
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = Arc::clone(&got);
    let filter = filter.to_string();
    std::thread::spawn(move || {
        for ev in conn.iter() {
            match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.try_subscribe(&filter, QoS::AtLeastOnce);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    sink.lock().unwrap().push(p.payload.to_vec());
                }
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("subscription acknowledged within 10 s");
    got
}

/// Runs `command` with its stdout connected to a pipe whose reader is already closed, and
/// asserts that it exits successfully without panicking (a broken pipe is a quiet exit).
pub fn assert_quiet_into_closed_pipe(command: &mut Command) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command.stdout(writer).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
