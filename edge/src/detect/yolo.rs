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
mod tests;
