//! The VeRi-776 layout on disk: image folders, name lists, `*_label.xml`, orientation
//! labels in the VeRi keypoint-file format, SPAN's `dataset.csv`, and the mask folders.
//! The label texts come from the core library's writers; the `write_*` functions here do
//! the file I/O.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use spanreid::dataset::orientation::KEYPOINTS;
use spanreid::dataset::{
    LabelItem, LabelRoot, OrientationRecord, ViewLabel, WriteError, write_label_xml,
    write_name_list, write_orientation_file, write_span_csv,
};

use crate::synth::view::{Orientation, View};

/// Which part of the dataset an image is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Split {
    /// `image_train`.
    Train,
    /// `image_test` (and, for queries, also `image_query`).
    Test,
}

/// One rendered image's labels.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Record {
    /// File name, `<id:04>_c<cam:03>_<frame:08>_<n>.jpg`.
    pub name: String,
    /// Vehicle id.
    pub id: u32,
    /// Camera number.
    pub camera: u32,
    /// VeRi colour id.
    pub colour_id: u8,
    /// VeRi type id.
    pub type_id: u8,
    /// Split.
    pub split: Split,
    /// Also a query image.
    pub query: bool,
    /// Camera azimuth around the vehicle, degrees.
    pub azimuth_deg: f32,
    /// VeRi orientation.
    pub orientation: Orientation,
    /// SPAN view.
    pub view: View,
}

/// Errors writing the dataset.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A label could not be written in its format.
    #[error("label file: {0}")]
    Label(#[from] WriteError),
    /// An image could not be encoded.
    #[error("encoding {path}: {message}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// Encoder message.
        message: String,
    },
}

/// VeRi image file name.
pub fn image_name(id: u32, camera: u32, frame: u32, n: u32) -> String {
    format!("{id:04}_c{camera:03}_{frame:08}_{n}.jpg")
}

/// Folder of a split.
pub fn split_dir(split: Split) -> &'static str {
    match split {
        Split::Train => "image_train",
        Split::Test => "image_test",
    }
}

/// `train_label.xml` / `test_label.xml` text for the records, in order.
pub fn label_xml<'a>(root: LabelRoot, records: impl IntoIterator<Item = &'a Record>) -> String {
    let items: Vec<LabelItem> = records
        .into_iter()
        .map(|r| LabelItem {
            image_name: r.name.clone(),
            vehicle_id: r.id,
            camera: r.camera,
            color: Some(u32::from(r.colour_id)),
            vehicle_type: Some(u32::from(r.type_id)),
        })
        .collect();
    write_label_xml(root, &items)
}

/// VeRi keypoint-file text: each image path (under `dir`) with 20 keypoints, all `-1 -1`
/// (not annotated), and its orientation.
pub fn keypoint_file<'a>(
    dir: &str,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<String, WriteError> {
    let rows: Vec<OrientationRecord> = records
        .into_iter()
        .map(|r| OrientationRecord {
            path: format!("{dir}/{}", r.name),
            keypoints: [[-1, -1]; KEYPOINTS],
            orientation: r.orientation,
        })
        .collect();
    write_orientation_file(&rows)
}

/// SPAN's `dataset.csv`: every image path with its view number.
pub fn span_csv<'a>(records: impl IntoIterator<Item = &'a Record>) -> Result<String, WriteError> {
    let rows: Vec<ViewLabel> = records
        .into_iter()
        .map(|r| ViewLabel {
            filename: format!("{}/{}", split_dir(r.split), r.name),
            view: r.view,
        })
        .collect();
    write_span_csv(&rows)
}

