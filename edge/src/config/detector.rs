//! `detect.detector` and `[detect.onnx]`: which detector runs, and the settings of the
//! optional ONNX object detector, checked once.

use std::path::PathBuf;

use serde::Deserialize;

use super::options::keyed;
use super::{ConfigError, DetectConfig};
use crate::detect::{DetectorKind, Layout, OnnxDetectorSettings, YoloSettings};

/// `[detect.onnx]`: a YOLO-style ONNX object detector, used when `detect.detector = "onnx"`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OnnxDetectConfig {
    /// The model file; required with `detector = "onnx"`.
    pub model: Option<PathBuf>,
    /// 64 hex digits: the sha256 the model file must have; unchecked when absent.
    pub sha256: Option<String>,
    /// Side `N` of the model's `[1, 3, N, N]` input.
    pub input_size: u32,
    /// `yolov8` (`[1, 4 + classes, boxes]`) or `yolov5` (`[1, boxes, 5 + classes]`).
    #[serde(deserialize_with = "keyed")]
    pub layout: Layout,
    /// Class ids kept (default: COCO car, bus, truck).
    pub classes: Vec<u32>,
    /// Least score (objectness × class score for `yolov5`) of a detection.
    pub score_threshold: f32,
    /// A box overlapping a better one by more than this IoU is dropped (any class).
    pub nms_iou: f32,
}

/// Input side of the usual YOLO exports.
pub const DEFAULT_INPUT_SIZE: u32 = 640;

impl Default for OnnxDetectConfig {
    fn default() -> Self {
        let y = YoloSettings::default();
        OnnxDetectConfig {
            model: None,
            sha256: None,
            input_size: DEFAULT_INPUT_SIZE,
            layout: y.layout,
            classes: y.classes,
            score_threshold: y.score_threshold,
            nms_iou: y.nms_iou,
        }
    }
}

