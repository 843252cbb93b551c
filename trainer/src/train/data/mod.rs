//! The SPAN training set on disk: VeRi-776 layout (`image_train/`), a view-label file,
//! and per-image foreground masks (`mask_fg/<stem>.png`), optionally ground-truth part
//! masks (`mask_parts/<stem>.png`, 0 background, 1 front, 2 rear, 3 side).
//!
//! View-label files hold one image per line: the image name (or a path ending in it)
//! first and the view last, separated by commas or whitespace. The view is a SPAN view
//! name (`front-side`) or a VeRi-776 orientation class 0–7, so the VeRi keypoint files
//! (`path x1 y1 … x20 y20 orientation`) read unchanged. A header line is allowed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::train::facing::Facing;
use crate::train::views::{LabelSource, ViewLabels};
use spanreid::View;
use spanreid::dataset::{Orientation, parse_azimuth_table, parse_view_table};

/// Sub-directory of training images.
pub const IMAGE_DIR: &str = "image_train";
/// Sub-directory of foreground masks.
pub const FG_DIR: &str = "mask_fg";
/// Sub-directory of ground-truth part masks.
pub const PARTS_DIR: &str = "mask_parts";
/// View-label files looked for in the dataset root, in this order.
pub const VIEW_FILES: [&str; 3] = ["keypoint_train.txt", "views.csv", "views_train.txt"];

/// Errors finding or reading the training set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A required directory is missing.
    #[error("dataset {root}: missing directory {dir}/")]
    MissingDir {
        /// Dataset root.
        root: PathBuf,
        /// The directory name.
        dir: &'static str,
    },
    /// No view-label file found.
    #[error("dataset {root}: no view-label file (looked for {candidates})")]
    NoViewFile {
        /// Dataset root.
        root: PathBuf,
        /// File names tried.
        candidates: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A malformed view-label line.
    #[error(transparent)]
    ViewLine(#[from] spanreid::dataset::ParseError),
    /// An image that is listed but has no foreground mask.
    #[error("{image}: no foreground mask at {mask} (SPAN needs one per training image)")]
    MissingMask {
        /// The image.
        image: PathBuf,
        /// Where the mask was expected.
        mask: PathBuf,
    },
    /// Azimuth labels asked for, but no label file has an `azimuth_deg` column.
    #[error(
        "dataset {path}: no view-label file with an azimuth_deg column, needed by \
         train.views.source = \"azimuth\" (the renderer's views.csv has one; set \
         source = \"given\" for other datasets)"
    )]
    NoAzimuth {
        /// The dataset root.
        path: PathBuf,
    },
    /// No usable image.
    #[error("dataset {root}: no labelled training image")]
    Empty {
        /// Dataset root.
        root: PathBuf,
    },
}

/// One training image and its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The image.
    pub image: PathBuf,
    /// Its foreground mask.
    pub fg_mask: PathBuf,
    /// Its ground-truth part mask, when the dataset has one.
    pub part_mask: Option<PathBuf>,
    /// Its viewpoint.
    pub view: View,
    /// Which way the vehicle's front points, when the dataset says.
    pub facing: Option<Facing>,
}

/// Image file name → facing: from the azimuths of the first view-label file that has an
/// `azimuth_deg` column, else from the left/right part of the VeRi-776 orientation
/// classes (0–7) of the first view-label file that gives them (assuming, as the renderer
/// writes them, that "left" means the vehicle's left side is seen); empty when neither.
pub fn dataset_facings(root: &Path) -> Result<HashMap<String, Facing>, DataError> {
    let files: Vec<(PathBuf, String)> = VIEW_FILES
        .iter()
        .map(|f| root.join(f))
        .filter(|p| p.is_file())
        .map(|file| {
            std::fs::read_to_string(&file)
                .map(|text| (file.clone(), text))
                .map_err(|source| DataError::Io { path: file, source })
        })
        .collect::<Result<_, _>>()?;
    for (file, text) in &files {
        if let Some(azimuths) = parse_azimuth_table(&file.display().to_string(), text)? {
            return Ok(azimuths
                .into_iter()
                .filter_map(|(name, a)| Facing::of_azimuth(a).map(|f| (name, f)))
                .collect());
        }
    }
    Ok(files
        .iter()
        .map(|(_, text)| orientation_facings(text))
        .find(|f| !f.is_empty())
        .unwrap_or_default())
}

/// Facings from lines whose last field is a VeRi-776 orientation class; other lines
/// (headers, view names) are skipped.
fn orientation_facings(text: &str) -> HashMap<String, Facing> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|f| !f.is_empty())
                .collect();
            let (first, last) = (fields.first()?, fields.last()?);
            if fields.len() < 2 {
                return None;
            }
            let orientation = last.parse::<u32>().ok().and_then(Orientation::from_index)?;
            let name = Path::new(first).file_name()?.to_string_lossy().into_owned();
            Facing::of_orientation(orientation).map(|f| (name, f))
        })
        .collect()
}

