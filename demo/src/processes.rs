//! The child processes of the demo (the hub and one edge agent per camera): the I/O side of
//! the demo. Match events come from `spanreid_hub::watch`.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running child whose output goes to a log file; killed when dropped.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `program args…` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, program: &Path, args: &[&str], log: &Path) -> anyhow::Result<Self> {
        let out = File::create(log).with_context(|| format!("log file {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(program)
            .args(args)
            .env("RUST_LOG", "info,rumqttd=warn,rumqttc=warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        Ok(Process {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        })
    }

    /// The exit status if it has ended.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Fails with the end of its log unless `status` is success.
    pub fn check(&self, status: ExitStatus) -> anyhow::Result<()> {
        if status.success() {
            return Ok(());
        }
        bail!(
            "{} exited with {status}; the end of {}:\n{}",
            self.name,
            self.log.display(),
            tail(&self.log, 15)
        )
    }

    /// Name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops it (SIGKILL: the hub commits before it acknowledges, so nothing is lost).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits until `port` on loopback accepts connections, or `process` ends, or `timeout`.
pub fn wait_for_port(port: u16, process: &mut Process, timeout: Duration) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(status) = process.try_wait()? {
            process.check(status)?;
            bail!("{} ended before listening on {addr}", process.name());
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "{} did not listen on {addr} within {timeout:?}; the end of its log:\n{}",
        process.name(),
        tail(&process.log, 15)
    )
}

/// Keeps the hub and its page up until SIGINT or SIGTERM.
pub fn serve(hub: Process) -> anyhow::Result<()> {
    let stop = spanreid_service::shutdown::on_signal("stopping the hub")
        .map_err(|e| anyhow::anyhow!("installing the signal handlers: {e}"))?;
    let mut hub = hub;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        // Ctrl-C in a terminal reaches the hub too; it stops cleanly by itself.
        if let Some(status) = hub.try_wait()? {
            return hub.check(status);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    hub.stop();
    Ok(())
}

/// The binary `name` in `dir`, which must exist.
pub fn binary(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        path.is_file(),
        "{} not found: build it first (make demo builds hub, edge-agent and this demo together)",
        path.display()
    );
    Ok(path)
}

/// Empties the scratch directory, refusing one the demo did not make.
pub fn fresh_work_dir(work: &Path) -> anyhow::Result<()> {
    const MARKER: &str = ".spanreid-demo";
    if work.exists() {
        let empty = std::fs::read_dir(work)?.next().is_none();
        anyhow::ensure!(
            empty || work.join(MARKER).exists(),
            "{} exists and was not made by spanreid-demo; choose another --work",
            work.display()
        );
        std::fs::remove_dir_all(work).with_context(|| format!("emptying {}", work.display()))?;
    }
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    std::fs::write(work.join(MARKER), b"scratch directory of spanreid-demo\n")?;
    Ok(())
}
