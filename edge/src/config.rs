//! Agent configuration: built-in defaults, overridden by a TOML file, overridden by command
//! line flags, then validated once into the settings each stage takes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use spanreid::signature::CameraKey;

use crate::capture::{PixelFormat, SourceKind};
use crate::detect::{DetectorKind, MotionSettings, OnnxDetectorSettings, Roi};
use crate::passage::{CropPolicy, CropPolicyKind};
use crate::track::TrackerSettings;

pub mod detector;
mod error;
pub mod options;
pub mod publish;
pub mod thumbnails;

pub use detector::OnnxDetectConfig;
pub use error::ConfigError;
use options::keyed;
pub use publish::{DeleteOn, PublishConfig};
pub use spanreid_service::mqtt::MqttConnection;
pub use spanreid_service::secret::Secret;
pub use thumbnails::ThumbnailConfig;

/// `[camera]`: where frames come from.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// Site id (topic level, signed into every signature).
    pub site: String,
    /// Camera id.
    pub id: String,
    /// 64 hex digits: the camera's HMAC key.
    pub key_hex: Secret,
    /// `replay` (an image folder), `video` (a video file, decoded by FFmpeg) or `v4l2`.
    #[serde(deserialize_with = "keyed")]
    pub source: SourceKind,
    /// Replay: the frame folder.
    pub replay_dir: PathBuf,
    /// Video: the file.
    pub video_file: PathBuf,
    /// Video: the `ffmpeg` program (`ffprobe` is looked for beside it).
    pub ffmpeg: PathBuf,
    /// Replay and video: `true` paces frames (at `fps`, or a video's own rate), `false` runs
    /// as fast as possible.
    pub replay_realtime: bool,
    /// Replay and video, not paced: let capture times run ahead of the wall clock (a hub
    /// refuses signatures further ahead than its `max_future_s`). Off: a fast replay waits
    /// for the clock once its timestamps reach it.
    pub replay_ahead_of_clock: bool,
    /// Replay and video: capture time of the first frame, µs since the Unix epoch; 0 stamps it with
    /// the start time of the run. Set it to align several replayed cameras on one clock.
    pub replay_start_us: u64,
    /// V4L2 device path.
    pub device: String,
    /// V4L2 pixel format: `yuyv` or `mjpeg`.
    #[serde(deserialize_with = "keyed")]
    pub pixel_format: PixelFormat,
    /// Requested width.
    pub width: u32,
    /// Requested height.
    pub height: u32,
    /// Frames per second (camera request, replay pace and timestamps).
    pub fps: f32,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            site: "site".into(),
            id: "c001".into(),
            key_hex: Secret::default(),
            source: SourceKind::Replay,
            replay_dir: PathBuf::from("frames"),
            video_file: PathBuf::from("camera.mp4"),
            ffmpeg: PathBuf::from("ffmpeg"),
            replay_realtime: false,
            replay_ahead_of_clock: false,
            replay_start_us: 0,
            device: "/dev/video0".into(),
            pixel_format: PixelFormat::Yuyv,
            width: 1280,
            height: 720,
            fps: 10.0,
        }
    }
}

