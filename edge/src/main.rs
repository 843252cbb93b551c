//! `edge-agent`: the roadside unit. `run` captures, detects, embeds, signs, queues and
//! publishes; `check` validates a deployment; `bench` measures this device; `inspect`
//! decodes a signature file; `fixture` writes a tiny stand-in model.

mod bench;
mod inspect;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use spanreid_edge::capture::replay::{Pace, ReplaySource};
use spanreid_edge::capture::video::VideoSource;
use spanreid_edge::capture::{FrameSource, SourceKind};
use spanreid_edge::config::{Config, DeleteOn, Validated};
use spanreid_edge::metrics::Metrics;
use spanreid_edge::passage_log::PassageLog;
use spanreid_edge::publish::{PublishSettings, ReceiptSettings};
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use spanreid_edge::{metrics_http, pipeline};
use spanreid_infer::sign::{Signer, ident};
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Embedder, fixture, manifest};

#[derive(Parser)]
#[command(name = "edge-agent", version, about = "spanreid roadside unit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Flags that override the config file.
#[derive(clap::Args, Clone, Debug, Default)]
struct Overrides {
    /// Configuration file (TOML); built-in defaults when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Replay this frame folder, or this video file (decoded by FFmpeg), instead of the
    /// configured source.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Pace the replay at the configured fps (a video's own rate for a video).
    #[arg(long)]
    realtime: bool,
    /// Broker as host:port.
    #[arg(long)]
    broker: Option<String>,
    /// Queue directory.
    #[arg(long)]
    queue: Option<PathBuf>,
    /// Model manifest.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Model name in the manifest.
    #[arg(long)]
    model: Option<String>,
    /// Capture time of the replay's first frame, µs since the Unix epoch.
    #[arg(long)]
    replay_start_us: Option<u64>,
    /// Append one CSV line per signed passage to this file.
    #[arg(long)]
    passage_log: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent until the source ends (replay), or SIGINT/SIGTERM.
    Run(Overrides),
    /// Validate the config, the model files, the camera and the broker.
    Check {
        #[command(flatten)]
        overrides: Overrides,
        /// Skip the broker connection test.
        #[arg(long)]
        offline: bool,
    },
    /// Measure crops/s of the model, frames/s of detection and tracking, and queue ops/s.
    Bench {
        /// Model manifest (default: a generated fixture model).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Model name in the manifest.
        #[arg(long, default_value = "fixture")]
        model: String,
        /// Crops per batch.
        #[arg(long, default_value_t = 4)]
        batch: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Decode a signature file (wire format) and print its header.
    Inspect {
        /// File holding one encoded signature.
        file: PathBuf,
        /// Also print each part's features, dequantised, one line per part.
        #[arg(long)]
        features: bool,
    },
    /// Write a tiny stand-in ONNX model and its manifest.
    Fixture {
        /// Output folder.
        out: PathBuf,
        /// Input size (square).
        #[arg(long, default_value_t = 64)]
        size: u32,
        /// Feature dimension.
        #[arg(long, default_value_t = 64)]
        dim: usize,
        /// Also write `detector.onnx`: a stand-in object detector (YOLOv5 layout, 64×64
        /// input, class 0) that reports the bright 8×8 cells of its input.
        #[arg(long)]
        detector: bool,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if output::is_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "edge-agent: {}",
                    spanreid_service::report::error_line(err.as_ref())
                );
            }
            ExitCode::FAILURE
        }
    }
}

