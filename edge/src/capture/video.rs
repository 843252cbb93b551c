//! Replay of a video file (any container and codec FFmpeg reads: MP4/H.264, MKV, MJPEG AVI,
//! …) through the `ffmpeg` command-line tool, which decodes to raw RGB frames on a pipe.
//! Frame size and rate come from `ffprobe`; nothing of FFmpeg is linked into the agent.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Instant;

use super::replay::Pace;
use super::{CaptureError, FrameSource};
use crate::frame::Frame;

/// Width, height and frame rate of a video's first video stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoInfo {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Frames per second, when the container states one.
    pub fps: Option<f32>,
}

/// Parses `ffprobe -show_entries stream=width,height,avg_frame_rate -of csv=p=0` output,
/// e.g. `640,360,10/1`.
pub fn parse_probe(text: &str) -> Option<VideoInfo> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut fields = line.split(',');
    let width: u32 = fields.next()?.trim().parse().ok()?;
    let height: u32 = fields.next()?.trim().parse().ok()?;
    if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
        return None;
    }
    let fps = fields.next().and_then(|r| {
        let (num, den) = r.trim().split_once('/').unwrap_or((r.trim(), "1"));
        let (num, den): (f64, f64) = (num.parse().ok()?, den.parse().ok()?);
        let fps = num / den;
        (fps.is_finite() && fps > 0.0 && fps <= 1000.0).then_some(fps as f32)
    });
    Some(VideoInfo { width, height, fps })
}

/// Frames of one video file, decoded by an `ffmpeg` child process.
#[derive(Debug)]
pub struct VideoSource {
    path: PathBuf,
    info: VideoInfo,
    child: Child,
    stdout: ChildStdout,
    stderr: Option<std::thread::JoinHandle<String>>,
    next: u64,
    pace: Pace,
    start_us: u64,
    started: Option<Instant>,
    decode_errors: u64,
    done: bool,
}

fn device_error(path: &Path, message: String) -> CaptureError {
    CaptureError::Device {
        device: path.display().to_string(),
        message,
    }
}

fn spawn_error(tool: &Path, path: &Path, err: &std::io::Error) -> CaptureError {
    let hint = if err.kind() == std::io::ErrorKind::NotFound {
        " (install FFmpeg, e.g. `apt install ffmpeg`, or set camera.ffmpeg)"
    } else {
        ""
    };
    device_error(path, format!("running {}: {err}{hint}", tool.display()))
}

/// `ffprobe` next to the given `ffmpeg` (same folder, or the PATH's when it is bare).
fn ffprobe_for(ffmpeg: &Path) -> PathBuf {
    let name = match ffmpeg.file_name().and_then(|n| n.to_str()) {
        Some(n) if n.contains("ffmpeg") => n.replacen("ffmpeg", "ffprobe", 1),
        _ => "ffprobe".to_string(),
    };
    ffmpeg.with_file_name(name)
}

/// Size and rate of `path`'s first video stream, by `ffprobe`.
pub fn probe(path: &Path, ffmpeg: &Path) -> Result<VideoInfo, CaptureError> {
    if !path.is_file() {
        return Err(device_error(path, "no such video file".into()));
    }
    let ffprobe = ffprobe_for(ffmpeg);
    let out = Command::new(&ffprobe)
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=width,height,avg_frame_rate", "-of", "csv=p=0"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(&ffprobe, path, &e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match parse_probe(&stdout) {
        Some(info) if out.status.success() => Ok(info),
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.lines().last().unwrap_or("no video stream").trim();
            Err(device_error(path, format!("not a readable video: {why}")))
        }
    }
}

