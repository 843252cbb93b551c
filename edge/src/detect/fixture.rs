//! A tiny stand-in object detector written as a real ONNX file, for tests and for trying
//! `detector = "onnx"` without a trained model. It sees the input as a grid of
//! `cell`×`cell` cells and reports each bright one: a Conv with kernel = stride = `cell`
//! averages each cell's brightness, `objectness = Sigmoid(SLOPE · (mean − LEVEL))`, and the
//! box of a cell is the cell itself (constant). One class, id `class`, scores 1.

use super::yolo::Layout;
use spanreid_infer::graph::{Attr, GraphBuilder};

/// Steepness of the objectness sigmoid.
pub const SLOPE: f32 = 20.0;
/// Mean cell brightness (0..1) at which objectness is ½; above YOLO's padding grey
/// (114/255), so padding and dark cells are not objects.
pub const LEVEL: f32 = 0.6;
/// Name of the input.
pub const INPUT: &str = "images";
/// Name of the output.
pub const OUTPUT: &str = "output0";

/// Shape of the fixture detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixtureDetector {
    /// Input side `N` (a multiple of `cell`).
    pub side: u32,
    /// Grid cell side, in input pixels.
    pub cell: u32,
    /// Class id of every box; the model outputs `class + 1` class scores.
    pub class: u32,
    /// Output layout.
    pub layout: Layout,
}

impl Default for FixtureDetector {
    /// 64 × 64 input, 8 × 8 cells, class 0, YOLOv5 layout.
    fn default() -> Self {
        FixtureDetector {
            side: 64,
            cell: 8,
            class: 0,
            layout: Layout::Yolov5,
        }
    }
}

/// The ONNX bytes of the fixture detector.
pub fn model_bytes(f: FixtureDetector) -> Vec<u8> {
    let (n, s) = (i64::from(f.side), i64::from(f.cell.max(1)));
    let g_side = n / s;
    let cells = g_side * g_side;
    let classes = i64::from(f.class) + 1;
    let mut g = GraphBuilder::new();
    g.input(INPUT, &[Some(1), Some(3), Some(n), Some(n)]);
    let taps = (3 * s * s) as usize;
    let w = g.f32s("cell_w", &[1, 3, s, s], vec![SLOPE / taps as f32; taps]);
    let b = g.f32s("cell_b", &[1], vec![-SLOPE * LEVEL]);
    let logit = g.node(
        "Conv",
        &[INPUT, &w, &b],
        "cell_logit",
        &[
            Attr::Ints("kernel_shape", vec![s, s]),
            Attr::Ints("strides", vec![s, s]),
        ],
    );
    let obj = g.node("Sigmoid", &[&logit], "objectness_grid", &[]);
    let flat = g.i64s("flat_shape", &[3], &[1, cells, 1]);
    let obj = g.node("Reshape", &[&obj, &flat], "objectness", &[]);
    // Row-major cells, as the Reshape orders them: (centre x, centre y, width, height).
    let mut boxes = Vec::with_capacity(cells as usize * 4);
    for gy in 0..g_side {
        for gx in 0..g_side {
            let centre = |k: i64| ((k * s) as f32) + s as f32 / 2.0;
            boxes.extend([centre(gx), centre(gy), s as f32, s as f32]);
        }
    }
    let boxes = g.f32s("boxes", &[1, cells, 4], boxes);
    let mut onehot = vec![0.0; classes as usize];
    onehot[f.class as usize] = 1.0;
    let out_dims = match f.layout {
        Layout::Yolov5 => {
            let scores: Vec<f32> = std::iter::repeat_n(onehot, cells as usize)
                .flatten()
                .collect();
            let scores = g.f32s("class_scores", &[1, cells, classes], scores);
            g.node(
                "Concat",
                &[&boxes, &obj, &scores],
                OUTPUT,
                &[Attr::Int("axis", 2)],
            );
            [1, cells, 5 + classes]
        }
        Layout::Yolov8 => {
            let onehot = g.f32s("class_onehot", &[1, 1, classes], onehot);
            let scores = g.node("Mul", &[&obj, &onehot], "class_scores", &[]);
            let rows = g.node(
                "Concat",
                &[&boxes, &scores],
                "rows",
                &[Attr::Int("axis", 2)],
            );
            g.node(
                "Transpose",
                &[&rows],
                OUTPUT,
                &[Attr::Ints("perm", vec![0, 2, 1])],
            );
            [1, 4 + classes, cells]
        }
    };
    g.output(OUTPUT, &out_dims.map(Some));
    g.metadata(
        "description",
        "spanreid-edge fixture detector: bright grid cells",
    );
    g.finish_bytes("detector_fixture", "spanreid-edge fixture")
}
