//! Decoding of YOLO-style detector outputs, pure logic: the two common layouts, a filter to
//! the wanted class ids and a score threshold, then class-agnostic greedy non-maximum
//! suppression. Boxes stay in network-input pixels; [`super::letterbox`] maps them back.
//!
//! - `yolov5`: `[1, boxes, 5 + classes]`, rows of cx, cy, w, h, objectness, class scores;
//!   a box's score for a class is objectness × class score.
//! - `yolov8`: `[1, 4 + classes, boxes]`, columns of cx, cy, w, h, class scores (no
//!   objectness).

use std::fmt;

use serde::Deserialize;

/// How the output tensor is laid out (`detect.onnx.layout`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[1, boxes, 5 + classes]` with objectness.
    Yolov5,
    /// `[1, 4 + classes, boxes]` without objectness.
    Yolov8,
}

impl Layout {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yolov5 => "yolov5",
            Self::Yolov8 => "yolov8",
        }
    }

    /// The expected shape, for messages.
    fn expected(self) -> &'static str {
        match self {
            Self::Yolov5 => "[1, boxes, 5 + classes] with boxes ≥ classes ≥ 1",
            Self::Yolov8 => "[1, 4 + classes, boxes] with boxes ≥ classes ≥ 1",
        }
    }

    /// `(boxes, classes)` of an output of this shape. A model has many more candidate
    /// boxes than classes, so a shape that reads the other way round is the other layout.
    pub fn dims(self, shape: &[usize]) -> Result<(usize, usize), DecodeError> {
        let dims = match (self, shape) {
            (Self::Yolov5, &[1, boxes, row]) if row > 5 => Some((boxes, row - 5)),
            (Self::Yolov8, &[1, column, boxes]) if column > 4 => Some((boxes, column - 4)),
            _ => None,
        };
        dims.filter(|(boxes, classes)| boxes >= classes)
            .ok_or_else(|| DecodeError::Shape {
                layout: self,
                shape: shape.to_vec(),
            })
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an output cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The output's shape does not fit the layout.
    #[error("output shape {shape:?} does not fit the {layout} layout: expected {}", layout.expected())]
    Shape {
        /// The configured layout.
        layout: Layout,
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// The output holds fewer or more values than its shape says.
    #[error("output of shape {shape:?} holds {len} values")]
    Length {
        /// The output's shape.
        shape: Vec<usize>,
        /// Values it holds.
        len: usize,
    },
    /// A wanted class id is not one the model outputs.
    #[error("class {class} of detect.onnx.classes is not among the model's {classes} classes")]
    Class {
        /// The class id.
        class: u32,
        /// Classes of the model.
        classes: usize,
    },
}

/// How detections are decoded and filtered.
#[derive(Clone, Debug, PartialEq)]
pub struct YoloSettings {
    /// Output layout.
    pub layout: Layout,
    /// Class ids kept; the others are ignored.
    pub classes: Vec<u32>,
    /// Least score of a detection.
    pub score_threshold: f32,
    /// A box overlapping a better one by more than this IoU is dropped.
    pub nms_iou: f32,
}

impl Default for YoloSettings {
    /// YOLOv8 layout, COCO car (2), bus (5) and truck (7), score 0.25, NMS IoU 0.45.
    fn default() -> Self {
        YoloSettings {
            layout: Layout::Yolov8,
            classes: vec![2, 5, 7],
            score_threshold: 0.25,
            nms_iou: 0.45,
        }
    }
}

/// One detected object, in network-input pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    /// `[x0, y0, x1, y1]`.
    pub bbox: [f32; 4],
    /// Score of its best wanted class.
    pub score: f32,
    /// That class id.
    pub class: u32,
}

/// Candidates kept for non-maximum suppression at most (the best-scoring ones).
pub const MAX_CANDIDATES: usize = 1000;

/// Number of classes of an output of this shape, after checking the shape against the
/// layout and the wanted class ids against the classes.
pub fn check_output(settings: &YoloSettings, shape: &[usize]) -> Result<usize, DecodeError> {
    let (_, classes) = settings.layout.dims(shape)?;
    if let Some(&class) = settings.classes.iter().find(|&&c| c as usize >= classes) {
        return Err(DecodeError::Class { class, classes });
    }
    Ok(classes)
}

