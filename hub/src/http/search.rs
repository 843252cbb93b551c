//! Search by image: an uploaded photograph of a vehicle runs through the shipped model
//! (the same inference code as the edge), and its signature is compared with every stored
//! passage by CPDM distance.
//!
//! The whole upload is the crop: the page asks for a photograph cut to the vehicle. Each
//! search reads the stored signatures (a full scan of the store); fine for a page used by
//! a person, not a bulk interface.

use std::io::Cursor;
use std::path::Path;
use std::sync::Mutex;

use image::ImageReader;
use spanreid::signature::{CameraKey, Signature};
use spanreid_infer::sign::{PassageMeta, Signer, ident};
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Crop, Embedder};

use super::error::ApiError;
use crate::index::Int8Index;
use crate::matcher::Matcher;
use crate::store::{SqliteReader, StoredSignature};

/// Largest side of an uploaded image, pixels.
pub const MAX_SIDE: u32 = 4096;

/// The model, loaded once; searches take turns on it.
pub struct SearchEngine {
    embedder: Mutex<TractEmbedder>,
}

impl std::fmt::Debug for SearchEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchEngine")
    }
}

/// Decodes an uploaded JPEG or PNG into a crop; a 400 naming the problem otherwise.
pub fn decode(bytes: &[u8]) -> Result<Crop, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty: send a JPEG or PNG image".into(),
        ));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ApiError::bad_request(format!("cannot read the image: {e}")))?;
    match reader.format() {
        Some(image::ImageFormat::Jpeg | image::ImageFormat::Png) => {}
        _ => {
            return Err(ApiError::bad_request(
                "the body is not a JPEG or PNG image".into(),
            ));
        }
    }
    let mut reader = reader;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(u64::from(MAX_SIDE) * u64::from(MAX_SIDE) * 4);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| ApiError::bad_request(format!("the image does not decode: {e}")))?
        .into_rgb8();
    if img.width() < 8 || img.height() < 8 {
        return Err(ApiError::bad_request(format!(
            "the image is {}×{} pixels; at least 8×8 is needed",
            img.width(),
            img.height()
        )));
    }
    Ok(Crop {
        width: img.width(),
        height: img.height(),
        rgb: img.into_raw(),
    })
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The stored passage's id.
    pub id: i64,
    /// CPDM distance to the uploaded image.
    pub distance: f32,
}

impl SearchEngine {
    /// Loads the model `name` of the manifest at `manifest` (hashes checked).
    pub fn load(manifest: &Path, name: &str) -> Result<Self, spanreid_infer::InferError> {
        let model = spanreid_infer::manifest::load(manifest, name)?;
        Ok(SearchEngine {
            embedder: Mutex::new(TractEmbedder::load(model)?),
        })
    }

    /// The signature of `crop` (unsigned: it never leaves the hub).
    pub fn signature(&self, crop: Crop) -> Result<Signature, ApiError> {
        let mut embedder = self
            .embedder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let embedding = embedder
            .embed(std::slice::from_ref(&crop))
            .map_err(|e| ApiError::internal("running the model", &e))?
            .pop()
            .ok_or_else(|| {
                ApiError::bad_request("the model gave no output for the image".into())
            })?;
        let signer = Signer {
            site: ident("search").map_err(|e| ApiError::internal("naming the upload", &e))?,
            camera: ident("upload").map_err(|e| ApiError::internal("naming the upload", &e))?,
            key: CameraKey::from_bytes([0; 32]),
            model_id: embedder.model_id(),
        };
        let meta = PassageMeta {
            track_id: 0,
            capture_time_us: 0,
            sequence: 0,
        };
        signer
            .signature(meta, &embedding)
            .map_err(|e| ApiError::bad_request(format!("the image gives no signature: {e}")))
    }
}

/// The `k` stored passages nearest to `query`, nearest first.
pub fn nearest(db: &Path, query: &Signature, k: usize) -> Result<Vec<Hit>, ApiError> {
    let reader = SqliteReader::open(db)?;
    let all: Vec<StoredSignature> = reader.signatures()?;
    let index = Int8Index::new(query.model_id, query.dim());
    let mut matcher = Matcher::new(index, &[], k, f32::INFINITY)
        .map_err(|e| ApiError::internal("building the search", &e))?;
    let mut skipped = 0usize;
    for s in &all {
        if s.signature.model_id == query.model_id && s.signature.dim() == query.dim() {
            matcher.insert(s.id, &s.signature);
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        tracing::debug!(
            skipped,
            "search: stored signatures of another model left out"
        );
    }
    Ok(matcher
        .candidates(query)
        .into_iter()
        .map(|c| Hit {
            id: c.id,
            distance: c.distance,
        })
        .collect())
}