/// Checks `[detect.onnx]` (even when unused, so a switch to `onnx` holds no surprise); the
/// ONNX detector's settings when `detect.detector` chooses it.
pub(super) fn validate(d: &DetectConfig) -> Result<Option<OnnxDetectorSettings>, ConfigError> {
    let bad = |key: &'static str, message: &str| ConfigError::Invalid {
        key,
        message: message.to_string(),
    };
    let o = &d.onnx;
    if !(32..=4096).contains(&o.input_size) {
        return Err(bad("detect.onnx.input_size", "must be 32–4096"));
    }
    if o.classes.is_empty() {
        return Err(bad("detect.onnx.classes", "needs at least one class id"));
    }
    if !(o.score_threshold > 0.0 && o.score_threshold <= 1.0) {
        return Err(bad("detect.onnx.score_threshold", "must be in (0, 1]"));
    }
    if !(o.nms_iou > 0.0 && o.nms_iou <= 1.0) {
        return Err(bad("detect.onnx.nms_iou", "must be in (0, 1]"));
    }
    if let Some(h) = &o.sha256
        && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(bad("detect.onnx.sha256", "must be 64 hex digits"));
    }
    match d.detector {
        DetectorKind::Motion => return Ok(None),
        DetectorKind::Onnx => {}
    }
    let model = o
        .model
        .clone()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| {
            bad(
                "detect.onnx.model",
                "is required with detect.detector = \"onnx\"",
            )
        })?;
    Ok(Some(OnnxDetectorSettings {
        model,
        sha256: o.sha256.as_ref().map(|h| h.to_ascii_lowercase()),
        input_size: o.input_size,
        yolo: YoloSettings {
            layout: o.layout,
            classes: o.classes.clone(),
            score_threshold: o.score_threshold,
            nms_iou: o.nms_iou,
        },
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{Config, Validated};

    const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn parse(detect: &str) -> Result<Validated, ConfigError> {
        Config::from_toml(
            &format!("[camera]\nkey_hex = \"{KEY}\"\n[detect]\n{detect}"),
            Path::new("edge.toml"),
        )?
        .validate()
    }

    fn err(detect: &str) -> String {
        parse(detect).unwrap_err().to_string()
    }

    #[test]
    fn motion_is_the_default_and_an_onnx_table_parses() {
        let v = parse("").unwrap();
        assert_eq!(v.config.detect.detector, DetectorKind::Motion);
        assert!(v.onnx.is_none());
        let v = parse(
            "detector = \"onnx\"\n[detect.onnx]\nmodel = \"m/yolo.onnx\"\ninput_size = 320\n\
             layout = \"yolov5\"\nclasses = [2]\nscore_threshold = 0.5\nnms_iou = 0.6\n\
             sha256 = \"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"\n",
        )
        .unwrap();
        let o = v.onnx.unwrap();
        assert_eq!(o.model, PathBuf::from("m/yolo.onnx"));
        assert_eq!(o.input_size, 320);
        assert_eq!(o.yolo.layout, Layout::Yolov5);
        assert_eq!(o.yolo.classes, vec![2]);
        assert_eq!((o.yolo.score_threshold, o.yolo.nms_iou), (0.5, 0.6));
        assert!(o.sha256.unwrap().starts_with("abcdef"));
        let v = parse("detector = \"onnx\"\nonnx = { model = \"y.onnx\" }\n").unwrap();
        let o = v.onnx.unwrap();
        assert_eq!(o.yolo, YoloSettings::default());
        assert_eq!(o.input_size, DEFAULT_INPUT_SIZE);
    }

    #[test]
    fn errors_name_the_key() {
        let e = err("detector = \"yolo\"\n");
        assert!(
            e.contains("detect.detector: unknown variant `yolo`, expected `motion` or `onnx`"),
            "{e}"
        );
        let e = err("[detect.onnx]\nlayout = \"yolov7\"\n");
        assert!(
            e.contains(
                "detect.onnx.layout: unknown variant `yolov7`, expected `yolov5` or `yolov8`"
            ),
            "{e}"
        );
        let e = err("detector = \"onnx\"\n");
        assert!(
            e.starts_with("config detect.onnx.model: is required"),
            "{e}"
        );
        let e = err("detector = \"onnx\"\n[detect.onnx]\nmodel = \"\"\n");
        assert!(e.starts_with("config detect.onnx.model"), "{e}");
        for (line, key) in [
            ("input_size = 8", "detect.onnx.input_size"),
            ("classes = []", "detect.onnx.classes"),
            ("score_threshold = 0.0", "detect.onnx.score_threshold"),
            ("score_threshold = nan", "detect.onnx.score_threshold"),
            ("nms_iou = 1.5", "detect.onnx.nms_iou"),
            ("sha256 = \"abc\"", "detect.onnx.sha256"),
        ] {
            // Checked even while the motion detector runs.
            let e = err(&format!("[detect.onnx]\nmodel = \"y.onnx\"\n{line}\n"));
            assert!(e.starts_with(&format!("config {key}:")), "{line}: {e}");
        }
        let e = err("[detect.onnx]\nmodle = \"y.onnx\"\n");
        assert!(e.contains("modle"), "{e}");
    }

    #[test]
    fn the_example_configs_onnx_table_is_valid_once_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("edge-agent.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut edited = String::new();
        let mut table = false;
        for line in text.lines() {
            table = line == "# [detect.onnx]" || (table && line.starts_with("# "));
            let line = match line {
                "detector = \"motion\"" => "detector = \"onnx\"",
                // A placeholder, not a hash.
                l if l.starts_with("# sha256") => "",
                l if table => &l[2..],
                l => l,
            };
            edited.push_str(line);
            edited.push('\n');
        }
        let v = Config::from_toml(&edited, &path)
            .unwrap()
            .validate()
            .unwrap();
        let o = v.onnx.unwrap();
        assert_eq!(
            o.model,
            PathBuf::from("/usr/share/spanreid/models/yolov8n.onnx")
        );
        assert_eq!(o.input_size, 640);
        assert_eq!(o.yolo, YoloSettings::default());
    }
}
