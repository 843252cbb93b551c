//! The traffic of the streams: route vehicles pass every camera in route order, about
//! [`TRAVEL_S`] apart, alternating between the two lanes of their direction; oncoming
//! vehicles use the other two lanes and are seen by one camera only (they leave the road
//! between cameras). All vehicles on a lane of one camera drive at that lane's flow speed
//! (±3 %), so none overtakes another inside a view.

use rand::Rng;

use crate::synth::mesh::Vec3;
use crate::synth::streams::street::{LANES, Street};

/// Frames per second of the streams.
pub const FPS: f32 = 10.0;
/// Seconds between route vehicles leaving the start of the route (they alternate lanes,
/// so vehicles on one lane are twice this apart): 2,250 vehicles an hour on two lanes,
/// busy but below a lane's capacity.
pub const GAP_S: f32 = 1.6;
/// Nominal seconds between consecutive cameras along the route.
pub const TRAVEL_S: f32 = 45.0;

/// One vehicle's pass through one camera's view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pass {
    /// Index into the stream's identities.
    pub identity: usize,
    /// Index into the cameras.
    pub camera: usize,
    /// Global time the vehicle enters the view (seconds).
    pub enter_s: f32,
    /// Time it takes to cross the view.
    pub duration_s: f32,
    /// Index into [`LANES`].
    pub lane: usize,
}

impl Pass {
    /// Global time the vehicle has left the view.
    pub fn exit_s(&self) -> f32 {
        self.enter_s + self.duration_s
    }
}

/// Plans the traffic: `route` vehicles (identities `0..route`, `gap_s` apart) pass every camera of
/// `streets` in order; `oncoming` more (identities `route..route + oncoming`) are spread over
/// the cameras, each seen once, driving the other way. Camera `c` sees the route traffic
/// drive in `route_direction[c]`.
pub fn schedule(
    route: usize,
    oncoming: usize,
    gap_s: f32,
    streets: &[Street],
    route_direction: &[f32],
    rng: &mut impl Rng,
) -> Vec<Pass> {
    // Flow speed per camera and lane, 10–15 m/s (36–54 km/h).
    let speeds: Vec<[f32; 4]> = streets
        .iter()
        .map(|_| std::array::from_fn(|_| rng.random_range(10.0..15.0)))
        .collect();
    let lanes_of = |c: usize, along: bool| -> Vec<usize> {
        (0..LANES.len())
            .filter(|&l| (LANES[l].direction == route_direction[c]) == along)
            .collect()
    };
    let duration = |c: usize, lane: usize, rng: &mut dyn rand::RngCore| {
        let (enter, leave) = streets[c].stretch[lane];
        (leave - enter).abs() / (speeds[c][lane] * rng.random_range(0.97..1.03))
    };
    let mut out = Vec::new();
    for i in 0..route {
        let mut t = i as f32 * gap_s + rng.random_range(0.0..0.2);
        for c in 0..streets.len() {
            let lane = lanes_of(c, true)[i % 2];
            out.push(Pass {
                identity: i,
                camera: c,
                enter_s: t,
                duration_s: duration(c, lane, rng),
                lane,
            });
            t += TRAVEL_S + rng.random_range(0.0..0.4);
        }
    }
    // Oncoming vehicles, evenly over the time the route traffic takes to pass a camera.
    let span = route as f32 * gap_s;
    let cameras = streets.len().max(1);
    for j in 0..oncoming {
        let c = j % cameras;
        let nth = j / cameras;
        let per_camera = oncoming.div_ceil(cameras);
        let lane = lanes_of(c, false)[nth % 2];
        let enter_s = streets[c].start_s
            + (nth as f32 + 0.5) * span / per_camera as f32
            + rng.random_range(-0.5..0.5);
        out.push(Pass {
            identity: route + j,
            camera: c,
            enter_s: enter_s.max(streets[c].start_s),
            duration_s: duration(c, lane, rng),
            lane,
        });
    }
    out
}

