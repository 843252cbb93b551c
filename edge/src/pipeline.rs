//! The stages wired by bounded channels, one thread each:
//! capture → (frames, bounded; a live source drops when full) → detect + track + crop choice
//! → (finished passages, bounded; back-pressure) → inference + signing → on-disk queue →
//! publisher. A replay that ends drains every stage, then the queue, then stops.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use spanreid::clock::now_us;

use crate::capture::{CaptureError, FrameSource};
use crate::config::Validated;
use crate::detect::{DetectError, Detector, MotionDetector};
use crate::frame::Frame;
use crate::metrics::Metrics;
use crate::passage::{Candidate, CropPolicy, Passages};
use crate::passage_log::{PassageLog, PassageRecord};
use crate::publish::{self, Control, PublishError, PublishSettings};
use crate::queue::{DiskQueue, QueueError};
use crate::track::Tracker;
use spanreid_infer::sign::{PassageMeta, Signer, next_sequence};
use spanreid_infer::{Embedder, InferError, PartEmbedding};

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

/// One vehicle passage on its way to inference.
#[derive(Debug)]
pub struct PassageJob {
    /// Track id.
    pub track_id: u32,
    /// Chosen crops, best first.
    pub candidates: Vec<Candidate>,
}

/// Detection, tracking and crop choice over a frame stream (pure logic, no threads).
#[derive(Debug)]
pub struct Vehicles {
    detector: Detector,
    tracker: Tracker,
    passages: Passages,
    margin: u32,
    detect_failures: u64,
}

impl Vehicles {
    /// The stage from validated settings with the detector they choose
    /// (`detect.detector`); an ONNX detector's model is loaded now.
    pub fn open(v: &Validated) -> Result<Self, DetectError> {
        let detector = Detector::open(v.onnx.as_ref(), &v.motion, &v.roi)?;
        Ok(Self::with_detector(v, detector))
    }

    /// The stage from validated settings with the motion detector, whatever
    /// `detect.detector` says (benchmarks and tests of the motion path); see [`Self::open`].
    pub fn motion(v: &Validated) -> Self {
        let motion = MotionDetector::new(v.motion.clone(), v.roi.clone());
        Self::with_detector(v, Detector::Motion(motion))
    }

    /// The stage from validated settings with a detector built by the caller.
    pub fn with_detector(v: &Validated, detector: Detector) -> Self {
        Vehicles {
            detector,
            tracker: Tracker::new(v.tracker.clone(), 0),
            passages: Passages::new(v.policy),
            margin: v.config.detect.edge_margin,
            detect_failures: 0,
        }
    }

    /// Which detector runs: `"motion"` or `"onnx"`.
    pub fn detector_kind(&self) -> &'static str {
        self.detector.kind()
    }

    /// Feeds one frame; returns the passages that ended with it. A frame the detector
    /// fails on is counted (`detect_errors`) and skipped, as an undecodable frame is.
    pub fn push(&mut self, frame: &Frame, metrics: &Metrics) -> Vec<PassageJob> {
        let detections = match self.detector.detect(frame) {
            Ok(d) => d,
            Err(e) => {
                Metrics::add(&metrics.detect_errors, 1);
                self.detect_failures += 1;
                if self.detect_failures.is_power_of_two() {
                    tracing::warn!(
                        frame = frame.index,
                        failures = self.detect_failures,
                        error = %e,
                        "detector failed, frame skipped"
                    );
                }
                return Vec::new();
            }
        };
        Metrics::add(&metrics.detections, detections.len() as u64);
        let update = self.tracker.update(frame.index, &detections);
        for (track, d) in &update.assigned {
            let inside = d.bbox.inside(frame.width, frame.height, self.margin);
            self.passages.offer(*track, inside, || {
                Candidate::new(frame, d.bbox, self.margin)
            });
        }
        self.jobs(update.finished, metrics)
    }

    /// Ends every live track (end of stream).
    pub fn finish(&mut self, metrics: &Metrics) -> Vec<PassageJob> {
        let finished = self.tracker.finish_all();
        self.jobs(finished, metrics)
    }

    fn jobs(
        &mut self,
        finished: Vec<crate::track::FinishedTrack>,
        metrics: &Metrics,
    ) -> Vec<PassageJob> {
        let mut out = Vec::new();
        for f in finished {
            if f.confirmed {
                Metrics::add(&metrics.tracks, 1);
                out.push(PassageJob {
                    track_id: f.id,
                    candidates: self.passages.take(f.id),
                });
            } else {
                Metrics::add(&metrics.tracks_discarded, 1);
                self.passages.discard(f.id);
            }
        }
        out
    }
}

