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
