//! Reading and writing multi-digit datasets (the layout is described in
//! [`crate::digits::dataset`]).

use std::path::Path;

use image::GrayImage;
use rayon::prelude::*;

use crate::digits::DigitsError;
use crate::digits::canvas::Canvas;
use crate::digits::dataset::{
    DatasetMeta, INDEX_FILE, INDEX_HEADER, META_FILE, Record, Split, index_line, parse_index,
};

fn write_err(path: &Path) -> impl Fn(String) -> DigitsError + '_ {
    move |reason| DigitsError::Write {
        path: path.to_owned(),
        reason,
    }
}

/// Writes the canvases (train ones first, as [`crate::digits::dataset::generate`] returns
/// them), the index and the metadata under `out`.
pub fn write_dataset(
    out: &Path,
    meta: &DatasetMeta,
    canvases: &[(Split, Canvas)],
) -> Result<(), DigitsError> {
    for split in [Split::Train, Split::Test] {
        let dir = out.join(split.name());
        std::fs::create_dir_all(&dir).map_err(|e| write_err(&dir)(e.to_string()))?;
    }
    let numbered: Vec<(usize, &(Split, Canvas))> = canvases
        .iter()
        .scan((0usize, 0usize), |(train, test), item| {
            let counter = if item.0 == Split::Train { train } else { test };
            *counter += 1;
            Some((*counter - 1, item))
        })
        .collect();
    numbered.par_iter().try_for_each(|(n, (split, c))| {
        let s = split.name();
        for (name, pixels) in [
            (format!("{s}/{n:06}.png"), &c.pixels),
            (format!("{s}/{n:06}-truth.png"), &c.truth),
        ] {
            let path = out.join(name);
            GrayImage::from_raw(meta.size, meta.size, pixels.clone())
                .ok_or_else(|| write_err(&path)("canvas of the wrong size".into()))?
                .save_with_format(&path, image::ImageFormat::Png)
                .map_err(|e| write_err(&path)(e.to_string()))?;
        }
        Ok::<_, DigitsError>(())
    })?;
    let mut index = format!("{INDEX_HEADER}\n");
    for (n, (split, c)) in &numbered {
        index.push_str(&index_line(meta, *split, *n, c));
        index.push('\n');
    }
    let path = out.join(INDEX_FILE);
    std::fs::write(&path, index).map_err(|e| write_err(&path)(e.to_string()))?;
    let path = out.join(META_FILE);
    let text = toml::to_string_pretty(meta).expect("DatasetMeta is TOML-representable");
    std::fs::write(&path, text).map_err(|e| write_err(&path)(e.to_string()))
}

fn read(path: &Path) -> Result<String, DigitsError> {
    std::fs::read_to_string(path).map_err(|source| DigitsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads the metadata and index of the dataset at `root`.
pub fn open_dataset(root: &Path) -> Result<(DatasetMeta, Vec<Record>), DigitsError> {
    let meta_path = root.join(META_FILE);
    if !meta_path.is_file() {
        return Err(DigitsError::Corrupt {
            path: root.to_owned(),
            reason: format!("no {META_FILE}: not a dataset written by `trainer synth-digits`"),
        });
    }
    let meta: DatasetMeta =
        toml::from_str(&read(&meta_path)?).map_err(|e| DigitsError::Corrupt {
            path: meta_path.clone(),
            reason: e.to_string(),
        })?;
    meta.validate()?;
    let records = parse_index(&read(&root.join(INDEX_FILE))?, root, &meta)?;
    Ok((meta, records))
}

fn decode(path: &Path, size: u32) -> Result<Vec<u8>, DigitsError> {
    let img = image::open(path).map_err(|e| DigitsError::Corrupt {
        path: path.to_owned(),
        reason: format!("not a readable image ({e})"),
    })?;
    if img.width() != size || img.height() != size {
        return Err(DigitsError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "{}×{} px; the dataset's canvases are {size}×{size}",
                img.width(),
                img.height()
            ),
        });
    }
    Ok(img.into_luma8().into_raw())
}

/// The canvas pixels and ground-truth labels of `record`, checked to be `size`×`size` and
/// to label only the dataset's `classes` slots.
pub fn read_canvas(record: &Record, size: u32) -> Result<(Vec<u8>, Vec<u8>), DigitsError> {
    let pixels = decode(&record.image, size)?;
    let truth = decode(&record.truth, size)?;
    if let Some(bad) = truth
        .iter()
        .find(|&&t| usize::from(t) > record.present.len())
    {
        return Err(DigitsError::Corrupt {
            path: record.truth.clone(),
            reason: format!(
                "label {bad} but the dataset has {} classes",
                record.present.len()
            ),
        });
    }
    Ok((pixels, truth))
}

/// A record with its canvas pixels and ground-truth labels.
pub type LoadedCanvas = (Record, Vec<u8>, Vec<u8>);

/// Reads every record of `split` in parallel.
pub fn read_split(
    records: &[Record],
    split: Split,
    size: u32,
) -> Result<Vec<LoadedCanvas>, DigitsError> {
    records
        .par_iter()
        .filter(|r| r.split == split)
        .map(|r| read_canvas(r, size).map(|(p, t)| (r.clone(), p, t)))
        .collect()
}
