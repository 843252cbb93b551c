//! The `edge-agent` binary SIGKILLed while signatures wait for an unreachable broker, then
//! restarted with the broker up: everything queued before the kill is delivered. SIGTERM
//! stops it cleanly (exit 0, nothing queued is lost), and `inspect` into a closed pipe
//! exits quietly.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n[publish]\ndelete_on = \"broker_ack\"\nstatus_interval_s = 1\n\
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

/// Frames and a fixture model in `dir`.
fn prepare(dir: &Path) {
    std::fs::create_dir_all(dir.join("frames")).unwrap();
    draw(&dir.join("frames"));
    support::fixture_model(BIN, &dir.join("model"));
}

/// Waits until the agent has queued `n` signatures.
fn wait_queued(agent: &mut Agent, cfg: &Path, log: &Path, n: u64) {
    let t = Instant::now();
    while queued(cfg) < n {
        let log = std::fs::read_to_string(log).unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "agent queued {} signatures:\n{log}",
            queued(cfg)
        );
        assert!(
            agent.0.try_wait().unwrap().is_none(),
            "agent exited:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn queued_signatures_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());

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
        ..QueueSettings::default()
    };
    wait_queued(&mut agent, &cfg, &dir.path().join("agent.log"), 4);
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

#[test]
fn sigterm_stops_the_agent_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let broker = Mosquitto::start();
    let got = subscribe(broker.port, "spanreid/v1/s/c9/signature");
    let cfg = config(dir.path(), broker.port);
    let log_path = dir.path().join("agent.log");
    // Paced at 10 fps, the replay would last 10 s.
    let mut agent = Agent(
        Command::new(BIN)
            .args(["run", "--realtime", "--config"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_queued(&mut agent, &cfg, &log_path, 1);
    let kill = Command::new("kill")
        .args(["-TERM", &agent.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let t = Instant::now();
    let status = loop {
        if let Some(status) = agent.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("signal received"), "{log}");
    assert!(log.contains("stopped on a signal"), "{log}");
    // With the broker up, the short drain delivered everything signed.
    let settings = QueueSettings {
        capacity: 100_000,
        segment_records: 4096,
        ..QueueSettings::default()
    };
    let left = DiskQueue::open(&dir.path().join("queue"), settings)
        .unwrap()
        .0
        .len();
    assert_eq!(left, 0, "{log}");
    wait_for("the signatures", Duration::from_secs(5), || {
        !got.lock().unwrap().is_empty()
    });
}

#[test]
fn inspect_into_a_closed_pipe_exits_quietly() {
    use spanreid::AreaRatios;
    use spanreid_infer::PartEmbedding;
    use spanreid_infer::sign::{PassageMeta, Signer, ident};

    let dir = tempfile::tempdir().unwrap();
    let signer = Signer {
        site: ident("s").unwrap(),
        camera: ident("c").unwrap(),
        key: CameraKey::from_hex(KEY).unwrap(),
        model_id: [7; 16],
    };
    let embedding = PartEmbedding {
        features: std::array::from_fn(|k| vec![0.1 * k as f32 + 0.05; 16]),
        area_ratios: AreaRatios([0.3, 0.3, 0.4]),
    };
    let meta = PassageMeta {
        track_id: 1,
        capture_time_us: 1,
        sequence: 1,
    };
    let file = dir.path().join("sig.bin");
    std::fs::write(&file, signer.encode(meta, &embedding).unwrap()).unwrap();
    spanreid_testkit::assert_quiet_into_closed_pipe(
        Command::new(BIN)
            .arg("inspect")
            .arg(&file)
            .arg("--features"),
    );
    // With a reader, the same command prints the header.
    let out = Command::new(BIN)
        .arg("inspect")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("site=s camera=c seq=1"));
}
