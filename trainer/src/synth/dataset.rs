//! The crop dataset: plans identities, cameras and views from the seed, renders them in
//! parallel, and writes the VeRi layout, masks, stats and a contact sheet.

use std::path::Path;
use std::time::Instant;

use rand::Rng;
use rayon::prelude::*;

use crate::synth::SynthError;
use crate::synth::camera::CameraSpec;
use crate::synth::contact;
use crate::synth::identity::Identity;
use crate::synth::layout::{self, Record, Split};
use crate::synth::preset::{Preset, PresetName};
use crate::synth::scene::{CropView, Rendered, render_crop};
use crate::synth::shade::PreparedMesh;
use crate::synth::view::{View, orientation};
use crate::synth::world::{World, load_world, rng_for};

/// Per-image numbers kept for the stats, and the image itself if it goes on the sheet.
struct JobOutcome {
    foreground: f64,
    parts: [f64; 3],
    sample: Option<Rendered>,
}

struct Job {
    identity: usize,
    camera: usize,
    record: Record,
}

/// Totals of a dataset run.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Images rendered.
    pub images: usize,
    /// Wall time.
    pub seconds: f64,
}

#[derive(serde::Serialize)]
struct Stats<'a> {
    renderer_version: u32,
    preset: PresetName,
    seed: u64,
    sizes: &'a Preset,
    images: usize,
    images_per_identity: u32,
    train_images: usize,
    test_images: usize,
    query_images: usize,
    train_identities: u32,
    test_identities: u32,
    twin_identities: usize,
    mean_foreground_fraction: f64,
    part_fraction_front: f64,
    part_fraction_rear: f64,
    part_fraction_side: f64,
    orientation_counts: Vec<u32>,
    view_counts: Vec<u32>,
    meshes: Vec<&'static str>,
    cameras: &'a [CameraSpec],
    identities: &'a [Identity],
}

