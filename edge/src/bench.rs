//! `edge-agent bench`: crops/s of the model (batch 1 as the reference), frames/s of the
//! non-model stages (luma conversion alone as the reference), queue appends/s (a bare
//! fsync'd append of the same bytes as the reference).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use spanreid_edge::config::Config;
use spanreid_edge::frame::Frame;
use spanreid_edge::metrics::Metrics;
use spanreid_edge::pipeline::Vehicles;
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use spanreid_infer::Crop;
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Embedder, fixture, manifest};

use crate::output::print_lines;

fn rate(seconds: f64, mut step: impl FnMut() -> anyhow::Result<u64>) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < seconds || n == 0 {
        n += step()?;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

fn scratch(name: &str) -> anyhow::Result<PathBuf> {
    let dir =
        std::env::temp_dir().join(format!("spanreid-edge-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn moving_frame(w: u32, h: u32, k: u32) -> Frame {
    let mut f = Frame::filled(w, h, [120, 120, 120]);
    let x0 = (k * 8) % w;
    for y in h / 3..h / 3 + 60 {
        for x in x0..(x0 + 120).min(w) {
            let i = ((y * w + x) * 3) as usize;
            f.rgb[i..i + 3].copy_from_slice(&[30, 40, 200]);
        }
    }
    f.index = u64::from(k);
    f
}

pub fn run(
    manifest_path: Option<PathBuf>,
    model: &str,
    batch: usize,
    seconds: f64,
) -> anyhow::Result<()> {
    let manifest_path = match manifest_path {
        Some(p) => p,
        None => fixture::write(
            &scratch("model")?,
            fixture::FixtureShape {
                height: 128,
                width: 128,
                dim: 128,
            },
        )?,
    };
    let mut e = TractEmbedder::load(manifest::load(&manifest_path, model)?)?;
    let crop = Crop {
        width: 160,
        height: 120,
        rgb: (0..160 * 120 * 3).map(|i| (i % 251) as u8).collect(),
    };
    let one = rate(seconds, || {
        Ok(e.embed(std::slice::from_ref(&crop))?.len() as u64)
    })?;
    let crops = vec![crop; batch.max(1)];
    let many = rate(seconds, || Ok(e.embed(&crops)?.len() as u64))?;
    print_lines([format!(
        "model {model}: {one:.1} crops/s at batch 1, {many:.1} crops/s at batch {} (×{:.2})",
        batch,
        many / one
    )])?;

    let key = "0".repeat(64);
    let v = Config::from_toml(
        &format!("[camera]\nkey_hex = \"{key}\"\n"),
        "bench".as_ref(),
    )?
    .validate()?;
    let frames: Vec<Frame> = (0..64).map(|k| moving_frame(640, 360, k)).collect();
    let metrics = Metrics::default();
    let mut vehicles = Vehicles::motion(&v);
    let mut k = 0;
    let stages = rate(seconds, || {
        vehicles.push(&frames[k % frames.len()], &metrics);
        k += 1;
        Ok(1)
    })?;
    let mut k = 0;
    let luma = rate(seconds, || {
        std::hint::black_box(frames[k % frames.len()].to_gray());
        k += 1;
        Ok(1)
    })?;
    print_lines([format!(
        "detect+track+crops 640x360: {stages:.1} frames/s (luma alone {luma:.1} frames/s, ratio {:.3})",
        stages / luma
    )])?;

    let dir = scratch("queue")?;
    let payload = vec![7u8; 1200];
    let (mut q, _) = DiskQueue::open(
        &dir.join("q"),
        QueueSettings {
            capacity: 1_000_000,
            max_bytes: u64::MAX,
            ..QueueSettings::default()
        },
    )?;
    let push = rate(seconds, || {
        q.push(&payload)?;
        Ok(1)
    })?;
    let ids: Vec<u64> = q
        .peek_after(None, usize::MAX)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let t = Instant::now();
    for chunk in ids.chunks(32) {
        q.ack_many(chunk)?;
    }
    let acks = ids.len() as f64 / t.elapsed().as_secs_f64();
    let raw_path = dir.join("raw.log");
    let mut raw = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&raw_path)?;
    let bare = rate(seconds, || {
        raw.write_all(&payload)?;
        raw.sync_data()?;
        Ok(1)
    })?;
    let _ = std::fs::remove_dir_all(&dir);
    print_lines([format!(
        "queue: {push:.0} appends/s (bare fsync'd append {bare:.0}/s, ratio {:.2}); {acks:.0} acks/s in batches of 32",
        push / bare
    )])
}
