//! Camera streams for end-to-end tests and the demo: each camera stands on a pole beside a
//! four-lane road drawn in perspective over its photograph ([`street`], [`road`]); route
//! vehicles pass the cameras in route order (camera 1, 2, …) with plausible travel times,
//! oncoming vehicles pass one camera each ([`traffic`]). Writes full frames, a ground-truth
//! CSV of which identity is where in which frame (bounding box of its visible pixels), each
//! vehicle's route, each camera's geometry and a contact sheet.

pub mod road;
pub mod street;
pub mod traffic;
pub mod weather;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use rand::Rng;
use rayon::prelude::*;

use crate::synth::SynthError;
use crate::synth::camera::{Pose, light_direction};
use crate::synth::identity::Identity;
use crate::synth::layout;
use crate::synth::mesh::Vec3;
use crate::synth::preset::Preset;
use crate::synth::scene::{Placed, Rendered, render};
use crate::synth::shade::{Lighting, PreparedMesh};
use crate::synth::world::{World, load_world, rng_for};

pub use street::Street;
pub use traffic::{FPS, Pass, TRAVEL_S};

/// Version of what the stream renderer draws, kept apart from the dataset's
/// [`RENDERER_VERSION`](crate::synth::RENDERER_VERSION) (a model's record names that one):
/// bumped whenever the same preset and seed would give other streams. 3: a four-lane road
/// in perspective, pole-mounted cameras, traffic both ways, blur at the vehicles' scale.
pub const STREAMS_VERSION: u32 = 3;

/// At most this many (test) identities drive the whole route.
pub const MAX_STREAM_VEHICLES: usize = 40;

/// How hard the streams are (`trainer synth --streams`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Traffic {
    /// Route vehicles 1.6 s apart, 12 oncoming vehicles, dry.
    #[default]
    Normal,
    /// Denser (1 s apart: vehicles side by side in neighbouring lanes), 24 oncoming
    /// vehicles, rain streaks and haze, each camera's blur ×1.6.
    Hard,
}

impl Traffic {
    /// Seconds between route vehicles.
    pub fn gap_s(self) -> f32 {
        match self {
            Traffic::Normal => traffic::GAP_S,
            Traffic::Hard => 1.0,
        }
    }

    /// At most this many more test identities drive the other way past one camera each.
    pub fn oncoming(self) -> usize {
        match self {
            Traffic::Normal => 12,
            Traffic::Hard => 24,
        }
    }

    fn blur_factor(self) -> f32 {
        match self {
            Traffic::Normal => 1.0,
            Traffic::Hard => 1.6,
        }
    }
}

