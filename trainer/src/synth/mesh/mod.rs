//! Triangle meshes of vehicles, their parsers, and the common vehicle frame.
//!
//! Vehicle frame: metres, `x` forward, `y` to the vehicle's left, `z` up, ground at `z = 0`,
//! centred on the footprint.

pub mod ac;
pub mod catalog;
pub mod obj;
pub mod sgi;
pub mod wheel;

/// A 3-vector.
pub type Vec3 = [f32; 3];

/// Errors while reading or normalising a mesh; each names its input.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// Malformed text at a line of a model file.
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        /// File the text came from.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// An OBJ file tobj could not read.
    #[error("{source_name}: OBJ: {message}")]
    Obj {
        /// File the text came from.
        source_name: String,
        /// tobj's message.
        message: String,
    },
    /// A texture that could not be decoded.
    #[error("texture {name}: {message}")]
    Texture {
        /// Texture file.
        name: String,
        /// Decoder message.
        message: String,
    },
    /// A mesh that has no triangles left after dropping shadows and lines.
    #[error("{0}: no triangles")]
    Empty(String),
}

/// An RGBA texture stored top row first, sampled with wrapping.
#[derive(Debug, Clone)]
pub struct Texture {
    /// Width in texels.
    pub width: u32,
    /// Height in texels.
    pub height: u32,
    /// Texels, row-major from the top, RGBA in 0..=1.
    pub texels: Vec<[f32; 4]>,
}

impl Texture {
    /// Nearest texel for texture coordinates (origin bottom-left, as in AC3D and OBJ).
    pub fn sample(&self, u: f32, v: f32) -> [f32; 4] {
        let fu = u - u.floor();
        let fv = v - v.floor();
        let x = ((fu * self.width as f32) as u32).min(self.width.saturating_sub(1));
        let y = (((1.0 - fv) * self.height as f32) as u32).min(self.height.saturating_sub(1));
        self.texels
            .get((y * self.width + x) as usize)
            .copied()
            .unwrap_or([1.0, 0.0, 1.0, 1.0])
    }

    /// Converts an 8-bit RGBA image.
    pub fn from_rgba(img: &image::RgbaImage) -> Self {
        Self {
            width: img.width(),
            height: img.height(),
            texels: img
                .pixels()
                .map(|p| {
                    [
                        f32::from(p[0]) / 255.0,
                        f32::from(p[1]) / 255.0,
                        f32::from(p[2]) / 255.0,
                        f32::from(p[3]) / 255.0,
                    ]
                })
                .collect(),
        }
    }
}

/// One triangle as read from a model file.
#[derive(Debug, Clone, PartialEq)]
pub struct Triangle {
    /// Corner positions.
    pub pos: [Vec3; 3],
    /// Corner normals (the face normal repeated when the file has none).
    pub normal: [Vec3; 3],
    /// Corner texture coordinates.
    pub uv: [[f32; 2]; 3],
    /// Index into the mesh's texture names, if textured.
    pub texture: Option<usize>,
    /// Material colour (multiplies the texture).
    pub colour: Vec3,
    /// Index of the object the triangle came from (used to drop shadow planes).
    pub group: u32,
}

/// Triangles plus the names of the textures they use, in file coordinates.
#[derive(Debug, Clone, Default)]
pub struct RawMesh {
    /// Triangles.
    pub triangles: Vec<Triangle>,
    /// Texture file names as written in the model.
    pub texture_names: Vec<String>,
}

impl RawMesh {
    /// Index of a texture name, adding it if new.
    pub fn texture_index(&mut self, name: &str) -> usize {
        if let Some(i) = self.texture_names.iter().position(|n| n == name) {
            return i;
        }
        self.texture_names.push(name.to_owned());
        self.texture_names.len() - 1
    }
}

/// A vehicle mesh in the vehicle frame with its decoded textures.
#[derive(Debug, Clone)]
pub struct Mesh {
    /// Name (catalog key).
    pub name: String,
    /// Triangles in the vehicle frame.
    pub triangles: Vec<Triangle>,
    /// Decoded textures, indexed like `Triangle::texture`.
    pub textures: Vec<Texture>,
    /// Bounding box minimum.
    pub min: Vec3,
    /// Bounding box maximum.
    pub max: Vec3,
}

