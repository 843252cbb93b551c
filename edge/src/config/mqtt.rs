//! `[mqtt]`: the broker the agent publishes to.

use std::path::PathBuf;

use serde::Deserialize;

use super::Secret;

/// `[mqtt]`: the broker.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Keep-alive in seconds.
    pub keep_alive_s: u64,
    /// Optional username.
    pub username: String,
    /// Optional password.
    pub password: Secret,
    /// PEM CA file; setting it turns TLS on.
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate (with `tls_client_key`) for certificate login.
    pub tls_client_cert: Option<PathBuf>,
    /// PEM client key.
    pub tls_client_key: Option<PathBuf>,
    /// Unacknowledged publishes at most.
    pub window: usize,
    /// Seconds between status messages.
    pub status_interval_s: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            host: "localhost".into(),
            port: 1883,
            keep_alive_s: 30,
            username: String::new(),
            password: Secret::default(),
            tls_ca: None,
            tls_client_cert: None,
            tls_client_key: None,
            window: 64,
            status_interval_s: 30,
        }
    }
}