/// Frames each camera records so that every pass it sees is complete, plus one second.
pub fn frames_needed(passes: &[Pass], streets: &[Street]) -> u32 {
    let end = passes
        .iter()
        .map(|p| p.exit_s() - streets[p.camera].start_s)
        .fold(0.0f32, f32::max);
    ((end + 1.0) * FPS).ceil() as u32
}

/// Where a pass puts its vehicle at global time `t`: world position and heading
/// (radians), if it is in view.
pub fn position(pass: &Pass, street: &Street, t: f32) -> Option<(Vec3, f32)> {
    let frac = (t - pass.enter_s) / pass.duration_s;
    if !(0.0..=1.0).contains(&frac) {
        return None;
    }
    let (enter, leave) = street.stretch[pass.lane];
    let lane = LANES[pass.lane];
    let heading = if lane.direction > 0.0 {
        0.0
    } else {
        std::f32::consts::PI
    };
    Some(([enter + (leave - enter) * frac, lane.y, 0.0], heading))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::streams::street::street;
    use rand::SeedableRng;

    fn streets(n: usize) -> Vec<Street> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        crate::synth::camera::plan(n as u32, 1, crate::synth::preset::Look::Standard, &mut rng)
            .iter()
            .enumerate()
            .map(|(i, c)| street(c, i as f32 * TRAVEL_S, 640, 360, &mut rng))
            .collect()
    }

    #[test]
    fn route_vehicles_pass_cameras_in_order_and_oncoming_ones_once() {
        let st = streets(3);
        let dirs = [1.0, -1.0, 1.0];
        // The hard streams' gap: the densest traffic still keeps lanes apart.
        let p = schedule(
            5,
            4,
            1.0,
            &st,
            &dirs,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
        );
        assert_eq!(p.len(), 5 * 3 + 4);
        for i in 0..5 {
            let mine: Vec<&Pass> = p.iter().filter(|q| q.identity == i).collect();
            assert_eq!(mine.len(), 3);
            for w in mine.windows(2) {
                assert!(w[1].camera == w[0].camera + 1 && w[1].enter_s > w[0].enter_s + 1.0);
            }
            for q in &mine {
                assert_eq!(LANES[q.lane].direction, dirs[q.camera]);
            }
        }
        for i in 5..9 {
            let mine: Vec<&Pass> = p.iter().filter(|q| q.identity == i).collect();
            assert_eq!(mine.len(), 1);
            assert_eq!(LANES[mine[0].lane].direction, -dirs[mine[0].camera]);
        }
        // Every pass falls inside its camera's recording.
        let frames = frames_needed(&p, &st);
        for q in &p {
            let start = st[q.camera].start_s;
            assert!(q.enter_s >= start && q.exit_s() <= start + frames as f32 / FPS);
        }
        // Vehicles on one lane keep a headway and never overtake inside a view.
        for a in &p {
            for b in &p {
                if a.camera == b.camera && a.lane == b.lane && b.enter_s > a.enter_s {
                    assert!(b.enter_s - a.enter_s > 1.5, "{a:?} {b:?}");
                    assert!(b.exit_s() > a.exit_s(), "{a:?} overtaken by {b:?}");
                }
            }
        }
    }

    #[test]
    fn position_runs_along_the_lane_and_stops() {
        let st = streets(1).remove(0);
        let pass = Pass {
            identity: 0,
            camera: 0,
            enter_s: 1.0,
            duration_s: 4.0,
            lane: 2,
        };
        let (enter, leave) = st.stretch[2];
        assert!(position(&pass, &st, 0.5).is_none());
        let (a, heading) = position(&pass, &st, 1.0).unwrap();
        assert!((a[0] - enter).abs() < 1e-4 && heading > 3.0);
        let (b, _) = position(&pass, &st, 3.0).unwrap();
        assert!((b[0] - (enter + leave) / 2.0).abs() < 1e-3 && b[1] == LANES[2].y);
        assert!(position(&pass, &st, 5.1).is_none());
    }
}
