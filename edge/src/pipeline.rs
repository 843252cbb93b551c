//! The stages wired by bounded channels, one thread each:
//! capture → (frames, bounded; a live source drops when full) → detect + track + crop choice
//! → (finished passages, bounded; back-pressure) → inference + signing → on-disk queue →
//! publisher. A replay that ends drains every stage, then the queue, then stops.
//!
//! Setting [`Parts::stop`] (a signal) ends capture; the passages in flight are still signed
//! and queued, the publisher gets [`SHUTDOWN_DRAIN`] to deliver, and what it could not
//! stays in the on-disk queue for the next start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use spanreid::clock::now_us;

use crate::capture::{CaptureError, FrameSource};
use crate::config::Validated;
use crate::detect::DetectError;
use crate::frame::Frame;
use crate::metrics::Metrics;
use crate::passage::CropPolicy;
use crate::passage_log::{PassageLog, PassageRecord};
use crate::publish::{self, Control, PublishError, PublishSettings, RunState};
use crate::queue::{DiskQueue, QueueError};
use spanreid_infer::sign::{PassageMeta, Signer, next_sequence};
use spanreid_infer::{Embedder, InferError};

mod thumbnails;
mod vehicles;

pub use thumbnails::ThumbnailLane;
pub use vehicles::{PassageJob, Vehicles, embed_passage};

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The frame source failed for good.
    #[error("capture: {0}")]
    Capture(#[from] CaptureError),
    /// The detector could not load.
    #[error("detector: {0}")]
    Detect(#[from] DetectError),
    /// The model failed.
    #[error("inference: {0}")]
    Infer(#[from] InferError),
    /// The queue failed.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// The publisher failed.
    #[error("publish: {0}")]
    Publish(#[from] PublishError),
    /// A stage thread panicked or could not start.
    #[error("stage {0} stopped unexpectedly")]
    Stage(&'static str),
}

/// Everything the pipeline needs.
pub struct Parts {
    /// Frames.
    pub source: Box<dyn FrameSource>,
    /// Model.
    pub embedder: Box<dyn Embedder>,
    /// Settings.
    pub settings: Validated,
    /// Who signs.
    pub signer: Signer,
    /// The queue.
    pub queue: Arc<Mutex<DiskQueue>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Broker; `None` only queues (e.g. `bench`, or tests of the queue).
    pub publish: Option<PublishSettings>,
    /// Where each signed passage is logged, if anywhere.
    pub passage_log: Option<PassageLog>,
    /// Thumbnails beside the signatures, if on (`[thumbnails]`).
    pub thumbnails: Option<ThumbnailLane>,
    /// Set it to stop early (SIGTERM): see the module documentation.
    pub stop: Arc<AtomicBool>,
}

/// Longest time the publisher may keep delivering after [`Parts::stop`] is set.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(3);

/// What a finished run did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Frames captured.
    pub frames: u64,
    /// Signatures queued.
    pub signatures: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

fn capture_stage(
    mut source: Box<dyn FrameSource>,
    tx: SyncSender<Frame>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> Result<(), PipelineError> {
    let live = source.is_live();
    while !stop.load(Ordering::Relaxed) {
        let Some(frame) = source.next_frame()? else {
            break;
        };
        Metrics::add(&metrics.frames, 1);
        Metrics::set(&metrics.decode_errors, source.decode_errors());
        if live {
            match tx.try_send(frame) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => Metrics::add(&metrics.frames_dropped, 1),
                Err(TrySendError::Disconnected(_)) => break,
            }
        } else if tx.send(frame).is_err() {
            break;
        }
    }
    Metrics::set(&metrics.decode_errors, source.decode_errors());
    Ok(())
}

/// Detection until the frames end or `stop` is set (even while capture is stuck, e.g. a
/// camera reconnecting), then the live tracks end as passages.
fn vehicle_stage(
    mut vehicles: Vehicles,
    rx: Receiver<Frame>,
    tx: SyncSender<PassageJob>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let frame = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(frame) => frame,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for job in vehicles.push(&frame, &metrics) {
            if tx.send(job).is_err() {
                return;
            }
        }
    }
    drop(rx);
    for job in vehicles.finish(&metrics) {
        if tx.send(job).is_err() {
            return;
        }
    }
}

/// The sign stage's ends: what it reads from and writes to.
struct SignStage {
    embedder: Box<dyn Embedder>,
    policy: CropPolicy,
    signer: Signer,
    queue: Arc<Mutex<DiskQueue>>,
    metrics: Arc<Metrics>,
    log: Option<PassageLog>,
    thumbnails: Option<ThumbnailLane>,
}

fn sign_stage(stage: SignStage, rx: Receiver<PassageJob>) -> Result<(), PipelineError> {
    let SignStage {
        mut embedder,
        policy,
        signer,
        queue,
        metrics,
        mut log,
        thumbnails,
    } = stage;
    let mut sequence = 0u64;
    for job in rx {
        Metrics::add(&metrics.crops, job.candidates.len() as u64);
        let Some(embedding) = embed_passage(embedder.as_mut(), policy, &job)? else {
            continue;
        };
        let capture_time_us = job.candidates.first().map_or(0, |c| c.time_us);
        sequence = next_sequence(sequence, now_us());
        let meta = PassageMeta {
            track_id: job.track_id,
            capture_time_us,
            sequence,
        };
        match signer.encode(meta, &embedding) {
            Ok(bytes) => {
                let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
                let pushed = q.push(&bytes);
                metrics.record_queue(&q);
                drop(q);
                match pushed {
                    Ok(_) => {
                        Metrics::add(&metrics.signatures, 1);
                        if let (Some(lane), Some(best)) = (&thumbnails, job.candidates.first()) {
                            lane.push(sequence, &best.crop, &signer.key, &metrics);
                        }
                    }
                    // Counted by the queue; the next passage may find room again.
                    Err(e @ QueueError::DiskFull(_)) => {
                        tracing::error!(track = job.track_id, error = %e, "passage lost");
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
                if let (Some(log), Some(best)) = (log.as_mut(), job.candidates.first()) {
                    let record = PassageRecord {
                        sequence,
                        track: job.track_id,
                        frame: best.frame,
                        time_us: best.time_us,
                        bbox: best.bbox,
                        crops: job.candidates.len() as u32,
                    };
                    if let Err(e) = log.append(&record) {
                        tracing::warn!(error = %e, "passage log not written");
                    }
                }
            }
            Err(e) => {
                Metrics::add(&metrics.signature_errors, 1);
                tracing::warn!(track = job.track_id, error = %e, "passage skipped");
            }
        }
    }
    Ok(())
}

/// Runs until the source ends (then drains the queue to the broker), fails, or
/// [`Parts::stop`] is set.
pub fn run(parts: Parts) -> Result<Summary, PipelineError> {
    let started = Instant::now();
    let Parts {
        source,
        embedder,
        settings,
        signer,
        queue,
        metrics,
        publish,
        passage_log,
        thumbnails,
        stop,
    } = parts;
    let (frame_tx, frame_rx) = sync_channel(settings.config.frame_buffer.max(1));
    let (job_tx, job_rx) = sync_channel(4);
    let vehicles = Vehicles::open(&settings)?;
    let policy = settings.policy;
    let control = Arc::new(Control::default());
    let spawn_err = |_| PipelineError::Stage("spawn");
    let capture = {
        let (m, stop) = (metrics.clone(), stop.clone());
        std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || capture_stage(source, frame_tx, m, stop))
            .map_err(spawn_err)?
    };
    let detect = {
        let (m, stop) = (metrics.clone(), stop.clone());
        std::thread::Builder::new()
            .name("vehicles".into())
            .spawn(move || vehicle_stage(vehicles, frame_rx, job_tx, m, stop))
            .map_err(spawn_err)?
    };
    let sign = {
        let stage = SignStage {
            embedder,
            policy,
            signer,
            queue: queue.clone(),
            metrics: metrics.clone(),
            log: passage_log,
            thumbnails: thumbnails.clone(),
        };
        std::thread::Builder::new()
            .name("sign".into())
            .spawn(move || sign_stage(stage, job_rx))
            .map_err(spawn_err)?
    };
    let publisher = match publish {
        Some(p) => {
            let (q, m, c) = (queue.clone(), metrics.clone(), control.clone());
            let t = thumbnails.as_ref().map(|l| l.queue.clone());
            let stop = stop.clone();
            Some(
                std::thread::Builder::new()
                    .name("publish".into())
                    .spawn(move || {
                        let result = publish::run_with_thumbnails(&p, &q, t.as_deref(), &m, &c);
                        if let Err(e) = &result {
                            // Capturing on with no one to deliver would only fill the
                            // queue: the agent stops, and exits with this error.
                            tracing::error!(error = %e, "the publisher failed; stopping");
                            stop.store(true, Ordering::Relaxed);
                        }
                        result
                    })
                    .map_err(spawn_err)?,
            )
        }
        None => None,
    };
    let detected = detect.join().map_err(|_| PipelineError::Stage("vehicles"));
    let signed = sign.join().map_err(|_| PipelineError::Stage("sign"));
    let captured = if stop.load(Ordering::Relaxed) && !capture.is_finished() {
        // Stuck in its source (a camera reconnecting): the process exit ends it.
        tracing::warn!("capture still waiting for its source; not waiting for it");
        Ok(Ok(()))
    } else {
        capture.join().map_err(|_| PipelineError::Stage("capture"))
    };
    // Drain to the broker if everything went well; otherwise stop it and keep the queue.
    let ok = matches!(
        (&captured, &detected, &signed),
        (Ok(Ok(())), Ok(()), Ok(Ok(())))
    );
    control.set(if ok { RunState::Drain } else { RunState::Stop });
    if let Some(p) = publisher {
        wait_for_publisher(&p, &control, &stop);
        p.join().map_err(|_| PipelineError::Stage("publish"))??;
    }
    captured??;
    detected?;
    signed??;
    let depth = queue.lock().unwrap_or_else(PoisonError::into_inner).len();
    if stop.load(Ordering::Relaxed) && depth > 0 {
        tracing::info!(
            queued = depth,
            "stopped early; undelivered signatures stay queued"
        );
    }
    Ok(Summary {
        frames: metrics.frames.load(Ordering::Relaxed),
        signatures: metrics.signatures.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Waits while the publisher drains; once `stop` is set, for [`SHUTDOWN_DRAIN`] at most,
/// then tells it to stop.
fn wait_for_publisher(
    p: &JoinHandle<Result<(), PublishError>>,
    control: &Control,
    stop: &AtomicBool,
) {
    let mut deadline = None;
    while !p.is_finished() {
        if stop.load(Ordering::Relaxed) {
            let until = *deadline.get_or_insert_with(|| Instant::now() + SHUTDOWN_DRAIN);
            if Instant::now() >= until {
                control.set(RunState::Stop);
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
