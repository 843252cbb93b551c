//! The passage log: one CSV line per signed passage (`sequence,track,frame,time_us,x0,y0,
//! x1,y1,crops`), appended by the sign stage when `passage_log` is configured. It ties each
//! signature (camera + sequence) back to the frame and box of the crop it was built from,
//! which is what an operator audits and what the end-to-end checks score against the
//! synthetic streams' ground truth.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::frame::BBox;

/// Header line of a passage log.
pub const HEADER: &str = "sequence,track,frame,time_us,x0,y0,x1,y1,crops";

/// One signed passage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassageRecord {
    /// Per-camera sequence number of the signature.
    pub sequence: u64,
    /// Tracker id.
    pub track: u32,
    /// Frame of the chosen (best) crop.
    pub frame: u64,
    /// Capture time of that frame, µs since the epoch.
    pub time_us: u64,
    /// Box of that crop in the frame.
    pub bbox: BBox,
    /// Crops the signature was built from.
    pub crops: u32,
}

impl PassageRecord {
    /// The CSV line, without its newline.
    pub fn to_line(&self) -> String {
        let b = &self.bbox;
        format!(
            "{},{},{},{},{},{},{},{},{}",
            self.sequence, self.track, self.frame, self.time_us, b.x0, b.y0, b.x1, b.y1, self.crops
        )
    }
}

/// A malformed passage log.
#[derive(Debug, thiserror::Error)]
pub enum PassageLogError {
    /// The file could not be read or written.
    #[error("passage log {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line does not parse.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// Parses a passage log's text; `path` only names the file in errors. A torn last line (a
/// crash mid-append) is skipped rather than failing the whole log.
pub fn parse(text: &str, path: &Path) -> Result<Vec<PassageRecord>, PassageLogError> {
    let mut out = Vec::new();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    for (i, line) in complete.lines().enumerate() {
        if i == 0 && line.starts_with("sequence") || line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| PassageLogError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 9 {
            return Err(bad(format!("expected 9 fields, found {}", f.len())));
        }
        let mut n = [0u64; 9];
        for (k, v) in f.iter().enumerate() {
            n[k] = v
                .trim()
                .parse()
                .map_err(|e| bad(format!("field {} {v:?}: {e}", k + 1)))?;
        }
        let small =
            |k: usize| u32::try_from(n[k]).map_err(|e| bad(format!("field {}: {e}", k + 1)));
        out.push(PassageRecord {
            sequence: n[0],
            track: small(1)?,
            frame: n[2],
            time_us: n[3],
            bbox: BBox {
                x0: small(4)?,
                y0: small(5)?,
                x1: small(6)?,
                y1: small(7)?,
            },
            crops: small(8)?,
        });
    }
    Ok(out)
}

/// Reads and parses a passage log.
pub fn read(path: &Path) -> Result<Vec<PassageRecord>, PassageLogError> {
    let text = std::fs::read_to_string(path).map_err(|source| PassageLogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// An open passage log, appending.
#[derive(Debug)]
pub struct PassageLog {
    file: File,
    path: PathBuf,
}

impl PassageLog {
    /// Opens `path` for appending, writing the header if the file is new or empty.
    pub fn open(path: &Path) -> Result<Self, PassageLogError> {
        let io_err = |source| PassageLogError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err)?;
        if file.metadata().map_err(io_err)?.len() == 0 {
            writeln!(file, "{HEADER}").map_err(io_err)?;
        }
        Ok(PassageLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one record (one `write` call per line, so lines never interleave).
    pub fn append(&mut self, record: &PassageRecord) -> Result<(), PassageLogError> {
        let line = format!("{}\n", record.to_line());
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| PassageLogError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: u64) -> PassageRecord {
        PassageRecord {
            sequence,
            track: 7,
            frame: 120,
            time_us: 1_000_000 + sequence,
            bbox: BBox {
                x0: 10,
                y0: 20,
                x1: 110,
                y1: 80,
            },
            crops: 3,
        }
    }

    #[test]
    fn appended_records_read_back_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passages.csv");
        PassageLog::open(&path).unwrap().append(&record(1)).unwrap();
        PassageLog::open(&path).unwrap().append(&record(2)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches(HEADER).count(), 1, "one header: {text}");
        assert_eq!(read(&path).unwrap(), vec![record(1), record(2)]);
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_a_bad_line_named() {
        let torn = format!("{HEADER}\n{}\n5,7,1", record(4).to_line());
        assert_eq!(parse(&torn, Path::new("p.csv")).unwrap(), vec![record(4)]);
        let bad = format!("{HEADER}\n1,2,x,4,5,6,7,8,9\n");
        let err = parse(&bad, Path::new("p.csv")).unwrap_err();
        assert!(err.to_string().starts_with("p.csv:2:"), "{err}");
    }
}
