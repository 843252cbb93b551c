//! V4L2 cameras through the `v4l` crate: YUYV or MJPEG at the configured size and rate,
//! reopened with a back-off when the device disappears (USB unplugged, driver reset).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use v4l::buffer::Type;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

use super::pixel::yuyv_to_rgb;
use super::{CaptureError, FrameSource};
use crate::frame::Frame;

pub use super::PixelFormat;

/// Where and how to capture.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraSettings {
    /// Device path, e.g. `/dev/video0`.
    pub device: String,
    /// Requested width.
    pub width: u32,
    /// Requested height.
    pub height: u32,
    /// Requested frames per second.
    pub fps: u32,
    /// Requested pixel format.
    pub format: PixelFormat,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

struct Open {
    // Field order matters: the stream must be dropped before the device.
    stream: Stream<'static>,
    _device: Device,
    format: Format,
}

/// A V4L2 camera.
pub struct V4lSource {
    settings: CameraSettings,
    open: Option<Open>,
    sequence: u64,
    decode_errors: u64,
    backoff: Duration,
}

impl V4lSource {
    /// Opens the device once to check it exists and accepts the format.
    pub fn open(settings: CameraSettings) -> Result<Self, CaptureError> {
        let open = open_device(&settings)?;
        Ok(V4lSource {
            settings,
            open: Some(open),
            sequence: 0,
            decode_errors: 0,
            backoff: Duration::from_millis(100),
        })
    }

    fn reconnect(&mut self) {
        loop {
            match open_device(&self.settings) {
                Ok(open) => {
                    tracing::info!(device = %self.settings.device, "camera reopened");
                    self.open = Some(open);
                    self.backoff = Duration::from_millis(100);
                    return;
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in = ?self.backoff, "camera unavailable");
                    std::thread::sleep(self.backoff);
                    self.backoff = (self.backoff * 2).min(self.settings.max_backoff);
                }
            }
        }
    }
}

fn open_device(s: &CameraSettings) -> Result<Open, CaptureError> {
    let err = |what: &str, e: std::io::Error| CaptureError::Device {
        device: s.device.clone(),
        message: format!("{what}: {e}"),
    };
    let device = Device::with_path(&s.device).map_err(|e| err("open", e))?;
    let fourcc = match s.format {
        PixelFormat::Yuyv => FourCC::new(b"YUYV"),
        PixelFormat::Mjpeg => FourCC::new(b"MJPG"),
    };
    let format = device
        .set_format(&Format::new(s.width, s.height, fourcc))
        .map_err(|e| err("set format", e))?;
    if format.fourcc != fourcc {
        return Err(CaptureError::Device {
            device: s.device.clone(),
            message: format!("camera offers {} instead of {fourcc}", format.fourcc),
        });
    }
    device
        .set_params(&v4l::video::capture::Parameters::with_fps(s.fps))
        .map_err(|e| err("set frame rate", e))?;
    let stream =
        Stream::with_buffers(&device, Type::VideoCapture, 4).map_err(|e| err("map buffers", e))?;
    Ok(Open {
        stream,
        _device: device,
        format,
    })
}

impl FrameSource for V4lSource {
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        loop {
            let Some(open) = self.open.as_mut() else {
                self.reconnect();
                continue;
            };
            let (w, h) = (open.format.width, open.format.height);
            let fourcc = open.format.fourcc;
            let started = Instant::now();
            let (data, meta) = match open.stream.next() {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(device = %self.settings.device, error = %e, "camera lost");
                    self.open = None;
                    continue;
                }
            };
            let used = (meta.bytesused as usize).min(data.len());
            let rgb = if fourcc == FourCC::new(b"YUYV") {
                yuyv_to_rgb(&data[..used], w, h)
            } else {
                image::load_from_memory_with_format(&data[..used], image::ImageFormat::Jpeg)
                    .ok()
                    .map(|img| img.to_rgb8().into_raw())
            };
            let sequence = self.sequence;
            self.sequence += 1;
            let name = format!("{}#{sequence}", self.settings.device);
            let Some(rgb) = rgb else {
                self.decode_errors += 1;
                tracing::warn!(frame = %name, bytes = used, "skipping undecodable frame");
                continue;
            };
            if rgb.len() != w as usize * h as usize * 3 {
                self.decode_errors += 1;
                tracing::warn!(frame = %name, "frame size differs from the negotiated format");
                continue;
            }
            let time_us = SystemTime::now()
                .checked_sub(started.elapsed())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_micros() as u64);
            return Ok(Some(Frame {
                index: sequence,
                name,
                time_us,
                width: w,
                height: h,
                rgb,
            }));
        }
    }

    fn is_live(&self) -> bool {
        true
    }

    fn decode_errors(&self) -> u64 {
        self.decode_errors
    }
}

impl std::fmt::Debug for V4lSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4lSource")
            .field("settings", &self.settings)
            .field("open", &self.open.is_some())
            .finish()
    }
}

/// Used by `check`: whether the device opens with the settings.
pub fn probe(settings: &CameraSettings) -> Result<(), CaptureError> {
    open_device(settings).map(|_| ())
}
