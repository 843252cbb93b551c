//! Camera streams for end-to-end tests: each camera watches a straight road over its
//! photograph; the same vehicles pass the cameras in route order (camera 1, 2, …) with
//! plausible travel times. Writes full frames and a ground-truth CSV of which identity is
//! where in which frame (bounding box of its visible pixels).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use rand::Rng;
use rayon::prelude::*;

use crate::synth::SynthError;
use crate::synth::assets;
use crate::synth::camera::{CameraSpec, Pose, light_direction};
use crate::synth::dataset::{load_meshes, load_photos, plan_world, rng_for};
use crate::synth::identity::Identity;
use crate::synth::layout;
use crate::synth::mesh::Vec3;
use crate::synth::preset::Preset;
use crate::synth::raster::Intrinsics;
use crate::synth::scene::{Placed, Rendered, render};
use crate::synth::shade::{Lighting, PreparedMesh};

/// Frames per second of the streams.
pub const FPS: f32 = 10.0;

/// At most this many (test) identities drive through the streams.
pub const MAX_STREAM_VEHICLES: usize = 40;
/// Seconds between vehicles leaving the start of the route.
pub const GAP_S: f32 = 1.0;
/// Nominal seconds a vehicle takes to cross a camera's watched stretch.
pub const CROSSING_S: f32 = 4.0;
/// Nominal seconds between consecutive cameras along the route.
pub const TRAVEL_S: f32 = 45.0;

/// One vehicle's pass through one camera's view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pass {
    /// Index into the identities.
    pub identity: usize,
    /// Index into the cameras.
    pub camera: usize,
    /// Global time the vehicle enters the watched stretch (seconds).
    pub enter_s: f32,
    /// Time it takes to cross the stretch.
    pub duration_s: f32,
    /// Direction of travel along the road's `x` (+1 or −1).
    pub direction: f32,
    /// Lateral lane offset, metres.
    pub lane: f32,
}

/// Road and camera geometry of one stream camera (world frame: road along `x`, `z` up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Street {
    /// Camera pose in the world frame.
    pub pose: Pose,
    /// Intrinsics at output resolution.
    pub k: Intrinsics,
    /// Half length of the watched road, metres; vehicles run from −this to +this.
    pub half_road: f32,
    /// Global time of the stream's first frame.
    pub start_s: f32,
}

/// Camera over a road: mounted 3–8 m up (higher for a camera of higher elevation, up to
/// 35°), some metres from the road, looking at the road centre with a 60° horizontal field
/// of view; camera `c` (0-based) starts recording `c × TRAVEL_S` into the route.
pub fn street(cam: &CameraSpec, index: usize, width: u32, height: u32) -> Street {
    let h = 3.0 + 5.0 * (cam.elevation_deg.min(35.0) / 35.0);
    let back = 9.0 + 3.0 * cam.distance;
    let yaw = (cam.number as f32 * 37.0).to_radians().sin() * 0.5;
    let pose = Pose::look_at([back * yaw.sin(), -back * yaw.cos(), h], [0.0, 0.0, 0.0]);
    let half_fov = 30f32.to_radians();
    let focal = width as f32 / 2.0 / half_fov.tan();
    let k = Intrinsics {
        focal,
        cx: width as f32 / 2.0,
        cy: height as f32 / 2.0,
        width,
        height,
    };
    let half_road = (back * back + h * h).sqrt() * half_fov.tan() / yaw.cos() + 6.0;
    Street {
        pose,
        k,
        half_road,
        start_s: index as f32 * TRAVEL_S,
    }
}

/// Plans when each identity passes each camera: vehicles leave [`GAP_S`] apart on
/// alternating lanes, each at its own steady speed, and reach camera `c + 1` about
/// [`TRAVEL_S`] after camera `c`; alternate cameras see the traffic going the other way.
pub fn schedule(identities: usize, cameras: usize, rng: &mut impl Rng) -> Vec<Pass> {
    let mut out = Vec::new();
    for i in 0..identities {
        let duration_s = CROSSING_S * rng.random_range(0.9..1.1);
        let mut t = i as f32 * GAP_S + rng.random_range(0.0..0.2);
        for c in 0..cameras {
            let direction = if c % 2 == 0 { 1.0 } else { -1.0 };
            let lane = if i % 2 == 0 { 1.8 } else { -1.8 };
            out.push(Pass {
                identity: i,
                camera: c,
                enter_s: t,
                duration_s,
                direction,
                lane,
            });
            t += TRAVEL_S + rng.random_range(-0.2..0.2);
        }
    }
    out
}

/// Frames each camera records so that every vehicle passes completely.
pub fn frames_needed(identities: usize) -> u32 {
    ((identities as f32 * GAP_S + 0.2 + 0.4 + CROSSING_S * 1.1 + 1.0) * FPS).ceil() as u32
}

