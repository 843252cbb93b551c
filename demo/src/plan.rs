//! What the demo runs, as values: the cameras found in the streams, their keys and clocks,
//! and the hub's and each agent's configuration files (pure: no processes, no sockets).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Site name of every demo camera.
pub const SITE: &str = "demo";

/// One replayed camera.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraPlan {
    /// Camera id (the stream folder's name, e.g. `c001`).
    pub id: String,
    /// Its frame folder.
    pub frames: PathBuf,
    /// HMAC key, 64 hex digits, derived from the camera id (demo only).
    pub key_hex: String,
    /// Capture time of its frame 0, µs since the epoch.
    pub start_us: u64,
}

/// Travel-time window between consecutive cameras along the route, seconds: the streams
/// place cameras 45 s apart, and an operator knows the road's travel time to ±10 s.
pub const LINK_WINDOW_S: (u64, u64) = (35, 55);

/// Everything that shapes the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Cameras in route order.
    pub cameras: Vec<CameraPlan>,
    /// Embedded broker port.
    pub port: u16,
    /// Port of the hub's web page and API on 127.0.0.1.
    pub http_port: u16,
    /// Model id (32 hex digits) and feature dimension the hub expects.
    pub model_id: String,
    /// Feature dimension.
    pub dim: usize,
    /// Model manifest and name the agents load.
    pub manifest: PathBuf,
    /// Model name.
    pub model: String,
    /// Candidates per match event.
    pub top_k: usize,
    /// At most one candidate per other camera (the hub's `one_per_camera`).
    pub one_per_camera: bool,
    /// One-to-one association (the hub's `one_to_one`).
    pub one_to_one: bool,
    /// Largest CPDM distance reported as a match; `None`: the model's calibrated threshold
    /// from the manifest (no limit for an uncalibrated model).
    pub max_distance: Option<f32>,
    /// Gate matches by the route's travel times.
    pub gating: bool,
    /// Crops embedded per passage: 1 is the agent's `best` crop policy, more its `mean` of
    /// that many best crops.
    pub crops: usize,
    /// Scratch directory (database, queues, logs).
    pub work: PathBuf,
}