/// `[detect]`: detection (motion, or an ONNX object detector) and tracking.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `motion` (background subtraction) or `onnx` (the object detector of `[detect.onnx]`).
    #[serde(deserialize_with = "keyed")]
    pub detector: DetectorKind,
    /// The ONNX object detector.
    pub onnx: OnnxDetectConfig,
    /// Region of interest polygon in pixels; empty = whole frame.
    pub roi: Vec<[f32; 2]>,
    /// Background learning rate.
    pub learning_rate: f32,
    /// Foreground threshold on luma difference.
    pub threshold: f32,
    /// Smallest blob in pixels.
    pub min_pixels: u32,
    /// Frames that only train the background.
    pub warmup_frames: u32,
    /// Least IoU to continue a track.
    pub min_iou: f32,
    /// Frames a track may go unseen.
    pub max_missed: u32,
    /// Frames a track needs to count as a vehicle.
    pub min_hits: u32,
    /// `first`, `best` or `mean` (of the `top_k` best).
    #[serde(deserialize_with = "keyed")]
    pub crop_policy: CropPolicyKind,
    /// Crops averaged by the `mean` policy (default [`DEFAULT_CROPS`]).
    pub top_k: usize,
    /// A crop counts as fully inside when it keeps this many pixels from the edges.
    pub edge_margin: u32,
    /// Radius of the closing that joins the pieces of one vehicle's motion mask (pixels);
    /// larger for larger frames or low-contrast scenes.
    pub close_radius: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        let m = MotionSettings::default();
        let t = TrackerSettings::default();
        DetectConfig {
            detector: DetectorKind::Motion,
            onnx: OnnxDetectConfig::default(),
            roi: Vec::new(),
            learning_rate: m.learning_rate,
            threshold: m.threshold,
            min_pixels: m.min_pixels,
            warmup_frames: m.warmup_frames,
            min_iou: t.min_iou,
            max_missed: t.max_missed,
            min_hits: t.min_hits,
            crop_policy: CropPolicyKind::Mean,
            top_k: DEFAULT_CROPS,
            edge_margin: 2,
            close_radius: m.close_radius,
        }
    }
}

/// `[model]`: which model of the manifest.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// The manifest file.
    pub manifest: PathBuf,
    /// Model name in the manifest (e.g. the f32 or the int8 export).
    pub name: String,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            manifest: PathBuf::from("models/manifest.toml"),
            name: "span-f32".into(),
        }
    }
}

/// Crops the default `mean` policy embeds per passage. Measured with `spanreid-demo
/// --crops N` on two stream renders (seeds 776 and 9, 2026-12-07): pair F1 averaged 0.66
/// with the single best crop, 0.76 with 3, 0.78 with 6, 8 and 10; 6 is the smallest on
/// that plateau (each crop costs one inference).
pub const DEFAULT_CROPS: usize = 6;

/// Smallest `[queue] max_bytes`: room for the largest record the queue takes.
pub const MIN_QUEUE_BYTES: u64 = 1 << 20;

/// `[queue]`: the store-and-forward queue.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Directory of the queue files.
    pub dir: PathBuf,
    /// Signatures kept at most (≈ 1.2 KB each on disk at 256-d).
    pub capacity: usize,
    /// Bytes of waiting signatures kept at most; beyond it (or `capacity`) the oldest are
    /// dropped. Keep it below the free space of the queue's filesystem: a full disk drops
    /// whole segments of the oldest (4096 signatures) to make room.
    pub max_bytes: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            dir: PathBuf::from("/var/lib/spanreid-edge/queue"),
            capacity: 100_000,
            max_bytes: 128 << 20,
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Frame source.
    pub camera: CameraConfig,
    /// Detection and tracking.
    pub detect: DetectConfig,
    /// Model.
    pub model: ModelConfig,
    /// Broker connection (the table the hub reads too).
    pub mqtt: MqttConnection,
    /// Publishing window and status period.
    pub publish: PublishConfig,
    /// Queue.
    pub queue: QueueConfig,
    /// Thumbnails beside the signatures (off by default).
    pub thumbnails: ThumbnailConfig,
    /// Prometheus endpoint address, e.g. `127.0.0.1:9464`; empty = off.
    pub metrics_listen: String,
    /// Frames buffered between capture and detection.
    pub frame_buffer: usize,
    /// Append one CSV line per signed passage here (sequence, track, chosen crop's frame and
    /// box): the audit trail that ties a signature back to the frames it came from.
    pub passage_log: Option<PathBuf>,
}

/// Settings checked and converted for the stages.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The config they came from.
    pub config: Config,
    /// Camera key.
    pub key: CameraKey,
    /// Motion detector settings.
    pub motion: MotionSettings,
    /// Region of interest.
    pub roi: Roi,
    /// The ONNX object detector when `detect.detector = "onnx"`; `None` runs the motion
    /// detector.
    pub onnx: Option<OnnxDetectorSettings>,
    /// Tracker settings.
    pub tracker: TrackerSettings,
    /// Crop policy.
    pub policy: CropPolicy,
    /// Prometheus endpoint.
    pub metrics_listen: Option<SocketAddr>,
}

