//! Files replaced whole: written beside their final name, then renamed over it, so a reader
//! (or a run interrupted mid-write) sees the old file or the new one, never half of one.
//! Run directories, manifests and exported models all go through [`write_atomic`].

use std::path::{Path, PathBuf};

use super::TrainError;

/// The temporary name `path` is written under before the rename: `.tmp-<name>` beside it.
pub(crate) fn tmp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".tmp-{name}"))
}

/// The error of an I/O operation on `path`.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Replaces `path` with `bytes` atomically; the new contents reach the disk before the
/// rename, so after a power cut the name holds the old file or the whole new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    use std::io::Write;
    let tmp = tmp_name(path);
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("manifest.toml");
        std::fs::write(&path, "old").expect("write");
        write_atomic(&path, b"new").expect("replaces");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
        let err = write_atomic(&dir.path().join("no/such/dir/x"), b"x").expect_err("no dir");
        assert!(err.to_string().contains(".tmp-x"), "{err}");
    }
}
