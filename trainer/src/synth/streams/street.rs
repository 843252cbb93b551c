//! Where a stream camera stands: on a pole beside a four-lane road (two lanes each way,
//! right-hand traffic), 5–10 m up, looking obliquely down onto the road with its own field
//! of view; and the stretch of each lane it sees.
//!
//! World frame: the road runs along `x`, its centre line is `y = 0`, `z` is up, the road
//! surface is `z = 0`.

use rand::Rng;

use crate::synth::camera::{CameraSpec, Pose};
use crate::synth::raster::Intrinsics;

/// One lane: its centre line and the direction vehicles drive along `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lane {
    /// Lateral position of the lane centre, metres.
    pub y: f32,
    /// +1: vehicles drive towards +x; −1: towards −x.
    pub direction: f32,
}

/// Width of one lane, metres.
pub const LANE_WIDTH: f32 = 3.6;

/// The four lanes, right-hand traffic: the two at negative `y` drive towards +x.
pub const LANES: [Lane; 4] = [
    Lane {
        y: -1.5 * LANE_WIDTH,
        direction: 1.0,
    },
    Lane {
        y: -0.5 * LANE_WIDTH,
        direction: 1.0,
    },
    Lane {
        y: 0.5 * LANE_WIDTH,
        direction: -1.0,
    },
    Lane {
        y: 1.5 * LANE_WIDTH,
        direction: -1.0,
    },
];

/// Half width of the carriageway (kerb to kerb), metres.
pub const ROAD_HALF: f32 = 2.0 * LANE_WIDTH;
/// Width of the kerb stone, metres.
pub const KERB: f32 = 0.25;
/// Width of the pavement beyond the kerb, metres; beyond it the scene is the photograph.
pub const PAVEMENT: f32 = 2.5;
/// The ground is drawn, and vehicles are on the road, up to this horizontal distance from
/// the camera: beyond it the road drops behind a crest and the photograph takes over.
pub const FAR_M: f32 = 48.0;

/// Height of a tall vehicle (a van) that should still fit in the frame at the far kerb.
const TALL_M: f32 = 2.2;

/// Half extents of the box that stands for a vehicle when deciding what a camera sees
/// (length, width, height: a car).
const VEHICLE_BOX: [f32; 3] = [2.3, 0.95, 1.5];

/// Camera and road of one stream camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Street {
    /// Camera pose in the world frame.
    pub pose: Pose,
    /// Intrinsics at output resolution.
    pub k: Intrinsics,
    /// Global time of the stream's first frame, seconds.
    pub start_s: f32,
    /// Mounting height, metres.
    pub height_m: f32,
    /// Horizontal field of view, degrees.
    pub hfov_deg: f32,
    /// Angle between the viewing direction and the road, degrees (90: across the road).
    pub yaw_deg: f32,
    /// Per lane of [`LANES`]: the `x` where a vehicle enters the view and where it has
    /// left it, in driving order.
    pub stretch: [(f32, f32); 4],
}

/// The camera over the road for stream camera `cam` (`start_s` into the route): mounted
/// 6–11 m up (higher for a camera of higher elevation) on either side, its horizontal
/// viewing direction 35–70° off the road's axis, with a 42–62° horizontal field of view;
/// its pole stands back from the kerb just far enough (and up to 2 m more) for the whole
/// carriageway (and a van's roof at the far kerb) to fit in the frame's height, and it is
/// tilted down so that they are centred.
pub fn street(
    cam: &CameraSpec,
    start_s: f32,
    width: u32,
    height: u32,
    rng: &mut impl Rng,
) -> Street {
    let height_m = 6.0 + 4.0 * (cam.elevation_deg.min(40.0) / 40.0) + rng.random_range(0.0..1.0);
    let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let yaw_deg: f32 = rng.random_range(35.0..70.0);
    let along = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let hfov_deg: f32 = rng.random_range(42.0..62.0);
    let focal = width as f32 / 2.0 / (hfov_deg / 2.0).to_radians().tan();
    let half_vfov = (height as f32 / 2.0 / focal).atan();
    // Depression angles, along the viewing direction and for a pole `offset` from the
    // road's centre line, of the near kerb and of the roof of a tall vehicle at the far kerb.
    let yaw = yaw_deg.to_radians();
    let kerbs = |offset: f32| {
        (
            (height_m * yaw.sin() / (offset - ROAD_HALF)).atan(),
            ((height_m - TALL_M) * yaw.sin() / (offset + ROAD_HALF)).atan(),
        )
    };
    // The nearest pole (at least 2 m beyond the kerb) from which both fit in the frame's
    // height, and then 0–2 m farther.
    let mut offset = ROAD_HALF + KERB + 2.0;
    while {
        let (near, far) = kerbs(offset);
        near - far > 2.0 * half_vfov
    } {
        offset += 0.25;
    }
    offset += rng.random_range(0.0..2.0);
    let pole_y = side * offset;
    let (near, far) = kerbs(offset);
    let tilt = (near + far) / 2.0;
    let reach = height_m / tilt.tan();
    let target = [
        along * reach * yaw.cos(),
        pole_y - side * reach * yaw.sin(),
        0.0,
    ];
    let pose = Pose::look_at([0.0, pole_y, height_m], target);
    let k = Intrinsics {
        focal,
        cx: width as f32 / 2.0,
        cy: height as f32 / 2.0,
        width,
        height,
    };
    let stretch = LANES.map(|lane| lane_stretch(&pose, &k, lane));
    Street {
        pose,
        k,
        start_s,
        height_m,
        hfov_deg,
        yaw_deg,
        stretch,
    }
}

