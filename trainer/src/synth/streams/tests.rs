use super::*;
use crate::synth::raster::Intrinsics;

#[test]
fn vehicle_frame_pose_matches_world_projection() {
    let world = Pose::look_at([3.0, -15.0, 8.0], [0.0, 0.0, 0.0]);
    let (p, heading) = ([4.0, 1.0, 0.0], 2.0f32);
    let v = pose_in_vehicle(&world, p, heading);
    let local = [1.0, 0.5, 0.7];
    let (s, c) = heading.sin_cos();
    let w = [
        p[0] + c * local[0] - s * local[1],
        p[1] + s * local[0] + c * local[1],
        local[2],
    ];
    let (a, b) = (world.apply(w), v.apply(local));
    assert!((0..3).all(|k| (a[k] - b[k]).abs() < 1e-4), "{a:?} vs {b:?}");
}

#[test]
fn ground_truth_boxes_come_from_the_rendered_owners() {
    let pm = crate::synth::scene::tests::cube();
    let ident = Identity {
        id: 7,
        mesh: 0,
        colour: 0,
        paint: crate::synth::identity::PALETTE[0].2,
        decals: vec![],
        twin_of: None,
    };
    let world = Pose::look_at([0.0, -12.0, 5.0], [0.0, 0.0, 0.0]);
    let k = Intrinsics {
        focal: 60.0,
        cx: 40.0,
        cy: 30.0,
        width: 80,
        height: 60,
    };
    let lighting = Lighting {
        direction: [0.0, 0.0, 1.0],
        light: crate::synth::camera::Light {
            azimuth_deg: 0.0,
            elevation_deg: 90.0,
            colour: [1.0; 3],
            ambient: 0.4,
        },
    };
    let placed: Vec<Placed<'_>> = [[-3.0, 0.0, 0.0], [3.0, 0.0, 0.0]]
        .into_iter()
        .map(|q| Placed {
            mesh: &pm,
            identity: &ident,
            pose: pose_in_vehicle(&world, q, 0.0),
            lighting,
        })
        .collect();
    let r = render(&placed, &k, 1, &vec![[0.0; 3]; 80 * 60]);
    let boxes = owner_boxes(&r, 2);
    let (left, right) = (boxes[0].unwrap(), boxes[1].unwrap());
    assert!(
        left.0[2] < right.0[0],
        "left vehicle left of right vehicle: {left:?} {right:?}"
    );
    let owned = r.owner.iter().filter(|&&o| o > 0).count() as u32;
    assert_eq!(left.1 + right.1, owned);
    // every pixel inside a box that is covered belongs to one of the vehicles
    assert!(
        r.parts
            .iter()
            .zip(&r.owner)
            .all(|(p, o)| (*p > 0) == (*o > 0))
    );
}
