//! The `edge-agent` binary SIGKILLed while signatures wait for an unreachable broker, then
//! restarted with the broker up: everything queued before the kill is delivered.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use spanreid::signature::{CameraKey, Envelope};
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use spanreid_testkit::{Mosquitto, free_port, subscribe, wait_for};

const KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const BIN: &str = env!("CARGO_BIN_EXE_edge-agent");

/// Four coloured boxes crossing one after another.
fn draw(dir: &Path) {
    for f in 0..100u32 {
        let img = image::RgbImage::from_fn(120, 64, |x, y| {
            let v = 120 + ((x * 5 + y * 3) % 10) as u8;
            let k = f / 25;
            let x0 = (f % 25) as i32 * 6 - 30;
            let inside = (x as i32) >= x0 && (x as i32) < x0 + 24 && (20..36).contains(&y);
            if inside && f % 25 < 24 {
                image::Rgb([40 * k as u8, 30, 200 - 40 * k as u8])
            } else {
                image::Rgb([v, v, v])
            }
        });
        img.save(dir.join(format!("{f:06}.png"))).unwrap();
    }
}

/// Kills the agent if the test fails half-way.
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The agent's `signatures` counter, read from its Prometheus endpoint.
fn queued(cfg: &Path) -> u64 {
    let text = std::fs::read_to_string(cfg).unwrap();
    let addr = text
        .lines()
        .find_map(|l| l.strip_prefix("metrics_listen = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.lines()
        .find_map(|l| l.strip_prefix("spanreid_edge_signatures_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("edge.toml");
    std::fs::write(
        &path,
        format!(
            "metrics_listen = \"127.0.0.1:{metrics}\"\n[camera]\nsite = \"s\"\nid = \"c9\"\nkey_hex = \"{KEY}\"\nreplay_dir = \"{frames}\"\n\
             [detect]\nmin_pixels = 60\nwarmup_frames = 3\n\
             [model]\nmanifest = \"{model}/manifest.toml\"\nname = \"fixture\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nstatus_interval_s = 1\n\
             [queue]\ndir = \"{queue}\"\n",
            frames = dir.join("frames").display(),
            model = dir.join("model").display(),
            queue = dir.join("queue").display(),
            metrics = free_port(),
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
    let log = std::fs::File::create(dir.path().join("agent.log")).unwrap();
    let mut agent = Agent(
        Command::new(BIN)
            .arg("run")
            .arg("--config")
            .arg(&cfg)
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let queue_dir = dir.path().join("queue");
    let settings = QueueSettings {
        capacity: 100_000,
        segment_records: 4096,
    };
    let t = std::time::Instant::now();
    while queued(&cfg) < 4 {
        let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "agent queued {} signatures:\n{log}",
            queued(&cfg)
        );
        assert!(
            agent.0.try_wait().unwrap().is_none(),
            "agent exited:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    agent.0.kill().unwrap(); // SIGKILL
    agent.0.wait().unwrap();
    let before = DiskQueue::open(&queue_dir, settings).unwrap().0.len();
    assert!(before >= 4, "{before} queued before the kill");

    // Second run with a broker: the old four are delivered, then the replay's again.
    let broker = Mosquitto::start_persistent(dir.path());
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
    wait_for("all signatures", Duration::from_secs(10), || {
        got.lock().unwrap().len() >= 2 * before
    });
    let seqs: BTreeSet<u64> = got
        .lock()
        .unwrap()
        .iter()
        .map(|p| Envelope::decode(p).unwrap().verify(&key).unwrap().sequence)
        .collect();
    // the replay is deterministic: the second run queues as many again
    assert_eq!(
        seqs.len(),
        2 * before,
        "before the kill and after the restart"
    );
}