impl VideoSource {
    /// Starts decoding `path` with `ffmpeg`. Frame `k` is stamped `start_us + k / fps`, where
    /// fps is the video's own rate when it states one, else the pace's.
    pub fn open(
        path: &Path,
        ffmpeg: &Path,
        pace: Pace,
        start_us: u64,
    ) -> Result<Self, CaptureError> {
        let info = probe(path, ffmpeg)?;
        let pace = match (pace, info.fps) {
            (Pace::RealTime { .. }, Some(fps)) => Pace::RealTime { fps },
            (Pace::Fast { .. }, Some(fps)) => Pace::Fast { fps },
            (Pace::AheadOfClock { .. }, Some(fps)) => Pace::AheadOfClock { fps },
            (pace, None) => pace,
        };
        let mut child = Command::new(ffmpeg)
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error(ffmpeg, path, &e))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        // Drained on its own thread so a chatty decoder never blocks on a full pipe.
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                text
            })
        });
        tracing::info!(video = %path.display(), width = info.width, height = info.height,
            fps = pace.fps(), "replaying video");
        Ok(VideoSource {
            path: path.to_path_buf(),
            info,
            child,
            stdout,
            stderr,
            next: 0,
            pace,
            start_us,
            started: None,
            decode_errors: 0,
            done: false,
        })
    }

    /// The video's size and rate.
    pub fn info(&self) -> VideoInfo {
        self.info
    }

    /// Reaps the decoder and reports how it ended.
    fn finish(&mut self, partial_bytes: usize) {
        self.done = true;
        if partial_bytes > 0 {
            self.decode_errors += 1;
        }
        let status = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let clean = matches!(&status, Ok(s) if s.success()) && stderr.trim().is_empty();
        if clean && partial_bytes == 0 {
            tracing::info!(video = %self.path.display(), frames = self.next, "video ended");
        } else {
            tracing::warn!(video = %self.path.display(), frames = self.next, partial_bytes,
                status = ?status, decoder = %stderr.trim(), "video ended with decoder errors");
        }
    }
}

/// Reads until `buf` is full or the pipe ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl FrameSource for VideoSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let (w, h) = (self.info.width, self.info.height);
        let mut rgb = vec![0u8; w as usize * h as usize * 3];
        let got = read_full(&mut self.stdout, &mut rgb)
            .map_err(|e| device_error(&self.path, format!("reading decoded frames: {e}")))?;
        if got < rgb.len() {
            self.finish(got);
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let time_us = self.pace.stamp(self.start_us, index);
        self.pace.wait_for(&mut self.started, index, time_us);
        Ok(Some(Frame {
            index,
            name: format!("{}#{index}", self.path.display()),
            time_us,
            width: w,
            height: h,
            rgb,
        }))
    }

    fn is_live(&self) -> bool {
        matches!(self.pace, Pace::RealTime { .. })
    }

    fn decode_errors(&self) -> u64 {
        self.decode_errors
    }
}

impl Drop for VideoSource {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ffprobe_lines() {
        let info = parse_probe("640,360,10/1\n").unwrap();
        assert_eq!((info.width, info.height, info.fps), (640, 360, Some(10.0)));
        let ntsc = parse_probe("1920,1080,30000/1001").unwrap();
        assert!((ntsc.fps.unwrap() - 29.97).abs() < 0.01);
        assert_eq!(parse_probe("320,240,0/0").unwrap().fps, None);
        assert_eq!(parse_probe("320,240").unwrap().fps, None);
        for bad in ["", "N/A,N/A,0/0", "0,240,25/1", "abc", "99999,10,1/1"] {
            assert_eq!(parse_probe(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ffprobe_sits_next_to_ffmpeg() {
        assert_eq!(ffprobe_for(Path::new("ffmpeg")), PathBuf::from("ffprobe"));
        assert_eq!(
            ffprobe_for(Path::new("/opt/ff/bin/ffmpeg")),
            PathBuf::from("/opt/ff/bin/ffprobe")
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = probe(Path::new("/nonexistent/cam.mp4"), Path::new("ffmpeg")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/cam.mp4") && text.contains("no such video"),
            "{text}"
        );
    }
}
