//! The whole agent on a replayed synthetic stream: moving rectangles over a textured
//! background, the fixture model, a real mosquitto. Each passage yields exactly one
//! signature, and the two passages of the same vehicle are nearer to each other than to
//! the other vehicle.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spanreid::signature::{CameraKey, Envelope, Signature};
use spanreid_edge::capture::FrameSource;
use spanreid_edge::capture::replay::{Pace, ReplaySource};
use spanreid_edge::capture::video::VideoSource;
use spanreid_edge::config::Config;
use spanreid_edge::metrics::Metrics;
use spanreid_edge::pipeline::{self, Parts};
use spanreid_edge::publish::PublishSettings;
use spanreid_edge::queue::{DiskQueue, QueueSettings};
use spanreid_infer::fixture::{self, FixtureShape};
use spanreid_infer::sign::{Signer, ident};
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Embedder, manifest};
use spanreid_service::mqtt::MqttConnection;
use spanreid_testkit::{Mosquitto, subscribe, wait_for};

const W: u32 = 160;
const H: u32 = 96;
const KEY: &str = "0f0e0d0c0b0a09080706050403020100000102030405060708090a0b0c0d0e0f";

/// (first frame, lane y, colours) of each passage: vehicle A, B, then A again.
const PASSAGES: [(u32, u32, [[u8; 3]; 2]); 3] = [
    (10, 20, [[200, 30, 30], [250, 250, 250]]),
    (50, 56, [[20, 20, 60], [60, 200, 60]]),
    (90, 56, [[200, 30, 30], [250, 250, 250]]),
];

fn draw(dir: &Path) {
    for f in 0..130u32 {
        let mut img = image::RgbImage::from_fn(W, H, |x, y| {
            let v = 110 + ((x * 7 + y * 3) % 12) as u8;
            image::Rgb([v, v, v.saturating_sub(10)])
        });
        for (start, lane, colours) in PASSAGES {
            if f < start || f >= start + 34 {
                continue;
            }
            let x0 = (f - start) as i32 * 6 - 36;
            for y in lane..lane + 18 {
                for dx in 0..36i32 {
                    let x = x0 + dx;
                    if (0..W as i32).contains(&x) {
                        // body colour with a stripe of the second colour: a "livery"
                        let c = if (y - lane) % 6 < 2 {
                            colours[1]
                        } else {
                            colours[0]
                        };
                        img.put_pixel(x as u32, y, image::Rgb(c));
                    }
                }
            }
        }
        img.save(dir.join(format!("{f:06}.png"))).unwrap();
    }
}

