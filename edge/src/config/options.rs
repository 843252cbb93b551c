//! The closed option sets of the file are enums, checked once by serde from their TOML
//! spelling. Serde's message for a bad value lists the allowed ones; [`keyed`] puts the
//! dotted key in front of it, so the user reads e.g.
//! ``camera.source: unknown variant `usb`, expected one of `replay`, `video`, `v4l2` ``
//! under the offending line.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::capture::{PixelFormat, SourceKind};
use crate::detect::{DetectorKind, Layout};
use crate::passage::CropPolicyKind;

/// An option set and the one config key it is read from.
pub trait ConfigKey {
    /// Dotted key, e.g. `camera.source`.
    const KEY: &'static str;
}

/// Deserialises `T` (`#[serde(deserialize_with = "keyed")]`); a bad value's error names
/// `T::KEY`.
pub(crate) fn keyed<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + ConfigKey,
{
    T::deserialize(d)
        .map_err(|e| D::Error::custom(format_args!("{}: {}", T::KEY, e.to_string().trim_end())))
}

impl ConfigKey for SourceKind {
    const KEY: &'static str = "camera.source";
}

impl ConfigKey for PixelFormat {
    const KEY: &'static str = "camera.pixel_format";
}

impl ConfigKey for DetectorKind {
    const KEY: &'static str = "detect.detector";
}

impl ConfigKey for CropPolicyKind {
    const KEY: &'static str = "detect.crop_policy";
}

impl ConfigKey for Layout {
    const KEY: &'static str = "detect.onnx.layout";
}
