//! The hub's one configuration: built-in defaults, then a TOML file, then command-line
//! overrides, validated once into [`Settings`].
//!
//! An annotated example lives in `hub/hub.example.toml`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::error::ConfigError;
use spanreid::signature::{CameraKey, MAX_DIM, MODEL_ID_LEN, ModelId};
use spanreid_infer::calibration::MatchCalibration;

mod embedded;
mod http;
mod ids;
pub use embedded::BrokerLogin;
pub use http::{HttpConfig, MIN_TOKEN_CHARS};
use ids::parse_model_id;
pub use ids::{parse_camera_ref, to_hex};
pub use spanreid_service::mqtt::MqttConnection;
pub use spanreid_service::secret::Secret;

/// The configuration as written in the TOML file; every field has a default.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// SQLite database file holding the gallery, match events and counters.
    pub db: PathBuf,
    /// File of the Ed25519 key match events are signed with (64 hex digits, created on
    /// first start; `hub events-key` prints its public key). Default: beside the database,
    /// `<db without extension>.events-key`.
    pub events_key: Option<PathBuf>,
    /// The MQTT broker to subscribe to (`[mqtt]`, the table the edge agent reads too).
    pub mqtt: MqttConnection,
    /// Run an MQTT broker inside the hub, listening on `[mqtt] host:port`, instead of
    /// connecting to one (plain TCP, for one machine and demos).
    pub embedded_broker: bool,
    /// Logins the embedded broker admits (none: any client; then it may only listen on
    /// loopback).
    pub embedded_broker_logins: Vec<BrokerLogin>,
    /// The model every accepted signature must come from.
    pub model: ModelConfig,
    /// Replay protection.
    pub ingest: IngestConfig,
    /// Retention and capacity of the gallery.
    pub gallery: GalleryConfig,
    /// Top-k search parameters.
    pub matching: MatchingConfig,
    /// Cameras allowed to publish, with their keys.
    pub cameras: Vec<CameraConfig>,
    /// Optional spatio-temporal gating: which cameras a vehicle can drive between, and how
    /// long that takes. Empty means no gating.
    pub links: Vec<LinkConfig>,
    /// The operator's web page and JSON API (`[http]`; off unless `listen` is set).
    pub http: HttpConfig,
}

/// The model signatures must have been computed with.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Model id as 32 hexadecimal digits; unset: the manifest entry's, or all zeros.
    pub id: Option<String>,
    /// Feature dimension of that model.
    pub dim: usize,
    /// Model manifest (`models/manifest.toml`) whose entry `name` gives the model id and
    /// the match calibration (`trainer calibrate`); optional.
    pub manifest: Option<PathBuf>,
    /// The model's name in `manifest`.
    pub name: Option<String>,
}

/// Replay window: signatures must have been captured within it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Oldest accepted capture time, in seconds before the hub's clock.
    pub max_age_s: u64,
    /// Newest accepted capture time, in seconds after the hub's clock (clock skew).
    pub max_future_s: u64,
}

/// Gallery limits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GalleryConfig {
    /// Signatures captured longer ago than this are evicted (seconds).
    pub retention_s: u64,
    /// At most this many signatures are kept; the oldest are evicted first.
    pub max_signatures: usize,
    /// Thumbnails kept at most, bytes in total; the oldest passages' go first (a passage's
    /// thumbnail always leaves with it).
    pub max_thumbnail_bytes: u64,
}

/// Search parameters.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MatchingConfig {
    /// Number of candidates reported per new signature.
    pub top_k: usize,
    /// Only candidates with a CPDM distance at most this are reported. Unset: the model's
    /// calibrated threshold (`[model] manifest`), or no limit for an uncalibrated model.
    pub max_distance: Option<f32>,
    /// Match new signatures at all (off: store only, e.g. to fill a gallery).
    pub enabled: bool,
    /// At most one candidate per other camera, the nearest there (`top_k` then counts
    /// cameras). Exact, at the cost of one search per camera for each batch (a full scan
    /// without a camera graph, that camera's windows with one).
    pub one_per_camera: bool,
    /// One-to-one association: a passage is paired with at most one passage of each other
    /// camera, the nearer pair winning; a later, nearer query takes a candidate over and
    /// the event says which pair it `replaces`. Implies `one_per_camera`.
    pub one_to_one: bool,
}