/// Embeds a passage's crops and combines them by the policy.
pub fn embed_passage(
    embedder: &mut dyn Embedder,
    policy: CropPolicy,
    job: &PassageJob,
) -> Result<Option<PartEmbedding>, InferError> {
    let crops: Vec<_> = job.candidates.iter().map(|c| c.crop.clone()).collect();
    if crops.is_empty() {
        return Ok(None);
    }
    let embeddings = embedder.embed(&crops)?;
    Ok(match policy {
        CropPolicy::MeanTopK(_) => PartEmbedding::mean(&embeddings),
        CropPolicy::First | CropPolicy::Best => embeddings.into_iter().next(),
    })
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
}

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
) -> Result<(), PipelineError> {
    let live = source.is_live();
    while let Some(frame) = source.next_frame()? {
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

fn vehicle_stage(
    mut vehicles: Vehicles,
    rx: Receiver<Frame>,
    tx: SyncSender<PassageJob>,
    metrics: Arc<Metrics>,
) {
    for frame in rx {
        for job in vehicles.push(&frame, &metrics) {
            if tx.send(job).is_err() {
                return;
            }
        }
    }
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
}

fn sign_stage(stage: SignStage, rx: Receiver<PassageJob>) -> Result<(), PipelineError> {
    let SignStage {
        mut embedder,
        policy,
        signer,
        queue,
        metrics,
        mut log,
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
                q.push(&bytes)?;
                Metrics::add(&metrics.signatures, 1);
                Metrics::set(&metrics.queue_depth, q.len() as u64);
                Metrics::set(&metrics.queue_dropped, q.dropped());
                drop(q);
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

/// Runs until the source ends (then drains the queue to the broker) or fails.
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
    } = parts;
    let (frame_tx, frame_rx) = sync_channel(settings.config.frame_buffer.max(1));
    let (job_tx, job_rx) = sync_channel(4);
    let vehicles = Vehicles::open(&settings)?;
    let policy = settings.policy;
    let control = Arc::new(Control::default());
    let spawn_err = |_| PipelineError::Stage("spawn");
    let capture = {
        let m = metrics.clone();
        std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || capture_stage(source, frame_tx, m))
            .map_err(spawn_err)?
    };
    let detect = {
        let m = metrics.clone();
        std::thread::Builder::new()
            .name("vehicles".into())
            .spawn(move || vehicle_stage(vehicles, frame_rx, job_tx, m))
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
        };
        std::thread::Builder::new()
            .name("sign".into())
            .spawn(move || sign_stage(stage, job_rx))
            .map_err(spawn_err)?
    };
    let publisher = match publish {
        Some(p) => {
            let (q, m, c) = (queue.clone(), metrics.clone(), control.clone());
            Some(
                std::thread::Builder::new()
                    .name("publish".into())
                    .spawn(move || publish::run(&p, &q, &m, &c))
                    .map_err(spawn_err)?,
            )
        }
        None => None,
    };
    let captured = capture.join().map_err(|_| PipelineError::Stage("capture"));
    let detected = detect.join().map_err(|_| PipelineError::Stage("vehicles"));
    let signed = sign.join().map_err(|_| PipelineError::Stage("sign"));
    // Drain to the broker if everything went well; otherwise stop it and keep the queue.
    let ok = matches!(
        (&captured, &detected, &signed),
        (Ok(Ok(())), Ok(()), Ok(Ok(())))
    );
    control.set(if ok { Control::DRAIN } else { Control::STOP });
    if let Some(p) = publisher {
        p.join().map_err(|_| PipelineError::Stage("publish"))??;
    }
    captured??;
    detected?;
    signed??;
    use std::sync::atomic::Ordering::Relaxed;
    Ok(Summary {
        frames: metrics.frames.load(Relaxed),
        signatures: metrics.signatures.load(Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    })
}