/// The objects in one output (`data` in row-major order of `shape`), after the class and
/// score filter and non-maximum suppression, best first. Non-finite values never make a
/// detection.
pub fn decode(
    settings: &YoloSettings,
    shape: &[usize],
    data: &[f32],
) -> Result<Vec<Found>, DecodeError> {
    check_output(settings, shape)?;
    let (boxes, _) = settings.layout.dims(shape)?;
    if data.len() != shape.iter().product::<usize>() {
        return Err(DecodeError::Length {
            shape: shape.to_vec(),
            len: data.len(),
        });
    }
    // Stride between boxes and between fields of a box, first class field, objectness field.
    let (box_stride, field_stride, first_class, objectness) = match settings.layout {
        Layout::Yolov5 => (data.len() / boxes.max(1), 1, 5, Some(4)),
        Layout::Yolov8 => (1, boxes, 4, None),
    };
    let at = |b: usize, field: usize| data[b * box_stride + field * field_stride];
    let mut found = Vec::new();
    for b in 0..boxes {
        let obj = objectness.map_or(1.0, |field| at(b, field));
        let mut best: Option<(f32, u32)> = None;
        for &class in &settings.classes {
            let score = obj * at(b, first_class + class as usize);
            // NaN compares false: it never passes the threshold nor beats another score.
            if score >= settings.score_threshold && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, class));
            }
        }
        let Some((score, class)) = best else {
            continue;
        };
        let (cx, cy, w, h) = (at(b, 0), at(b, 1), at(b, 2), at(b, 3));
        if !(w > 0.0 && h > 0.0 && cx.is_finite() && cy.is_finite()) {
            continue;
        }
        found.push(Found {
            bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
            score,
            class,
        });
    }
    Ok(nms(found, settings.nms_iou))
}

