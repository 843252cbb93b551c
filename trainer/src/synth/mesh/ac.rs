//! AC3D reader for `.ac` files and the TORCS `.acc` variant (triangle strips, per-vertex
//! normals, several texture units of which the first, `base`, is used).

use super::{MeshError, RawMesh, Triangle, Vec3, face_normal, normalize};

struct Lines<'a> {
    lines: Vec<&'a str>,
    next: usize,
    source: &'a str,
}

impl<'a> Lines<'a> {
    fn take(&mut self) -> Option<&'a str> {
        let l = self.lines.get(self.next).copied();
        self.next += 1;
        l
    }
    fn err(&self, message: impl Into<String>) -> MeshError {
        MeshError::Syntax {
            source_name: self.source.to_owned(),
            line: self.next,
            message: message.into(),
        }
    }
    fn need(&mut self, what: &str) -> Result<&'a str, MeshError> {
        self.take()
            .ok_or_else(|| self.err(format!("unexpected end of file, expected {what}")))
    }
}

fn floats(l: &Lines<'_>, words: &[&str], n: usize) -> Result<Vec<f32>, MeshError> {
    if words.len() < n {
        return Err(l.err(format!("expected {n} numbers, found {}", words.len())));
    }
    words[..n]
        .iter()
        .map(|w| {
            w.parse::<f32>()
                .map_err(|_| l.err(format!("bad number {w:?}")))
        })
        .collect()
}

fn count(l: &Lines<'_>, word: Option<&&str>) -> Result<usize, MeshError> {
    word.and_then(|w| w.parse::<usize>().ok())
        .ok_or_else(|| l.err("expected a count"))
}

/// Rigid transform: `p ↦ rot · p + loc`.
#[derive(Clone, Copy)]
struct Transform {
    rot: [[f32; 3]; 3],
    loc: Vec3,
}

impl Transform {
    const IDENTITY: Self = Self {
        rot: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        loc: [0.0; 3],
    };
    fn rotate(&self, p: Vec3) -> Vec3 {
        let r = &self.rot;
        [
            r[0][0] * p[0] + r[0][1] * p[1] + r[0][2] * p[2],
            r[1][0] * p[0] + r[1][1] * p[1] + r[1][2] * p[2],
            r[2][0] * p[0] + r[2][1] * p[1] + r[2][2] * p[2],
        ]
    }
    fn apply(&self, p: Vec3) -> Vec3 {
        let q = self.rotate(p);
        [q[0] + self.loc[0], q[1] + self.loc[1], q[2] + self.loc[2]]
    }
    /// `self ∘ child`.
    fn then(&self, child: &Transform) -> Transform {
        let mut rot = [[0.0; 3]; 3];
        for (i, row) in rot.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..3).map(|k| self.rot[i][k] * child.rot[k][j]).sum();
            }
        }
        Transform {
            rot,
            loc: self.apply(child.loc),
        }
    }
}

/// Surface flags, material index, and (vertex, texture coordinate) references.
type Surface = (u32, usize, Vec<(usize, [f32; 2])>);

struct Vertex {
    pos: Vec3,
    normal: Option<Vec3>,
}

/// Parses AC3D text (`.ac` or `.acc`) into triangles in the file's frame.
/// `source` names the file in errors.
pub fn parse(text: &str, source: &str) -> Result<RawMesh, MeshError> {
    let mut l = Lines {
        lines: text.lines().collect(),
        next: 0,
        source,
    };
    let header = l.need("AC3D header")?;
    if !header.starts_with("AC3D") {
        return Err(l.err("not an AC3D file (no AC3D header)"));
    }
    let mut materials: Vec<Vec3> = Vec::new();
    let mut mesh = RawMesh::default();
    let mut group = 0u32;
    while let Some(line) = l.take() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("MATERIAL") => {
                let i = words
                    .iter()
                    .position(|w| *w == "rgb")
                    .ok_or_else(|| l.err("MATERIAL without rgb"))?;
                let c = floats(&l, &words[i + 1..], 3)?;
                materials.push([c[0], c[1], c[2]]);
            }
            Some("OBJECT") => {
                parse_object(
                    &mut l,
                    &materials,
                    &Transform::IDENTITY,
                    &mut mesh,
                    &mut group,
                )?;
            }
            _ => {}
        }
    }
    Ok(mesh)
}

