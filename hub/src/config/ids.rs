//! Camera references (`"site/camera"`) and hexadecimal model ids, as the configuration
//! writes them.

use spanreid::signature::{MODEL_ID_LEN, ModelId};

use super::CameraId;
use crate::error::ConfigError;

/// Split `"site/camera"`.
pub fn parse_camera_ref(s: &str) -> Result<CameraId, ConfigError> {
    match s.split_once('/') {
        Some((site, cam)) if !site.is_empty() && !cam.is_empty() && !cam.contains('/') => {
            Ok((site.to_owned(), cam.to_owned()))
        }
        _ => Err(ConfigError::Invalid(format!(
            "camera reference {s:?} is not \"site/camera\""
        ))),
    }
}

pub(super) fn parse_model_id(hex: &str) -> Result<ModelId, ConfigError> {
    spanreid::hex::decode::<MODEL_ID_LEN>(hex).ok_or_else(|| {
        ConfigError::Invalid(format!("model.id {hex:?} is not 32 hexadecimal digits"))
    })
}

/// Lower-case hexadecimal of bytes (model ids in events and the database).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