/// The renderer's own view table: `image,id,camera,view,orientation,azimuth_deg` with the
/// SPAN view number, the VeRi orientation number and the camera azimuth in degrees.
pub fn views_csv<'a>(records: impl IntoIterator<Item = &'a Record>) -> String {
    let mut s = String::from("image,id,camera,view,orientation,azimuth_deg\n");
    for r in records {
        let _ = writeln!(
            s,
            "{}/{},{},{},{},{},{:.1}",
            split_dir(r.split),
            r.name,
            r.id,
            r.camera,
            r.view.index(),
            r.orientation.index(),
            r.azimuth_deg
        );
    }
    s
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| LayoutError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| LayoutError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes every list and label file for `records` under `out`.
pub fn write_lists(out: &Path, records: &[Record]) -> Result<(), LayoutError> {
    let of = |split: Split| records.iter().filter(move |r| r.split == split);
    let names = |rs: &mut dyn Iterator<Item = &Record>| -> Result<String, WriteError> {
        let v: Vec<&str> = rs.map(|r| r.name.as_str()).collect();
        write_name_list(&v)
    };
    let queries = || records.iter().filter(|r| r.query);
    write(
        &out.join("name_train.txt"),
        names(&mut of(Split::Train))?.as_bytes(),
    )?;
    write(
        &out.join("name_test.txt"),
        names(&mut of(Split::Test))?.as_bytes(),
    )?;
    write(
        &out.join("name_query.txt"),
        names(&mut queries())?.as_bytes(),
    )?;
    write(
        &out.join("train_label.xml"),
        label_xml(LabelRoot::Training, of(Split::Train)).as_bytes(),
    )?;
    write(
        &out.join("test_label.xml"),
        label_xml(LabelRoot::Test, of(Split::Test)).as_bytes(),
    )?;
    write(
        &out.join("keypoint_train.txt"),
        keypoint_file("image_train", of(Split::Train))?.as_bytes(),
    )?;
    write(
        &out.join("keypoint_test.txt"),
        keypoint_file("image_test", of(Split::Test))?.as_bytes(),
    )?;
    write(
        &out.join("keypoint_query.txt"),
        keypoint_file("image_query", queries())?.as_bytes(),
    )?;
    write(&out.join("dataset.csv"), span_csv(records)?.as_bytes())?;
    write(&out.join("views.csv"), views_csv(records).as_bytes())?;
    Ok(())
}

/// Writes an RGB image as JPEG.
pub fn write_jpeg(
    path: &Path,
    rgb: &[[f32; 3]],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<(), LayoutError> {
    let bytes: Vec<u8> = rgb
        .iter()
        .flat_map(|p| p.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8))
        .collect();
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .encode(&bytes, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| LayoutError::Encode {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    write(path, &buf)
}

/// Writes an 8-bit grey image as PNG.
pub fn write_png_gray(
    path: &Path,
    data: &[u8],
    width: u32,
    height: u32,
) -> Result<(), LayoutError> {
    encode_png(path, data, width, height, image::ExtendedColorType::L8)
}

/// Writes an 8-bit RGB image as PNG.
pub fn write_png_rgb(path: &Path, data: &[u8], width: u32, height: u32) -> Result<(), LayoutError> {
    encode_png(path, data, width, height, image::ExtendedColorType::Rgb8)
}

fn encode_png(
    path: &Path,
    data: &[u8],
    width: u32,
    height: u32,
    ty: image::ExtendedColorType,
) -> Result<(), LayoutError> {
    use image::ImageEncoder as _;
    let mut buf = Vec::new();
    image::codecs::png::PngEncoder::new(&mut buf)
        .write_image(data, width, height, ty)
        .map_err(|e| LayoutError::Encode {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    write(path, &buf)
}

/// Writes a text file.
pub fn write_text(path: &Path, text: &str) -> Result<(), LayoutError> {
    write(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, split: Split, query: bool) -> Record {
        Record {
            name: name.to_owned(),
            id: 12,
            camera: 3,
            colour_id: 5,
            type_id: 1,
            split,
            query,
            azimuth_deg: 90.0,
            orientation: Orientation::Left,
            view: View::Side,
        }
    }

    #[test]
    fn names_follow_veri() {
        assert_eq!(image_name(12, 3, 4567, 0), "0012_c003_00004567_0.jpg");
    }

    #[test]
    fn label_xml_is_veri_shaped() {
        let r = rec("0012_c003_00004567_0.jpg", Split::Train, false);
        let x = label_xml(LabelRoot::Training, [&r]);
        assert_eq!(
            x,
            "<?xml version=\"1.0\" encoding=\"gb2312\"?>\n<TrainingImages Version=\"1.0\">\n<Items number=\"1\">\n<Item imageName=\"0012_c003_00004567_0.jpg\" vehicleID=\"0012\" cameraID=\"c003\" colorID=\"5\" typeID=\"1\" />\n</Items>\n</TrainingImages>\n"
        );
    }

    #[test]
    fn keypoint_line_has_40_missing_coordinates_and_the_label() {
        let mut r = rec("a.jpg", Split::Train, false);
        r.orientation = Orientation::RightRear;
        let text = keypoint_file("image_train", [&r]).unwrap();
        let w: Vec<&str> = text.trim_end().split(' ').collect();
        assert_eq!(w.len(), 42);
        assert_eq!(w[0], "image_train/a.jpg");
        assert!(w[1..41].iter().all(|v| *v == "-1"));
        assert_eq!(w[41], "7");
    }

    #[test]
    fn lists_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let rs = vec![
            rec("0001_c001_00000001_0.jpg", Split::Train, false),
            rec("0002_c001_00000001_0.jpg", Split::Test, true),
            rec("0002_c002_00000002_0.jpg", Split::Test, false),
        ];
        write_lists(dir.path(), &rs).unwrap();
        let q = std::fs::read_to_string(dir.path().join("name_query.txt")).unwrap();
        assert_eq!(q, "0002_c001_00000001_0.jpg\n");
        let t = std::fs::read_to_string(dir.path().join("name_test.txt")).unwrap();
        assert_eq!(t.lines().count(), 2);
        let csv = std::fs::read_to_string(dir.path().join("views.csv")).unwrap();
        assert!(csv.contains("image_test/0002_c002_00000002_0.jpg,12,3,2,2,90.0"));
        let span = std::fs::read_to_string(dir.path().join("dataset.csv")).unwrap();
        assert_eq!(
            span.lines().nth(1),
            Some("image_train/0001_c001_00000001_0.jpg,2")
        );
    }
}
