//! Frame sources: a trait the pipeline pulls frames from, with a replay implementation
//! (image folders, the synthetic camera streams, video files through FFmpeg) and, behind the `v4l` feature, V4L2 cameras.

pub mod ground_truth;
pub mod pixel;
pub mod replay;
#[cfg(feature = "v4l")]
pub mod v4l;
pub mod video;

use std::path::PathBuf;

use serde::Deserialize;

use crate::frame::Frame;

/// `camera.source`: where frames come from.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A folder of PNG or JPEG frames.
    #[default]
    Replay,
    /// A video file, decoded by FFmpeg.
    Video,
    /// A V4L2 camera (feature `v4l`).
    V4l2,
}

/// `camera.pixel_format`: the pixel format asked of a V4L2 camera.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// Packed YUV 4:2:2.
    #[default]
    Yuyv,
    /// Motion JPEG (one JPEG per frame).
    Mjpeg,
}

/// Why a frame source failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A folder could not be listed.
    #[error("listing frames in {path}")]
    List {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A folder holds no PNG or JPEG frame.
    #[error("no PNG or JPEG frames in {0}")]
    Empty(PathBuf),
    /// The camera device failed and could not be reopened.
    #[error("camera {device}: {message}")]
    Device {
        /// Device path.
        device: String,
        /// What went wrong.
        message: String,
    },
    /// A ground-truth file is malformed.
    #[error("{path}:{line}: {message}")]
    GroundTruth {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// Something that yields frames in capture order.
pub trait FrameSource: Send {
    /// The next frame; `Ok(None)` once the stream has ended (replay) — a live camera only
    /// ends on shutdown. Frames that fail to decode are counted, logged and skipped inside.
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError>;

    /// Whether frames arrive at their own pace (camera, real-time replay): the pipeline
    /// drops them when busy. A fast replay is not live: the pipeline waits for it instead.
    fn is_live(&self) -> bool;

    /// Frames that could not be decoded so far.
    fn decode_errors(&self) -> u64;
}
