//! `[http]`: the operator's web page and JSON API, checked once.
//!
//! Off unless `listen` is set. On loopback a token is optional; anywhere else the hub
//! refuses to start without one, so the page is never reachable from the network without
//! authentication.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{ConfigError, Secret};

/// Shortest accepted access token, in characters.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The web page and HTTP API.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on, e.g. `"127.0.0.1:8480"`; unset: no HTTP server. Port 0 picks
    /// a free port (logged at start).
    pub listen: Option<SocketAddr>,
    /// Access token (never shown by `Debug`): required, as `Authorization: Bearer <token>`
    /// or `?token=<token>`, for everything but `/healthz`. Mandatory when `listen` is not a
    /// loopback address; at least [`MIN_TOKEN_CHARS`] characters.
    pub token: Option<Secret>,
    /// Largest request body accepted (an image for search), bytes.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: None,
            token: None,
            max_body_bytes: 4 << 20,
        }
    }
}

impl HttpConfig {
    /// Checks what serde cannot: a token where the address needs one, a usable body limit.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let Some(listen) = self.listen else {
            return Ok(());
        };
        match &self.token {
            None if !listen.ip().is_loopback() => {
                return invalid(format!(
                    "http.listen = {listen} is not loopback: set http.token (at least \
                     {MIN_TOKEN_CHARS} characters)"
                ));
            }
            Some(t) if t.expose().chars().count() < MIN_TOKEN_CHARS => {
                return invalid(format!(
                    "http.token must be at least {MIN_TOKEN_CHARS} characters"
                ));
            }
            _ => {}
        }
        if self.max_body_bytes < 1024 {
            return invalid("http.max_body_bytes must be at least 1024".into());
        }
        Ok(())
    }
}