/// Where a pass puts its vehicle at global time `t`: world position and heading
/// (radians), if it is on the watched stretch.
pub fn position(pass: &Pass, street: &Street, t: f32) -> Option<(Vec3, f32)> {
    let frac = (t - pass.enter_s) / pass.duration_s;
    if !(0.0..=1.0).contains(&frac) {
        return None;
    }
    let x = pass.direction * street.half_road * (2.0 * frac - 1.0);
    let heading = if pass.direction > 0.0 {
        0.0
    } else {
        std::f32::consts::PI
    };
    Some(([x, pass.lane, 0.0], heading))
}

/// The camera pose expressed in the frame of a vehicle at `p` with `heading`.
pub fn pose_in_vehicle(world: &Pose, p: Vec3, heading: f32) -> Pose {
    let (s, c) = heading.sin_cos();
    // R(−heading) applied to a world vector.
    let inv = |v: Vec3| [c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2]];
    let d = [
        world.centre[0] - p[0],
        world.centre[1] - p[1],
        world.centre[2] - p[2],
    ];
    Pose {
        rot: world.rot.map(inv),
        centre: inv(d),
    }
}

/// Bounding box `[x0, y0, x1, y1]` (inclusive pixels) and pixel count of each owner.
pub fn owner_boxes(r: &Rendered, owners: usize) -> Vec<Option<([u32; 4], u32)>> {
    let mut out: Vec<Option<([u32; 4], u32)>> = vec![None; owners];
    for y in 0..r.height {
        for x in 0..r.width {
            let o = r.owner[(y * r.width + x) as usize] as usize;
            if o == 0 || o > owners {
                continue;
            }
            let e = out[o - 1].get_or_insert(([x, y, x, y], 0));
            e.0 = [e.0[0].min(x), e.0[1].min(y), e.0[2].max(x), e.0[3].max(y)];
            e.1 += 1;
        }
    }
    out
}

/// Ground-truth CSV rows of one frame, and the frame itself if it goes on the sheet.
type FrameOutcome = (String, Option<Vec<u8>>);

/// Totals of a stream run.
#[derive(Debug, Clone, Copy)]
pub struct StreamSummary {
    /// Frames written.
    pub frames: usize,
    /// Wall time.
    pub seconds: f64,
}

