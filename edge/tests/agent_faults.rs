//! The agent's failure modes as an operator meets them: a second agent on one queue
//! directory, a publisher that cannot start (a missing TLS CA file), and `check` logging in
//! to the broker.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use std::path::Path;
use std::process::{Command, Output};

use spanreid_testkit::Mosquitto;

const BIN: &str = env!("CARGO_BIN_EXE_edge-agent");
const KEY: &str = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f";

/// A replay config over 200 still frames and a fixture model in `dir`, with `mqtt`
/// as the `[mqtt]` table's body.
fn config(dir: &Path, mqtt: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("frames")).unwrap();
    // 200 frames: 20 s when paced at 10 fps (`--realtime`), like a live camera.
    for i in 0..200 {
        image::RgbImage::from_pixel(64, 48, image::Rgb([90, 90, 90]))
            .save(dir.join(format!("frames/{i:06}.png")))
            .unwrap();
    }
    support::fixture_model(BIN, &dir.join("model"));
    let path = dir.join("edge.toml");
    std::fs::write(
        &path,
        format!(
            "metrics_listen = \"\"\n[camera]\nsite = \"s\"\nid = \"c9\"\nkey_hex = \"{KEY}\"\nreplay_dir = \"{frames}\"\n\
             [model]\nmanifest = \"{model}/manifest.toml\"\nname = \"fixture\"\n\
             [mqtt]\n{mqtt}\n[queue]\ndir = \"{queue}\"\n",
            frames = dir.join("frames").display(),
            model = dir.join("model").display(),
            queue = dir.join("queue").display(),
        ),
    )
    .unwrap();
    path
}

fn run(args: &[&str], cfg: &Path) -> (Output, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn a_publisher_that_cannot_start_stops_the_agent_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start();
    let cfg = config(
        dir.path(),
        &format!("port = {}\ntls_ca = \"/nonexistent/ca.pem\"", broker.port),
    );
    // Paced, the replay would last 20 s: the failed publisher stops it long before.
    let started = std::time::Instant::now();
    let (out, stderr) = run(&["run", "--realtime"], &cfg);
    let took = started.elapsed();
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("/nonexistent/ca.pem"), "{stderr}");
    assert!(
        took < std::time::Duration::from_secs(15),
        "ran {took:?}: {stderr}"
    );
    // `check` names the same file before anything runs.
    let (out, stderr) = run(&["check"], &cfg);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("/nonexistent/ca.pem"), "{stderr}");
}

#[test]
fn check_logs_in_to_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start();
    let (out, stderr) = run(
        &["check"],
        &config(dir.path(), &format!("port = {}", broker.port)),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("broker accepts the login"), "{stderr}");
    let free = spanreid_testkit::free_port();
    let (out, stderr) = run(&["check"], &config(dir.path(), &format!("port = {free}")));
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{free}")), "{stderr}");
}

#[test]
fn a_second_agent_on_the_same_queue_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "port = 1");
    let settings = spanreid_edge::queue::QueueSettings {
        capacity: 10,
        segment_records: 4,
        ..spanreid_edge::queue::QueueSettings::default()
    };
    let _first =
        spanreid_edge::queue::DiskQueue::open(&dir.path().join("queue"), settings).unwrap();
    let (out, stderr) = run(&["run"], &cfg);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("in use by another process"), "{stderr}");
}
