//! Wavefront OBJ reader (via `tobj`) with the material mend the Trigger Rally cars need:
//! an `usemtl` name missing from the MTL falls back to the MTL's only material.

use std::collections::HashMap;
use std::io::Cursor;

use super::{MeshError, RawMesh, Triangle, Vec3, face_normal, normalize};

/// Parses OBJ text whose MTL files are given by name in `mtl`, applying a uniform `scale`
/// and `offset` (model → file frame). `source` names the file in errors.
pub fn parse(
    obj: &[u8],
    mtl: &HashMap<String, Vec<u8>>,
    scale: f32,
    offset: Vec3,
    source: &str,
) -> Result<RawMesh, MeshError> {
    let mut mesh = RawMesh::default();
    append(&mut mesh, obj, mtl, scale, offset, source)?;
    Ok(mesh)
}

/// Like [`parse`], adding the triangles to an existing mesh (wheels onto a body).
pub fn append(
    mesh: &mut RawMesh,
    obj: &[u8],
    mtl: &HashMap<String, Vec<u8>>,
    scale: f32,
    offset: Vec3,
    source: &str,
) -> Result<(), MeshError> {
    let opts = tobj::LoadOptions {
        triangulate: true,
        single_index: true,
        ..Default::default()
    };
    let fail = |e: tobj::LoadError| MeshError::Obj {
        source_name: source.to_owned(),
        message: e.to_string(),
    };
    let (models, materials) = tobj::load_obj_buf(&mut Cursor::new(obj), &opts, |p| {
        let key = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match mtl.get(&key) {
            Some(bytes) => tobj::load_mtl_buf(&mut Cursor::new(bytes.as_slice())),
            None => Err(tobj::LoadError::OpenFileFailed),
        }
    })
    .map_err(fail)?;
    let materials = materials.unwrap_or_default();
    let group0 = mesh
        .triangles
        .iter()
        .map(|t| t.group + 1)
        .max()
        .unwrap_or(0);
    for (gi, model) in models.iter().enumerate() {
        let m = &model.mesh;
        let material = m
            .material_id
            .and_then(|i| materials.get(i))
            .or(if materials.len() == 1 {
                materials.first()
            } else {
                None
            });
        let colour = material
            .and_then(|mm| mm.diffuse)
            .unwrap_or([0.8, 0.8, 0.8]);
        let texture = material
            .and_then(|mm| mm.diffuse_texture.clone())
            .map(|t| mesh.texture_index(&t));
        let vert = |i: u32| -> Vec3 {
            let i = i as usize * 3;
            let p = [m.positions[i], m.positions[i + 1], m.positions[i + 2]];
            [
                p[0] * scale + offset[0],
                p[1] * scale + offset[1],
                p[2] * scale + offset[2],
            ]
        };
        for tri in m.indices.chunks_exact(3) {
            let idx = [tri[0], tri[1], tri[2]];
            if idx.iter().any(|&i| i as usize * 3 + 2 >= m.positions.len()) {
                return Err(MeshError::Obj {
                    source_name: source.to_owned(),
                    message: format!("index out of range in object {}", model.name),
                });
            }
            let pos = idx.map(vert);
            let fnormal = face_normal(&pos);
            if fnormal == [0.0; 3] {
                continue;
            }
            let normal = idx.map(|i| {
                let i = i as usize * 3;
                m.normals
                    .get(i..i + 3)
                    .map(|n| normalize([n[0], n[1], n[2]]))
                    .unwrap_or(fnormal)
            });
            let uv = idx.map(|i| {
                let i = i as usize * 2;
                m.texcoords
                    .get(i..i + 2)
                    .map(|t| [t[0], t[1]])
                    .unwrap_or([0.0, 0.0])
            });
            mesh.triangles.push(Triangle {
                pos,
                normal,
                uv,
                texture,
                colour,
                group: group0 + gi as u32,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJ: &str = "mtllib car.mtl\no body\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nusemtl _wrong_name.png\nf 1/1 2/2 3/3 4/4\n";
    const MTL: &str = "newmtl _car.png\nKd 0.5 0.25 1\nmap_Kd car.png\n";

    #[test]
    fn quad_is_triangulated_and_material_mended() {
        let mtl = HashMap::from([("car.mtl".to_owned(), MTL.as_bytes().to_vec())]);
        let m = parse(OBJ.as_bytes(), &mtl, 2.0, [0.0, 0.0, 1.0], "car.obj").unwrap();
        assert_eq!(m.triangles.len(), 2);
        assert_eq!(m.texture_names, vec!["car.png".to_owned()]);
        let t = &m.triangles[0];
        assert_eq!(t.texture, Some(0));
        assert_eq!(t.colour, [0.5, 0.25, 1.0]);
        assert_eq!(t.pos[1], [2.0, 0.0, 1.0]);
        assert_eq!(t.normal[0], [0.0, 0.0, 1.0]);
    }

    #[test]
    fn bad_index_is_an_error() {
        let bad = "v 0 0 0\nf 1 2 3\n";
        assert!(parse(bad.as_bytes(), &HashMap::new(), 1.0, [0.0; 3], "bad.obj").is_err());
    }
}
