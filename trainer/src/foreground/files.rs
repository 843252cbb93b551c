//! The files of the foreground pipeline: the images of a split, and masks kept flat by
//! image stem (`<dir>/<stem>.png`, 0 or 255), the layout of a dataset's `mask_fg/`. Masks
//! are written to a temporary name and renamed, so an interrupted run leaves only whole
//! masks behind and a rerun skips them.

use std::path::{Path, PathBuf};

use image::GrayImage;

use crate::train::TrainError;
use crate::train::example::DecodeError;

pub use crate::train::reid_data::list_images;

/// The file stem of `image` (the mask's name without `.png`).
pub fn stem(image: &Path) -> String {
    image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where the mask of `image` lives in `dir`.
pub fn mask_path(dir: &Path, image: &Path) -> PathBuf {
    dir.join(format!("{}.png", stem(image)))
}

/// Decodes an image as RGB.
pub fn open_rgb(path: &Path) -> Result<image::RgbImage, DecodeError> {
    image::open(path)
        .map(|i| i.into_rgb8())
        .map_err(|source| DecodeError {
            path: path.to_owned(),
            source,
        })
}

/// Decodes a mask as 8-bit grey.
pub fn open_mask(path: &Path) -> Result<GrayImage, DecodeError> {
    image::open(path)
        .map(|i| i.into_luma8())
        .map_err(|source| DecodeError {
            path: path.to_owned(),
            source,
        })
}

/// Whether `path` holds a mask that decodes (a finished earlier write).
pub fn is_whole_mask(path: &Path) -> bool {
    path.is_file() && open_mask(path).is_ok()
}

/// Writes `mask` as PNG to `path` through a temporary file and a rename.
pub fn save_mask(path: &Path, mask: &GrayImage) -> Result<(), TrainError> {
    let tmp = path.with_extension("png.partial");
    mask.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| TrainError::Write {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    std::fs::rename(&tmp, path).map_err(|source| TrainError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_text(path: &Path, text: &str) -> Result<(), TrainError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.partial"));
    let io = |source| TrainError::Io {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Creates `dir` (and its parents).
pub fn create_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|source| TrainError::Io {
        path: dir.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_round_trip_and_partial_files_do_not_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("image_train").join("0001_c001_0_0.jpg");
        let path = mask_path(dir.path(), &image);
        assert_eq!(path, dir.path().join("0001_c001_0_0.png"));
        assert!(!is_whole_mask(&path));
        let mask = GrayImage::from_fn(5, 3, |x, _| image::Luma([if x > 2 { 255 } else { 0 }]));
        save_mask(&path, &mask).expect("save");
        assert!(is_whole_mask(&path));
        assert_eq!(open_mask(&path).expect("open"), mask);
        std::fs::write(&path, b"\x89PNG\r\n\x1a\n cut short").expect("write");
        assert!(!is_whole_mask(&path), "a truncated mask is redone");
        assert!(!dir.path().join("0001_c001_0_0.png.partial").exists());
    }

    #[test]
    fn lists_only_images_and_names_a_missing_split() {
        let dir = tempfile::tempdir().expect("tempdir");
        let split = dir.path().join("image_test");
        std::fs::create_dir(&split).expect("mkdir");
        for name in ["b.jpg", "a.png", "notes.txt"] {
            std::fs::write(split.join(name), b"").expect("write");
        }
        let images = list_images(dir.path(), "image_test").expect("lists");
        assert_eq!(images, vec![split.join("a.png"), split.join("b.jpg")]);
        let err = list_images(dir.path(), "image_query").expect_err("missing");
        assert!(err.to_string().contains("image_query/"), "{err}");
    }
}