/// One camera allowed to publish.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Site the camera belongs to.
    pub site: String,
    /// Camera id within the site.
    pub camera: String,
    /// Its HMAC key as 64 hexadecimal digits (never shown by `Debug`).
    pub key: Secret,
}

/// A road link between two cameras (`"site/camera"`), usable in both directions.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// One end, `"site/camera"`.
    pub from: String,
    /// The other end, `"site/camera"`.
    pub to: String,
    /// Fastest plausible travel time in seconds.
    pub min_s: f64,
    /// Slowest plausible travel time in seconds.
    pub max_s: f64,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            db: PathBuf::from("hub.sqlite"),
            events_key: None,
            mqtt: MqttConnection::default(),
            embedded_broker: false,
            embedded_broker_logins: Vec::new(),
            model: ModelConfig::default(),
            ingest: IngestConfig::default(),
            gallery: GalleryConfig::default(),
            matching: MatchingConfig::default(),
            cameras: Vec::new(),
            links: Vec::new(),
            http: HttpConfig::default(),
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            id: None,
            dim: 256,
            manifest: None,
            name: None,
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_age_s: 24 * 3600,
            max_future_s: 60,
        }
    }
}

impl Default for GalleryConfig {
    fn default() -> Self {
        GalleryConfig {
            retention_s: 7 * 24 * 3600,
            max_signatures: 1_000_000,
            max_thumbnail_bytes: 256 << 20,
        }
    }
}

impl Default for MatchingConfig {
    fn default() -> Self {
        MatchingConfig {
            top_k: 5,
            max_distance: None,
            enabled: true,
            one_per_camera: false,
            one_to_one: false,
        }
    }
}

/// Command-line values that override the file (each `None` leaves the file's value).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--db`.
    pub db: Option<PathBuf>,
    /// `--embedded-broker`.
    pub embedded_broker: bool,
    /// `--broker-port`.
    pub broker_port: Option<u16>,
    /// `--http`.
    pub http_listen: Option<std::net::SocketAddr>,
}

/// A camera's identity: site and camera id.
pub type CameraId = (String, String);

/// The validated configuration the hub runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The configuration it was built from.
    pub config: HubConfig,
    /// Parsed model id.
    pub model_id: ModelId,
    /// The largest distance reported: `matching.max_distance`, else the calibrated
    /// threshold, else unlimited.
    pub max_distance: f32,
    /// The model's match calibration, when its manifest entry has one.
    pub calibration: Option<MatchCalibration>,
    /// Keys by camera.
    pub keys: HashMap<CameraId, CameraKey>,
    /// Embedded broker listen address, when `embedded_broker` is set.
    pub embedded_listen: Option<SocketAddr>,
}

/// The hub's MQTT client id when `[mqtt] client_id` is empty. The broker keeps the hub's
/// persistent session under it across restarts; a second hub needs its own.
pub const DEFAULT_CLIENT_ID: &str = "spanreid-hub";

impl HubConfig {
    /// The match event key file: `events_key`, else beside the database.
    pub fn events_key_path(&self) -> PathBuf {
        self.events_key
            .clone()
            .unwrap_or_else(|| self.db.with_extension("events-key"))
    }

    /// The MQTT client id: `[mqtt] client_id`, else [`DEFAULT_CLIENT_ID`].
    pub fn client_id(&self) -> String {
        self.mqtt.client_id_or(DEFAULT_CLIENT_ID)
    }