/// The demo key of `camera`: SHA-256 of a fixed label and the camera id. Real deployments
/// generate random keys (see the deployment guide); these only make the demo repeatable.
pub fn demo_key(camera: &str) -> String {
    let digest = Sha256::digest(format!("spanreid demo key/{camera}").as_bytes());
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Plan {
    /// The hub's database file.
    pub fn db(&self) -> PathBuf {
        self.work.join("hub.sqlite")
    }

    /// The passage log of `camera`.
    pub fn passage_log(&self, camera: &str) -> PathBuf {
        self.work.join(format!("{camera}.passages.csv"))
    }

    /// The address of the hub's web page.
    pub fn page_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.http_port)
    }

    /// The hub's configuration file.
    pub fn hub_toml(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "db = {:?}", path_str(&self.db()));
        let _ = writeln!(
            t,
            "embedded_broker = true\n[mqtt]\nhost = \"127.0.0.1\"\nport = {}\nclient_id = \"spanreid-demo-hub\"",
            self.port
        );
        let _ = writeln!(
            t,
            "[model]\nid = \"{}\"\ndim = {}\nmanifest = {:?}\nname = \"{}\"",
            self.model_id,
            self.dim,
            path_str(&self.manifest),
            self.model
        );
        let _ = writeln!(
            t,
            "[matching]\ntop_k = {}\none_per_camera = {}\none_to_one = {}",
            self.top_k, self.one_per_camera, self.one_to_one
        );
        if let Some(d) = self.max_distance {
            let _ = writeln!(t, "max_distance = {d}");
        }
        let _ = writeln!(t, "[http]\nlisten = \"127.0.0.1:{}\"", self.http_port);
        for c in &self.cameras {
            let _ = writeln!(
                t,
                "[[cameras]]\nsite = \"{SITE}\"\ncamera = \"{}\"\nkey = \"{}\"",
                c.id, c.key_hex
            );
        }
        if self.gating {
            for (i, a) in self.cameras.iter().enumerate() {
                for (hops, b) in self.cameras[i + 1..].iter().enumerate() {
                    let hops = hops as u64 + 1;
                    let _ = writeln!(
                        t,
                        "[[links]]\nfrom = \"{SITE}/{}\"\nto = \"{SITE}/{}\"\nmin_s = {}\nmax_s = {}",
                        a.id,
                        b.id,
                        LINK_WINDOW_S.0 * hops,
                        LINK_WINDOW_S.1 * hops
                    );
                }
            }
        }
        t
    }

    /// The configuration file of the agent replaying `camera`. `min_pixels = 800`: the
    /// streams' cameras are framed for vehicles at least 96 px long at 640 × 360, whose
    /// motion blobs cover about 3,000 px; a blob under a quarter of that is a piece of a
    /// vehicle (a dark body on dark asphalt splits), not one (on the first stream render
    /// of version 3, 300 gave 186 tracks for 172 passages, 15 of them on no vehicle; 800
    /// gave 173 and 4).
    pub fn agent_toml(&self, camera: &CameraPlan) -> String {
        format!(
            "passage_log = {log:?}\nframe_buffer = 8\n\
             [camera]\nsite = \"{SITE}\"\nid = \"{id}\"\nkey_hex = \"{key}\"\nsource = \"replay\"\n\
             replay_dir = {frames:?}\nreplay_start_us = {start}\nfps = 10.0\n\
             [detect]\nmin_pixels = 800\nwarmup_frames = 20\nmax_missed = 8\nclose_radius = 6\n{policy}\n\
             [model]\nmanifest = {manifest:?}\nname = \"{model}\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n[publish]\nstatus_interval_s = 5\n\
             [queue]\ndir = {queue:?}\n[thumbnails]\nenabled = true\n",
            log = path_str(&self.passage_log(&camera.id)),
            id = camera.id,
            key = camera.key_hex,
            frames = path_str(&camera.frames),
            start = camera.start_us,
            manifest = path_str(&self.manifest),
            model = self.model,
            port = self.port,
            queue = path_str(&self.work.join(format!("{}.queue", camera.id))),
            policy = if self.crops <= 1 {
                "crop_policy = \"best\"".to_owned()
            } else {
                format!("crop_policy = \"mean\"\ntop_k = {}", self.crops)
            },
        )
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let camera = |id: &str, start_us| CameraPlan {
            id: id.into(),
            frames: PathBuf::from(format!("/data/streams/{id}")),
            key_hex: demo_key(id),
            start_us,
        };
        Plan {
            cameras: vec![
                camera("c001", 1_000_000),
                camera("c002", 46_000_000),
                camera("c003", 91_000_000),
            ],
            port: 18999,
            http_port: 18998,
            model_id: "00112233445566778899aabbccddeeff".into(),
            dim: 256,
            manifest: PathBuf::from("/m/manifest.toml"),
            model: "spanreid-mnv2-int8".into(),
            top_k: 3,
            one_per_camera: true,
            one_to_one: true,
            crops: 6,
            max_distance: Some(0.8),
            gating: true,
            work: PathBuf::from("/w"),
        }
    }

    #[test]
    fn the_hub_config_parses_and_knows_every_camera_and_link() {
        // The shipped manifest: the hub takes the model's id and calibration from it.
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/manifest.toml");
        let entry = spanreid_infer::manifest::load(&manifest, "spanreid-mnv2-int8")
            .expect("shipped manifest")
            .entry;
        let p = Plan {
            manifest,
            model_id: entry.model_id_hex().to_owned(),
            ..plan()
        };
        let settings = spanreid_hub::HubConfig::from_toml(&p.hub_toml(), "hub.toml")
            .expect("hub config parses")
            .validate()
            .expect("hub config is valid");
        assert_eq!(settings.keys.len(), 3);
        assert_eq!(settings.config.links.len(), 3, "c1-c2, c1-c3, c2-c3");
        assert!(settings.config.matching.one_per_camera);
        assert!(settings.config.matching.one_to_one);
        assert!(settings.embedded_listen.is_some());
        assert!(p.hub_toml().contains("min_s = 70\nmax_s = 110"), "two hops");
        assert_eq!(
            settings.max_distance, 0.8,
            "the flag wins over the calibration"
        );
        let wrong = Plan {
            model_id: "00112233445566778899aabbccddeeff".into(),
            ..p.clone()
        };
        let err = spanreid_hub::HubConfig::from_toml(&wrong.hub_toml(), "hub.toml")
            .expect("parses")
            .validate()
            .expect_err("an id that is not the manifest's");
        assert!(
            err.to_string().contains("not the manifest entry's"),
            "{err}"
        );
    }

    #[test]
    fn agent_configs_parse_and_differ_per_camera() {
        let p = plan();
        let a = p.agent_toml(&p.cameras[0]);
        let b = p.agent_toml(&p.cameras[1]);
        for text in [&a, &b] {
            spanreid_edge::config::Config::from_toml(text, Path::new("agent.toml"))
                .expect("agent config parses")
                .validate()
                .expect("agent config is valid");
        }
        assert!(a.contains("c001.queue") && b.contains("c002.queue"));
        assert_ne!(demo_key("c001"), demo_key("c002"));
        assert_eq!(demo_key("c001").len(), 64);
    }
}
