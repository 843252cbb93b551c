//! Layouts written to a temporary folder and read back through [`super::files`].

use std::path::Path;

use super::files::{
    load_cityflow, load_veri, read_label_xml, read_span_csv, verify_cityflow, verify_veri,
    write_text,
};
use super::label_xml::{LabelItem, LabelRoot, write_label_xml};
use super::name_list::write_name_list;
use super::span_csv::{ViewLabel, write_span_csv};
use super::views::View;
use super::{DatasetError, Split};
use crate::eval::Label;

fn touch(root: &Path, rel: &str) {
    write_text(&root.join(rel), "").unwrap();
}

fn item(name: &str, id: u32, camera: u32, color: Option<u32>) -> LabelItem {
    LabelItem {
        image_name: name.into(),
        vehicle_id: id,
        camera,
        color,
        vehicle_type: color.map(|c| c + 1),
    }
}

#[test]
fn veri_layout_with_lists_labels_and_a_folder_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let train = ["0001_c001_00016450_0.jpg", "0001_c002_00016500_0.jpg"];
    let test = ["0002_c003_00000100_0.jpg", "0002_c002_00000200_1.jpg"];
    // Query list missing on purpose: the folder is listed, sorted.
    let query = ["0002_c003_00000150_0.jpg", "0002_c001_00000120_0.jpg"];
    for (split, names) in [
        (Split::Train, &train),
        (Split::Test, &test),
        (Split::Query, &query),
    ] {
        for n in names {
            touch(root, &format!("{}/{n}", split.image_dir()));
        }
    }
    write_text(
        &root.join("name_train.txt"),
        &write_name_list(&train).unwrap(),
    )
    .unwrap();
    write_text(
        &root.join("name_test.txt"),
        &write_name_list(&test).unwrap(),
    )
    .unwrap();
    let labels = [item(train[0], 1, 1, Some(3)), item(train[1], 1, 2, Some(3))];
    write_text(
        &root.join("train_label.xml"),
        &write_label_xml(LabelRoot::Training, &labels),
    )
    .unwrap();

    let ds = load_veri(root).unwrap();
    assert_eq!(ds.train.len(), 2);
    assert_eq!(
        (ds.train[1].color, ds.train[1].vehicle_type),
        (Some(3), Some(4))
    );
    assert_eq!(ds.test[1].label(), Label::new(2, 2));
    assert_eq!(ds.test[1].name.index, 1);
    let q: Vec<u32> = ds.query.iter().map(|e| e.name.camera).collect();
    assert_eq!(q, [1, 3], "folder listing is sorted by name");
    assert_eq!(
        ds.query[0].path,
        root.join("image_query/0002_c001_00000120_0.jpg")
    );
    assert!(verify_veri(&ds).is_empty());

    std::fs::remove_file(root.join("image_test").join(test[0])).unwrap();
    assert_eq!(
        verify_veri(&load_veri(root).unwrap()),
        [root.join("image_test").join(test[0])]
    );
}

#[test]
fn veri_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(matches!(
        load_veri(root),
        Err(DatasetError::NotALayout { .. })
    ));
    write_text(
        &root.join("name_query.txt"),
        "0002_c003_00000150_0.jpg\nbad.jpg\n",
    )
    .unwrap();
    let e = load_veri(root).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("name_query.txt:2: name"), "{msg}");
    write_text(&root.join("name_query.txt"), "0002_c003_00000150_0.jpg\n").unwrap();
    write_text(
        &root.join("test_label.xml"),
        "<TestImages><Items><Item imageName=\"a\" /></Items></TestImages>",
    )
    .unwrap();
    write_text(&root.join("name_test.txt"), "").unwrap();
    let msg = load_veri(root).unwrap_err().to_string();
    assert!(msg.contains("test_label.xml:1: vehicleID"), "{msg}");
}

#[test]
fn cityflow_layout_has_unknown_query_identities() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let labels = [
        item("000001.jpg", 1, 1, None),
        item("000002.jpg", 1, 4, None),
    ];
    write_text(
        &root.join("train_label.xml"),
        &write_label_xml(LabelRoot::Training, &labels),
    )
    .unwrap();
    write_text(&root.join("name_query.txt"), "000001.jpg\n").unwrap();
    write_text(&root.join("name_test.txt"), "000001.jpg\n000002.jpg\n").unwrap();
    for rel in [
        "image_train/000001.jpg",
        "image_train/000002.jpg",
        "image_query/000001.jpg",
        "image_test/000001.jpg",
    ] {
        touch(root, rel);
    }
    let ds = load_cityflow(root).unwrap();
    assert_eq!(ds.train[1].camera, Some(4));
    assert_eq!(ds.query[0].id, None);
    assert_eq!(ds.test.len(), 2);
    assert_eq!(verify_cityflow(&ds), [root.join("image_test/000002.jpg")]);
}

#[test]
fn span_csv_file_round_trip_and_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dataset.csv");
    let rows = vec![ViewLabel {
        filename: "image_train/0001_c001_00016450_0.jpg".into(),
        view: View::RearSide,
    }];
    write_text(&path, &write_span_csv(&rows).unwrap()).unwrap();
    assert_eq!(read_span_csv(&path).unwrap(), rows);
    let missing = dir.path().join("nope.csv");
    let msg = read_span_csv(&missing).unwrap_err().to_string();
    assert!(msg.contains("nope.csv"), "{msg}");
}

#[test]
fn label_file_with_gb2312_bytes_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train_label.xml");
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"gb2312\"?>\n<!-- ".to_vec();
    bytes.extend_from_slice(&[0xb3, 0xb5, 0xc1, 0xbe]); // GB2312 text, not UTF-8
    bytes.extend_from_slice(
        b" -->\n<TrainingImages Version=\"1.0\"><Items number=\"1\">\n\
<Item imageName=\"0001_c001_00016450_0.jpg\" vehicleID=\"0001\" cameraID=\"c001\" \
colorID=\"1\" typeID=\"4\" />\n</Items></TrainingImages>\n",
    );
    std::fs::write(&path, bytes).unwrap();
    let items = read_label_xml(&path).unwrap();
    assert_eq!(
        items,
        [item("0001_c001_00016450_0.jpg", 1, 1, Some(1)).with_type(4)]
    );
}

trait WithType {
    fn with_type(self, t: u32) -> Self;
}

impl WithType for LabelItem {
    fn with_type(mut self, t: u32) -> Self {
        self.vehicle_type = Some(t);
        self
    }
}
