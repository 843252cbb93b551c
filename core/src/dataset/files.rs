//! File-system access for the dataset layouts: the only module here that touches disk.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::cityflow::{CityFlowDataset, cityflow_entries, cityflow_labelled};
use super::error::DatasetError;
use super::label_xml::{LabelItem, parse_label_xml};
use super::name_list::{ListedName, numbered, parse_name_list};
use super::orientation::{OrientationRecord, parse_orientation_file};
use super::span_csv::{ViewLabel, parse_span_csv};
use super::veri::{Split, VeriDataset, veri_entries};

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a text file as bytes, decoding leniently (the label files declare gb2312 but hold
/// ASCII; any stray byte becomes U+FFFD rather than an error).
pub fn read_text(path: &Path) -> Result<String, DatasetError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Like [`read_text`], but `None` when the file does not exist.
pub fn read_text_if_present(path: &Path) -> Result<Option<String>, DatasetError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// `.jpg` file names in a folder, sorted; `None` when the folder does not exist.
pub fn list_images(dir: &Path) -> Result<Option<Vec<String>>, DatasetError> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut names = Vec::new();
    for entry in read {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".jpg") {
            names.push(name);
        }
    }
    names.sort();
    Ok(Some(names))
}

/// Writes a text file, creating its parent folders.
pub fn write_text(path: &Path, contents: &str) -> Result<(), DatasetError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    std::fs::write(path, contents).map_err(io_error(path))
}

/// Reads and parses a label XML file.
pub fn read_label_xml(path: &Path) -> Result<Vec<LabelItem>, DatasetError> {
    Ok(parse_label_xml(
        &path.display().to_string(),
        &read_text(path)?,
    )?)
}

/// Reads and parses a VeRi-776 orientation (keypoint) file.
pub fn read_orientation_file(path: &Path) -> Result<Vec<OrientationRecord>, DatasetError> {
    Ok(parse_orientation_file(
        &path.display().to_string(),
        &read_text(path)?,
    )?)
}

/// Reads and parses SPAN's `dataset.csv`.
pub fn read_span_csv(path: &Path) -> Result<Vec<ViewLabel>, DatasetError> {
    Ok(parse_span_csv(
        &path.display().to_string(),
        &read_text(path)?,
    )?)
}

fn labels_if_present(path: &Path) -> Result<Vec<LabelItem>, DatasetError> {
    match read_text_if_present(path)? {
        Some(text) => Ok(parse_label_xml(&path.display().to_string(), &text)?),
        None => Ok(Vec::new()),
    }
}

/// A split's names from its list file, else from its folder (sorted); `(source, names)`,
/// or `None` when neither exists.
fn split_names(
    root: &Path,
    split: Split,
) -> Result<Option<(PathBuf, Vec<ListedName>)>, DatasetError> {
    let list = root.join(split.list_file());
    if let Some(text) = read_text_if_present(&list)? {
        let names = parse_name_list(&list.display().to_string(), &text)?;
        return Ok(Some((list, names)));
    }
    let dir = root.join(split.image_dir());
    Ok(list_images(&dir)?.map(|names| {
        tracing::info!(list = %list.display(), "name list missing; listing the image folder");
        (dir, numbered(names))
    }))
}

/// Loads a VeRi-776 layout from its root folder.
///
/// A missing name list falls back to the sorted folder listing; a split with neither is
/// empty (with a warning); no split at all is [`DatasetError::NotALayout`].
pub fn load_veri(root: &Path) -> Result<VeriDataset, DatasetError> {
    let mut ds = VeriDataset {
        root: root.to_owned(),
        ..VeriDataset::default()
    };
    let mut found = false;
    for split in Split::ALL {
        let Some((source, names)) = split_names(root, split)? else {
            tracing::warn!(root = %root.display(), split = split.name(), "split missing");
            continue;
        };
        found = true;
        let labels = labels_if_present(&root.join(split.label_file()))?;
        let entries = veri_entries(
            &source.display().to_string(),
            &root.join(split.image_dir()),
            &names,
            &labels,
        )?;
        match split {
            Split::Train => ds.train = entries,
            Split::Query => ds.query = entries,
            Split::Test => ds.test = entries,
        }
    }
    if !found {
        return Err(DatasetError::NotALayout {
            root: root.to_owned(),
            layout: "VeRi-776",
        });
    }
    Ok(ds)
}

/// Loads a CityFlow-ReID layout from its root folder.
///
/// Training images come from `train_label.xml` (else the folder, without identities); query
/// and test images from their name lists (else their folders), with identities only when a
/// `query_label.xml` / `test_label.xml` exists.
pub fn load_cityflow(root: &Path) -> Result<CityFlowDataset, DatasetError> {
    let mut ds = CityFlowDataset {
        root: root.to_owned(),
        ..CityFlowDataset::default()
    };
    let mut found = false;
    let train_dir = root.join(Split::Train.image_dir());
    let train_labels = root.join(Split::Train.label_file());
    if let Some(text) = read_text_if_present(&train_labels)? {
        found = true;
        let labels = parse_label_xml(&train_labels.display().to_string(), &text)?;
        ds.train = cityflow_labelled(&train_dir, &labels);
    } else if let Some(names) = list_images(&train_dir)? {
        found = true;
        ds.train = cityflow_entries(&train_dir, &numbered(names), &[]);
    }
    for split in [Split::Query, Split::Test] {
        let Some((_, names)) = split_names(root, split)? else {
            continue;
        };
        found = true;
        let labels = labels_if_present(&root.join(split.label_file()))?;
        let entries = cityflow_entries(&root.join(split.image_dir()), &names, &labels);
        match split {
            Split::Query => ds.query = entries,
            _ => ds.test = entries,
        }
    }
    if !found {
        return Err(DatasetError::NotALayout {
            root: root.to_owned(),
            layout: "CityFlow-ReID",
        });
    }
    Ok(ds)
}

/// The paths among `paths` that are not existing files.
pub fn missing_files<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<PathBuf> {
    paths
        .into_iter()
        .filter(|p| !p.is_file())
        .map(Path::to_owned)
        .collect()
}

/// The images of a loaded VeRi-776 layout that are listed but absent.
pub fn verify_veri(ds: &VeriDataset) -> Vec<PathBuf> {
    missing_files(ds.entries().map(|e| e.path.as_path()))
}

/// The images of a loaded CityFlow-ReID layout that are listed but absent.
pub fn verify_cityflow(ds: &CityFlowDataset) -> Vec<PathBuf> {
    missing_files(
        ds.train
            .iter()
            .chain(&ds.query)
            .chain(&ds.test)
            .map(|e| e.path.as_path()),
    )
}