fn parse_object(
    l: &mut Lines<'_>,
    materials: &[Vec3],
    parent: &Transform,
    mesh: &mut RawMesh,
    group: &mut u32,
) -> Result<(), MeshError> {
    let mut local = Transform::IDENTITY;
    let mut texture: Option<String> = None;
    let mut verts: Vec<Vertex> = Vec::new();
    let mut surfaces: Vec<Surface> = Vec::new();
    let kids = loop {
        let line = l.need("object body or kids")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("kids") => break count(l, words.get(1))?,
            Some("data") => {
                let mut left = count(l, words.get(1))?;
                while left > 0 {
                    let d = l.need("data text")?;
                    left = left.saturating_sub(d.len() + 1);
                }
            }
            Some("texture") => {
                let unit = words.get(2).copied().unwrap_or("base");
                if unit == "base" && texture.is_none() {
                    let name = line
                        .split('"')
                        .nth(1)
                        .ok_or_else(|| l.err("texture name must be quoted"))?;
                    texture = Some(name.to_owned());
                }
            }
            Some("loc") => {
                let v = floats(l, &words[1..], 3)?;
                local.loc = [v[0], v[1], v[2]];
            }
            Some("rot") => {
                let v = floats(l, &words[1..], 9)?;
                local.rot = [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]];
            }
            Some("numvert") => {
                let n = count(l, words.get(1))?;
                verts.reserve(n);
                for _ in 0..n {
                    let vl = l.need("vertex")?;
                    let vw: Vec<&str> = vl.split_whitespace().collect();
                    let p = floats(l, &vw, 3)?;
                    let normal = if vw.len() >= 6 {
                        let q = floats(l, &vw[3..], 3)?;
                        Some([q[0], q[1], q[2]])
                    } else {
                        None
                    };
                    verts.push(Vertex {
                        pos: [p[0], p[1], p[2]],
                        normal,
                    });
                }
            }
            Some("numsurf") => {
                let n = count(l, words.get(1))?;
                for _ in 0..n {
                    surfaces.push(parse_surface(l, verts.len())?);
                }
            }
            _ => {}
        }
    };
    let world = parent.then(&local);
    let tex = texture.map(|t| mesh.texture_index(&t));
    for (kind, mat, refs) in surfaces {
        let colour = materials.get(mat).copied().unwrap_or([0.8, 0.8, 0.8]);
        let corners: Vec<[usize; 3]> = match kind & 0x0f {
            0 if refs.len() >= 3 => (1..refs.len() - 1).map(|i| [0, i, i + 1]).collect(),
            4 if refs.len() >= 3 => (0..refs.len() - 2)
                .map(|i| {
                    if i % 2 == 0 {
                        [i, i + 1, i + 2]
                    } else {
                        [i + 1, i, i + 2]
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        for c in corners {
            let pos = c.map(|k| world.apply(verts[refs[k].0].pos));
            let fnormal = face_normal(&pos);
            if fnormal == [0.0; 3] {
                continue;
            }
            let normal = c.map(|k| {
                verts[refs[k].0]
                    .normal
                    .map(|n| normalize(world.rotate(n)))
                    .unwrap_or(fnormal)
            });
            mesh.triangles.push(Triangle {
                pos,
                normal,
                uv: c.map(|k| refs[k].1),
                texture: tex,
                colour,
                group: *group,
            });
        }
    }
    *group += 1;
    for _ in 0..kids {
        loop {
            let line = l.need("child OBJECT")?;
            if line.trim_start().starts_with("OBJECT") {
                break;
            }
        }
        parse_object(l, materials, &world, mesh, group)?;
    }
    Ok(())
}

fn parse_surface(l: &mut Lines<'_>, nverts: usize) -> Result<Surface, MeshError> {
    let line = l.need("SURF")?;
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() != Some(&"SURF") {
        return Err(l.err(format!("expected SURF, found {line:?}")));
    }
    let flags = words
        .get(1)
        .and_then(|w| u32::from_str_radix(w.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| l.err("SURF without hex flags"))?;
    let mut mat = 0usize;
    loop {
        let line = l.need("mat or refs")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("mat") => mat = count(l, words.get(1))?,
            Some("refs") => {
                let n = count(l, words.get(1))?;
                let mut refs = Vec::with_capacity(n);
                for _ in 0..n {
                    let rl = l.need("ref")?;
                    let rw: Vec<&str> = rl.split_whitespace().collect();
                    let idx = count(l, rw.first())?;
                    if idx >= nverts {
                        return Err(l.err(format!("vertex {idx} out of range ({nverts} vertices)")));
                    }
                    let uv = if rw.len() >= 3 {
                        let f = floats(l, &rw[1..], 2)?;
                        [f[0], f[1]]
                    } else {
                        [0.0, 0.0]
                    };
                    refs.push((idx, uv));
                }
                return Ok((flags, mat, refs));
            }
            _ => return Err(l.err(format!("unexpected {line:?} in SURF"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUAD_AC: &str = "AC3Db\nMATERIAL \"red\" rgb 1 0 0  amb 0.2 0.2 0.2  emis 0 0 0  spec 0 0 0  shi 10  trans 0\nOBJECT world\nkids 1\nOBJECT poly\nname \"quad\"\ndata 4\nquad\ntexture \"paint.png\"\nloc 1 0 0\nnumvert 4\n0 0 0\n1 0 0\n1 1 0\n0 1 0\nnumsurf 1\nSURF 0x20\nmat 0\nrefs 4\n0 0 0\n1 1 0\n2 1 1\n3 0 1\nkids 0\n";

    #[test]
    fn polygon_is_fanned_and_located() {
        let m = parse(QUAD_AC, "quad.ac").unwrap();
        assert_eq!(m.triangles.len(), 2);
        assert_eq!(m.texture_names, vec!["paint.png".to_owned()]);
        let t = &m.triangles[0];
        assert_eq!(t.pos, [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 1.0, 0.0]]);
        assert_eq!(t.uv[2], [1.0, 1.0]);
        assert_eq!(t.colour, [1.0, 0.0, 0.0]);
        assert_eq!(t.normal[0], [0.0, 0.0, 1.0]);
    }

    const STRIP_ACC: &str = "AC3Db\nMATERIAL \"m\" rgb 1 1 1 amb 1 1 1 emis 0 0 0 spec 0 0 0 shi 0 trans 0\nOBJECT world\nkids 1\nOBJECT poly\nname \"s\"\ntexture \"car.rgb\" base\ntexture \"car.rgb\" tiled\nnumvert 4\n0 0 0 0 0 1\n1 0 0 0 0 1\n0 1 0 0 0 1\n1 1 0 0 0 1\nnumsurf 1\nSURF 0x34\nmat 0\nrefs 4\n0 0 0 0.5 0.5\n1 1 0 0.5 0.5\n2 0 1 0.5 0.5\n3 1 1 0.5 0.5\nkids 0\n";

    #[test]
    fn strip_keeps_consistent_winding() {
        let m = parse(STRIP_ACC, "s.acc").unwrap();
        assert_eq!(m.triangles.len(), 2);
        for t in &m.triangles {
            assert_eq!(face_normal(&t.pos), [0.0, 0.0, 1.0]);
            assert_eq!(t.uv.iter().filter(|uv| **uv == [0.5, 0.5]).count(), 0);
        }
    }

    #[test]
    fn bad_reference_names_file_and_line() {
        let bad = STRIP_ACC.replace("3 1 1 0.5 0.5", "9 1 1 0.5 0.5");
        let err = parse(&bad, "s.acc").unwrap_err().to_string();
        assert!(err.starts_with("s.acc:21:"), "{err}");
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn missing_header_is_an_error() {
        assert!(parse("OBJECT world\n", "x.ac").is_err());
    }
}
