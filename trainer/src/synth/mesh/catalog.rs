//! The vehicles available from the Debian packages, and loading one into the vehicle frame
//! with its textures. This module reads files; parsing lives in the sibling modules.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{
    Axis, Mesh, MeshError, RawMesh, Texture, ac, bounds, obj, sgi, to_vehicle_frame, wheel,
};

/// Where a vehicle's model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `torcs-data`: AC3D `.acc` with SGI textures.
    Torcs,
    /// `trigger-rally-data`: OBJ + MTL + PNG inside `data.zip`, wheels placed from `.vehicle`.
    Trigger,
    /// `flightgear-data-models`: AC3D `.ac` with PNG textures.
    FlightGear,
}

/// One vehicle model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VehicleSpec {
    /// Short unique name.
    pub key: &'static str,
    /// Package it comes from.
    pub source: Source,
    /// Path of the model under the extracted package root (inside `data.zip` for Trigger).
    pub path: &'static str,
    /// Length in centimetres after normalisation.
    pub length_cm: u32,
    /// VeRi-776 type id (1 sedan, 2 SUV, 3 van, 4 hatchback, 5 MPV, 6 pickup, 7 bus,
    /// 8 truck, 9 estate).
    pub type_id: u8,
}

const fn torcs(key: &'static str, path: &'static str, type_id: u8) -> VehicleSpec {
    VehicleSpec {
        key,
        source: Source::Torcs,
        path,
        length_cm: 440,
        type_id,
    }
}
const fn trigger(key: &'static str, path: &'static str, type_id: u8) -> VehicleSpec {
    VehicleSpec {
        key,
        source: Source::Trigger,
        path,
        length_cm: 410,
        type_id,
    }
}

const TORCS_DIR: &str = "usr/share/games/torcs/cars";
const TRIGGER_ZIP: &str = "usr/share/games/trigger-rally/data.zip";
const FG_DIR: &str = "usr/share/games/flightgear/Models";

/// Every vehicle that renders cleanly.
pub const VEHICLES: &[VehicleSpec] = &[
    torcs("p406", "p406/p406.acc", 1),
    torcs("155-dtm", "155-DTM/155-DTM.acc", 1),
    torcs("acura-nsx", "acura-nsx-sz/acura-nsx-sz.acc", 1),
    torcs("baja-bug", "baja-bug/baja-bug.acc", 4),
    torcs("buggy", "buggy/buggy.acc", 4),
    torcs("car1-stock1", "car1-stock1/car1-stock1.acc", 1),
    torcs("car1-stock2", "car1-stock2/car1-stock2.acc", 1),
    torcs("car1-trb1", "car1-trb1/car1-trb1.acc", 1),
    torcs("car1-trb3", "car1-trb3/car1-trb3.acc", 1),
    torcs("car2-trb1", "car2-trb1/car2-trb1.acc", 1),
    torcs("car3-trb1", "car3-trb1/car3-trb1.acc", 1),
    torcs("car4-trb1", "car4-trb1/car4-trb1.acc", 1),
    torcs("car5-trb1", "car5-trb1/car5-trb1.acc", 1),
    torcs("car6-trb1", "car6-trb1/car6-trb1.acc", 1),
    torcs("car7-trb1", "car7-trb1/car7-trb1.acc", 1),
    torcs("car8-trb1", "car8-trb1/car8-trb1.acc", 1),
    trigger("cordo-kitcar", "vehicles/cordo_kitcar", 4),
    trigger("cordo-super500", "vehicles/cordo_super500", 4),
    trigger("cordo-wrc", "vehicles/cordo_wrc", 4),
    trigger("evo-kitcar", "vehicles/evo_kitcar", 1),
    trigger("evo-super500", "vehicles/evo_super500", 1),
    trigger("evo-wrc", "vehicles/evo_wrc", 1),
    trigger("fox-kitcar", "vehicles/fox_kitcar", 4),
    trigger("fox-super500", "vehicles/fox_super500", 4),
    trigger("fox-wrc", "vehicles/fox_wrc", 4),
    VehicleSpec {
        key: "bus",
        source: Source::FlightGear,
        path: "Transport/110Bus.ac",
        length_cm: 1050,
        type_id: 7,
    },
    VehicleSpec {
        key: "pickup",
        source: Source::FlightGear,
        path: "Military/humvee-pickup-odrab-low-poly.ac",
        length_cm: 490,
        type_id: 6,
    },
    VehicleSpec {
        key: "fire-truck",
        source: Source::FlightGear,
        path: "Airport/Vehicle/hoskosh-ti-1500.ac",
        length_cm: 900,
        type_id: 8,
    },
];