/// Random-stream kinds of the streams (see [`rng_for`]), apart from the dataset's.
const SALT_SCHEDULE: u64 = 5;
const SALT_FRAME: u64 = 6;
const SALT_STREET: u64 = 1_000;
const SALT_RAIN: u64 = 1_001;

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
    how: Traffic,
) -> Result<StreamSummary, SynthError> {
    let start = Instant::now();
    let (world, photos, meshes) = load_world(root, preset, seed)?;
    // Streams show test identities only: the ones a re-identification system meets unseen.
    let test: Vec<&Identity> = world
        .identities
        .iter()
        .filter(|i| i.id > world.train)
        .collect();
    let route = test.len().min(MAX_STREAM_VEHICLES);
    let oncoming = (test.len() - route).min(how.oncoming());
    let (w, h) = (preset.stream_width, preset.stream_height);
    let mut streets = Vec::new();
    let mut looks = Vec::new();
    let mut route_direction = Vec::new();
    for (ci, cam) in world.cameras.iter().enumerate() {
        let mut rng = rng_for(seed, SALT_STREET, ci as u64);
        streets.push(street::street(cam, ci as f32 * TRAVEL_S, w, h, &mut rng));
        looks.push(road::RoadLook::random(&mut rng));
        route_direction.push(if rng.random_bool(0.5) { 1.0 } else { -1.0 });
    }
    let passes = traffic::schedule(
        route,
        oncoming,
        how.gap_s(),
        &streets,
        &route_direction,
        &mut rng_for(seed, SALT_SCHEDULE, 0),
    );
    let frame_count = traffic::frames_needed(&passes, &streets);
    let dir = out.join("streams");
    let mut gt = String::from("camera,frame,time_s,id,x0,y0,x1,y1,pixels\n");
    let mut frames = 0;
    let mut thumbs: Vec<Vec<u8>> = Vec::new();
    for (ci, cam) in world.cameras.iter().enumerate() {
        let st = &streets[ci];
        let photo = &photos[ci];
        let ww = photo.width as f32 * 0.6;
        let wh = (ww * h as f32 / w as f32).min(photo.height as f32);
        let scenery = photo.window(
            (photo.width as f32 - ww) / 2.0,
            (photo.height as f32 - wh) / 2.0,
            ww,
            wh,
            w,
            h,
        );
        let background = road::paint_ground(st, &looks[ci], &scenery);
        // The sun's azimuth is relative to the camera's horizontal viewing direction.
        let forward = st.pose.rot[2];
        let yaw = forward[1].atan2(forward[0]).to_degrees();
        let light_w = light_direction(&cam.light, yaw - 180.0);
        // Blur as the dataset's crops have it: its sigma is given for a 128-px image, and a
        // vehicle here is about that size, so it applies in frame pixels unscaled.
        let mut degradation = cam.degradation;
        degradation.blur_sigma *= how.blur_factor() * 128.0 / w.max(h) as f32;
        let slant = rng_for(seed, SALT_RAIN, ci as u64).random_range(-0.35f32..0.35);
        degradation.jpeg_quality = degradation.jpeg_quality.max(MIN_JPEG_QUALITY);
        let cam_passes: Vec<&Pass> = passes.iter().filter(|p| p.camera == ci).collect();
        let shown = [frame_count / 4, frame_count / 2, 3 * frame_count / 4];
        let rows: Vec<Result<FrameOutcome, SynthError>> = (0..frame_count)
            .into_par_iter()
            .map(|f| {
                let t = st.start_s + f as f32 / FPS;
                let placed: Vec<Placed<'_>> = cam_passes
                    .iter()
                    .filter_map(|p| traffic::position(p, st, t).map(|(q, hd)| (*p, q, hd)))
                    .map(|(p, q, hd)| {
                        let ident: &Identity = test[p.identity];
                        let (s, c) = hd.sin_cos();
                        let l = [
                            c * light_w[0] + s * light_w[1],
                            -s * light_w[0] + c * light_w[1],
                            light_w[2],
                        ];
                        Placed {
                            mesh: &meshes[ident.mesh] as &PreparedMesh,
                            identity: ident,
                            pose: pose_in_vehicle(&st.pose, q, hd),
                            lighting: Lighting {
                                direction: l,
                                light: cam.light,
                            },
                        }
                    })
                    .collect();
                let mut r = render(&placed, &st.k, preset.stream_supersample, &background);
                let mut rng = rng_for(seed, SALT_FRAME + ci as u64, u64::from(f));
                if how == Traffic::Hard {
                    weather::rain(&mut r.rgb, w as usize, h as usize, slant, &mut rng);
                }
                degradation.apply(&mut r.rgb, w as usize, h as usize, &mut rng);
                let name = format!("c{:03}/{:06}.jpg", cam.number, f);
                layout::write_jpeg(&dir.join(&name), &r.rgb, w, h, degradation.jpeg_quality)?;
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
    layout::write_text(&dir.join("routes.csv"), &routes_csv(&passes, &test, &world))?;
    layout::write_text(
        &dir.join("cameras.toml"),
        &cameras_toml(&streets, &world, how),
    )?;
    let sheet = stack(&thumbs, w as usize, h as usize, 3);
    let rows = thumbs.len().div_ceil(3).max(1) as u32;
    layout::write_png_rgb(&dir.join("contact_sheet.png"), &sheet, 3 * w, rows * h)?;
    Ok(StreamSummary {
        frames,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Stream frames are stored at this JPEG quality at least: a traffic camera's encoder
/// compresses, but not until vehicles turn to blocks.
const MIN_JPEG_QUALITY: u8 = 70;

/// `routes.csv`: every pass of every vehicle, in time order per vehicle.
fn routes_csv(passes: &[Pass], test: &[&Identity], world: &World) -> String {
    let mut rows: Vec<&Pass> = passes.iter().collect();
    rows.sort_by(|a, b| {
        (a.identity, a.enter_s)
            .partial_cmp(&(b.identity, b.enter_s))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut s = String::from("id,camera,enter_s,exit_s,lane,direction\n");
    for p in rows {
        let lane = street::LANES[p.lane];
        let _ = writeln!(
            s,
            "{:04},c{:03},{:.2},{:.2},{},{}",
            test[p.identity].id,
            world.cameras[p.camera].number,
            p.enter_s,
            p.exit_s(),
            p.lane + 1,
            if lane.direction > 0.0 { "+x" } else { "-x" }
        );
    }
    s
}

/// `cameras.toml`: each stream camera's mounting and view.
fn cameras_toml(streets: &[Street], world: &World, how: Traffic) -> String {
    let mut s = format!(
        "streams_version = {STREAMS_VERSION}\ntraffic = \"{}\"\n",
        format!("{how:?}").to_lowercase()
    );
    for (st, cam) in streets.iter().zip(&world.cameras) {
        let _ = write!(
            s,
            "\n[[cameras]]\nid = \"c{:03}\"\nheight_m = {:.2}\nfrom_road_centre_m = {:.2}\n\
             yaw_to_road_deg = {:.1}\nhfov_deg = {:.1}\nstart_s = {:.1}\n",
            cam.number,
            st.height_m,
            st.pose.centre[1].abs(),
            st.yaw_deg,
            st.hfov_deg,
            st.start_s
        );
    }
    s
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
mod tests;