/// Horizontal distance from the camera to the ground point `(x, y)`.
pub fn ground_distance(pose: &Pose, x: f32, y: f32) -> f32 {
    (x - pose.centre[0]).hypot(y - pose.centre[1])
}

/// Whether a vehicle at `(x, lane.y)` shows in the frame: some corner of its box projects
/// inside, and it stands within [`FAR_M`].
fn in_view(pose: &Pose, k: &Intrinsics, x: f32, y: f32) -> bool {
    if ground_distance(pose, x, y) > FAR_M {
        return false;
    }
    let [hx, hy, hz] = VEHICLE_BOX;
    let (w, h) = (k.width as f32, k.height as f32);
    [-hx, hx].iter().any(|dx| {
        [-hy, hy].iter().any(|dy| {
            [0.0, hz].iter().any(|z| {
                let p = pose.apply([x + dx, y + dy, *z]);
                if p[2] < 0.1 {
                    return false;
                }
                let (u, v) = (k.focal * p[0] / p[2] + k.cx, k.focal * p[1] / p[2] + k.cy);
                (0.0..w).contains(&u) && (0.0..h).contains(&v)
            })
        })
    })
}

/// Where on `lane` a vehicle enters the view and where it has left it (a box length beyond
/// the last `x` it shows at), in driving order; `(0, 0)` if the lane is never in view.
fn lane_stretch(pose: &Pose, k: &Intrinsics, lane: Lane) -> (f32, f32) {
    const STEP: f32 = 0.25;
    let steps = (2.0 * FAR_M / STEP) as i32;
    let seen: Vec<f32> = (-steps..=steps)
        .map(|i| pose.centre[0] + i as f32 * STEP)
        .filter(|&x| in_view(pose, k, x, lane.y))
        .collect();
    let (Some(lo), Some(hi)) = (seen.first(), seen.last()) else {
        return (0.0, 0.0);
    };
    let pad = 2.0 * VEHICLE_BOX[0];
    // Entering from beyond the crest, a vehicle appears there rather than a box length out.
    let enter_pad = |x: f32| {
        if ground_distance(pose, x, lane.y) + pad > FAR_M {
            0.0
        } else {
            pad
        }
    };
    if lane.direction > 0.0 {
        (lo - enter_pad(*lo), hi + pad)
    } else {
        (hi + enter_pad(*hi), lo - pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cameras(n: u64) -> Vec<Street> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let specs =
            crate::synth::camera::plan(n as u32, 1, crate::synth::preset::Look::Standard, &mut rng);
        specs
            .iter()
            .map(|c| street(c, 0.0, 640, 360, &mut rng))
            .collect()
    }

    #[test]
    fn every_camera_sees_a_stretch_of_every_lane_in_driving_order() {
        for st in cameras(12) {
            assert!(st.pose.centre[2] >= 6.0 && st.pose.centre[2] <= 11.0);
            assert!(
                st.pose.centre[1].abs() > ROAD_HALF + KERB,
                "pole off the road"
            );
            for (lane, (enter, leave)) in LANES.iter().zip(st.stretch) {
                let run = (leave - enter) * lane.direction;
                assert!(run > 10.0, "{st:?}: lane {lane:?} seen over {run} m only");
                // where the vehicle enters and leaves it is out of view, half way it is not
                let mid = (enter + leave) / 2.0;
                assert!(in_view(&st.pose, &st.k, mid, lane.y) || run < 12.0);
                assert!(!in_view(&st.pose, &st.k, leave, lane.y));
            }
        }
    }

    #[test]
    fn the_camera_looks_down_onto_the_road() {
        for st in cameras(8) {
            // The image centre's ray hits the ground on the carriageway.
            let d = st.pose.unrotate([0.0, 0.0, 1.0]);
            assert!(d[2] < 0.0);
            let t = -st.pose.centre[2] / d[2];
            let y = st.pose.centre[1] + t * d[1];
            assert!(y.abs() < ROAD_HALF, "{st:?} looks at y = {y}");
        }
    }
}
