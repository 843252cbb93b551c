//! Fetches the Debian packages holding the meshes and photographs into a cache directory
//! outside the repository (`apt-get download` + `dpkg-deb -x`, nothing is installed), and
//! finds the background photographs in them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages the renderer reads, with the folders extracted from each.
pub const PACKAGES: &[(&str, &[&str])] = &[
    ("torcs-data", &["./usr/share/games/torcs/cars"]),
    (
        "trigger-rally-data",
        &["./usr/share/games/trigger-rally/data.zip"],
    ),
    (
        "flightgear-data-models",
        &[
            "./usr/share/games/flightgear/Models/Transport",
            "./usr/share/games/flightgear/Models/Military",
            "./usr/share/games/flightgear/Models/Airport/Vehicle",
        ],
    ),
    ("mate-backgrounds", &["./usr/share/backgrounds/mate/nature"]),
    ("plasma-workspace-wallpapers", &["./usr/share/wallpapers"]),
];

/// Environment variable overriding the cache directory.
pub const CACHE_ENV: &str = "SPANREID_CACHE";

/// Errors fetching or finding assets.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// A command could not be started.
    #[error("running {command}: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command failed.
    #[error("{command} failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// A directory could not be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No photographs were found.
    #[error("no background photographs under {0}")]
    NoPhotos(PathBuf),
    /// No cache directory could be chosen.
    #[error("no cache directory: set {CACHE_ENV}, XDG_CACHE_HOME or HOME, or pass --cache")]
    NoCacheDir,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AssetError + '_ {
    move |source| AssetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The cache directory: the flag, else `$SPANREID_CACHE`, else `$XDG_CACHE_HOME/spanreid`,
/// else `~/.cache/spanreid`.
pub fn cache_dir(flag: Option<&Path>) -> Result<PathBuf, AssetError> {
    if let Some(p) = flag {
        return Ok(p.to_owned());
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env(CACHE_ENV)
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("spanreid")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("spanreid")))
        .ok_or(AssetError::NoCacheDir)
}

fn run(cmd: &mut Command) -> Result<(), AssetError> {
    let command = format!("{cmd:?}");
    let out = cmd.output().map_err(|source| AssetError::Spawn {
        command: command.clone(),
        source,
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(AssetError::Failed {
        command,
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

/// Makes sure every package is downloaded and extracted under `cache/root`; returns that
/// root. Already extracted packages are not fetched again.
pub fn ensure(cache: &Path) -> Result<PathBuf, AssetError> {
    let debs = cache.join("debs");
    let root = cache.join("root");
    for dir in [&debs, &root] {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut updated = false;
    for (package, folders) in PACKAGES {
        let marker = root.join(format!(".extracted-{package}"));
        if marker.exists() {
            continue;
        }
        let deb = match find_deb(&debs, package)? {
            Some(d) => d,
            None => {
                tracing::info!(%package, "downloading");
                let fetch = || {
                    run(Command::new("apt-get")
                        .arg("download")
                        .arg(package)
                        .current_dir(&debs))
                };
                if let Err(first) = fetch() {
                    if updated {
                        return Err(first);
                    }
                    tracing::info!("apt-get download failed; running apt-get update once");
                    run(Command::new("apt-get").arg("update"))?;
                    updated = true;
                    fetch()?;
                }
                find_deb(&debs, package)?.ok_or_else(|| AssetError::Failed {
                    command: format!("apt-get download {package}"),
                    status: "ok".to_owned(),
                    stderr: "no .deb file appeared".to_owned(),
                })?
            }
        };
        tracing::info!(%package, "extracting");
        let cmd = format!(
            "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' {}",
            deb.display(),
            root.display(),
            folders
                .iter()
                .map(|f| format!("'{f}'"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        run(Command::new("bash").args(["-o", "pipefail", "-c"]).arg(cmd))?;
        std::fs::write(&marker, b"").map_err(io(&marker))?;
    }
    Ok(root)
}

fn find_deb(debs: &Path, package: &str) -> Result<Option<PathBuf>, AssetError> {
    let prefix = format!("{package}_");
    let mut hits: Vec<PathBuf> = std::fs::read_dir(debs)
        .map_err(io(debs))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|f| {
                let f = f.to_string_lossy();
                f.starts_with(&prefix) && f.ends_with(".deb")
            })
        })
        .collect();
    hits.sort();
    Ok(hits.pop())
}

/// Photographs of real scenes among the wallpapers (abstract art is left out), one file
/// per picture: the smallest landscape rendition at least 1600 px wide by file name.
pub const PHOTOS: &[&str] = &[
    "usr/share/backgrounds/mate/nature/Garden.jpg",
    "usr/share/backgrounds/mate/nature/Dune.jpg",
    "usr/share/backgrounds/mate/nature/Wood.jpg",
    "usr/share/backgrounds/mate/nature/Storm.jpg",
    "usr/share/backgrounds/mate/nature/GreenMeadow.jpg",
    "usr/share/backgrounds/mate/nature/Aqua.jpg",
    "usr/share/backgrounds/mate/nature/TwoWings.jpg",
    "usr/share/wallpapers/Autumn/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Kite/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
];

/// The photographs present under `root`, in [`PHOTOS`] order.
pub fn photos(root: &Path) -> Result<Vec<PathBuf>, AssetError> {
    let found: Vec<PathBuf> = PHOTOS
        .iter()
        .map(|p| root.join(p))
        .filter(|p| p.is_file())
        .collect();
    if found.is_empty() {
        return Err(AssetError::NoPhotos(root.to_owned()));
    }
    Ok(found)
}

/// Reads a photograph scaled to at most `max_width` pixels wide, through a cache of raw
/// copies under `root/.prepared` (decoding the large JPEGs is the slow part of a small run).
pub fn prepared_photo(
    root: &Path,
    path: &Path,
    max_width: u32,
) -> Result<image::RgbImage, AssetError> {
    let key: String = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = root.join(".prepared");
    let cached = dir.join(format!("{key}-{max_width}.rgb8"));
    if let Ok(bytes) = std::fs::read(&cached)
        && let Some(img) = decode_raw(&bytes)
    {
        return Ok(img);
    }
    let bad = |e: image::ImageError| AssetError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    };
    let img = image::open(path).map_err(bad)?.to_rgb8();
    let img = if img.width() > max_width {
        let h = (u64::from(img.height()) * u64::from(max_width) / u64::from(img.width())) as u32;
        image::imageops::resize(
            &img,
            max_width,
            h.max(1),
            image::imageops::FilterType::Triangle,
        )
    } else {
        img
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut raw = Vec::with_capacity(8 + img.as_raw().len());
    raw.extend_from_slice(&img.width().to_le_bytes());
    raw.extend_from_slice(&img.height().to_le_bytes());
    raw.extend_from_slice(img.as_raw());
    // Write-then-rename so concurrent runs never read a partial file.
    let tmp = dir.join(format!("{key}-{max_width}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &raw).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &cached).map_err(io(&cached))?;
    Ok(img)
}

fn decode_raw(bytes: &[u8]) -> Option<image::RgbImage> {
    let w = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
    let h = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    image::RgbImage::from_raw(w, h, bytes.get(8..)?.to_vec())
}
