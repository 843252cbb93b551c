//! File helpers of the queue: error context, segment names, reading a file up to its last
//! valid record (cutting a torn tail), syncing the directory, and its lock.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{QueueError, Recovery};
use crate::record::scan;

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> QueueError + '_ {
    move |source| QueueError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(super) fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("seg-{first:020}.log"))
}

/// Reads a file, truncating it after its last valid record.
pub(super) fn read_valid(path: &Path, rec: &mut Recovery) -> Result<Vec<u8>, QueueError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path))?;
    let (_, valid) = scan(&bytes);
    if valid < bytes.len() {
        tracing::warn!(file = %path.display(), bytes = bytes.len() - valid, "cutting a torn tail");
        rec.torn_files += 1;
        rec.torn_bytes += (bytes.len() - valid) as u64;
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        f.set_len(valid as u64)
            .and_then(|()| f.sync_all())
            .map_err(io_err(path))?;
        bytes.truncate(valid);
    }
    Ok(bytes)
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), QueueError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Takes the queue directory's lock file (`lock`) exclusively, failing at once with
/// [`QueueError::Locked`] when another process holds it. The lock goes with the file.
pub(super) fn lock_dir(dir: &Path) -> Result<File, QueueError> {
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(QueueError::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(source)) => Err(QueueError::Io { path, source }),
    }
}

/// Whether a write failed for want of room (a full disk or quota).
pub(super) fn is_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
    matches!(e.kind(), StorageFull | QuotaExceeded | FileTooLarge)
}