/// Errors loading a vehicle from the extracted packages.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `data.zip` could not be read.
    #[error("reading {path} in {zip}: {message}")]
    Zip {
        /// The archive.
        zip: PathBuf,
        /// The member.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The model or a texture was malformed.
    #[error(transparent)]
    Mesh(#[from] MeshError),
}

fn read(path: &Path) -> Result<Vec<u8>, CatalogError> {
    std::fs::read(path).map_err(|source| CatalogError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Loads a vehicle from the package root (where the `.deb`s were extracted).
pub fn load(spec: &VehicleSpec, root: &Path) -> Result<Mesh, CatalogError> {
    let (raw, forward, up, textures) = match spec.source {
        Source::Torcs | Source::FlightGear => {
            let dir = if spec.source == Source::Torcs {
                TORCS_DIR
            } else {
                FG_DIR
            };
            let file = root.join(dir).join(spec.path);
            let text = String::from_utf8_lossy(&read(&file)?).into_owned();
            let mut raw = ac::parse(&text, &file.display().to_string())?;
            if spec.source == Source::Torcs {
                add_torcs_wheels(&mut raw, &file);
            }
            let folder = file.parent().unwrap_or(root).to_owned();
            let textures = load_textures(&raw, |name| find_texture_file(&folder, name))?;
            let forward = if spec.source == Source::Torcs {
                Axis::PosX
            } else {
                Axis::NegX
            };
            (raw, forward, Axis::PosY, textures)
        }
        Source::Trigger => {
            let zip_path = root.join(TRIGGER_ZIP);
            let files = zip_folder(&zip_path, spec.path)?;
            let raw = trigger_model(spec.path, &files)?;
            let textures = load_textures(&raw, |name| {
                files.get(name).cloned().map(|b| (name.to_owned(), b))
            })?;
            (raw, Axis::PosY, Axis::PosZ, textures)
        }
    };
    let name = spec.key;
    let mut raw = to_vehicle_frame(raw, forward, up, spec.length_cm as f32 / 100.0, name)?;
    let keep: Vec<bool> = raw
        .texture_names
        .iter()
        .map(|n| !n.to_lowercase().contains("shadow"))
        .collect();
    raw.triangles.retain(|t| {
        t.texture
            .is_none_or(|i| keep.get(i).copied().unwrap_or(true))
    });
    let (min, max) = bounds(&raw.triangles);
    Ok(Mesh {
        name: name.to_owned(),
        triangles: raw.triangles,
        textures,
        min,
        max,
    })
}

/// Adds the wheels described by the car's XML next to its `.acc` (if readable).
fn add_torcs_wheels(raw: &mut RawMesh, acc: &Path) {
    let xml_path = acc.with_extension("xml");
    let Ok(xml) = std::fs::read_to_string(&xml_path) else {
        tracing::warn!(file = %xml_path.display(), "no car XML; no wheels added");
        return;
    };
    let (min, _) = bounds(&raw.triangles);
    let wheels = wheel::torcs_wheels(&xml, min[1]);
    wheel::add(raw, &wheels);
}

/// Finds a texture file next to the model, mending case and extension mismatches.
fn find_texture_file(folder: &Path, name: &str) -> Option<(String, Vec<u8>)> {
    let base = Path::new(name)
        .file_name()?
        .to_string_lossy()
        .to_lowercase();
    let stem = Path::new(&base).file_stem()?.to_string_lossy().into_owned();
    let entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let lower = |p: &PathBuf| p.file_name().map(|f| f.to_string_lossy().to_lowercase());
    let hit = entries
        .iter()
        .find(|p| lower(p).as_deref() == Some(base.as_str()))
        .or_else(|| {
            entries.iter().find(|p| {
                p.file_stem()
                    .map(|s| s.to_string_lossy().to_lowercase())
                    .as_deref()
                    == Some(stem.as_str())
                    && lower(p).is_some_and(|f| f.ends_with(".png") || f.ends_with(".rgb"))
            })
        })?;
    let bytes = std::fs::read(hit).ok()?;
    Some((hit.display().to_string(), bytes))
}

fn load_textures(
    raw: &RawMesh,
    find: impl Fn(&str) -> Option<(String, Vec<u8>)>,
) -> Result<Vec<Texture>, CatalogError> {
    raw.texture_names
        .iter()
        .map(|name| match find(name) {
            Some((path, bytes)) => decode_texture(&bytes, &path),
            None => {
                tracing::warn!(texture = %name, "texture not found; using material colour");
                Ok(Texture {
                    width: 1,
                    height: 1,
                    texels: vec![[1.0; 4]],
                })
            }
        })
        .collect()
}

/// Decodes an SGI or any image-crate format.
pub fn decode_texture(bytes: &[u8], name: &str) -> Result<Texture, CatalogError> {
    if bytes.starts_with(&474u16.to_be_bytes()) {
        return Ok(sgi::decode(bytes, name)?);
    }
    let img = image::load_from_memory(bytes).map_err(|e| MeshError::Texture {
        name: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Texture::from_rgba(&img.to_rgba8()))
}

/// Reads every file of one folder of a zip archive, keyed by file name.
fn zip_folder(zip_path: &Path, folder: &str) -> Result<HashMap<String, Vec<u8>>, CatalogError> {
    let zerr = |message: String| CatalogError::Zip {
        zip: zip_path.to_owned(),
        path: folder.to_owned(),
        message,
    };
    let file = std::fs::File::open(zip_path).map_err(|source| CatalogError::Io {
        path: zip_path.to_owned(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| zerr(e.to_string()))?;
    let prefix = format!("{}/", folder.trim_end_matches('/'));
    let mut out = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| zerr(e.to_string()))?;
        let name = entry.name().to_owned();
        if let Some(rest) = name.strip_prefix(&prefix)
            && !rest.is_empty()
            && !rest.contains('/')
        {
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| zerr(e.to_string()))?;
            out.insert(rest.to_owned(), buf);
        }
    }
    if out.is_empty() {
        return Err(zerr("folder not found in archive".to_owned()));
    }
    Ok(out)
}

/// Quoted attribute value `key="…"` in a `.vehicle` file.
fn attr<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("{key}=\"");
    let start = text.find(&pat)? + pat.len();
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

fn vec3(s: &str) -> Option<[f32; 3]> {
    let v: Vec<f32> = s.split(',').filter_map(|w| w.trim().parse().ok()).collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

/// Body plus four wheels of a Trigger Rally car, in the `.vehicle` file's frame.
fn trigger_model(folder: &str, files: &HashMap<String, Vec<u8>>) -> Result<RawMesh, CatalogError> {
    let stem = folder.rsplit('/').next().unwrap_or(folder);
    let vehicle_name = format!("{stem}.vehicle");
    let missing = |what: &str| MeshError::Obj {
        source_name: format!("{folder}/{vehicle_name}"),
        message: format!("missing {what}"),
    };
    let vehicle = files
        .get(&vehicle_name)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .ok_or_else(|| missing("file"))?;
    let part = vehicle
        .find("<part")
        .map(|i| &vehicle[i..])
        .ok_or_else(|| missing("<part>"))?;
    let model = attr(part, "model").ok_or_else(|| missing("model"))?;
    let scale: f32 = attr(part, "scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let obj_bytes = files.get(model).ok_or_else(|| missing(model))?;
    let mtl: HashMap<String, Vec<u8>> = files
        .iter()
        .filter(|(k, _)| k.ends_with(".mtl"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut raw = obj::parse(
        obj_bytes,
        &mtl,
        scale,
        [0.0; 3],
        &format!("{folder}/{model}"),
    )?;
    let wheel_model = attr(&vehicle, "wheelmodel");
    let wheel_scale: f32 = attr(&vehicle, "wheelscale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    if let Some(wm) = wheel_model
        && let Some(wheel) = files.get(wm)
    {
        for w in part.split("<wheel").skip(1) {
            let (Some(pos), Some(radius)) = (
                attr(w, "pos").and_then(vec3),
                attr(w, "radius").and_then(|r| r.parse::<f32>().ok()),
            ) else {
                continue;
            };
            obj::append(
                &mut raw,
                wheel,
                &mtl,
                wheel_scale * radius,
                pos,
                &format!("{folder}/{wm}"),
            )?;
        }
    }
    Ok(raw)
}

#[cfg(test)]
mod tests;
