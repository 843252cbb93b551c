//! Replay of an image folder (PNG/JPEG frames in file-name order), such as one camera
//! folder of the synthetic streams, either at the recorded frame rate or as fast as the
//! pipeline takes frames.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{CaptureError, FrameSource};
use crate::frame::Frame;

/// How fast a replay runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// One frame every `1/fps` seconds, like a camera.
    RealTime {
        /// Frames per second.
        fps: f32,
    },
    /// As fast as the pipeline takes frames, timestamps advancing by `1/fps`, but a frame is
    /// not handed out before the wall clock reaches its timestamp: capture times never run
    /// ahead of the clock (a hub refuses signatures from the future).
    Fast {
        /// Frames per second the timestamps assume.
        fps: f32,
    },
    /// As fast as the pipeline takes frames, timestamps running ahead of the clock if they
    /// will (`[camera] replay_ahead_of_clock = true`).
    AheadOfClock {
        /// Frames per second the timestamps assume.
        fps: f32,
    },
}

impl Pace {
    /// Frames per second the pace and the timestamps assume.
    pub fn fps(self) -> f32 {
        match self {
            Pace::RealTime { fps } | Pace::Fast { fps } | Pace::AheadOfClock { fps } => fps,
        }
    }

    /// Waits until frame `index`, stamped `time_us`, is due: in real time `index / fps`
    /// after `started` (set at the first call); when fast, until the wall clock reaches
    /// `time_us`; ahead of the clock, not at all.
    pub fn wait_for(self, started: &mut Option<Instant>, index: u64, time_us: u64) {
        match self {
            Pace::RealTime { fps } => {
                let started = *started.get_or_insert_with(Instant::now);
                let due = started + Duration::from_secs_f64(index as f64 / f64::from(fps));
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            Pace::Fast { .. } => {
                let now = spanreid::clock::now_us();
                if time_us > now {
                    std::thread::sleep(Duration::from_micros(time_us - now));
                }
            }
            Pace::AheadOfClock { .. } => {}
        }
    }

    /// Timestamp of frame `index` of a run starting at `start_us`.
    pub fn stamp(self, start_us: u64, index: u64) -> u64 {
        start_us + (index as f64 * 1e6 / f64::from(self.fps())) as u64
    }
}

/// Frames from the image files of one folder.
#[derive(Debug)]
pub struct ReplaySource {
    files: Vec<PathBuf>,
    next: usize,
    pace: Pace,
    start_us: u64,
    started: Option<Instant>,
    decode_errors: u64,
}

/// The PNG and JPEG files directly inside `dir`, sorted by name.
pub fn list_frames(dir: &Path) -> Result<Vec<PathBuf>, CaptureError> {
    let list_err = |source| CaptureError::List {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_err)? {
        let path = entry.map_err(list_err)?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(CaptureError::Empty(dir.to_path_buf()));
    }
    Ok(files)
}

impl ReplaySource {
    /// A replay of `dir`; frame `k` is stamped `start_us + k / fps` seconds.
    pub fn open(dir: &Path, pace: Pace, start_us: u64) -> Result<Self, CaptureError> {
        Ok(ReplaySource {
            files: list_frames(dir)?,
            next: 0,
            pace,
            start_us,
            started: None,
            decode_errors: 0,
        })
    }

    /// Number of frame files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the folder has no frames (never true after [`Self::open`]).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        while self.next < self.files.len() {
            let index = self.next;
            self.next += 1;
            let time_us = self.pace.stamp(self.start_us, index as u64);
            self.pace.wait_for(&mut self.started, index as u64, time_us);
            let path = &self.files[index];
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match image::open(path) {
                Ok(img) => {
                    let rgb = img.to_rgb8();
                    return Ok(Some(Frame {
                        index: index as u64,
                        name,
                        time_us,
                        width: rgb.width(),
                        height: rgb.height(),
                        rgb: rgb.into_raw(),
                    }));
                }
                Err(err) => {
                    self.decode_errors += 1;
                    tracing::warn!(frame = %path.display(), error = %err, "skipping undecodable frame");
                }
            }
        }
        Ok(None)
    }

    fn is_live(&self) -> bool {
        matches!(self.pace, Pace::RealTime { .. })
    }

    fn decode_errors(&self) -> u64 {
        self.decode_errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_in_name_order_and_skips_broken_frames() {
        let dir = tempfile::tempdir().unwrap();
        for (name, shade) in [("000002.png", 20u8), ("000001.png", 10), ("000010.jpg", 30)] {
            image::RgbImage::from_pixel(4, 2, image::Rgb([shade, shade, shade]))
                .save(dir.path().join(name))
                .unwrap();
        }
        std::fs::write(dir.path().join("000005.png"), b"not a png").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let mut src = ReplaySource::open(dir.path(), Pace::Fast { fps: 10.0 }, 1_000).unwrap();
        assert_eq!(src.len(), 4);
        let mut seen = Vec::new();
        while let Some(f) = src.next_frame().unwrap() {
            seen.push((f.name.clone(), f.index, f.time_us, f.rgb[0]));
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], ("000001.png".into(), 0, 1_000, 10));
        assert_eq!(seen[1], ("000002.png".into(), 1, 101_000, 20));
        assert_eq!((seen[2].0.as_str(), seen[2].1), ("000010.jpg", 3));
        assert_eq!(src.decode_errors(), 1);
        assert!(!src.is_live());
    }

    #[test]
    fn a_fast_replay_never_stamps_a_frame_ahead_of_the_clock_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..4 {
            image::RgbImage::new(2, 2)
                .save(dir.path().join(format!("{i:06}.png")))
                .unwrap();
        }
        // Stamped from now at 20 fps: frame 3 is due 150 ms from now.
        let start = spanreid::clock::now_us();
        let mut src = ReplaySource::open(dir.path(), Pace::Fast { fps: 20.0 }, start).unwrap();
        while let Some(f) = src.next_frame().unwrap() {
            assert!(f.time_us <= spanreid::clock::now_us(), "frame {}", f.index);
        }
        let start = spanreid::clock::now_us() + 3_600_000_000;
        let pace = Pace::AheadOfClock { fps: 20.0 };
        let mut src = ReplaySource::open(dir.path(), pace, start).unwrap();
        let first = src.next_frame().unwrap().unwrap();
        assert!(first.time_us > spanreid::clock::now_us());
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = ReplaySource::open(dir.path(), Pace::Fast { fps: 1.0 }, 0).unwrap_err();
        assert!(matches!(err, CaptureError::Empty(_)));
    }
}
