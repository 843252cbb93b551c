//! Surface shading of one fragment: texture, paint (body recolour and stickers), glass,
//! Lambert + ambient light with a small paint highlight, and the ground-truth part label.

use crate::synth::camera::Light;
use crate::synth::identity::Identity;
use crate::synth::mesh::{Mesh, Vec3, dot, face_normal, normalize, sub};
use crate::synth::view::{Part, part};

/// A mesh ready to shade: face normals and the colour its body is painted in.
#[derive(Debug, Clone)]
pub struct PreparedMesh {
    /// The mesh in the vehicle frame.
    pub mesh: Mesh,
    /// Face normal per triangle, from the winding.
    pub face_normals: Vec<Vec3>,
    /// Dominant (body) colour of the textured surface.
    pub body: Vec3,
    /// VeRi type id of the model.
    pub type_id: u8,
}

fn luminance(c: Vec3) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

fn base_colour(mesh: &Mesh, t: usize, uv: [f32; 2]) -> [f32; 4] {
    let tri = &mesh.triangles[t];
    let tex = tri
        .texture
        .and_then(|i| mesh.textures.get(i))
        .map_or([1.0; 4], |tx| tx.sample(uv[0], uv[1]));
    [
        tex[0] * tri.colour[0],
        tex[1] * tri.colour[1],
        tex[2] * tri.colour[2],
        tex[3],
    ]
}

impl PreparedMesh {
    /// Computes face normals and the body colour (the most common textured surface colour
    /// by area, ignoring the underside and near-black texels such as tyres and grilles).
    pub fn new(mesh: Mesh, type_id: u8) -> Self {
        let face_normals: Vec<Vec3> = mesh.triangles.iter().map(|t| face_normal(&t.pos)).collect();
        let mut bins = vec![(0.0f32, [0.0f32; 3]); 512];
        for (i, t) in mesh.triangles.iter().enumerate() {
            if face_normals[i][2] < -0.5 || t.texture.is_none() {
                continue;
            }
            let e1 = sub(t.pos[1], t.pos[0]);
            let e2 = sub(t.pos[2], t.pos[0]);
            let c = crate::synth::mesh::cross(e1, e2);
            let area = dot(c, c).sqrt();
            let uv = [
                (t.uv[0][0] + t.uv[1][0] + t.uv[2][0]) / 3.0,
                (t.uv[0][1] + t.uv[1][1] + t.uv[2][1]) / 3.0,
            ];
            let col = base_colour(&mesh, i, uv);
            if luminance([col[0], col[1], col[2]]) < 0.1 {
                continue;
            }
            let q = |v: f32| ((v * 8.0) as usize).min(7);
            let b = &mut bins[q(col[0]) * 64 + q(col[1]) * 8 + q(col[2])];
            b.0 += area;
            for (acc, v) in b.1.iter_mut().zip(col) {
                *acc += area * v;
            }
        }
        let (w, sum) = bins
            .iter()
            .copied()
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or((0.0, [0.0; 3]));
        let body = if w > 0.0 {
            sum.map(|s| s / w)
        } else {
            [0.5; 3]
        };
        Self {
            mesh,
            face_normals,
            body,
            type_id,
        }
    }

    /// Half the vehicle's length.
    pub fn half_length(&self) -> f32 {
        (self.mesh.max[0] - self.mesh.min[0]) / 2.0
    }
}

/// Light as seen by one vehicle.
#[derive(Debug, Clone, Copy)]
pub struct Lighting {
    /// Unit direction towards the light, vehicle frame.
    pub direction: Vec3,
    /// The camera's light (colour, ambient).
    pub light: Light,
}

/// Colour and part label of triangle `t` at barycentric `w`, seen from `eye` (vehicle frame).
pub fn shade(
    pm: &PreparedMesh,
    identity: &Identity,
    t: usize,
    w: [f32; 3],
    eye: Vec3,
    lighting: &Lighting,
) -> (Vec3, Part) {
    let tri = &pm.mesh.triangles[t];
    let mix3 = |v: &[Vec3; 3]| -> Vec3 {
        [
            w[0] * v[0][0] + w[1] * v[1][0] + w[2] * v[2][0],
            w[0] * v[0][1] + w[1] * v[1][1] + w[2] * v[2][1],
            w[0] * v[0][2] + w[1] * v[1][2] + w[2] * v[2][2],
        ]
    };
    let p = mix3(&tri.pos);
    let uv = [
        w[0] * tri.uv[0][0] + w[1] * tri.uv[1][0] + w[2] * tri.uv[2][0],
        w[0] * tri.uv[0][1] + w[1] * tri.uv[1][1] + w[2] * tri.uv[2][1],
    ];
    let to_eye = normalize(sub(eye, p));
    let mut nf = pm.face_normals[t];
    if dot(nf, to_eye) < 0.0 {
        nf = nf.map(|v| -v);
    }
    let label = part(nf, p, pm.half_length(), pm.mesh.max[2]);

    let texel = base_colour(&pm.mesh, t, uv);
    let mut c = [texel[0], texel[1], texel[2]];
    // Body recolour: texels near the body colour take the identity's colour, keeping
    // their relative brightness (panel lines, dirt, shading baked into the texture).
    let target = identity.body();
    let d = sub(c, pm.body);
    let near = if tri.texture.is_some() {
        (1.0 - dot(d, d).sqrt() / 0.25).clamp(0.0, 1.0)
    } else {
        0.0
    };
    if near > 0.0 {
        let ratio = (luminance(c) / luminance(pm.body).max(0.06)).clamp(0.3, 1.6);
        for k in 0..3 {
            c[k] += near * ((target[k] * ratio).min(1.0) - c[k]);
        }
    }
    // Stickers.
    let size = sub(pm.mesh.max, pm.mesh.min);
    for decal in &identity.decals {
        if dot(nf, decal.side.normal()) < 0.5 {
            continue;
        }
        let [a0, a1] = decal.side.plane_axes();
        let uv = [
            (p[a0] - pm.mesh.min[a0]) / size[a0].max(1e-6),
            (p[a1] - pm.mesh.min[a1]) / size[a1].max(1e-6),
        ];
        if decal.contains(uv) {
            c = decal.colour;
        }
    }
    // Transparent texels are glass: dark, reflective.
    if texel[3] < 1.0 {
        let glass = [0.06, 0.08, 0.10];
        for k in 0..3 {
            c[k] = glass[k] + texel[3] * (c[k] - glass[k]);
        }
    }
    let mut n = normalize(mix3(&tri.normal));
    if dot(n, to_eye) < 0.0 {
        n = n.map(|v| -v);
    }
    let l = &lighting.light;
    let diffuse = dot(n, lighting.direction).max(0.0);
    let r = sub(
        n.map(|v| 2.0 * dot(n, lighting.direction) * v),
        lighting.direction,
    );
    let spec = 0.25 * dot(r, to_eye).max(0.0).powi(24);
    let out = [0, 1, 2].map(|k| {
        (c[k] * (l.ambient + (1.0 - l.ambient) * diffuse * l.colour[k]) + spec * l.colour[k])
            .clamp(0.0, 1.0)
    });
    (out, label)
}
