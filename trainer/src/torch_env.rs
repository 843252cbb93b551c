//! Where `install-libtorch.sh` puts libtorch and the MobileNetV2 weights, and the message
//! a build without the `torch` feature gives.
#![cfg_attr(
    not(feature = "torch"),
    allow(
        dead_code,
        reason = "used by the libtorch training path; tested without it"
    )
)]

use std::path::{Path, PathBuf};

/// What to do when the trainer was built without libtorch.
#[cfg(not(feature = "torch"))]
pub const BUILD_WITH_TORCH_HINT: &str = "this trainer was built without libtorch (cargo \
     feature `torch`): run trainer/install-libtorch.sh, then build with \
     `LIBTORCH=<the path it prints> cargo build --release -p spanreid-trainer --features torch` \
     (`make test` does both)";

/// How to get GrabCut into a trainer built without it.
#[cfg(not(feature = "grabcut"))]
pub const BUILD_WITH_GRABCUT_HINT: &str = "build the trainer with the cargo feature `grabcut` \
     (OpenCV's core and imgproc: `apt-get install libopencv-core-dev libopencv-imgproc-dev \
     libclang-dev clang`; `make test` installs them)";

/// The MobileNetV2 ImageNet state_dict inside the weights package.
pub const MOBILENET_V2_FILE: &str = "mobilenet_v2-b0353104.pth";

/// Name of the file in the cache directory that holds the path of the installed weights.
const WEIGHTS_POINTER: &str = "mobilenet_v2.path";

/// The cache directory `install-libtorch.sh` uses, from the values of `SPANREID_CACHE`,
/// `XDG_CACHE_HOME` and `HOME` (first one set wins).
pub fn cache_dir_from(
    spanreid_cache: Option<&Path>,
    xdg_cache_home: Option<&Path>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    spanreid_cache
        .map(Path::to_path_buf)
        .or_else(|| xdg_cache_home.map(|x| x.join("spanreid")))
        .or_else(|| home.map(|h| h.join(".cache").join("spanreid")))
}

/// The cache directory for this process's environment.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    cache_dir_from(
        var("SPANREID_CACHE").as_deref(),
        var("XDG_CACHE_HOME").as_deref(),
        var("HOME").as_deref(),
    )
}

/// The installed MobileNetV2 weights: the path recorded by `install-libtorch.sh` in
/// `cache`, if that file still exists.
pub fn installed_mobilenet_weights(cache: &Path) -> Result<PathBuf, String> {
    let pointer = cache.join(WEIGHTS_POINTER);
    let text = std::fs::read_to_string(&pointer).map_err(|e| {
        format!(
            "MobileNetV2 weights not installed ({}: {e}); run trainer/install-libtorch.sh \
             or set model.weights to a {MOBILENET_V2_FILE}",
            pointer.display()
        )
    })?;
    let path = PathBuf::from(text.trim());
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} names {}, which does not exist; rerun trainer/install-libtorch.sh",
            pointer.display(),
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_precedence() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            cache_dir_from(Some(&p("/a")), Some(&p("/x")), Some(&p("/h"))),
            Some(p("/a"))
        );
        assert_eq!(
            cache_dir_from(None, Some(&p("/x")), Some(&p("/h"))),
            Some(p("/x/spanreid"))
        );
        assert_eq!(
            cache_dir_from(None, None, Some(&p("/h"))),
            Some(p("/h/.cache/spanreid"))
        );
        assert_eq!(cache_dir_from(None, None, None), None);
    }

    #[test]
    fn weights_pointer_errors_say_what_to_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = installed_mobilenet_weights(dir.path()).expect_err("no pointer");
        assert!(err.contains("install-libtorch.sh"), "{err}");

        std::fs::write(dir.path().join(WEIGHTS_POINTER), "/gone/w.pth\n").expect("write");
        let err = installed_mobilenet_weights(dir.path()).expect_err("dangling pointer");
        assert!(err.contains("/gone/w.pth"), "{err}");

        let weights = dir.path().join(MOBILENET_V2_FILE);
        std::fs::write(&weights, b"x").expect("write");
        std::fs::write(
            dir.path().join(WEIGHTS_POINTER),
            weights.to_string_lossy().as_bytes(),
        )
        .expect("write");
        assert_eq!(installed_mobilenet_weights(dir.path()), Ok(weights));
    }
}