/// Image file name → view under `labels`, from the dataset at `root`: the first view-label
/// file's views as they are, or re-labelled from the azimuths of the first label file that
/// has an `azimuth_deg` column (ambiguous azimuths left out).
pub fn dataset_view_labels(
    root: &Path,
    labels: &ViewLabels,
) -> Result<HashMap<String, View>, DataError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.to_owned(),
            source,
        })
    };
    match labels.source {
        LabelSource::Given => {
            let file = view_file(root)?;
            Ok(parse_view_table(
                &file.display().to_string(),
                &read(&file)?,
            )?)
        }
        LabelSource::Azimuth => {
            for file in VIEW_FILES
                .iter()
                .map(|f| root.join(f))
                .filter(|p| p.is_file())
            {
                if let Some(azimuths) =
                    parse_azimuth_table(&file.display().to_string(), &read(&file)?)?
                {
                    return Ok(azimuths
                        .into_iter()
                        .filter_map(|(name, a)| labels.view_of_azimuth(a).map(|v| (name, v)))
                        .collect());
                }
            }
            Err(DataError::NoAzimuth {
                path: root.to_owned(),
            })
        }
    }
}

/// Label files of held-out splits, read besides [`VIEW_FILES`] when scoring.
pub const HELD_OUT_VIEW_FILES: [&str; 2] = ["keypoint_test.txt", "keypoint_query.txt"];

/// The dataset's own view labels of every split: the union of all its view-label files
/// ([`VIEW_FILES`] and [`HELD_OUT_VIEW_FILES`]); `None` when it has none.
pub fn all_view_labels(root: &Path) -> Result<Option<HashMap<String, View>>, DataError> {
    let mut all: Option<HashMap<String, View>> = None;
    for file in VIEW_FILES
        .iter()
        .chain(&HELD_OUT_VIEW_FILES)
        .map(|f| root.join(f))
        .filter(|p| p.is_file())
    {
        let text = std::fs::read_to_string(&file).map_err(|source| DataError::Io {
            path: file.clone(),
            source,
        })?;
        all.get_or_insert_with(HashMap::new)
            .extend(parse_view_table(&file.display().to_string(), &text)?);
    }
    Ok(all)
}

/// The view-label file of the dataset at `root`.
pub fn view_file(root: &Path) -> Result<PathBuf, DataError> {
    VIEW_FILES
        .iter()
        .map(|f| root.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| DataError::NoViewFile {
            root: root.to_owned(),
            candidates: VIEW_FILES.join(", "),
        })
}

/// Lists the labelled training images under `root`, sorted by name, with their foreground
/// masks from `fg_masks` (default `root/mask_fg`), labelled as `labels` says. Images without
/// a view label are left out; a labelled image without a foreground mask is an error.
pub fn scan(
    root: &Path,
    fg_masks: Option<&Path>,
    labels: &ViewLabels,
) -> Result<Vec<Sample>, DataError> {
    let fg_dir = fg_masks.map_or_else(|| root.join(FG_DIR), Path::to_owned);
    let images = root.join(IMAGE_DIR);
    if !images.is_dir() {
        return Err(DataError::MissingDir {
            root: root.to_owned(),
            dir: IMAGE_DIR,
        });
    }
    let views = dataset_view_labels(root, labels)?;
    let facings = dataset_facings(root)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DataError::Io { path, source }
    };

    let mut names: Vec<String> = std::fs::read_dir(&images)
        .map_err(io(&images))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| views.contains_key(n))
        .collect();
    names.sort();

    let mut samples = Vec::with_capacity(names.len());
    for name in names {
        let stem = Path::new(&name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.clone());
        let image = images.join(&name);
        let fg_mask = fg_dir.join(format!("{stem}.png"));
        if !fg_mask.is_file() {
            return Err(DataError::MissingMask {
                image,
                mask: fg_mask,
            });
        }
        let part = root.join(PARTS_DIR).join(format!("{stem}.png"));
        samples.push(Sample {
            image,
            fg_mask,
            part_mask: part.is_file().then_some(part),
            view: views[&name],
            facing: facings.get(&name).copied(),
        });
    }
    if samples.is_empty() {
        return Err(DataError::Empty {
            root: root.to_owned(),
        });
    }
    Ok(samples)
}

/// Images of `split_dir` (e.g. `image_test`) that have a ground-truth part mask, sorted by
/// name, as (image, part mask) pairs.
pub fn scan_with_parts(
    root: &Path,
    split_dir: &'static str,
) -> Result<Vec<(PathBuf, PathBuf)>, DataError> {
    let images = root.join(split_dir);
    if !images.is_dir() {
        return Err(DataError::MissingDir {
            root: root.to_owned(),
            dir: split_dir,
        });
    }
    let parts = root.join(PARTS_DIR);
    if !parts.is_dir() {
        return Err(DataError::MissingDir {
            root: root.to_owned(),
            dir: PARTS_DIR,
        });
    }
    let mut pairs: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(&images)
        .map_err(|source| DataError::Io {
            path: images.clone(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|image| {
            let stem = image.file_stem()?.to_string_lossy().into_owned();
            let mask = parts.join(format!("{stem}.png"));
            mask.is_file().then_some((image, mask))
        })
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        return Err(DataError::Empty {
            root: root.to_owned(),
        });
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests;
