//! The world of a seed: its identities, cameras and vehicle meshes, and the photographs
//! behind its cameras. Planned once from the preset and seed, shared by the crop dataset
//! and the camera streams.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::synth::camera::{self, CameraSpec};
use crate::synth::identity::{self, Identity};
use crate::synth::mesh::catalog::{self, Source, VEHICLES, VehicleSpec};
use crate::synth::preset::{Look, Preset};
use crate::synth::scene::Photo;
use crate::synth::shade::PreparedMesh;
use crate::synth::{SynthError, assets};

/// Catalog vehicles interleaved by source, so that small datasets mix all three packages.
pub fn vehicle_order() -> Vec<&'static VehicleSpec> {
    let by = |s: Source| {
        VEHICLES
            .iter()
            .filter(move |v| v.source == s)
            .collect::<Vec<_>>()
    };
    let lists = [
        by(Source::Torcs),
        by(Source::Trigger),
        by(Source::FlightGear),
    ];
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| lists.iter().filter_map(move |l| l.get(i).copied()))
        .collect()
}

/// Loads the given vehicles in parallel.
pub fn load_meshes(root: &Path, specs: &[&VehicleSpec]) -> Result<Vec<PreparedMesh>, SynthError> {
    specs
        .par_iter()
        .map(|spec| {
            let mesh = catalog::load(spec, root).map_err(|source| SynthError::Vehicle {
                key: spec.key.to_owned(),
                source,
            })?;
            tracing::debug!(vehicle = %mesh.name, triangles = mesh.triangles.len(), "loaded");
            Ok(PreparedMesh::new(mesh, spec.type_id))
        })
        .collect()
}

/// Loads photographs (found under the package `root`), scaled to at most `max_width`
/// pixels wide.
pub fn load_photos(
    root: &Path,
    paths: &[PathBuf],
    max_width: u32,
) -> Result<Vec<Photo>, SynthError> {
    paths
        .par_iter()
        .map(|p| {
            let img =
                assets::prepared_photo(root, p, max_width).map_err(|e| SynthError::Photo {
                    path: p.clone(),
                    message: e.to_string(),
                })?;
            Ok(Photo::from_rgb(&img))
        })
        .collect()
}

/// Independent random stream for item `index` of kind `salt`.
pub fn rng_for(seed: u64, salt: u64, index: u64) -> ChaCha8Rng {
    let mut z =
        seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

/// The identities, cameras and mesh list of a seed (shared with the streams).
pub struct World {
    /// Vehicles in mesh-index order.
    pub specs: Vec<&'static VehicleSpec>,
    /// Identities (mesh indices into `specs`).
    pub identities: Vec<Identity>,
    /// Cameras.
    pub cameras: Vec<CameraSpec>,
    /// Identities `1..=train` are training identities.
    pub train: u32,
}

/// Plans the world of a seed.
pub fn plan_world(preset: &Preset, seed: u64, photos: usize) -> World {
    let order = vehicle_order();
    let mut rng = rng_for(seed, 1, 0);
    let mut identities = identity::plan(
        preset.identities,
        order.len(),
        match preset.look {
            Look::Standard => identity::STANDARD_COLOURS,
            Look::Holdout => identity::HOLDOUT_COLOURS,
        },
        &mut rng,
    );
    // Only load meshes in use; renumber to a dense list.
    let mut used: Vec<usize> = identities.iter().map(|i| i.mesh).collect();
    used.sort_unstable();
    used.dedup();
    for i in &mut identities {
        i.mesh = used.iter().position(|&u| u == i.mesh).unwrap_or(0);
    }
    let specs = used.iter().map(|&u| order[u]).collect();
    let cameras = camera::plan(
        preset.cameras,
        photos,
        preset.look,
        &mut rng_for(seed, 2, 0),
    );
    let mut train = preset.train_identities();
    // Keep twin pairs on one side of the split.
    if identities
        .get(train as usize)
        .is_some_and(|i| i.twin_of == Some(train))
    {
        train += 1;
    }
    World {
        specs,
        identities,
        cameras,
        train: train.min(preset.identities.saturating_sub(1)).max(1),
    }
}

/// The world of `preset` and `seed` with each camera's photograph (its index in the
/// cameras' order) and the meshes of its vehicles.
pub fn load_world(
    root: &Path,
    preset: &Preset,
    seed: u64,
) -> Result<(World, Vec<Photo>, Vec<PreparedMesh>), SynthError> {
    let photo_paths = assets::photos(root)?;
    let world = plan_world(preset, seed, photo_paths.len());
    let needed: Vec<PathBuf> = world
        .cameras
        .iter()
        .map(|c| photo_paths[c.background].clone())
        .collect();
    let photos = load_photos(root, &needed, 1280)?;
    let meshes = load_meshes(root, &world.specs)?;
    Ok((world, photos, meshes))
}
