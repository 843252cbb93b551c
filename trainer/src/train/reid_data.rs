//! Re-identification splits in VeRi-776 layout: `image_train/`, `image_query/`,
//! `image_test/` (the gallery), each image named `<id>_c<camera>_<rest>.<ext>`
//! (e.g. `0002_c002_00030600_0.jpg`). Identity and camera come from the name.

use std::path::{Path, PathBuf};

use crate::train::data::DataError;

/// Training images.
pub const TRAIN_DIR: &str = "image_train";
/// Query images.
pub const QUERY_DIR: &str = "image_query";
/// Gallery images.
pub const GALLERY_DIR: &str = "image_test";

/// One image of a split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReidImage {
    /// The file.
    pub path: PathBuf,
    /// Vehicle identity.
    pub id: u32,
    /// Camera number.
    pub camera: u32,
}

/// Identity and camera of a VeRi file name, if it follows `<id>_c<camera>_…`.
pub fn parse_name(name: &str) -> Option<(u32, u32)> {
    let mut fields = name.split('_');
    let id = fields.next()?.parse().ok()?;
    let camera = fields.next()?.strip_prefix(['c', 'C'])?.parse().ok()?;
    Some((id, camera))
}

pub(crate) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
}

/// The image files directly in `root/split`, sorted by name.
pub fn list_images(root: &Path, split: &'static str) -> Result<Vec<PathBuf>, DataError> {
    let dir = root.join(split);
    if !dir.is_dir() {
        return Err(DataError::MissingDir {
            root: root.to_owned(),
            dir: split,
        });
    }
    let mut images: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_image(p))
        .collect();
    images.sort();
    Ok(images)
}

/// Lists the images of `root/split` sorted by name; files whose names do not follow the
/// VeRi pattern are left out.
pub fn scan_split(root: &Path, split: &'static str) -> Result<Vec<ReidImage>, DataError> {
    let images: Vec<ReidImage> = list_images(root, split)?
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            let (id, camera) = parse_name(&name)?;
            Some(ReidImage { path, id, camera })
        })
        .collect();
    if images.is_empty() {
        return Err(DataError::Empty {
            root: root.to_owned(),
        });
    }
    Ok(images)
}

/// Dense class indices 0..C for the identities of `images` (sorted by identity), and C.
pub fn class_indices(images: &[ReidImage]) -> (Vec<usize>, usize) {
    let mut ids: Vec<u32> = images.iter().map(|i| i.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let classes = images
        .iter()
        .map(|i| ids.binary_search(&i.id).unwrap_or_default())
        .collect();
    (classes, ids.len())
}

/// Mirrors a channel-major image (3×size×size) left to right.
pub fn flip_image(image: &mut [f32], size: usize) {
    for row in image.chunks_exact_mut(size) {
        row.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_identity_and_camera() {
        assert_eq!(parse_name("0002_c002_00030600_0.jpg"), Some((2, 2)));
        assert_eq!(parse_name("0776_c020_1_0.png"), Some((776, 20)));
        assert_eq!(parse_name("foo.jpg"), None);
        assert_eq!(parse_name("0001_x01_1.jpg"), None);
    }

    #[test]
    fn classes_are_dense_and_sorted_by_identity() {
        let img = |id| ReidImage {
            path: PathBuf::new(),
            id,
            camera: 1,
        };
        let (c, n) = class_indices(&[img(7), img(3), img(7), img(10)]);
        assert_eq!((c, n), (vec![1, 0, 1, 2], 3));
    }

    #[test]
    fn scan_lists_veri_images_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let split = dir.path().join(QUERY_DIR);
        std::fs::create_dir(&split).expect("mkdir");
        for n in [
            "0002_c003_1_0.jpg",
            "0001_c001_5_0.png",
            "notes.txt",
            "x.jpg",
        ] {
            std::fs::write(split.join(n), b"").expect("write");
        }
        let imgs = scan_split(dir.path(), QUERY_DIR).expect("scans");
        let got: Vec<(u32, u32)> = imgs.iter().map(|i| (i.id, i.camera)).collect();
        assert_eq!(got, [(1, 1), (2, 3)]);
        let err = scan_split(dir.path(), GALLERY_DIR).expect_err("missing");
        assert!(err.to_string().contains("image_test/"), "{err}");
    }

    #[test]
    fn flip_mirrors_each_row() {
        let mut v: Vec<f32> = (0..12).map(|x| x as f32).collect();
        flip_image(&mut v, 2);
        assert_eq!(v[..4], [1.0, 0.0, 3.0, 2.0]);
    }
}