/// Intersection over union of two `[x0, y0, x1, y1]` boxes (0 when the union is empty).
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Class-agnostic greedy non-maximum suppression: best score first, a box is kept unless
/// it overlaps a kept one by more than `max_iou`. Boxes with a NaN score or a non-finite
/// coordinate are dropped; at most [`MAX_CANDIDATES`] are considered.
pub fn nms(mut found: Vec<Found>, max_iou: f32) -> Vec<Found> {
    found.retain(|f| !f.score.is_nan() && f.bbox.iter().all(|v| v.is_finite()));
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found.truncate(MAX_CANDIDATES);
    let mut kept: Vec<Found> = Vec::new();
    for f in found {
        if kept.iter().all(|k| iou(&k.bbox, &f.bbox) <= max_iou) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A YOLOv5 row with `classes` class scores: box, objectness, one-hot-ish scores.
    fn row(b: [f32; 4], obj: f32, scores: &[(usize, f32)], classes: usize) -> Vec<f32> {
        let mut r = b.to_vec();
        r.push(obj);
        r.extend(std::iter::repeat_n(0.0, classes));
        for &(c, s) in scores {
            r[5 + c] = s;
        }
        r
    }

    fn settings(layout: Layout) -> YoloSettings {
        YoloSettings {
            layout,
            ..YoloSettings::default()
        }
    }

    /// The same boxes in the YOLOv8 layout: objectness folded into the class scores,
    /// transposed.
    fn to_v8(rows: &[Vec<f32>], classes: usize) -> (Vec<usize>, Vec<f32>) {
        let n = rows.len();
        let mut out = vec![0.0; (4 + classes) * n];
        for (b, r) in rows.iter().enumerate() {
            for f in 0..4 {
                out[f * n + b] = r[f];
            }
            for c in 0..classes {
                out[(4 + c) * n + b] = r[4] * r[5 + c];
            }
        }
        (vec![1, 4 + classes, n], out)
    }

    fn scene() -> Vec<Vec<f32>> {
        vec![
            // Two overlapping cars (IoU 0.82): only the better one survives.
            row([50.0, 50.0, 40.0, 20.0], 0.9, &[(2, 0.8)], 8),
            row([54.0, 50.0, 40.0, 20.0], 0.9, &[(2, 0.9)], 8),
            // A truck elsewhere, scored 0.5 × 0.8.
            row([150.0, 80.0, 60.0, 30.0], 0.5, &[(7, 0.8)], 8),
            // A confident person (class 0) and a weak bus.
            row([100.0, 100.0, 10.0, 30.0], 1.0, &[(0, 0.99), (5, 0.1)], 8),
            // A bus whose objectness sinks it under the threshold.
            row([10.0, 10.0, 8.0, 8.0], 0.2, &[(5, 1.0)], 8),
            // Many boxes (at least as many as classes).
            row([0.0; 4], 0.0, &[], 8),
            row([0.0; 4], 0.0, &[], 8),
            row([0.0; 4], 0.0, &[], 8),
        ]
    }

    #[test]
    fn keeps_the_higher_score_drops_other_classes_and_low_scores() {
        let rows = scene();
        let data: Vec<f32> = rows.concat();
        let found = decode(&settings(Layout::Yolov5), &[1, 8, 13], &data).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].bbox, [34.0, 40.0, 74.0, 60.0]);
        assert!((found[0].score - 0.81).abs() < 1e-6);
        assert_eq!(found[0].class, 2);
        assert_eq!(found[1].class, 7);
        assert!((found[1].score - 0.4).abs() < 1e-6);
        // The person counts once its class is wanted.
        let people = YoloSettings {
            classes: vec![0],
            ..settings(Layout::Yolov5)
        };
        let found = decode(&people, &[1, 8, 13], &data).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].class, found[0].bbox[0]), (0, 95.0));
    }

    #[test]
    fn yolov8_layout_decodes_the_same_boxes() {
        let rows = scene();
        let v5 = decode(&settings(Layout::Yolov5), &[1, 8, 13], &rows.concat()).unwrap();
        let (shape, data) = to_v8(&rows, 8);
        let v8 = decode(&settings(Layout::Yolov8), &shape, &data).unwrap();
        assert_eq!(v5.len(), v8.len());
        for (a, b) in v5.iter().zip(&v8) {
            assert_eq!((a.bbox, a.class), (b.bbox, b.class));
            assert!((a.score - b.score).abs() < 1e-6);
        }
    }

    #[test]
    fn nms_is_class_agnostic_and_respects_the_iou_limit() {
        let f = |x: f32, score: f32, class: u32| Found {
            bbox: [x, 0.0, x + 10.0, 10.0],
            score,
            class,
        };
        // IoU of boxes 5 apart: 50 / 150.
        let kept = nms(vec![f(0.0, 0.5, 2), f(5.0, 0.7, 7), f(30.0, 0.1, 5)], 0.3);
        assert_eq!(kept, vec![f(5.0, 0.7, 7), f(30.0, 0.1, 5)]);
        let kept = nms(vec![f(0.0, 0.5, 2), f(5.0, 0.7, 7)], 0.34);
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn wrong_shapes_and_lengths_are_typed_errors() {
        let s = settings(Layout::Yolov5);
        let shape_err = |shape: &[usize], layout: Layout| {
            let s = settings(layout);
            match decode(&s, shape, &vec![0.0; shape.iter().product()]) {
                Err(DecodeError::Shape { shape: got, .. }) => assert_eq!(got, shape),
                other => panic!("{shape:?}: {other:?}"),
            }
        };
        shape_err(&[8, 13], Layout::Yolov5);
        shape_err(&[2, 8, 13], Layout::Yolov5);
        shape_err(&[1, 8, 5], Layout::Yolov5);
        shape_err(&[1, 4, 8], Layout::Yolov8);
        // YOLOv8 output read as YOLOv5 and the other way round.
        shape_err(&[1, 84, 8400], Layout::Yolov5);
        shape_err(&[1, 25200, 85], Layout::Yolov8);
        assert_eq!(
            decode(&s, &[1, 8, 13], &[0.0; 10]),
            Err(DecodeError::Length {
                shape: vec![1, 8, 13],
                len: 10
            })
        );
        // Classes 5 and 7 wanted, the model has 3 classes.
        let err = check_output(&s, &[1, 8, 8]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Class {
                class: 5,
                classes: 3
            }
        );
        assert!(err.to_string().contains("detect.onnx.classes"), "{err}");
        assert_eq!(
            check_output(&settings(Layout::Yolov8), &[1, 84, 8400]),
            Ok(80)
        );
    }

    #[test]
    fn nan_and_infinite_values_never_panic_nor_detect() {
        let mut rows = scene();
        rows[0][4] = f32::NAN; // objectness
        rows[1][5 + 2] = f32::NAN; // class score
        rows[2][0] = f32::NAN; // centre
        rows[3][2] = f32::INFINITY; // width, and the person unwanted anyway
        rows[4] = row([10.0, 10.0, f32::NAN, 8.0], 1.0, &[(5, 1.0)], 8);
        rows[5] = row(
            [20.0, 20.0, 4.0, 4.0],
            f32::INFINITY,
            &[(2, 0.0), (5, 1.0)],
            8,
        );
        let found = decode(&settings(Layout::Yolov5), &[1, 8, 13], &rows.concat()).unwrap();
        // Only the box with an infinite objectness and a finite class score remains.
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].class, found[0].bbox),
            (5, [18.0, 18.0, 22.0, 22.0])
        );
        let nan_threshold = YoloSettings {
            score_threshold: f32::NAN,
            ..settings(Layout::Yolov5)
        };
        assert!(
            decode(&nan_threshold, &[1, 8, 13], &scene().concat())
                .unwrap()
                .is_empty()
        );
        let all_nan = vec![f32::NAN; 8 * 13];
        assert!(
            decode(&settings(Layout::Yolov5), &[1, 8, 13], &all_nan)
                .unwrap()
                .is_empty()
        );
        let odd = Found {
            bbox: [0.0, 0.0, 1.0, 1.0],
            score: f32::NAN,
            class: 2,
        };
        let fine = Found { score: 0.5, ..odd };
        assert_eq!(nms(vec![odd, fine, odd], f32::NAN), vec![fine]);
    }
}