fn load_config(o: &Overrides) -> anyhow::Result<Validated> {
    let mut c = match &o.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(path) = &o.replay {
        if path.is_file() {
            c.camera.source = SourceKind::Video;
            c.camera.video_file = path.clone();
        } else {
            c.camera.source = SourceKind::Replay;
            c.camera.replay_dir = path.clone();
        }
    }
    if o.realtime {
        c.camera.replay_realtime = true;
    }
    if let Some(b) = &o.broker {
        let (host, port) = b.rsplit_once(':').context("--broker must be host:port")?;
        c.mqtt.host = host.to_string();
        c.mqtt.port = port
            .parse()
            .with_context(|| format!("--broker port {port:?}"))?;
    }
    if let Some(q) = &o.queue {
        c.queue.dir = q.clone();
    }
    if let Some(m) = &o.manifest {
        c.model.manifest = m.clone();
    }
    if let Some(m) = &o.model {
        c.model.name = m.clone();
    }
    if let Some(t) = o.replay_start_us {
        c.camera.replay_start_us = t;
    }
    if let Some(p) = &o.passage_log {
        c.passage_log = Some(p.clone());
    }
    Ok(c.validate()?)
}

fn open_source(v: &Validated) -> anyhow::Result<Box<dyn FrameSource>> {
    let c = &v.config.camera;
    match c.source {
        SourceKind::Replay | SourceKind::Video => {
            let pace = if c.replay_realtime {
                Pace::RealTime { fps: c.fps }
            } else if c.replay_ahead_of_clock {
                Pace::AheadOfClock { fps: c.fps }
            } else {
                Pace::Fast { fps: c.fps }
            };
            let start = match c.replay_start_us {
                0 => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as u64),
                t => t,
            };
            if c.source == SourceKind::Video {
                Ok(Box::new(VideoSource::open(
                    &c.video_file,
                    &c.ffmpeg,
                    pace,
                    start,
                )?))
            } else {
                Ok(Box::new(ReplaySource::open(&c.replay_dir, pace, start)?))
            }
        }
        #[cfg(feature = "v4l")]
        SourceKind::V4l2 => {
            use spanreid_edge::capture::v4l::{CameraSettings, V4lSource};
            Ok(Box::new(V4lSource::open(CameraSettings {
                device: c.device.clone(),
                width: c.width,
                height: c.height,
                fps: c.fps.round() as u32,
                format: c.pixel_format,
                max_backoff: Duration::from_secs(10),
            })?))
        }
        #[cfg(not(feature = "v4l"))]
        SourceKind::V4l2 => anyhow::bail!(
            "camera.source \"v4l2\" is not available in this build (it needs the `v4l` feature)"
        ),
    }
}

fn load_model(v: &Validated) -> anyhow::Result<TractEmbedder> {
    let m = &v.config.model;
    let resolved = manifest::load(&m.manifest, &m.name)?;
    Ok(TractEmbedder::load(resolved)?)
}

