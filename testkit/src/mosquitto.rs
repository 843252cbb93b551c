//! A real mosquitto broker for tests.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TestCerts, free_port};

/// Where Debian's package installs mosquitto.
const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A mosquitto process on 127.0.0.1:`port`, killed on drop.
pub struct Mosquitto {
    /// Its loopback port.
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// In memory (no persistence), with queue and size limits far above any test's needs.
    pub fn start() -> Self {
        Self::start_with("persistence false\n", "")
    }

    /// In memory, queueing at most `max_queued` messages per offline session and dropping
    /// the rest (as mosquitto's default limit of 1000 does): a broker that loses messages
    /// it has acknowledged to their publisher.
    pub fn start_dropping(max_queued: usize) -> Self {
        Self::start_with(
            &format!("persistence false\nmax_queued_messages {max_queued}\n"),
            "",
        )
    }

    /// In memory, refusing anonymous clients: the logins of the mosquitto `password_file`
    /// `passwd` with the topic rules of `acl_file` `acl`, each client's id forced to its
    /// username (as `deploy/mosquitto/mosquitto.conf` sets up a production broker).
    pub fn start_with_logins(passwd: &Path, acl: &Path) -> Self {
        let rules = format!(
            "persistence false\nallow_anonymous false\nuse_username_as_clientid true\n\
             password_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        );
        Self::start_with(&rules, "")
    }

    /// Like [`Mosquitto::start`], but the listener only speaks TLS with `certs`.
    pub fn start_tls(certs: &TestCerts) -> Self {
        let tls = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            certs.ca.display(),
            certs.server_cert.display(),
            certs.server_key.display()
        );
        Self::start_with("persistence false\n", &tls)
    }

    /// Sessions and queued messages saved in `dir` when stopped with [`Mosquitto::stop`],
    /// and loaded by [`Mosquitto::restart`]: a broker outage as an edge unit sees it.
    pub fn start_persistent(dir: &Path) -> Self {
        let persistence = format!(
            "persistence true\npersistence_location {}/\n",
            dir.display()
        );
        Self::start_with(&persistence, "")
    }

    /// `global` options come after the defaults (and so override them). `user root`: started
    /// by root, mosquitto would switch to user `mosquitto`, who cannot enter the test's
    /// private temporary directory (password files, persistence), and could not switch at
    /// all inside a user namespace (the full-disk tests); no effect when not started by root.
    fn start_with(global: &str, listener_options: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "user root\nlistener {port} 127.0.0.1\n{listener_options}allow_anonymous true\n\
                 max_inflight_messages 100\nmax_queued_messages 100000\n\
                 max_packet_size 1000000\nlog_dest none\n{global}"
            ),
        )
        .unwrap();
        let mut broker = Mosquitto {
            port,
            conf,
            child: None,
            _dir: dir,
        };
        broker.restart();
        broker
    }

    /// Starts the broker again (after [`Mosquitto::stop`]); returns once it listens.
    pub fn restart(&mut self) {
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {MOSQUITTO} (apt-get install mosquitto): {e}")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (mosquitto saves its sessions when persistent) and wait for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
