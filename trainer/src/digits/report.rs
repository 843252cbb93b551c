//! Scoring of per-class masks on multi-digit canvases, and the report: per class the IoU of
//! the thresholded mask against that class's digit pixels on canvases that show the class,
//! and the mask's area on canvases that do not (relative to their foreground), next to a
//! baseline that uses the whole foreground as every class's mask.

use image::{Rgb, RgbImage};
use serde::Serialize;

/// Pixel counts of one mask source (a threshold of the network, or the baseline).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassCounts {
    /// Per class: |pred ∩ truth| over canvases showing the class.
    pub intersection: Vec<u64>,
    /// Per class: |pred ∪ truth| over canvases showing the class.
    pub union: Vec<u64>,
    /// Per class: predicted pixels over canvases not showing the class.
    pub absent_pred: Vec<u64>,
    /// Per class: foreground pixels over canvases not showing the class.
    pub absent_fg: Vec<u64>,
}

impl ClassCounts {
    /// Zero counts for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            intersection: vec![0; classes],
            union: vec![0; classes],
            absent_pred: vec![0; classes],
            absent_fg: vec![0; classes],
        }
    }

    /// Adds one canvas: `pred(k, i)` says whether pixel i is predicted for class k; `truth`
    /// holds labels (k + 1 for class k), `fg` the foreground and `present` the labels.
    pub fn add(
        &mut self,
        pred: impl Fn(usize, usize) -> bool,
        truth: &[u8],
        fg: &[bool],
        present: &[bool],
    ) {
        for (k, &shown) in present.iter().enumerate() {
            let label = k as u8 + 1;
            for (i, &t) in truth.iter().enumerate() {
                let p = pred(k, i);
                if shown {
                    let t = t == label;
                    self.intersection[k] += u64::from(p && t);
                    self.union[k] += u64::from(p || t);
                } else {
                    self.absent_pred[k] += u64::from(p);
                    self.absent_fg[k] += u64::from(fg[i]);
                }
            }
        }
    }

    /// The scores.
    pub fn scores(&self) -> Scores {
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let iou: Vec<Option<f64>> = self
            .intersection
            .iter()
            .zip(&self.union)
            .map(|(&i, &u)| ratio(i, u))
            .collect();
        let absent_area: Vec<Option<f64>> = self
            .absent_pred
            .iter()
            .zip(&self.absent_fg)
            .map(|(&p, &f)| ratio(p, f))
            .collect();
        Scores {
            mean_iou: mean(&iou),
            mean_absent_area: mean(&absent_area),
            iou,
            absent_area,
        }
    }
}

fn mean(v: &[Option<f64>]) -> Option<f64> {
    let vals: Vec<f64> = v.iter().flatten().copied().collect();
    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

/// Scores of one mask source.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// Per class IoU on canvases showing it.
    pub iou: Vec<Option<f64>>,
    /// Mean over classes.
    pub mean_iou: Option<f64>,
    /// Per class: predicted pixels / foreground pixels on canvases not showing it (0 is
    /// ideal; the baseline has 1).
    pub absent_area: Vec<Option<f64>>,
    /// Mean over classes.
    pub mean_absent_area: Option<f64>,
}

/// The network's scores at one threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThresholdScores {
    /// A pixel is in a class's mask when the mask is at least this.
    pub threshold: f32,
    /// The scores.
    #[serde(flatten)]
    pub scores: Scores,
}

/// What `eval-digits` measured (`eval/digits.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DigitsReport {
    /// Test canvases scored.
    pub canvases: usize,
    /// The classes, in mask order.
    pub classes: Vec<u8>,
    /// The network, per threshold.
    pub network: Vec<ThresholdScores>,
    /// The whole foreground as every class's mask.
    pub baseline: Scores,
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"))
}

/// The report as a markdown table.
pub fn markdown(r: &DigitsReport) -> String {
    let mut out = format!(
        "Digit localisation on {} test canvases: IoU of each class's thresholded mask with \
         its digits' pixels (canvases showing the class), and the mask's area relative to \
         the foreground on canvases not showing it.\n\n| masks |",
        r.canvases
    );
    for c in &r.classes {
        out.push_str(&format!(" IoU '{c}' |"));
    }
    out.push_str(" mean IoU | absent-class area |\n|---|");
    out.push_str(&"---:|".repeat(r.classes.len() + 2));
    out.push('\n');
    let mut row = |name: String, s: &Scores| {
        out.push_str(&format!("| {name} |"));
        for v in &s.iou {
            out.push_str(&format!(" {} |", cell(*v)));
        }
        out.push_str(&format!(
            " {} | {} |\n",
            cell(s.mean_iou),
            cell(s.mean_absent_area)
        ));
    };
    for t in &r.network {
        row(format!("SPAN, mask ≥ {}", t.threshold), &t.scores);
    }
    row("baseline: whole foreground".to_owned(), &r.baseline);
    out
}