fn distance(a: &Signature, b: &Signature) -> f32 {
    let mut fa = vec![0.0; a.dim()];
    let mut fb = vec![0.0; b.dim()];
    a.features[0].dequantize_into(&mut fa);
    b.features[0].dequantize_into(&mut fb);
    fa.iter()
        .zip(&fb)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Runs the whole agent (fixture model, the test's config) over `source`, publishing to
/// `broker_port` when given.
fn run_agent(
    dir: &Path,
    source: Box<dyn FrameSource>,
    broker_port: Option<u16>,
) -> (pipeline::Summary, Arc<Metrics>) {
    let manifest_path = fixture::write(
        &dir.join("model"),
        FixtureShape {
            height: 32,
            width: 48,
            dim: 32,
        },
    )
    .unwrap();
    let embedder = TractEmbedder::load(manifest::load(&manifest_path, "fixture").unwrap()).unwrap();
    let toml = format!(
        "[camera]\nsite = \"s1\"\nid = \"c007\"\nkey_hex = \"{KEY}\"\n\
         [detect]\nmin_pixels = 60\nwarmup_frames = 3\ncrop_policy = \"mean\"\ntop_k = 3\n"
    );
    let settings = Config::from_toml(&toml, Path::new("test.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let signer = Signer {
        site: ident("s1").unwrap(),
        camera: ident("c007").unwrap(),
        key: CameraKey::from_hex(KEY).unwrap(),
        model_id: embedder.model_id(),
    };
    let (queue, _) = DiskQueue::open(
        &dir.join("queue"),
        QueueSettings {
            capacity: 100,
            segment_records: 16,
            ..QueueSettings::default()
        },
    )
    .unwrap();
    let metrics = Arc::new(Metrics::default());
    let publish = broker_port.map(|port| PublishSettings {
        connection: MqttConnection {
            port,
            keep_alive_s: 5,
            ..MqttConnection::default()
        },
        client_id: "edge-e2e".into(),
        site: "s1".into(),
        camera: "c007".into(),
        window: 16,
        max_backoff: Duration::from_millis(500),
        status_interval: Duration::from_secs(5),
        receipts: None,
    });
    let summary = pipeline::run(Parts {
        source,
        embedder: Box::new(embedder),
        settings,
        signer,
        queue: Arc::new(Mutex::new(queue)),
        metrics: metrics.clone(),
        publish,
        passage_log: None,
        thumbnails: None,
        stop: Arc::default(),
    })
    .unwrap();
    (summary, metrics)
}

#[test]
fn each_passage_gives_one_signature_with_the_right_identity() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    draw(&frames);
    std::fs::write(frames.join("000200.png"), b"truncated").unwrap();
    let broker = Mosquitto::start_persistent(dir.path());
    let got = subscribe(broker.port, "spanreid/v1/+/+/signature");
    let key = CameraKey::from_hex(KEY).unwrap();
    let source = ReplaySource::open(&frames, Pace::Fast { fps: 10.0 }, 1_000_000).unwrap();
    let (summary, metrics) = run_agent(dir.path(), Box::new(source), Some(broker.port));
    assert_eq!(summary.frames, 130);
    assert_eq!(summary.signatures, 3);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(metrics.decode_errors.load(Relaxed), 1);
    assert_eq!(metrics.tracks.load(Relaxed), 3);
    assert_eq!(metrics.signatures_sent.load(Relaxed), 3);
    wait_for(
        "3 signatures at the subscriber",
        Duration::from_secs(10),
        || got.lock().unwrap().len() >= 3,
    );
    let mut sigs: Vec<Signature> = got
        .lock()
        .unwrap()
        .iter()
        .map(|p| Envelope::decode(p).unwrap().verify(&key).unwrap())
        .collect();
    sigs.sort_by_key(|s| s.capture_time_us);
    sigs.dedup_by_key(|s| s.sequence);
    assert_eq!(sigs.len(), 3);
    // each signature's crop time falls inside its passage's frames (frame k at 1 s + k/10 s)
    for (s, (start, _, _)) in sigs.iter().zip(PASSAGES) {
        let frame = (s.capture_time_us - 1_000_000) / 100_000;
        assert!(
            (u64::from(start)..u64::from(start) + 34).contains(&frame),
            "frame {frame} vs passage at {start}"
        );
        assert_eq!((s.site.as_str(), s.camera.as_str()), ("s1", "c007"));
    }
    assert!(sigs.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let (aa, ab, ba) = (
        distance(&sigs[0], &sigs[2]),
        distance(&sigs[0], &sigs[1]),
        distance(&sigs[2], &sigs[1]),
    );
    assert!(
        aa < ab && aa < ba,
        "same vehicle {aa}, different {ab} / {ba}"
    );
}

/// Encodes the PNG frames of `frames` into `out` with the `ffmpeg` program at 10 fps.
fn encode(frames: &Path, out: &Path, codec: &[&str]) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-framerate", "10", "-i"])
        .arg(frames.join("%06d.png"))
        .args(codec)
        .arg(out)
        .status()
        .expect("ffmpeg is installed (.ci/setup.sh installs it)");
    assert!(status.success(), "ffmpeg encoding {}", out.display());
}

#[test]
fn a_lossless_video_replays_the_same_frames_as_its_images() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    draw(&frames);
    let video = dir.path().join("cam.mkv");
    encode(&frames, &video, &["-c:v", "ffv1", "-pix_fmt", "bgr0"]);
    let ffmpeg = Path::new("ffmpeg");
    let mut from_video = VideoSource::open(&video, ffmpeg, Pace::Fast { fps: 25.0 }, 5).unwrap();
    assert_eq!(from_video.info().fps, Some(10.0));
    let mut from_images = ReplaySource::open(&frames, Pace::Fast { fps: 10.0 }, 5).unwrap();
    let mut n = 0;
    while let Some(a) = from_images.next_frame().unwrap() {
        let b = from_video
            .next_frame()
            .unwrap()
            .expect("as many video frames as images");
        assert_eq!(
            (b.index, b.time_us, b.width, b.height),
            (a.index, a.time_us, W, H)
        );
        assert!(a.rgb == b.rgb, "frame {} differs", a.index);
        n += 1;
    }
    assert_eq!(n, 130);
    assert!(from_video.next_frame().unwrap().is_none());
    assert_eq!(from_video.decode_errors(), 0);
}

#[test]
fn an_h264_video_gives_one_signature_per_passage() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    draw(&frames);
    let video = dir.path().join("cam.mp4");
    encode(
        &frames,
        &video,
        &["-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p"],
    );
    let source =
        VideoSource::open(&video, Path::new("ffmpeg"), Pace::Fast { fps: 10.0 }, 0).unwrap();
    let (summary, metrics) = run_agent(dir.path(), Box::new(source), None);
    assert_eq!(summary.frames, 130);
    assert_eq!(summary.signatures, 3);
    assert_eq!(metrics.tracks.load(std::sync::atomic::Ordering::Relaxed), 3);
}

#[test]
fn broken_videos_are_named_and_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let ffmpeg = Path::new("ffmpeg");
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, b"this is not a video").unwrap();
    let err = VideoSource::open(&text, ffmpeg, Pace::Fast { fps: 10.0 }, 0).unwrap_err();
    assert!(err.to_string().contains("notes.mp4"), "{err}");
    let err = VideoSource::open(
        &text,
        Path::new("/nonexistent/ffmpeg"),
        Pace::Fast { fps: 10.0 },
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("install FFmpeg"), "{err}");

    // A file cut in the middle: the frames before the cut, then a clean end.
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    draw(&frames);
    let whole = dir.path().join("whole.avi");
    encode(&frames, &whole, &["-c:v", "mjpeg", "-q:v", "3"]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.avi");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let mut src = VideoSource::open(&cut, ffmpeg, Pace::Fast { fps: 10.0 }, 0).unwrap();
    let mut n = 0;
    while src.next_frame().unwrap().is_some() {
        n += 1;
    }
    assert!((20..130).contains(&n), "{n} frames before the cut");
    assert!(src.next_frame().unwrap().is_none());
}
