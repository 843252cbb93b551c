//! The CityFlow-ReID layout: `image_{train,query,test}/` folders, `train_label.xml`
//! (`imageName="000001.jpg" vehicleID="0001" cameraID="c001"`), `name_query.txt`,
//! `name_test.txt`. Query and test identities are not published, hence optional.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::label_xml::LabelItem;
use super::name_list::ListedName;
use super::veri::Split;

/// One CityFlow-ReID image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CityFlowEntry {
    /// Path of the image (the split folder joined with the name).
    pub path: PathBuf,
    /// Vehicle identity, when a label file gives it.
    pub id: Option<u32>,
    /// Camera number, when a label file gives it.
    pub camera: Option<u32>,
}

/// A loaded CityFlow-ReID layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CityFlowDataset {
    /// Dataset root folder.
    pub root: PathBuf,
    /// Training images (from `train_label.xml`).
    pub train: Vec<CityFlowEntry>,
    /// Query images.
    pub query: Vec<CityFlowEntry>,
    /// Gallery images.
    pub test: Vec<CityFlowEntry>,
}

impl CityFlowDataset {
    /// The entries of one split.
    pub fn split(&self, split: Split) -> &[CityFlowEntry] {
        match split {
            Split::Train => &self.train,
            Split::Query => &self.query,
            Split::Test => &self.test,
        }
    }
}

/// Entries for the listed names, identities filled from the label items that name them.
pub fn cityflow_entries(
    image_dir: &Path,
    names: &[ListedName],
    labels: &[LabelItem],
) -> Vec<CityFlowEntry> {
    let by_name: HashMap<&str, &LabelItem> =
        labels.iter().map(|l| (l.image_name.as_str(), l)).collect();
    names
        .iter()
        .map(|n| {
            let label = by_name.get(n.name.as_str());
            CityFlowEntry {
                path: image_dir.join(&n.name),
                id: label.map(|l| l.vehicle_id),
                camera: label.map(|l| l.camera),
            }
        })
        .collect()
}

/// Entries for every label item, in file order (the training split).
pub fn cityflow_labelled(image_dir: &Path, labels: &[LabelItem]) -> Vec<CityFlowEntry> {
    labels
        .iter()
        .map(|l| CityFlowEntry {
            path: image_dir.join(&l.image_name),
            id: Some(l.vehicle_id),
            camera: Some(l.camera),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::name_list::numbered;

    #[test]
    fn unknown_identities_stay_empty() {
        let labels = [LabelItem {
            image_name: "000002.jpg".into(),
            vehicle_id: 5,
            camera: 3,
            color: None,
            vehicle_type: None,
        }];
        let e = cityflow_entries(
            Path::new("t"),
            &numbered(["000001.jpg".into(), "000002.jpg".into()]),
            &labels,
        );
        assert_eq!((e[0].id, e[0].camera), (None, None));
        assert_eq!((e[1].id, e[1].camera), (Some(5), Some(3)));
        let t = cityflow_labelled(Path::new("tr"), &labels);
        assert_eq!(t[0].path, Path::new("tr/000002.jpg"));
    }
}
