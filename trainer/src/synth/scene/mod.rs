//! Composes vehicles over a photograph: rasterises every placed vehicle into one
//! supersampled z-buffer, shades, resolves to the output resolution together with the
//! background (and a soft ground shadow), and yields the foreground and part masks.

use rand::Rng;

use crate::synth::camera::{CameraSpec, Pose, fit, light_direction};
use crate::synth::identity::Identity;
use crate::synth::mesh::Vec3;
use crate::synth::raster::{EMPTY, GBuffer, Intrinsics, rasterize};
use crate::synth::shade::{Lighting, PreparedMesh, shade};

/// A photograph, as linear floats in 0..=1.
#[derive(Debug, Clone)]
pub struct Photo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels, row-major.
    pub pixels: Vec<[f32; 3]>,
}

impl Photo {
    /// Converts an 8-bit RGB image.
    pub fn from_rgb(img: &image::RgbImage) -> Self {
        Self {
            width: img.width(),
            height: img.height(),
            pixels: img
                .pixels()
                .map(|p| p.0.map(|v| f32::from(v) / 255.0))
                .collect(),
        }
    }

    fn bilinear(&self, x: f32, y: f32) -> [f32; 3] {
        let (w, h) = (self.width as i64, self.height as i64);
        let fx = (x - 0.5).clamp(0.0, (w - 1) as f32);
        let fy = (y - 0.5).clamp(0.0, (h - 1) as f32);
        let (x0, y0) = (fx.floor() as i64, fy.floor() as i64);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let px = |x: i64, y: i64| self.pixels[(y * w + x) as usize];
        let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
        [0, 1, 2].map(|k| {
            (a[k] * (1.0 - tx) + b[k] * tx) * (1.0 - ty) + (c[k] * (1.0 - tx) + d[k] * tx) * ty
        })
    }

    /// Resamples the window `[x0, x0+w) × [y0, y0+h)` (photo pixels) to `out_w × out_h`,
    /// averaging `taps`² bilinear samples per output pixel.
    pub fn window(
        &self,
        x0: f32,
        y0: f32,
        w: f32,
        h: f32,
        out_w: u32,
        out_h: u32,
    ) -> Vec<[f32; 3]> {
        let (sx, sy) = (w / out_w as f32, h / out_h as f32);
        let taps = (sx.max(sy).ceil() as u32).clamp(1, 4);
        let mut out = Vec::with_capacity(out_w as usize * out_h as usize);
        for y in 0..out_h {
            for x in 0..out_w {
                let mut acc = [0.0f32; 3];
                for j in 0..taps {
                    for i in 0..taps {
                        let u = x0 + (x as f32 + (i as f32 + 0.5) / taps as f32) * sx;
                        let v = y0 + (y as f32 + (j as f32 + 0.5) / taps as f32) * sy;
                        let s = self.bilinear(u, v);
                        for k in 0..3 {
                            acc[k] += s[k];
                        }
                    }
                }
                let n = (taps * taps) as f32;
                out.push(acc.map(|a| a / n));
            }
        }
        out
    }
}

/// One vehicle placed in a view.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    /// Its mesh.
    pub mesh: &'a PreparedMesh,
    /// Its paint.
    pub identity: &'a Identity,
    /// Camera pose in this vehicle's frame.
    pub pose: Pose,
    /// Light in this vehicle's frame.
    pub lighting: Lighting,
}

/// A composited view with its masks, all at output resolution.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Colour, 0..=1.
    pub rgb: Vec<[f32; 3]>,
    /// Fraction of each pixel covered by a vehicle.
    pub coverage: Vec<f32>,
    /// Majority part label of covered pixels (0 background, 1 front, 2 rear, 3 side);
    /// 0 where coverage is below one half.
    pub parts: Vec<u8>,
    /// 1-based index into the placed vehicles of the majority vehicle, 0 for none.
    pub owner: Vec<u16>,
}

