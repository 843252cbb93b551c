//! The ground-truth file of the synthetic camera streams (`ground_truth.csv` next to the
//! per-camera frame folders): `camera,frame,time_s,id,x0,y0,x1,y1,pixels`, one row per
//! vehicle visible in a frame.

use std::collections::BTreeMap;
use std::path::Path;

use super::CaptureError;
use crate::frame::BBox;

/// One vehicle visible in one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Sighting {
    /// Camera folder name, e.g. `c001`.
    pub camera: String,
    /// Frame number within the camera's stream.
    pub frame: u64,
    /// Global time of the frame on the streams' common clock, seconds.
    pub time_s: f64,
    /// Vehicle identity.
    pub id: u32,
    /// Bounding box of its visible pixels.
    pub bbox: BBox,
}

/// Parses the CSV text; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Sighting>, CaptureError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| CaptureError::GroundTruth {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 9 {
            return Err(bad(format!("expected 9 fields, found {}", f.len())));
        }
        let num = |k: usize| -> Result<u64, CaptureError> {
            f[k].trim()
                .parse::<u64>()
                .map_err(|e| bad(format!("field {} {:?}: {e}", k + 1, f[k])))
        };
        let small = |k: usize| -> Result<u32, CaptureError> {
            u32::try_from(num(k)?).map_err(|e| bad(format!("field {}: {e}", k + 1)))
        };
        out.push(Sighting {
            camera: f[0].to_string(),
            frame: num(1)?,
            time_s: f[2]
                .trim()
                .parse::<f64>()
                .map_err(|e| bad(format!("field 3 {:?}: {e}", f[2])))?,
            id: small(3)?,
            bbox: BBox {
                x0: small(4)?,
                y0: small(5)?,
                x1: small(6)?,
                y1: small(7)?,
            },
        });
    }
    Ok(out)
}

/// Reads and parses a ground-truth file.
pub fn read(path: &Path) -> Result<Vec<Sighting>, CaptureError> {
    let text = std::fs::read_to_string(path).map_err(|source| CaptureError::List {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// The distinct vehicle passages of one camera: identity → (first frame, last frame).
/// A vehicle passing the same camera twice would need a gap; the streams never do that.
pub fn passages(rows: &[Sighting], camera: &str) -> BTreeMap<u32, (u64, u64)> {
    let mut out: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.camera == camera) {
        let e = out.entry(r.id).or_insert((r.frame, r.frame));
        e.0 = e.0.min(r.frame);
        e.1 = e.1.max(r.frame);
    }
    out
}

/// The identity whose ground-truth box in `frame` of `camera` overlaps `bbox` most, if that
/// overlap (intersection over union) reaches `min_iou`.
pub fn identify(
    rows: &[Sighting],
    camera: &str,
    frame: u64,
    bbox: &BBox,
    min_iou: f32,
) -> Option<u32> {
    rows.iter()
        .filter(|r| r.camera == camera && r.frame == frame)
        .map(|r| (r.bbox.iou(bbox), r.id))
        .filter(|(iou, _)| *iou >= min_iou)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id)
}

/// Global time of frame 0 of `camera` on the streams' clock, from any of its rows.
pub fn stream_start_s(rows: &[Sighting], camera: &str, fps: f64) -> Option<f64> {
    rows.iter()
        .find(|r| r.camera == camera)
        .map(|r| r.time_s - r.frame as f64 / fps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "camera,frame,time_s,id,x0,y0,x1,y1,pixels\n\
        c001,3,0.3,0042,10,20,30,40,300\n\
        c001,4,0.4,0042,12,20,32,40,300\n\
        c002,9,0.9,0042,1,2,3,4,4\n\
        c001,7,0.7,0043,0,0,5,5,25\n";

    #[test]
    fn parses_rows_and_groups_passages_per_camera() {
        let rows = parse(CSV, Path::new("gt.csv")).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0].bbox,
            BBox {
                x0: 10,
                y0: 20,
                x1: 30,
                y1: 40
            }
        );
        let p = passages(&rows, "c001");
        assert_eq!(p.len(), 2);
        assert_eq!(p[&42], (3, 4));
        assert_eq!(p[&43], (7, 7));
        assert!((stream_start_s(&rows, "c002", 10.0).unwrap() - 0.0).abs() < 1e-9);
    }

    #[test]
    fn a_box_is_identified_by_its_best_overlap() {
        let rows = parse(CSV, Path::new("gt.csv")).unwrap();
        let near = BBox {
            x0: 11,
            y0: 21,
            x1: 31,
            y1: 41,
        };
        assert_eq!(identify(&rows, "c001", 3, &near, 0.5), Some(42));
        assert_eq!(
            identify(&rows, "c001", 5, &near, 0.5),
            None,
            "no row in frame 5"
        );
        let far = BBox {
            x0: 100,
            y0: 100,
            x1: 120,
            y1: 120,
        };
        assert_eq!(identify(&rows, "c001", 3, &far, 0.1), None);
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let err = parse("h\nc001,x,0,1,0,0,1,1,1\n", Path::new("gt.csv")).unwrap_err();
        assert!(err.to_string().starts_with("gt.csv:2:"), "{err}");
        let err = parse("h\nc001,1\n", Path::new("gt.csv")).unwrap_err();
        assert!(err.to_string().contains("expected 9 fields"), "{err}");
    }
}