    /// Parse a TOML document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            origin: origin.to_owned(),
            source,
        })
    }

    /// Read and parse a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Apply command-line overrides.
    pub fn with_overrides(mut self, o: &Overrides) -> Self {
        if let Some(db) = &o.db {
            self.db = db.clone();
        }
        if o.embedded_broker {
            self.embedded_broker = true;
        }
        if let Some(port) = o.broker_port {
            self.mqtt.port = port;
        }
        if let Some(listen) = o.http_listen {
            self.http.listen = Some(listen);
        }
        self
    }

    /// Check every value once and parse keys and ids; reads the model's manifest entry
    /// when `[model] manifest` names one.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let entry = match (&self.model.manifest, &self.model.name) {
            (Some(path), Some(name)) => Some(
                spanreid_infer::manifest::load(path, name)
                    .map_err(|e| ConfigError::Invalid(format!("model.manifest: {e}")))?
                    .entry,
            ),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "model.manifest and model.name go together".into(),
                ));
            }
        };
        let id = match (&entry, &self.model.id) {
            (Some(e), None) => e.model_id_hex().to_owned(),
            (Some(e), Some(id)) if !id.eq_ignore_ascii_case(e.model_id_hex()) => {
                return Err(ConfigError::Invalid(format!(
                    "model.id {id} is not the manifest entry's {}",
                    e.model_id_hex()
                )));
            }
            (_, Some(id)) => id.clone(),
            (None, None) => "0".repeat(2 * MODEL_ID_LEN),
        };
        let model_id = parse_model_id(&id)?;
        let calibration = entry.and_then(|e| e.matching);
        if self.model.dim == 0 || self.model.dim > MAX_DIM {
            return Err(ConfigError::Invalid(format!(
                "model.dim = {} must be in 1..={MAX_DIM}",
                self.model.dim
            )));
        }
        if self.matching.top_k == 0 {
            return Err(ConfigError::Invalid(
                "matching.top_k must be at least 1".into(),
            ));
        }
        if let Some(d) = self.matching.max_distance
            && !(d.is_finite() && d >= 0.0)
        {
            return Err(ConfigError::Invalid(
                "matching.max_distance must be a finite non-negative number".into(),
            ));
        }
        let max_distance = self
            .matching
            .max_distance
            .or(calibration.as_ref().map(|c| c.threshold))
            .unwrap_or(f32::MAX);
        if self.gallery.max_signatures == 0 {
            return Err(ConfigError::Invalid(
                "gallery.max_signatures must be at least 1".into(),
            ));
        }
        let mut keys = HashMap::new();
        for cam in &self.cameras {
            let id = (cam.site.clone(), cam.camera.clone());
            let key = CameraKey::from_hex(cam.key.expose()).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "camera {}/{}: key must be 64 hexadecimal digits",
                    cam.site, cam.camera
                ))
            })?;
            if keys.insert(id, key).is_some() {
                return Err(ConfigError::Invalid(format!(
                    "camera {}/{} is listed twice",
                    cam.site, cam.camera
                )));
            }
        }
        for link in &self.links {
            for end in [&link.from, &link.to] {
                let id = parse_camera_ref(end)?;
                if !keys.contains_key(&id) {
                    return Err(ConfigError::Invalid(format!(
                        "link end {end:?} is not a configured camera"
                    )));
                }
            }
            if !(link.min_s.is_finite() && link.max_s.is_finite())
                || link.min_s < 0.0
                || link.min_s > link.max_s
            {
                return Err(ConfigError::Invalid(format!(
                    "link {} - {}: need 0 <= min_s <= max_s",
                    link.from, link.to
                )));
            }
        }
        self.mqtt
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("{}: {}", e.key, e.message)))?;
        let embedded_listen = embedded::listen_address(&self)?;
        self.http.validate()?;
        Ok(Settings {
            config: self,
            model_id,
            max_distance,
            calibration,
            keys,
            embedded_listen,
        })
    }
}

#[cfg(test)]
mod tests;
