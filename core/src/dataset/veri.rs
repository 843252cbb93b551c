//! The VeRi-776 layout: `image_{train,query,test}/` folders, `name_{train,query,test}.txt`
//! lists and optional `train_label.xml` / `test_label.xml` (colour and type).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::ParseError;
use super::label_xml::LabelItem;
use super::name::{VERI_NAME_PATTERN, VeriName};
use super::name_list::ListedName;
use crate::eval::Label;

/// A split of a re-identification dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training images.
    Train,
    /// Query images.
    Query,
    /// Gallery (test) images.
    Test,
}

impl Split {
    /// All splits.
    pub const ALL: [Split; 3] = [Split::Train, Split::Query, Split::Test];

    /// Lower-case name (`train`, `query`, `test`).
    pub const fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Query => "query",
            Split::Test => "test",
        }
    }

    /// Image folder, e.g. `image_train`.
    pub const fn image_dir(self) -> &'static str {
        match self {
            Split::Train => "image_train",
            Split::Query => "image_query",
            Split::Test => "image_test",
        }
    }

    /// Name list, e.g. `name_train.txt`.
    pub const fn list_file(self) -> &'static str {
        match self {
            Split::Train => "name_train.txt",
            Split::Query => "name_query.txt",
            Split::Test => "name_test.txt",
        }
    }

    /// Label file holding this split's items, e.g. `train_label.xml`.
    pub const fn label_file(self) -> &'static str {
        match self {
            Split::Train => "train_label.xml",
            Split::Query => "query_label.xml",
            Split::Test => "test_label.xml",
        }
    }
}

/// One VeRi-776 image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VeriEntry {
    /// Path of the image (the split folder joined with the name).
    pub path: PathBuf,
    /// Identity, camera, frame and index from the file name.
    pub name: VeriName,
    /// `colorID` from the label file, when present.
    pub color: Option<u32>,
    /// `typeID` from the label file, when present.
    pub vehicle_type: Option<u32>,
}

impl VeriEntry {
    /// The evaluation label (identity and camera).
    pub fn label(&self) -> Label {
        Label::new(self.name.id, self.name.camera)
    }
}

/// A loaded VeRi-776 layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VeriDataset {
    /// Dataset root folder.
    pub root: PathBuf,
    /// Training images.
    pub train: Vec<VeriEntry>,
    /// Query images.
    pub query: Vec<VeriEntry>,
    /// Gallery images.
    pub test: Vec<VeriEntry>,
}

impl VeriDataset {
    /// The entries of one split.
    pub fn split(&self, split: Split) -> &[VeriEntry] {
        match split {
            Split::Train => &self.train,
            Split::Query => &self.query,
            Split::Test => &self.test,
        }
    }

    /// Every entry of every split.
    pub fn entries(&self) -> impl Iterator<Item = &VeriEntry> {
        self.train.iter().chain(&self.query).chain(&self.test)
    }
}

/// Builds a split's entries from its names (`file` names the list in errors) and the label
/// items available for it (matched by image name; missing ones leave colour/type empty).
pub fn veri_entries(
    file: &str,
    image_dir: &Path,
    names: &[ListedName],
    labels: &[LabelItem],
) -> Result<Vec<VeriEntry>, ParseError> {
    let by_name: HashMap<&str, &LabelItem> =
        labels.iter().map(|l| (l.image_name.as_str(), l)).collect();
    names
        .iter()
        .map(|n| {
            let name = VeriName::parse(&n.name).ok_or_else(|| {
                ParseError::new(
                    file,
                    n.line,
                    "name",
                    format!("{:?} is not {VERI_NAME_PATTERN}", n.name),
                )
            })?;
            let label = by_name.get(n.name.as_str());
            Ok(VeriEntry {
                path: image_dir.join(&n.name),
                name,
                color: label.and_then(|l| l.color),
                vehicle_type: label.and_then(|l| l.vehicle_type),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::name_list::numbered;

    #[test]
    fn entries_take_ids_from_names_and_attributes_from_labels() {
        let names = numbered([
            "0002_c002_00030600_0.jpg".to_string(),
            "0003_c011_00000010_1.jpg".to_string(),
        ]);
        let labels = [LabelItem {
            image_name: "0003_c011_00000010_1.jpg".into(),
            vehicle_id: 3,
            camera: 11,
            color: Some(9),
            vehicle_type: Some(2),
        }];
        let e = veri_entries(
            "name_train.txt",
            Path::new("/d/image_train"),
            &names,
            &labels,
        )
        .unwrap();
        assert_eq!(
            e[0].path,
            Path::new("/d/image_train/0002_c002_00030600_0.jpg")
        );
        assert_eq!(e[0].label(), Label::new(2, 2));
        assert_eq!(
            (e[0].color, e[1].color, e[1].vehicle_type),
            (None, Some(9), Some(2))
        );
        assert_eq!(e[1].name.index, 1);
    }

    #[test]
    fn bad_name_names_the_list_and_line() {
        let names = [ListedName {
            line: 7,
            name: "car.jpg".into(),
        }];
        let e = veri_entries("name_query.txt", Path::new("q"), &names, &[]).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.field.as_str()),
            ("name_query.txt", 7, "name")
        );
    }
}
