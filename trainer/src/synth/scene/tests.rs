use super::*;
use crate::synth::camera::Light;
use crate::synth::mesh::{Mesh, Triangle, bounds};
use rand::SeedableRng;

/// Axis-aligned box `[-1,1] × [-1,1] × [0,2]` in the vehicle frame, white, untextured.
pub(crate) fn cube() -> PreparedMesh {
    let v = |x: f32, y: f32, z: f32| [x, y, z];
    let quads = [
        [v(1., -1., 0.), v(1., 1., 0.), v(1., 1., 2.), v(1., -1., 2.)],
        [
            v(-1., -1., 0.),
            v(-1., -1., 2.),
            v(-1., 1., 2.),
            v(-1., 1., 0.),
        ],
        [v(-1., 1., 0.), v(-1., 1., 2.), v(1., 1., 2.), v(1., 1., 0.)],
        [
            v(-1., -1., 0.),
            v(1., -1., 0.),
            v(1., -1., 2.),
            v(-1., -1., 2.),
        ],
        [
            v(-1., -1., 2.),
            v(1., -1., 2.),
            v(1., 1., 2.),
            v(-1., 1., 2.),
        ],
        [
            v(-1., -1., 0.),
            v(-1., 1., 0.),
            v(1., 1., 0.),
            v(1., -1., 0.),
        ],
    ];
    let mut triangles = Vec::new();
    for q in quads {
        for pos in [[q[0], q[1], q[2]], [q[0], q[2], q[3]]] {
            let n = crate::synth::mesh::face_normal(&pos);
            triangles.push(Triangle {
                pos,
                normal: [n; 3],
                uv: [[0.0; 2]; 3],
                texture: None,
                colour: [1.0; 3],
                group: 0,
            });
        }
    }
    let (min, max) = bounds(&triangles);
    PreparedMesh::new(
        Mesh {
            name: "cube".into(),
            triangles,
            textures: vec![],
            min,
            max,
        },
        1,
    )
}

fn plain() -> Identity {
    Identity {
        id: 1,
        mesh: 0,
        colour: 6,
        paint: crate::synth::identity::PALETTE[6].2,
        decals: vec![],
        twin_of: None,
    }
}

fn lighting() -> Lighting {
    Lighting {
        direction: [0.0, 0.0, 1.0],
        light: Light {
            azimuth_deg: 0.0,
            elevation_deg: 90.0,
            colour: [1.0; 3],
            ambient: 0.5,
        },
    }
}

fn view(azimuth: f32) -> Rendered {
    let pm = cube();
    let id = plain();
    let pose = Pose::orbit([0.0, 0.0, 1.0], 10.0, azimuth, 0.0);
    let k = Intrinsics {
        focal: 90.0,
        cx: 20.0,
        cy: 20.0,
        width: 40,
        height: 40,
    };
    let placed = [Placed {
        mesh: &pm,
        identity: &id,
        pose,
        lighting: lighting(),
    }];
    render(&placed, &k, 1, &vec![[0.0; 3]; 1600])
}

#[test]
fn cube_front_face_covers_known_pixels() {
    // The front face (x = 1) is 9 m away: half size 90/9 = 10 px around the centre.
    let r = view(0.0);
    for y in 0..40 {
        for x in 0..40 {
            let i = y * 40 + x;
            let inside = (10..30).contains(&x) && (10..30).contains(&y);
            assert_eq!(r.coverage[i] == 1.0, inside, "pixel {x},{y}");
            assert_eq!(r.parts[i], if inside { 1 } else { 0 }, "pixel {x},{y}");
        }
    }
    // Lit surfaces are brighter than the black background.
    assert!(r.rgb[20 * 40 + 20][0] > 0.3);
    assert_eq!(r.rgb[0], [0.0; 3]);
}

#[test]
fn cube_part_labels_follow_the_view() {
    let count = |r: &Rendered, p: u8| r.parts.iter().filter(|&&v| v == p).count();
    let side = view(90.0);
    assert_eq!(count(&side, 3), 400);
    assert_eq!(count(&side, 1) + count(&side, 2), 0);
    let rear = view(180.0);
    assert_eq!(count(&rear, 2), 400);
    // Front-left: front and side both visible, left of image is the front.
    let fl = view(45.0);
    assert!(count(&fl, 1) > 100 && count(&fl, 3) > 100);
    assert_eq!(count(&fl, 2), 0);
}

#[test]
fn the_end_face_lies_where_the_facing_label_says() {
    use crate::train::facing::Facing;
    let mean_x = |r: &Rendered, p: u8| {
        let xs: Vec<f32> = (0..r.parts.len())
            .filter(|&i| r.parts[i] == p)
            .map(|i| (i % 40) as f32)
            .collect();
        xs.iter().sum::<f32>() / xs.len() as f32
    };
    for azimuth in [30.0f32, 60.0, 120.0, 150.0, 210.0, 240.0, 300.0, 330.0] {
        let r = view(azimuth);
        let facing = Facing::of_azimuth(f64::from(azimuth)).expect("oblique");
        // Where the front points, or away from it for a rear end.
        let (end, towards) = if azimuth.to_radians().cos() > 0.0 {
            (1, facing.sign())
        } else {
            (2, -facing.sign())
        };
        let gap = mean_x(&r, end) - mean_x(&r, 3);
        assert!(gap * towards > 2.0, "azimuth {azimuth}: gap {gap}");
    }
}

#[test]
fn supersampled_edges_are_fractional() {
    let pm = cube();
    let id = plain();
    let pose = Pose::orbit([0.0, 0.0, 1.0], 10.0, 0.0, 0.0);
    // Shift by a quarter pixel so the face edges fall inside pixels.
    let k = Intrinsics {
        focal: 90.0,
        cx: 20.25,
        cy: 20.0,
        width: 40,
        height: 40,
    };
    let placed = [Placed {
        mesh: &pm,
        identity: &id,
        pose,
        lighting: lighting(),
    }];
    let r = render(&placed, &k, 4, &vec![[0.0; 3]; 1600]);
    assert_eq!(r.coverage[20 * 40 + 10], 0.75);
    assert_eq!(r.coverage[20 * 40 + 30], 0.25);
    assert_eq!(r.parts[20 * 40 + 30], 0);
    assert_eq!(r.owner[20 * 40 + 10], 1);
}

#[test]
fn same_rng_same_crop() {
    let pm = cube();
    let id = plain();
    let photo = Photo {
        width: 8,
        height: 8,
        pixels: (0..64).map(|i| [i as f32 / 64.0, 0.5, 0.2]).collect(),
    };
    let cam = crate::synth::camera::plan(
        1,
        1,
        crate::synth::preset::Look::Standard,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
    )
    .remove(0);
    let v = CropView {
        azimuth_deg: 30.0,
        width: 32,
        height: 32,
        supersample: 2,
    };
    let a = render_crop(
        &pm,
        &id,
        &cam,
        &photo,
        &v,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(5),
    );
    let b = render_crop(
        &pm,
        &id,
        &cam,
        &photo,
        &v,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(5),
    );
    assert_eq!(a.rgb, b.rgb);
    assert_eq!(a.parts, b.parts);
    assert!(a.coverage.iter().sum::<f32>() > 100.0);
}
