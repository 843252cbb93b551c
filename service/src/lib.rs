//! spanreid-service: what the two long-running services, the edge agent and the hub, share.
//!
//! - [`mqtt`]: the `[mqtt]` table both read — broker address, client id, login, TLS — and
//!   the rumqttc options it makes.
//! - `tls` (feature `tls`, default): MQTT over TLS with rustls on the `ring` provider (CA file, optional client
//!   certificate).
//! - [`login`]: one broker login tried up to its CONNACK (the services' `check`).
//! - [`report`]: an error and its causes on one line, each cause said once.
//! - [`secret`]: configuration secrets (camera keys, broker passwords) that `Debug` never
//!   shows.
//! - [`shutdown`]: a clean stop on SIGINT/SIGTERM (a second signal exits at once).
//!
//! Depends on no other spanreid crate, so both services use it without pulling in each
//! other.
#![deny(missing_docs)]

pub mod login;
pub mod mqtt;
pub mod report;
pub mod secret;
pub mod shutdown;
#[cfg(feature = "tls")]
pub mod tls;