fn publish_settings(v: &Validated) -> PublishSettings {
    let (c, p) = (&v.config.camera, &v.config.publish);
    PublishSettings {
        connection: v.config.mqtt.clone(),
        client_id: v.config.client_id(),
        site: c.site.clone(),
        camera: c.id.clone(),
        window: p.window,
        max_backoff: Duration::from_secs(30),
        status_interval: Duration::from_secs(p.status_interval_s.max(1)),
        receipts: (p.delete_on == DeleteOn::HubReceipt).then(|| ReceiptSettings {
            key: v.key.clone(),
            timeout: Duration::from_secs(p.receipt_timeout_s),
            window: p.receipt_window,
        }),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(o) => run_agent(&o),
        Command::Check { overrides, offline } => check(&overrides, offline),
        Command::Bench {
            manifest,
            model,
            batch,
            seconds,
        } => bench::run(manifest, &model, batch, seconds),
        Command::Inspect { file, features } => inspect::run(&file, features),
        Command::Fixture {
            out,
            size,
            dim,
            detector,
        } => {
            let path = fixture::write(
                &out,
                fixture::FixtureShape {
                    height: size,
                    width: size,
                    dim,
                },
            )?;
            tracing::info!(manifest = %path.display(), "fixture model written");
            if detector {
                use spanreid_edge::detect::fixture::{FixtureDetector, model_bytes};
                let bytes = model_bytes(FixtureDetector::default());
                let path = out.join("detector.onnx");
                std::fs::write(&path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                tracing::info!(
                    detector = %path.display(),
                    sha256 = %manifest::sha256_hex(&bytes),
                    "fixture detector written; use it with detect.detector = \"onnx\" and \
                     [detect.onnx] input_size = 64, layout = \"yolov5\", classes = [0]"
                );
            }
            Ok(())
        }
    }
}

fn run_agent(o: &Overrides) -> anyhow::Result<()> {
    let signal = spanreid_service::shutdown::on_signal(
        "signal received: capture stops, the passages in flight are signed and queued",
    )
    .context("installing the signal handlers")?;
    let v = load_config(o)?;
    let embedder = load_model(&v)?;
    let signer = Signer {
        site: ident(&v.config.camera.site)?,
        camera: ident(&v.config.camera.id)?,
        key: v.key.clone(),
        model_id: embedder.model_id(),
    };
    let source = open_source(&v)?;
    let settings = QueueSettings {
        capacity: v.config.queue.capacity,
        max_bytes: v.config.queue.max_bytes,
        ..QueueSettings::default()
    };
    let (queue, recovery) = DiskQueue::open(&v.config.queue.dir, settings)?;
    tracing::info!(
        pending = recovery.pending,
        torn = recovery.torn_files,
        "queue opened"
    );
    let metrics = Arc::new(Metrics::default());
    metrics.record_queue(&queue);
    let metrics_stop = Arc::new(AtomicBool::new(false));
    if let Some(addr) = v.metrics_listen {
        let bound = metrics_http::serve(addr, metrics.clone(), metrics_stop.clone())
            .with_context(|| format!("metrics endpoint {addr}"))?;
        tracing::info!(%bound, "Prometheus endpoint up");
    }
    let publish = Some(publish_settings(&v));
    let passage_log = v
        .config
        .passage_log
        .as_deref()
        .map(PassageLog::open)
        .transpose()?;
    let thumbnails = pipeline::ThumbnailLane::open(&v.config.thumbnails, &v.config.queue.dir)?;
    let summary = pipeline::run(pipeline::Parts {
        source,
        embedder: Box::new(embedder),
        settings: v,
        signer,
        queue: Arc::new(Mutex::new(queue)),
        metrics: metrics.clone(),
        publish,
        passage_log,
        thumbnails,
        stop: signal.clone(),
    })?;
    metrics_stop.store(true, Ordering::Relaxed);
    let outcome = if signal.load(Ordering::Relaxed) {
        "stopped on a signal"
    } else {
        "source ended, queue delivered"
    };
    tracing::info!(
        frames = summary.frames,
        signatures = summary.signatures,
        fps = summary.frames as f64 / summary.seconds.max(1e-9),
        "{outcome}"
    );
    let refusals = metrics.refusals();
    if !refusals.is_empty() {
        anyhow::bail!("the hub refused signatures of this run ({refusals}); see the log");
    }
    Ok(())
}

fn check(o: &Overrides, offline: bool) -> anyhow::Result<()> {
    let v = load_config(o)?;
    tracing::info!("config valid");
    let model = load_model(&v).context("model")?;
    tracing::info!(dim = model.dim(), path = %model.model().path.display(), "model loads and matches its sha256");
    if let Some(settings) = &v.onnx {
        let detector =
            spanreid_edge::detect::OnnxDetector::load(settings.clone()).context("detector")?;
        tracing::info!(
            path = %settings.model.display(),
            classes = detector.classes(),
            "object detector loads and fits its layout"
        );
    }
    let _source = open_source(&v).context("camera")?;
    tracing::info!(source = ?v.config.camera.source, "camera opens");
    std::fs::create_dir_all(&v.config.queue.dir)
        .with_context(|| format!("queue dir {}", v.config.queue.dir.display()))?;
    if !offline {
        // The login `run` would use (TLS, username), under its own client id.
        let client_id = format!("{}-check", v.config.client_id());
        spanreid_service::login::check_login(&v.config.mqtt, &client_id, Duration::from_secs(10))?;
        tracing::info!(broker = %v.config.mqtt.addr(), "broker accepts the login");
    }
    Ok(())
}
