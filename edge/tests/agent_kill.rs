//! The `edge-agent` binary SIGKILLed while signatures wait for an unreachable broker, then
//! restarted with the broker up: everything queued before the kill is delivered.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use spanreid::signature::{CameraKey, Envelope};
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use support::{Broker, free_port, subscribe, wait_for};

const KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const BIN: &str = env!("CARGO_BIN_EXE_edge-agent");

/// Four dark boxes crossing one after another.
fn draw(dir: &Path) {
    for f in 0..100u32 {
        let img = image::RgbImage::from_fn(120, 64, |x, y| {
            let v = 120 + ((x * 5 + y * 3) % 10) as u8;
            let k = f / 25;
            let x0 = (f % 25) as i32 * 6 - 20;
            let inside = (x as i32) >= x0 && (x as i32) < x0 + 24 && (20..36).contains(&y);
            if inside && f % 25 < 22 {
                image::Rgb([40 * k as u8, 30, 200 - 40 * k as u8])
            } else {
                image::Rgb([v, v, v])
            }
        });
        img.save(dir.join(format!("{f:06}.png"))).unwrap();
    }
}

fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("edge.toml");
    std::fs::write(
        &path,
        format!(
            "[camera]\nsite = \"s\"\nid = \"c9\"\nkey_hex = \"{KEY}\"\nreplay_dir = \"{frames}\"\n\
             [detect]\nmin_pixels = 60\nwarmup_frames = 3\n\
             [model]\nmanifest = \"{model}/manifest.toml\"\nname = \"fixture\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nstatus_interval_s = 1\n\
             [queue]\ndir = \"{queue}\"\n",
            frames = dir.join("frames").display(),
            model = dir.join("model").display(),
            queue = dir.join("queue").display(),
        ),
    )
    .unwrap();
    path
}

#[test]
fn queued_signatures_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("frames")).unwrap();
    draw(&dir.path().join("frames"));
    let status = Command::new(BIN)
        .arg("fixture")
        .arg(dir.path().join("model"))
        .args(["--size", "32", "--dim", "16"])
        .status()
        .unwrap();
    assert!(status.success());

    // First run: nobody listens on the port; the agent queues and keeps retrying.
    let cfg = config(dir.path(), free_port());
    let mut child = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let queue_dir = dir.path().join("queue");
    let settings = QueueSettings {
        capacity: 100_000,
        segment_records: 4096,
    };
    wait_for("four queued signatures", Duration::from_secs(60), || {
        queue_dir.exists()
            && DiskQueue::open(&queue_dir, settings)
                .map(|(q, _)| q.len())
                .unwrap_or(0)
                >= 4
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(DiskQueue::open(&queue_dir, settings).unwrap().0.len(), 4);

    // Second run with a broker: the old four are delivered, then the replay's again.
    let broker = Broker::start(dir.path());
    let got = subscribe(broker.port, "spanreid/v1/s/c9/signature");
    let cfg = config(dir.path(), broker.port);
    let out = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(out.success());
    assert!(DiskQueue::open(&queue_dir, settings).unwrap().0.is_empty());
    let key = CameraKey::from_hex(KEY).unwrap();
    wait_for("eight signatures", Duration::from_secs(10), || {
        got.lock().unwrap().len() >= 8
    });
    let seqs: BTreeSet<u64> = got
        .lock()
        .unwrap()
        .iter()
        .map(|p| Envelope::decode(p).unwrap().verify(&key).unwrap().sequence)
        .collect();
    assert_eq!(
        seqs.len(),
        8,
        "four from before the kill, four from the second run"
    );
}
