//! spanreid-net: how the edge agent and the hub reach the MQTT broker.
//!
//! - [`tls`]: MQTT over TLS with rustls on the `ring` provider (CA file, optional client
//!   certificate).
//!
//! Depends on rumqttc and rustls only; nothing of spanreid's own crates, so both the edge
//! agent and the hub can use it without pulling in each other.
#![deny(missing_docs)]

pub mod tls;