/// Renders the crop dataset of `preset` and `seed` into `out`.
pub fn render(
    root: &Path,
    out: &Path,
    preset: &Preset,
    name: PresetName,
    seed: u64,
) -> Result<Summary, SynthError> {
    let start = Instant::now();
    let (world, photos, meshes) = load_world(root, preset, seed)?;
    tracing::info!(
        meshes = meshes.len(),
        identities = world.identities.len(),
        "assets loaded"
    );

    let jobs = plan_jobs(preset, seed, &world, &meshes);
    let bar = indicatif::ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let sample_every = (jobs.len() / contact::SAMPLES).max(1);
    let results: Vec<Result<JobOutcome, SynthError>> = jobs
        .par_iter()
        .enumerate()
        .map(|(j, job)| {
            let mut rng = rng_for(seed, 3, j as u64);
            let ident = &world.identities[job.identity];
            let cam = &world.cameras[job.camera];
            let view = CropView {
                azimuth_deg: job.record.azimuth_deg,
                width: preset.size,
                height: preset.size,
                supersample: preset.supersample,
            };
            let mut r = render_crop(
                &meshes[ident.mesh],
                ident,
                cam,
                &photos[job.camera],
                &view,
                &mut rng,
            );
            let degradation = cam.degradation.jittered(&mut rng);
            degradation.apply(&mut r.rgb, r.width as usize, r.height as usize, &mut rng);
            write_sample(out, &job.record, &r, degradation.jpeg_quality)?;
            bar.inc(1);
            let fg: f64 =
                r.coverage.iter().map(|&c| f64::from(c)).sum::<f64>() / r.coverage.len() as f64;
            let mut parts = [0f64; 3];
            for &p in &r.parts {
                if (1..=3).contains(&p) {
                    parts[p as usize - 1] += 1.0;
                }
            }
            Ok(JobOutcome {
                foreground: fg,
                parts,
                sample: (j % sample_every == 0).then_some(r),
            })
        })
        .collect();
    bar.finish_and_clear();
    let mut fg_sum = 0.0;
    let mut parts = [0f64; 3];
    let mut samples = Vec::new();
    for (res, job) in results.into_iter().zip(&jobs) {
        let JobOutcome {
            foreground,
            parts: p,
            sample,
        } = res?;
        fg_sum += foreground;
        for (acc, v) in parts.iter_mut().zip(p) {
            *acc += v;
        }
        if let Some(r) = sample {
            samples.push((job.record.name.clone(), r));
        }
    }
    let records: Vec<Record> = jobs.into_iter().map(|j| j.record).collect();
    layout::write_lists(out, &records)?;
    write_stats(out, preset, name, seed, &world, &records, fg_sum, parts)?;
    let sheet = contact::sheet(&samples, preset.size);
    layout::write_png_rgb(
        &out.join("contact_sheet.png"),
        &sheet.data,
        sheet.width,
        sheet.height,
    )?;
    Ok(Summary {
        images: records.len(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn plan_jobs(preset: &Preset, seed: u64, world: &World, meshes: &[PreparedMesh]) -> Vec<Job> {
    let mut rng = rng_for(seed, 4, 0);
    let v = preset.views_per_camera.max(1);
    let mut jobs = Vec::new();
    for (ii, ident) in world.identities.iter().enumerate() {
        let split = if ident.id <= world.train {
            Split::Train
        } else {
            Split::Test
        };
        for (ci, cam) in world.cameras.iter().enumerate() {
            let offset: f32 = rng.random_range(0.0..360.0);
            let query_k = rng.random_range(0..v);
            for k in 0..v {
                let jitter: f32 = rng.random_range(-0.3..0.3);
                let azimuth = (offset + (k as f32 + jitter) * 360.0 / v as f32).rem_euclid(360.0);
                let o = orientation(azimuth);
                jobs.push(Job {
                    identity: ii,
                    camera: ci,
                    record: Record {
                        name: layout::image_name(
                            ident.id,
                            cam.number,
                            ident.id * 1000 + cam.number * 50 + k,
                            0,
                        ),
                        id: ident.id,
                        camera: cam.number,
                        colour_id: ident.colour_id(),
                        type_id: meshes[ident.mesh].type_id,
                        split,
                        query: split == Split::Test && k == query_k,
                        azimuth_deg: azimuth,
                        orientation: o,
                        view: o.view(),
                    },
                });
            }
        }
    }
    jobs
}

fn write_sample(out: &Path, rec: &Record, r: &Rendered, quality: u8) -> Result<(), SynthError> {
    let dir = layout::split_dir(rec.split);
    layout::write_jpeg(
        &out.join(dir).join(&rec.name),
        &r.rgb,
        r.width,
        r.height,
        quality,
    )?;
    if rec.query {
        layout::write_jpeg(
            &out.join("image_query").join(&rec.name),
            &r.rgb,
            r.width,
            r.height,
            quality,
        )?;
    }
    let png = rec.name.replace(".jpg", ".png");
    let fg: Vec<u8> = r
        .coverage
        .iter()
        .map(|c| (c * 255.0).round() as u8)
        .collect();
    layout::write_png_gray(&out.join("mask_fg").join(&png), &fg, r.width, r.height)?;
    layout::write_png_gray(
        &out.join("mask_parts").join(&png),
        &r.parts,
        r.width,
        r.height,
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_stats(
    out: &Path,
    preset: &Preset,
    name: PresetName,
    seed: u64,
    world: &World,
    records: &[Record],
    fg_sum: f64,
    parts: [f64; 3],
) -> Result<(), SynthError> {
    let count = |f: &dyn Fn(&Record) -> bool| records.iter().filter(|r| f(r)).count();
    let part_total: f64 = parts.iter().sum::<f64>().max(1.0);
    let mut orientation_counts = vec![0u32; 8];
    for r in records {
        orientation_counts[r.orientation.index() as usize] += 1;
    }
    let stats = Stats {
        renderer_version: crate::synth::RENDERER_VERSION,
        preset: name,
        seed,
        sizes: preset,
        images: records.len(),
        images_per_identity: preset.images_per_identity(),
        train_images: count(&|r| r.split == Split::Train),
        test_images: count(&|r| r.split == Split::Test),
        query_images: count(&|r| r.query),
        train_identities: world.train,
        test_identities: preset.identities - world.train,
        twin_identities: world
            .identities
            .iter()
            .filter(|i| i.twin_of.is_some())
            .count(),
        mean_foreground_fraction: fg_sum / records.len().max(1) as f64,
        part_fraction_front: parts[0] / part_total,
        part_fraction_rear: parts[1] / part_total,
        part_fraction_side: parts[2] / part_total,
        orientation_counts,
        view_counts: View::ALL
            .iter()
            .map(|v| count(&|r| r.view == *v) as u32)
            .collect(),
        meshes: world.specs.iter().map(|s| s.key).collect(),
        cameras: &world.cameras,
        identities: &world.identities,
    };
    layout::write_text(&out.join("stats.toml"), &toml::to_string(&stats)?)?;
    Ok(())
}
