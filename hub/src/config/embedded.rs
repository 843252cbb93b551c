//! `embedded_broker` and `[[embedded_broker_logins]]`: the broker the hub can run inside
//! itself, checked once.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{ConfigError, HubConfig, Secret};

/// One login the embedded broker admits; the client id must equal the username.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrokerLogin {
    /// Username, and the client id that must come with it.
    pub username: String,
    /// Password (never shown by `Debug`).
    pub password: Secret,
}

/// The embedded broker's listen address when `embedded_broker` is set, after checking that
/// it can work: plain TCP only; anywhere but loopback only with logins; with logins, the
/// hub's own among them.
pub(super) fn listen_address(cfg: &HubConfig) -> Result<Option<SocketAddr>, ConfigError> {
    let invalid = |m: String| Err(ConfigError::Invalid(m));
    if !cfg.embedded_broker {
        return Ok(None);
    }
    if cfg.mqtt.tls_ca.is_some() {
        return invalid(
            "the embedded broker listens without TLS: drop mqtt.tls_* or embedded_broker".into(),
        );
    }
    let addr = cfg.mqtt.addr();
    let listen: SocketAddr = addr.parse().map_err(|_| {
        ConfigError::Invalid(format!("embedded broker address {addr:?} is not ip:port"))
    })?;
    let logins = &cfg.embedded_broker_logins;
    if logins.is_empty() && !listen.ip().is_loopback() {
        return invalid(format!(
            "the embedded broker on {listen} (not loopback) needs [[embedded_broker_logins]]"
        ));
    }
    let own = logins
        .iter()
        .any(|l| l.username == cfg.mqtt.username && l.password == cfg.mqtt.password);
    if !logins.is_empty() && (!own || cfg.client_id() != cfg.mqtt.username) {
        return invalid(
            "with [[embedded_broker_logins]], the hub's [mqtt] username and password must be \
             one of them, and its client_id the same as its username"
                .into(),
        );
    }
    Ok(Some(listen))
}
