//! The spanreid roadside unit: camera frames → vehicle tracks → SPAN part features →
//! authenticated signatures → on-disk store-and-forward queue → MQTT.
//!
//! Pure stages (detection, tracking, crop choice, signature building) take values and return
//! values; devices, files and sockets stay in [`capture`], [`queue`], [`publish`] and
//! [`metrics_http`]. Inference and signing are `spanreid-infer`'s, shared with the trainer,
//! the demo and the hub.

#![deny(missing_docs)]

pub mod capture;
pub mod config;
pub mod detect;
pub mod frame;
pub mod metrics;
pub mod metrics_http;
pub mod passage;
pub mod passage_log;
pub mod pipeline;
pub mod publish;
pub mod queue;
pub mod record;
pub mod thumbnail;
#[cfg(feature = "tls")]
pub use spanreid_service::tls;
pub mod track;