/// Renders `placed` vehicles with intrinsics `k` (output resolution) supersampled
/// `ss`×`ss` per pixel over `background` (output resolution, row-major).
pub fn render(placed: &[Placed<'_>], k: &Intrinsics, ss: u32, background: &[[f32; 3]]) -> Rendered {
    let ss = ss.max(1);
    let (w, h) = (k.width, k.height);
    let kss = Intrinsics {
        focal: k.focal * ss as f32,
        cx: k.cx * ss as f32,
        cy: k.cy * ss as f32,
        width: w * ss,
        height: h * ss,
    };
    let mut gbuf = GBuffer::new(w * ss, h * ss);
    let mut offsets = Vec::with_capacity(placed.len() + 1);
    let mut next = 0u32;
    for pl in placed {
        offsets.push(next);
        let tris: Vec<[Vec3; 3]> = pl
            .mesh
            .mesh
            .triangles
            .iter()
            .map(|t| t.pos.map(|p| pl.pose.apply(p)))
            .collect();
        rasterize(&mut gbuf, &kss, &tris, next);
        next += tris.len() as u32;
    }
    offsets.push(next);
    let n = w as usize * h as usize;
    let mut out = Rendered {
        width: w,
        height: h,
        rgb: vec![[0.0; 3]; n],
        coverage: vec![0.0; n],
        parts: vec![0; n],
        owner: vec![0; n],
    };
    let per = (ss * ss) as f32;
    for y in 0..h {
        for x in 0..w {
            let o = (y * w + x) as usize;
            let bg = shadowed(
                background.get(o).copied().unwrap_or([0.0; 3]),
                placed,
                k,
                x,
                y,
            );
            let mut acc = [0.0f32; 3];
            let mut covered = 0u32;
            let mut votes = [0u32; 4];
            let mut owners = vec![0u32; placed.len()];
            for sy in 0..ss {
                for sx in 0..ss {
                    let i = ((y * ss + sy) * w * ss + x * ss + sx) as usize;
                    let id = gbuf.triangle[i];
                    if id == EMPTY {
                        for c in 0..3 {
                            acc[c] += bg[c];
                        }
                        continue;
                    }
                    let v = offsets.partition_point(|&s| s <= id) - 1;
                    let pl = &placed[v];
                    let t = (id - offsets[v]) as usize;
                    let (col, part) = shade(
                        pl.mesh,
                        pl.identity,
                        t,
                        gbuf.weights(i),
                        pl.pose.centre,
                        &pl.lighting,
                    );
                    for c in 0..3 {
                        acc[c] += col[c];
                    }
                    covered += 1;
                    votes[part as usize] += 1;
                    owners[v] += 1;
                }
            }
            out.rgb[o] = acc.map(|a| a / per);
            out.coverage[o] = covered as f32 / per;
            if 2 * covered >= ss * ss && covered > 0 {
                out.parts[o] = (1..4)
                    .max_by_key(|&p| (votes[p], std::cmp::Reverse(p)))
                    .unwrap_or(0) as u8;
                let best = (0..placed.len()).max_by_key(|&v| owners[v]).unwrap_or(0);
                out.owner[o] = best as u16 + 1;
            }
        }
    }
    out
}

/// Darkens a background pixel by the soft ground shadow of each vehicle under it.
fn shadowed(bg: [f32; 3], placed: &[Placed<'_>], k: &Intrinsics, x: u32, y: u32) -> [f32; 3] {
    let mut f = 1.0f32;
    for pl in placed {
        let d = pl.pose.unrotate([
            (x as f32 + 0.5 - k.cx) / k.focal,
            (y as f32 + 0.5 - k.cy) / k.focal,
            1.0,
        ]);
        let c = pl.pose.centre;
        if d[2] >= -1e-6 || c[2] <= 0.0 {
            continue;
        }
        let t = -c[2] / d[2];
        let g = [c[0] + t * d[0], c[1] + t * d[1]];
        let m = &pl.mesh.mesh;
        let hx = 0.55 * (m.max[0] - m.min[0]);
        let hy = 0.62 * (m.max[1] - m.min[1]);
        let r = (g[0] / hx).powi(4) + (g[1] / hy).powi(4);
        f *= 1.0 - 0.55 * (-r).exp() * pl.lighting.light.ambient.mul_add(-0.5, 1.0);
    }
    bg.map(|v| v * f)
}

/// What one crop shows.
#[derive(Debug, Clone, Copy)]
pub struct CropView {
    /// Camera azimuth around the vehicle, degrees.
    pub azimuth_deg: f32,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Supersampling factor per axis.
    pub supersample: u32,
}

/// Renders a detector-style crop of one vehicle seen by `camera`, over a random window of
/// its photograph; elevation, distance, framing and light jitter come from `rng`.
pub fn render_crop(
    pm: &PreparedMesh,
    identity: &Identity,
    camera: &CameraSpec,
    photo: &Photo,
    view: &CropView,
    rng: &mut impl Rng,
) -> Rendered {
    let m = &pm.mesh;
    let length = m.max[0] - m.min[0];
    let target = [0.0, 0.0, 0.45 * m.max[2]];
    let elevation = (camera.elevation_deg + rng.random_range(-6.0..6.0)).clamp(2.0, 65.0);
    let distance = camera.distance * length.max(4.0) * rng.random_range(0.9..1.1);
    let pose = Pose::orbit(target, distance, view.azimuth_deg, elevation);
    let pts: Vec<Vec3> = m
        .triangles
        .iter()
        .flat_map(|t| t.pos)
        .map(|p| pose.apply(p))
        .collect();
    let margin = rng.random_range(0.02..0.08);
    let shift = [rng.random_range(-0.03..0.03), rng.random_range(-0.03..0.03)];
    let k = fit(&pts, view.width, view.height, margin, shift);
    let aspect = view.height as f32 / view.width as f32;
    let ww = photo.width as f32 * rng.random_range(0.2..0.5);
    let wh = (ww * aspect).min(photo.height as f32);
    let x0 = rng.random_range(0.0..(photo.width as f32 - ww).max(1.0));
    let y0 = rng.random_range(0.0..(photo.height as f32 - wh).max(1.0));
    let background = photo.window(x0, y0, ww, wh, view.width, view.height);
    let light = camera.light.jittered(rng);
    let lighting = Lighting {
        direction: light_direction(&light, view.azimuth_deg),
        light,
    };
    render(
        &[Placed {
            mesh: pm,
            identity,
            pose,
            lighting,
        }],
        &k,
        view.supersample,
        &background,
    )
}

#[cfg(test)]
pub(crate) mod tests;
