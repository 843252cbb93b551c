//! The `hub` binary's clean ends: SIGTERM while ingesting commits and acknowledges the
//! batch in hand and exits 0, losing nothing the broker acknowledged; `hub stats` into a
//! closed pipe exits 0 without a panic.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::process::{Child, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use spanreid_hub::store::{SqliteStore, Store};
use spanreid_hub::synthetic::IdentityBank;

fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_commits_the_batch_in_hand_and_exits_cleanly() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), broker.port, "hub-sigterm");
    let config_path = write_config(dir.path(), &settings);
    let log_path = dir.path().join("hub.log");
    let mut child = hub_command(&["run", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let db = settings.config.db.clone();
    wait_for(&db, "hub database", |_| true);
    thread::sleep(Duration::from_millis(500));

    let n = 1500;
    let bank = IdentityBank::new(n, DIM, 17);
    let now = now_us();
    let messages: Vec<_> = (0..n)
        .map(|i| {
            let sig = sighting(&bank, &settings, i, i % 3, (i / 3) as u64 + 1, now);
            signed(&sig, i % 3)
        })
        .collect();
    let publisher = {
        let port = broker.port;
        thread::spawn(move || publish(port, messages))
    };
    wait_for(&db, "ingest under way", |s| s.signatures > 100);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = wait_exit(&mut child, Duration::from_secs(10));
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("signal received"), "{log}");
    let at_exit = SqliteStore::open(&db).unwrap().load_all().unwrap();
    // Every message is now acknowledged by the broker.
    publisher.join().unwrap();

    // What the hub did not acknowledge waits in its persistent session: a restart stores
    // the rest, and nothing it acknowledged before the signal was left uncommitted.
    let hub = RunningHub::start(&settings);
    let stats = wait_for(&db, "every signature", |s| s.signatures as usize == n);
    hub.stop();
    assert_eq!(counter(&stats, "accepted") as usize, n);
    assert_eq!(
        counter(&stats, "duplicate"),
        0,
        "committed but not acknowledged"
    );
    let stored = SqliteStore::open(&db).unwrap().load_all().unwrap();
    assert!(at_exit.iter().all(|s| stored.contains(s)));
}

#[test]
fn stats_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    drop(SqliteStore::open(&db).unwrap());
    spanreid_testkit::assert_quiet_into_closed_pipe(&mut hub_command(&[
        "stats",
        "--db",
        db.to_str().unwrap(),
    ]));
}
