//! Errors of the dataset layer: every one names the file (and line and field when parsing).

use std::path::PathBuf;

/// A malformed line or field in a dataset file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {reason}")]
pub struct ParseError {
    /// The file (path or name) being parsed.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The field that failed (e.g. `vehicleID`, `orientation`, `x3`).
    pub field: String,
    /// What was wrong, quoting the offending text.
    pub reason: String,
}

impl ParseError {
    /// A parse error at `file:line` in `field`.
    pub fn new(file: &str, line: usize, field: &str, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A value a writer cannot represent in its format (it would break the file's syntax).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?} cannot be written: {reason}")]
pub struct WriteError {
    /// The field being written.
    pub field: String,
    /// The offending value.
    pub value: String,
    /// Why it cannot be written.
    pub reason: &'static str,
}

/// Errors reading or writing a dataset layout.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file's content is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A value cannot be written in the format.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Reading or writing a file or folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A folder has none of the expected lists or image folders.
    #[error("{}: no {layout} layout found (no name lists, label files or image folders)", root.display())]
    NotALayout {
        /// The dataset root that was searched.
        root: PathBuf,
        /// The layout looked for.
        layout: &'static str,
    },
}

/// Rejects values that would break a line-, whitespace- or comma-separated format.
pub(crate) fn check_token(field: &str, value: &str, forbid_comma: bool) -> Result<(), WriteError> {
    let bad = |reason| {
        Err(WriteError {
            field: field.to_owned(),
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return bad("empty");
    }
    if value.chars().any(char::is_whitespace) {
        return bad("contains whitespace");
    }
    if forbid_comma && (value.contains(',') || value.contains('"')) {
        return bad("contains a comma or quote");
    }
    Ok(())
}