/// Renders the camera streams of `preset` and `seed` under `out/streams`.
pub fn render_streams(
    root: &Path,
    out: &Path,
    preset: &Preset,
    seed: u64,
) -> Result<StreamSummary, SynthError> {
    let start = Instant::now();
    let photo_paths = assets::photos(root)?;
    let world = plan_world(preset, seed, photo_paths.len());
    let needed: Vec<_> = world
        .cameras
        .iter()
        .map(|c| photo_paths[c.background].clone())
        .collect();
    let photos = load_photos(root, &needed, 1280)?;
    let meshes = load_meshes(root, &world.specs)?;
    // Streams show (the first) test identities: the ones a re-identification system meets unseen.
    let unseen: Vec<&Identity> = world
        .identities
        .iter()
        .filter(|i| i.id > world.train)
        .take(MAX_STREAM_VEHICLES)
        .collect();
    let passes = schedule(unseen.len(), world.cameras.len(), &mut rng_for(seed, 5, 0));
    let frame_count = frames_needed(unseen.len());
    let (w, h) = (preset.stream_width, preset.stream_height);
    let dir = out.join("streams");
    let mut gt = String::from("camera,frame,time_s,id,x0,y0,x1,y1,pixels\n");
    let mut frames = 0;
    let mut thumbs: Vec<Vec<u8>> = Vec::new();
    for (ci, cam) in world.cameras.iter().enumerate() {
        let st = street(cam, ci, w, h);
        let photo = &photos[ci];
        let ww = photo.width as f32 * 0.6;
        let wh = (ww * h as f32 / w as f32).min(photo.height as f32);
        let background = photo.window(
            (photo.width as f32 - ww) / 2.0,
            (photo.height as f32 - wh) / 2.0,
            ww,
            wh,
            w,
            h,
        );
        let light_w = light_direction(&cam.light, 0.0);
        let cam_passes: Vec<&Pass> = passes.iter().filter(|p| p.camera == ci).collect();
        let shown = [frame_count / 4, frame_count / 2, 3 * frame_count / 4];
        let rows: Vec<Result<FrameOutcome, SynthError>> = (0..frame_count)
            .into_par_iter()
            .map(|f| {
                let t = st.start_s + f as f32 / FPS;
                let here: Vec<(&Pass, Vec3, f32)> = cam_passes
                    .iter()
                    .filter_map(|p| position(p, &st, t).map(|(q, hd)| (*p, q, hd)))
                    .collect();
                let placed: Vec<Placed<'_>> = here
                    .iter()
                    .map(|(p, q, hd)| {
                        let ident: &Identity = unseen[p.identity];
                        let (s, c) = hd.sin_cos();
                        let l = [
                            c * light_w[0] + s * light_w[1],
                            -s * light_w[0] + c * light_w[1],
                            light_w[2],
                        ];
                        Placed {
                            mesh: &meshes[ident.mesh] as &PreparedMesh,
                            identity: ident,
                            pose: pose_in_vehicle(&st.pose, *q, *hd),
                            lighting: Lighting {
                                direction: l,
                                light: cam.light,
                            },
                        }
                    })
                    .collect();
                let mut r = render(&placed, &st.k, preset.stream_supersample, &background);
                let mut rng = rng_for(seed, 6 + ci as u64, u64::from(f));
                cam.degradation
                    .apply(&mut r.rgb, w as usize, h as usize, &mut rng);
                let name = format!("c{:03}/{:06}.jpg", cam.number, f);
                layout::write_jpeg(&dir.join(&name), &r.rgb, w, h, cam.degradation.jpeg_quality)?;
                let mut rows = String::new();
                let boxes = owner_boxes(&r, placed.len());
                let thumb = shown.contains(&f).then(|| with_boxes(&r, &boxes));
                for (i, b) in boxes.into_iter().enumerate() {
                    if let Some((bb, n)) = b {
                        let _ = writeln!(
                            rows,
                            "c{:03},{f},{t:.1},{:04},{},{},{},{},{n}",
                            cam.number, placed[i].identity.id, bb[0], bb[1], bb[2], bb[3]
                        );
                    }
                }
                Ok((rows, thumb))
            })
            .collect();
        for r in rows {
            let (text, thumb) = r?;
            gt.push_str(&text);
            thumbs.extend(thumb);
            frames += 1;
        }
    }
    layout::write_text(&dir.join("ground_truth.csv"), &gt)?;
    let sheet = stack(&thumbs, w as usize, h as usize, 3);
    let rows = thumbs.len().div_ceil(3).max(1) as u32;
    layout::write_png_rgb(&dir.join("contact_sheet.png"), &sheet, 3 * w, rows * h)?;
    Ok(StreamSummary {
        frames,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// 8-bit copy of a frame with each ground-truth box outlined in yellow.
fn with_boxes(r: &Rendered, boxes: &[Option<([u32; 4], u32)>]) -> Vec<u8> {
    let mut px: Vec<u8> = r
        .rgb
        .iter()
        .flat_map(|p| p.map(|v| (v.clamp(0.0, 1.0) * 255.0) as u8))
        .collect();
    for (bb, _) in boxes.iter().flatten() {
        for y in bb[1]..=bb[3] {
            for x in bb[0]..=bb[2] {
                if x == bb[0] || x == bb[2] || y == bb[1] || y == bb[3] {
                    let i = ((y * r.width + x) * 3) as usize;
                    px[i..i + 3].copy_from_slice(&[255, 230, 0]);
                }
            }
        }
    }
    px
}

/// Tiles equally sized RGB images `cols` per row.
fn stack(images: &[Vec<u8>], w: usize, h: usize, cols: usize) -> Vec<u8> {
    let rows = images.len().div_ceil(cols).max(1);
    let mut out = vec![0u8; rows * h * cols * w * 3];
    for (i, img) in images.iter().enumerate() {
        let (ox, oy) = ((i % cols) * w, (i / cols) * h);
        for y in 0..h {
            let src = &img[y * w * 3..(y + 1) * w * 3];
            let d = ((oy + y) * cols * w + ox) * 3;
            out[d..d + w * 3].copy_from_slice(src);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn vehicles_pass_cameras_in_route_order() {
        let p = schedule(5, 3, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
        assert_eq!(p.len(), 15);
        for i in 0..5 {
            let mine: Vec<&Pass> = p.iter().filter(|q| q.identity == i).collect();
            for w in mine.windows(2) {
                assert!(w[1].camera == w[0].camera + 1 && w[1].enter_s > w[0].enter_s + 1.0);
            }
        }
        // Every pass falls inside its camera's recording window.
        let frames = frames_needed(5);
        for q in &p {
            let start = q.camera as f32 * TRAVEL_S;
            assert!(q.enter_s >= start && q.enter_s + q.duration_s <= start + frames as f32 / FPS);
        }
        // Same-lane vehicles keep a headway and never overtake inside a view.
        for a in &p {
            for b in &p {
                if a.camera == b.camera && a.lane == b.lane && b.enter_s > a.enter_s {
                    assert!(b.enter_s - a.enter_s > 1.5, "{a:?} {b:?}");
                    assert!(b.enter_s + b.duration_s > a.enter_s + a.duration_s);
                }
            }
        }
    }

    #[test]
    fn position_runs_across_the_road_and_stops() {
        let cam = crate::synth::camera::plan(
            1,
            1,
            crate::synth::preset::Look::Standard,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(2),
        )
        .remove(0);
        let st = street(&cam, 0, 320, 180);
        let pass = Pass {
            identity: 0,
            camera: 0,
            enter_s: 1.0,
            duration_s: 4.0,
            direction: -1.0,
            lane: 1.5,
        };
        assert!(position(&pass, &st, 0.5).is_none());
        let (a, heading) = position(&pass, &st, 1.0).unwrap();
        assert!((a[0] - st.half_road).abs() < 1e-4 && heading > 3.0);
        let (b, _) = position(&pass, &st, 3.0).unwrap();
        assert!(b[0].abs() < 1e-4 && b[1] == 1.5);
        assert!(position(&pass, &st, 5.1).is_none());
    }

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
}
