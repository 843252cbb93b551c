//! `spanreid-demo`: the main job end to end on the synthetic camera streams. Starts the hub
//! (with its embedded broker) and one `edge-agent` per camera stream with the shipped
//! models, prints cross-camera matches as they arrive, and ends with their precision and
//! recall against the streams' ground truth.

mod idf1;
mod labels;
mod picture;
mod plan;
mod processes;
mod report;
mod score;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use spanreid::clock::now_us;
use spanreid_edge::capture::ground_truth::{self, Sighting};
use spanreid_hub::{SqliteStore, Store};
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Embedder, manifest};

use labels::{describe, label_passages};
use plan::{CameraPlan, Plan, demo_key};
use processes::{Process, wait_for_port};

/// Frames per second of the synthetic streams.
const FPS: f64 = 10.0;

#[derive(Parser, Debug)]
#[command(
    name = "spanreid-demo",
    version,
    about = "spanreid end to end on synthetic camera streams"
)]
struct Args {
    /// A synthetic render with camera streams (`trainer synth --out DIR`).
    #[arg(long)]
    data: PathBuf,
    /// Model manifest.
    #[arg(long, default_value = "models/manifest.toml")]
    manifest: PathBuf,
    /// Model name in the manifest.
    #[arg(long, default_value = "spanreid-mnv2-int8")]
    model: String,
    /// Scratch directory: hub database, queues, configs, logs, report (emptied first).
    #[arg(long, default_value = "target/demo")]
    work: PathBuf,
    /// Port of the hub's embedded broker on 127.0.0.1.
    #[arg(long, default_value_t = 18883)]
    port: u16,
    /// Port of the hub's web page and API on 127.0.0.1.
    #[arg(long, default_value_t = 18480)]
    http_port: u16,
    /// Keep the hub and its web page up after the report, until Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// Candidates per match event: with one per camera (the default), the cameras a
    /// passage is matched at.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Let one event name several passages of the same camera (the hub's default),
    /// instead of the nearest per camera.
    #[arg(long)]
    several_per_camera: bool,
    /// Match each passage on its own: no one-to-one association (the hub's
    /// `one_to_one`, on by default here; `--several-per-camera` turns it off too).
    #[arg(long)]
    independent: bool,
    /// Largest CPDM distance reported as a match (default: the model's calibrated
    /// threshold from the manifest, `trainer calibrate`; no threshold for an uncalibrated
    /// model, each signature then reports its nearest other-camera signature).
    #[arg(long)]
    max_distance: Option<f32>,
    /// Crops each agent embeds per passage (the best by size, sharpness and position);
    /// their part features are averaged into the one signature. 1: the single best crop.
    #[arg(long, default_value_t = spanreid_edge::config::DEFAULT_CROPS)]
    crops: usize,
    /// Match every camera against every other, ignoring the route's travel times.
    #[arg(long)]
    no_gating: bool,
    /// Folder holding the `hub` and `edge-agent` binaries (default: next to this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("spanreid-demo: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout, reason = "the demo's output is its report")]
fn say(line: &str) {
    println!("{line}");
}

/// Camera folders of the streams (`c001`, `c002`, …) in route order.
fn camera_dirs(streams: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(streams).with_context(|| format!("{}", streams.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && name.starts_with('c') {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn build_plan(args: &Args, rows: &[Sighting]) -> anyhow::Result<Plan> {
    let streams = args.data.join("streams");
    let dirs = camera_dirs(&streams)?;
    ensure!(
        dirs.len() >= 2,
        "{} holds fewer than two camera folders",
        streams.display()
    );
    let model = manifest::load(&args.manifest, &args.model)
        .with_context(|| format!("model {:?} in {}", args.model, args.manifest.display()))?;
    let embedder = TractEmbedder::load(model)?;
    let model_id = embedder
        .model_id()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Stamp the streams' clock into the recent past, so every capture time is in the hub's
    // replay window however fast the replay runs.
    let span_s = rows.iter().map(|r| r.time_s).fold(0.0, f64::max);
    let epoch_us = now_us().saturating_sub(((span_s + 300.0) * 1e6) as u64);
    let mut cameras = Vec::new();
    for (id, frames) in dirs {
        let start_s = ground_truth::stream_start_s(rows, &id, FPS).unwrap_or(0.0);
        cameras.push(CameraPlan {
            key_hex: demo_key(&id),
            start_us: epoch_us + (start_s.max(0.0) * 1e6) as u64,
            id,
            frames,
        });
    }
    anyhow::ensure!(
        (1..=16).contains(&args.crops),
        "--crops {}: must be 1–16 (the agent's detect.top_k)",
        args.crops
    );
    Ok(Plan {
        cameras,
        port: args.port,
        http_port: args.http_port,
        model_id,
        dim: embedder.dim(),
        manifest: std::path::absolute(&args.manifest)?,
        model: args.model.clone(),
        top_k: args.top_k,
        one_per_camera: !args.several_per_camera,
        one_to_one: !args.several_per_camera && !args.independent,
        max_distance: args.max_distance,
        gating: !args.no_gating,
        crops: args.crops,
        work: std::path::absolute(&args.work)?,
    })
}

fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let gt_path = args.data.join("streams").join("ground_truth.csv");
    let rows = ground_truth::read(&gt_path).with_context(|| {
        format!(
            "no camera streams at {} (render them with: trainer synth --preset small --out {})",
            args.data.display(),
            args.data.display()
        )
    })?;
    let plan = build_plan(args, &rows)?;
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("location of this binary")?
            .to_owned(),
    };
    let (hub_bin, agent_bin) = (
        processes::binary(&bin_dir, "hub")?,
        processes::binary(&bin_dir, "edge-agent")?,
    );
    processes::fresh_work_dir(&plan.work)?;
    let hub_toml = plan.work.join("hub.toml");
    std::fs::write(&hub_toml, plan.hub_toml())?;
    // The key the hub signs match events with, made before the hub starts so the viewer
    // below knows whose events to believe.
    let key_file = spanreid_hub::HubConfig::from_toml(&plan.hub_toml(), "the demo's hub.toml")?
        .events_key_path();
    let hub_key = spanreid_hub::event_key::EventSigner::load_or_create(&key_file)?.public();
    say(&format!(
        "spanreid demo: {} cameras from {}, model {} ({}), scratch {}",
        plan.cameras.len(),
        args.data.display(),
        plan.model,
        plan.model_id,
        plan.work.display()
    ));

    let hub_args = ["run", "--config", path_arg(&hub_toml)?];
    let mut hub = Process::spawn("hub", &hub_bin, &hub_args, &plan.work.join("hub.log"))?;
    wait_for_port(plan.port, &mut hub, Duration::from_secs(30))?;
    let broker = spanreid_hub::config::MqttConnection {
        port: plan.port,
        ..Default::default()
    };
    let matches = spanreid_hub::watch::subscribe(
        &broker,
        "spanreid-demo-viewer",
        hub_key,
        Duration::from_secs(20),
    )
    .context("subscribing to the hub's match events")?;
    say(&format!(
        "hub up, embedded broker on 127.0.0.1:{}; live matches, cameras and search by image \
         on {}",
        plan.port,
        plan.page_url()
    ));

    let mut agents = Vec::new();
    for c in &plan.cameras {
        let config = plan.work.join(format!("{}.toml", c.id));
        std::fs::write(&config, plan.agent_toml(c))?;
        let log = plan.work.join(format!("{}.log", c.id));
        let agent_args = ["run", "--config", path_arg(&config)?];
        agents.push(Process::spawn(
            &format!("edge-agent {}", c.id),
            &agent_bin,
            &agent_args,
            &log,
        )?);
    }
    say(&format!(
        "{} edge agents replaying their streams",
        agents.len()
    ));

    // The streams replay faster than real time; an agent still running after three times
    // their length (plus start-up) is stuck, and the demo says so instead of waiting.
    let stream_s = rows.iter().map(|r| r.time_s).fold(0.0, f64::max);
    let agents_limit = Duration::from_secs_f64(120.0 + 3.0 * stream_s);
    let agents_started = Instant::now();
    let mut events = Vec::new();
    let mut running: Vec<Option<Process>> = agents.into_iter().map(Some).collect();
    let mut settled_at: Option<Instant> = None;
    let mut expected = 0usize;
    let mut seen = BTreeMap::new();
    loop {
        while let Ok(e) = matches.try_recv() {
            // Re-read the passage logs only when the event names a passage not labelled yet.
            let named = std::iter::once(&e.query)
                .chain(e.candidates.first().map(|c| &c.signature))
                .map(|s| (s.camera.clone(), s.sequence));
            if named.into_iter().any(|k| !seen.contains_key(&k)) {
                seen = label_passages(&plan, &rows);
            }
            say(&describe(&e, &seen));
            events.push(e);
        }
        for slot in &mut running {
            if let Some(p) = slot.as_mut()
                && let Some(status) = p.try_wait()?
            {
                p.check(status)?;
                say(&format!("{} finished, every signature delivered", p.name()));
                *slot = None;
            }
        }
        if agents_started.elapsed() > agents_limit {
            let stuck: Vec<&str> = running.iter().flatten().map(Process::name).collect();
            if !stuck.is_empty() {
                bail!(
                    "{} still running after {:.0} s (streams of {stream_s:.0} s); see their logs in {}",
                    stuck.join(", "),
                    agents_limit.as_secs_f64(),
                    plan.work.display()
                );
            }
        }
        if running.iter().all(Option::is_none) {
            if settled_at.is_none() {
                expected = label_passages(&plan, &rows).len();
                settled_at = Some(Instant::now());
            }
            let stored = SqliteStore::open(&plan.db())?.count()? as usize;
            let waited = settled_at.map_or(Duration::ZERO, |t| t.elapsed());
            if stored >= expected && waited > Duration::from_secs(2) {
                break;
            }
            if waited > Duration::from_secs(120) {
                bail!(
                    "the hub stored {stored} of {expected} signatures within two minutes; see {}",
                    plan.work.join("hub.log").display()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let hub = if args.serve {
        Some(hub)
    } else {
        hub.stop();
        None
    };

    let labels = label_passages(&plan, &rows);
    let mut seen = score::Sightings::new();
    for c in &plan.cameras {
        for id in ground_truth::passages(&rows, &c.id).into_keys() {
            seen.entry(id).or_default().insert(c.id.clone());
        }
    }
    let gt_passages = seen.values().map(|cams| cams.len()).sum();
    let s = score::score(&labels, &seen, &events);
    let trajectories = idf1::idf1(&labels, gt_passages, &events);
    let settings = report::Settings {
        top_k: args.top_k,
        one_per_camera: plan.one_per_camera,
        one_to_one: plan.one_to_one,
        max_distance: args.max_distance,
        gating: !args.no_gating,
    };
    for line in report::lines(&s, &trajectories, &settings, started.elapsed()) {
        say(&line);
    }
    let json = serde_json::json!({
        "data": args.data, "model": plan.model, "model_id": plan.model_id,
        "top_k": plan.top_k, "one_per_camera": plan.one_per_camera, "one_to_one": plan.one_to_one, "max_distance": plan.max_distance, "gating": plan.gating, "crops": plan.crops,
        "seconds": started.elapsed().as_secs_f64(), "score": s, "trajectories": trajectories,
        "page": plan.page_url(),
    });
    let report_path = plan.work.join("report.json");
    std::fs::write(&report_path, serde_json::to_string_pretty(&json)?)?;
    say(&format!("report: {}", report_path.display()));
    let picture_path = plan.work.join("matches.png");
    picture::matches(&labels, &events)
        .save(&picture_path)
        .with_context(|| format!("writing {}", picture_path.display()))?;
    say(&format!(
        "picture: {} (a row per vehicle, a column per camera; green: right pairs, red: wrong)",
        picture_path.display()
    ));
    match hub {
        Some(hub) => {
            say(&format!("serving {} until Ctrl-C", plan.page_url()));
            processes::serve(hub)
        }
        None => {
            say(&format!(
                "page: {} while the hub runs (make demo DEMO_ARGS=--serve keeps it up)",
                plan.page_url()
            ));
            Ok(())
        }
    }
}

fn path_arg(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not valid UTF-8", p.display()))
}