/// Colours of up to ten classes, in mask order.
pub const CLASS_COLOURS: [[u8; 3]; 10] = [
    [230, 40, 40],
    [40, 200, 60],
    [50, 90, 235],
    [235, 200, 30],
    [200, 60, 220],
    [30, 210, 220],
    [240, 130, 30],
    [150, 150, 150],
    [120, 70, 30],
    [255, 255, 255],
];

/// One picture row like Fig. 4b: the canvas, each class's mask over the dimmed canvas in
/// its colour, and the ground truth. `pixels`, `truth` HW; `masks` C×HW in [0, 1].
pub fn overlay_row(pixels: &[u8], masks: &[f32], truth: &[u8], size: u32) -> RgbImage {
    let hw = pixels.len();
    let classes = masks.len() / hw.max(1);
    let mut out = RgbImage::new(size * (classes as u32 + 2), size);
    for i in 0..hw {
        let (x, y) = (i as u32 % size, i as u32 / size);
        let g = pixels[i];
        out.put_pixel(x, y, Rgb([g, g, g]));
        for k in 0..classes {
            let a = masks[k * hw + i].clamp(0.0, 1.0);
            let px = Rgb(CLASS_COLOURS[k % 10]
                .map(|c| (f32::from(g / 3) * (1.0 - a) + f32::from(c) * a).round() as u8));
            out.put_pixel((k as u32 + 1) * size + x, y, px);
        }
        let t = match truth[i] {
            0 => [0, 0, 0],
            l => CLASS_COLOURS[usize::from(l - 1) % 10],
        };
        out.put_pixel((classes as u32 + 1) * size + x, y, Rgb(t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_hand() {
        // 4 pixels, 2 classes; canvas shows class 0 at pixels 0, 1; class 1 absent.
        let truth = [1u8, 1, 0, 0];
        let fg = [true, true, false, false];
        let present = [true, false];
        // Class 0 predicted at 1, 2 → ∩ 1, ∪ 3. Class 1 predicted at 0 → absent area 1/2.
        let pred = |k: usize, i: usize| (k == 0 && (i == 1 || i == 2)) || (k == 1 && i == 0);
        let mut c = ClassCounts::new(2);
        c.add(pred, &truth, &fg, &present);
        let s = c.scores();
        assert_eq!(s.iou, [Some(1.0 / 3.0), None]);
        assert_eq!(s.absent_area, [None, Some(0.5)]);
        assert_eq!(s.mean_iou, Some(1.0 / 3.0));
        // The whole-foreground baseline: IoU 1 here, absent area 1.
        let mut b = ClassCounts::new(2);
        b.add(|_, i| fg[i], &truth, &fg, &present);
        assert_eq!(b.scores().iou[0], Some(1.0));
        assert_eq!(b.scores().absent_area[1], Some(1.0));
    }

    #[test]
    fn markdown_has_a_row_per_threshold_and_the_baseline() {
        let s = Scores {
            iou: vec![Some(0.5), None],
            mean_iou: Some(0.5),
            absent_area: vec![Some(0.1), Some(0.2)],
            mean_absent_area: Some(0.15),
        };
        let r = DigitsReport {
            canvases: 3,
            classes: vec![0, 7],
            network: vec![ThresholdScores {
                threshold: 0.2,
                scores: s.clone(),
            }],
            baseline: s,
        };
        let md = markdown(&r);
        assert!(
            md.contains("| SPAN, mask ≥ 0.2 | 0.500 | – | 0.500 | 0.150 |"),
            "{md}"
        );
        assert!(md.contains("IoU '7'") && md.contains("baseline"), "{md}");
    }

    #[test]
    fn overlay_has_canvas_masks_and_truth() {
        let row = overlay_row(&[255], &[1.0, 0.0], &[2], 1);
        assert_eq!(row.dimensions(), (4, 1));
        assert_eq!(row.get_pixel(1, 0), &Rgb(CLASS_COLOURS[0]));
        assert_eq!(row.get_pixel(3, 0), &Rgb(CLASS_COLOURS[1]));
    }
}
