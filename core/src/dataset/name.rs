//! VeRi-776 image names: `<id>_c<camera>_<frame>_<n>.jpg`, e.g. `0002_c002_00030600_0.jpg`.

use serde::{Deserialize, Serialize};

/// The fields encoded in a VeRi-776 image name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VeriName {
    /// Vehicle identity (`0002` → 2).
    pub id: u32,
    /// Camera number (`c002` → 2).
    pub camera: u32,
    /// Frame number in the camera's video (`00030600`), giving temporal order.
    pub frame: u32,
    /// Index of the crop within that frame (`0`).
    pub index: u32,
}

/// What a VeRi-776 image name must look like (used in error messages).
pub const VERI_NAME_PATTERN: &str = "<id>_c<camera>_<frame>_<n>.jpg";

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl VeriName {
    /// Parses a file name (no folder). `None` if it does not match [`VERI_NAME_PATTERN`].
    pub fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".jpg")?;
        let mut parts = stem.split('_');
        let id = digits(parts.next()?)?;
        let camera = digits(parts.next()?.strip_prefix('c')?)?;
        let frame = digits(parts.next()?)?;
        let index = digits(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            id,
            camera,
            frame,
            index,
        })
    }

    /// The file name in the dataset's zero-padded form.
    pub fn file_name(&self) -> String {
        format!(
            "{:04}_c{:03}_{:08}_{}.jpg",
            self.id, self.camera, self.frame, self.index
        )
    }
}

/// Parses a camera name such as `c001` (the `cameraID` attribute of label files).
pub fn parse_camera(s: &str) -> Option<u32> {
    digits(s.strip_prefix('c')?)
}

/// Formats a camera number as `c001`.
pub fn camera_name(camera: u32) -> String {
    format!("c{camera:03}")
}

/// Parses a zero-padded number such as a `vehicleID` (`0001`).
pub fn parse_number(s: &str) -> Option<u32> {
    digits(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let n = VeriName::parse("0002_c002_00030600_0.jpg").unwrap();
        assert_eq!(
            n,
            VeriName {
                id: 2,
                camera: 2,
                frame: 30600,
                index: 0
            }
        );
        assert_eq!(n.file_name(), "0002_c002_00030600_0.jpg");
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "0002_c002_00030600_0.png",
            "0002_002_00030600_0.jpg",
            "0002_c002_00030600.jpg",
            "0002_c002_00030600_0_1.jpg",
            "00x2_c002_00030600_0.jpg",
            "_c002_00030600_0.jpg",
            "0002_c_00030600_0.jpg",
            "99999999999_c002_00030600_0.jpg",
        ] {
            assert_eq!(VeriName::parse(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn file_names_round_trip(id: u32, camera: u32, frame: u32, index: u32) {
            let n = VeriName { id, camera, frame, index };
            proptest::prop_assert_eq!(VeriName::parse(&n.file_name()), Some(n));
        }
    }

    #[test]
    fn cameras_and_numbers() {
        assert_eq!(parse_camera("c017"), Some(17));
        assert_eq!(parse_camera("017"), None);
        assert_eq!(camera_name(7), "c007");
        assert_eq!(parse_number("0041"), Some(41));
        assert_eq!(parse_number("-1"), None);
    }
}