/// A signed axis of a model file's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// +x
    PosX,
    /// −x
    NegX,
    /// +y
    PosY,
    /// +z
    PosZ,
}

impl Axis {
    fn unit(self) -> Vec3 {
        match self {
            Axis::PosX => [1.0, 0.0, 0.0],
            Axis::NegX => [-1.0, 0.0, 0.0],
            Axis::PosY => [0.0, 1.0, 0.0],
            Axis::PosZ => [0.0, 0.0, 1.0],
        }
    }
}

/// Dot product.
pub fn dot(a: Vec3, b: Vec3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Cross product.
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `a - b`.
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Unit vector along `a` (zero stays zero).
pub fn normalize(a: Vec3) -> Vec3 {
    let n = dot(a, a).sqrt();
    if n > 1e-12 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        [0.0; 3]
    }
}

/// Geometric (face) normal of a triangle, from its winding.
pub fn face_normal(p: &[Vec3; 3]) -> Vec3 {
    normalize(cross(sub(p[1], p[0]), sub(p[2], p[0])))
}

/// Bounding box of the triangles.
pub fn bounds(tris: &[Triangle]) -> (Vec3, Vec3) {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for t in tris {
        for p in &t.pos {
            for k in 0..3 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
    }
    (min, max)
}

/// Rotates a raw mesh into the vehicle frame (given which file axes point forward and up),
/// drops flat ground-level shadow planes, puts the wheels on `z = 0`, centres the footprint
/// and scales to `length` metres.
pub fn to_vehicle_frame(
    raw: RawMesh,
    forward: Axis,
    up: Axis,
    length: f32,
    name: &str,
) -> Result<RawMesh, MeshError> {
    let f = forward.unit();
    let u = up.unit();
    let l = cross(u, f);
    let rot = |p: Vec3| [dot(p, f), dot(p, l), dot(p, u)];
    let mut tris: Vec<Triangle> = raw
        .triangles
        .into_iter()
        .map(|mut t| {
            t.pos = t.pos.map(rot);
            t.normal = t.normal.map(rot);
            t
        })
        .collect();
    tris = drop_shadow_planes(tris);
    if tris.is_empty() {
        return Err(MeshError::Empty(name.to_owned()));
    }
    let (min, max) = bounds(&tris);
    let extent = (max[0] - min[0]).max(1e-6);
    let s = length / extent;
    let c = [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0, min[2]];
    for t in &mut tris {
        t.pos = t
            .pos
            .map(|p| [(p[0] - c[0]) * s, (p[1] - c[1]) * s, (p[2] - c[2]) * s]);
    }
    Ok(RawMesh {
        triangles: tris,
        texture_names: raw.texture_names,
    })
}

/// Removes objects that are flat, horizontal and at the bottom of the model: the shadow
/// planes some game models carry under the car.
fn drop_shadow_planes(tris: Vec<Triangle>) -> Vec<Triangle> {
    let (min, max) = bounds(&tris);
    let height = (max[2] - min[2]).max(1e-6);
    let footprint = (max[0] - min[0]) * (max[1] - min[1]);
    let mut groups: Vec<u32> = tris.iter().map(|t| t.group).collect();
    groups.sort_unstable();
    groups.dedup();
    let shadow: Vec<u32> = groups
        .into_iter()
        .filter(|g| {
            let members: Vec<Triangle> = tris.iter().filter(|t| t.group == *g).cloned().collect();
            let (gmin, gmax) = bounds(&members);
            let flat = gmax[2] - gmin[2] < 0.02 * height;
            let low = gmax[2] - min[2] < 0.08 * height;
            let wide = (gmax[0] - gmin[0]) * (gmax[1] - gmin[1]) > 0.5 * footprint;
            flat && low && wide
        })
        .collect();
    tris.into_iter()
        .filter(|t| !shadow.contains(&t.group))
        .collect()
}
