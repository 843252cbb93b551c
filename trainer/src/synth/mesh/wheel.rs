//! Procedural wheels for the TORCS cars, whose models leave the wheels to the game: tyre
//! and rim cylinders placed from the car's `.xml` (axle positions, wheel track, rim
//! diameter, tyre width and aspect ratio).

use super::{RawMesh, Triangle, Vec3, face_normal};

const SEGMENTS: usize = 20;
const TYRE: Vec3 = [0.06, 0.06, 0.065];
const RIM: Vec3 = [0.55, 0.56, 0.58];

/// One wheel: centre, radius, width; the axis is the file's `z` (TORCS `.acc` lateral).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wheel {
    /// Centre in file coordinates.
    pub centre: Vec3,
    /// Tyre outer radius.
    pub radius: f32,
    /// Tyre width.
    pub width: f32,
    /// Rim radius.
    pub rim: f32,
}

fn push(mesh: &mut RawMesh, pos: [Vec3; 3], colour: Vec3, group: u32) {
    let n = face_normal(&pos);
    if n == [0.0; 3] {
        return;
    }
    mesh.triangles.push(Triangle {
        pos,
        normal: [n; 3],
        uv: [[0.0; 2]; 3],
        texture: None,
        colour,
        group,
    });
}

/// Adds a closed cylinder per wheel (dark tyre tread and sidewalls, light rim discs).
pub fn add(mesh: &mut RawMesh, wheels: &[Wheel]) {
    let group = mesh
        .triangles
        .iter()
        .map(|t| t.group + 1)
        .max()
        .unwrap_or(0);
    for (wi, w) in wheels.iter().enumerate() {
        let g = group + wi as u32;
        let ring = |r: f32, z: f32| -> Vec<Vec3> {
            (0..SEGMENTS)
                .map(|i| {
                    let a = i as f32 * std::f32::consts::TAU / SEGMENTS as f32;
                    [
                        w.centre[0] + r * a.cos(),
                        w.centre[1] + r * a.sin(),
                        w.centre[2] + z,
                    ]
                })
                .collect()
        };
        let h = w.width / 2.0;
        let (o0, o1) = (ring(w.radius, -h), ring(w.radius, h));
        let (r0, r1) = (ring(w.rim, -h - 0.002), ring(w.rim, h + 0.002));
        let c0 = [w.centre[0], w.centre[1], w.centre[2] - h - 0.002];
        let c1 = [w.centre[0], w.centre[1], w.centre[2] + h + 0.002];
        for i in 0..SEGMENTS {
            let j = (i + 1) % SEGMENTS;
            push(mesh, [o0[i], o0[j], o1[j]], TYRE, g);
            push(mesh, [o0[i], o1[j], o1[i]], TYRE, g);
            push(mesh, [o0[i], o0[j], [c0[0], c0[1], c0[2] + 0.002]], TYRE, g);
            push(mesh, [o1[i], o1[j], [c1[0], c1[1], c1[2] - 0.002]], TYRE, g);
            push(mesh, [r0[i], r0[j], c0], RIM, g);
            push(mesh, [r1[i], r1[j], c1], RIM, g);
        }
    }
}

/// Numeric `val` of attribute `name` inside `<section name="section">` of a TORCS car XML.
pub fn torcs_attr(xml: &str, section: &str, name: &str) -> Option<f32> {
    let start = xml.find(&format!("<section name=\"{section}\">"))?;
    let body = &xml[start..];
    let body = &body[..body.find("</section>").unwrap_or(body.len())];
    let at = body.find(&format!("name=\"{name}\""))?;
    let rest = &body[at..];
    let v = rest.find("val=\"")? + 5;
    let len = rest[v..].find('"')?;
    rest[v..v + len].trim().parse().ok()
}

/// The four wheels of a TORCS car from its XML, in `.acc` coordinates (`x` forward,
/// `y` up, `z` to the right); `bottom` is the lowest `y` of the body.
pub fn torcs_wheels(xml: &str, bottom: f32) -> Vec<Wheel> {
    let mut out = Vec::new();
    for (axle, prefix) in [("Front Axle", "Front"), ("Rear Axle", "Rear")] {
        let Some(x) = torcs_attr(xml, axle, "xpos") else {
            continue;
        };
        for side in ["Right", "Left"] {
            let s = format!("{prefix} {side} Wheel");
            let (Some(y), Some(rim_in), Some(width_mm), Some(ratio)) = (
                torcs_attr(xml, &s, "ypos"),
                torcs_attr(xml, &s, "rim diameter"),
                torcs_attr(xml, &s, "tire width"),
                torcs_attr(xml, &s, "tire height-width ratio"),
            ) else {
                continue;
            };
            let rim = rim_in * 0.0254 / 2.0;
            let width = width_mm / 1000.0;
            let radius = rim + width * ratio;
            out.push(Wheel {
                centre: [x, bottom + radius - 0.1, -y],
                radius,
                width,
                rim: rim * 0.8,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<section name="Front Axle"><attnum name="xpos" unit="m" val="1.37"/></section>
<section name="Front Right Wheel"><attnum name="ypos" unit="m" val="-0.75"/>
<attnum name="rim diameter" unit="in" val="16.0"/><attnum name="tire width" unit="mm" val="235"/>
<attnum name="tire height-width ratio" val=".55"/></section>"#;

    #[test]
    fn wheel_from_xml() {
        let w = torcs_wheels(XML, 0.0);
        assert_eq!(w.len(), 1);
        assert!((w[0].radius - (0.2032 + 0.12925)).abs() < 1e-4);
        assert_eq!(w[0].centre[0], 1.37);
        assert_eq!(w[0].centre[2], 0.75);
        let mut m = RawMesh::default();
        add(&mut m, &w);
        assert_eq!(m.triangles.len(), 6 * SEGMENTS);
    }
}