impl Config {
    /// Parses TOML text; `path` names the file in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Reads a TOML file over the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks every value once.
    pub fn validate(self) -> Result<Validated, ConfigError> {
        let bad = |key: &'static str, message: &str| ConfigError::Invalid {
            key,
            message: message.to_string(),
        };
        let c = &self.camera;
        for (key, v) in [("camera.site", &c.site), ("camera.id", &c.id)] {
            if v.is_empty()
                || v.len() > spanreid::signature::MAX_ID_LEN
                || v.contains(['/', '+', '#'])
            {
                return Err(bad(key, "must be 1–32 bytes without '/', '+' or '#'"));
            }
        }
        let key = CameraKey::from_hex(c.key_hex.expose())
            .ok_or_else(|| bad("camera.key_hex", "must be 64 hex digits"))?;
        if !(c.fps > 0.0 && c.fps <= 1000.0) {
            return Err(bad("camera.fps", "must be in (0, 1000]"));
        }
        let d = &self.detect;
        if !(d.learning_rate > 0.0 && d.learning_rate <= 1.0) {
            return Err(bad("detect.learning_rate", "must be in (0, 1]"));
        }
        if !(d.min_iou > 0.0 && d.min_iou <= 1.0) {
            return Err(bad("detect.min_iou", "must be in (0, 1]"));
        }
        if !d.roi.is_empty() && d.roi.len() < 3 {
            return Err(bad(
                "detect.roi",
                "needs at least three points (or none for the whole frame)",
            ));
        }
        let onnx = detector::validate(d)?;
        let policy = match d.crop_policy {
            CropPolicyKind::First => CropPolicy::First,
            CropPolicyKind::Best => CropPolicy::Best,
            CropPolicyKind::Mean if (1..=16).contains(&d.top_k) => CropPolicy::MeanTopK(d.top_k),
            CropPolicyKind::Mean => return Err(bad("detect.top_k", "must be 1–16")),
        };
        let p = &self.publish;
        if p.window == 0 || p.window > 1000 {
            return Err(bad("publish.window", "must be 1–1000"));
        }
        if p.receipt_window < p.window || p.receipt_window > 100_000 {
            return Err(bad(
                "publish.receipt_window",
                "must be at least publish.window and at most 100000",
            ));
        }
        if p.receipt_timeout_s == 0 {
            return Err(bad("publish.receipt_timeout_s", "must be positive"));
        }
        self.mqtt.validate().map_err(|e| ConfigError::Invalid {
            key: e.key,
            message: e.message.to_owned(),
        })?;
        if self.queue.capacity == 0 {
            return Err(bad("queue.capacity", "must be positive"));
        }
        if self.queue.max_bytes < MIN_QUEUE_BYTES {
            return Err(bad(
                "queue.max_bytes",
                "must be at least 1 MiB (1048576): one largest record and its framing",
            ));
        }
        self.thumbnails.validate()?;
        let metrics_listen = if self.metrics_listen.is_empty() {
            None
        } else {
            Some(
                self.metrics_listen
                    .parse()
                    .map_err(|_| bad("metrics_listen", "must be host:port"))?,
            )
        };
        let motion = MotionSettings {
            learning_rate: d.learning_rate,
            threshold: d.threshold,
            min_pixels: d.min_pixels,
            warmup_frames: d.warmup_frames,
            close_radius: d.close_radius,
            ..MotionSettings::default()
        };
        let tracker = TrackerSettings {
            min_iou: d.min_iou,
            max_missed: d.max_missed,
            min_hits: d.min_hits.max(1),
            ..TrackerSettings::default()
        };
        let roi = Roi {
            polygon: d.roi.clone(),
        };
        Ok(Validated {
            config: self,
            key,
            motion,
            roi,
            onnx,
            tracker,
            policy,
            metrics_listen,
        })
    }

    /// The MQTT client id: `[mqtt] client_id`, else `spanreid-edge-<site>-<camera>`.
    pub fn client_id(&self) -> String {
        let c = &self.camera;
        self.mqtt
            .client_id_or(&format!("spanreid-edge-{}-{}", c.site, c.id))
    }
}

#[cfg(test)]
mod tests;
