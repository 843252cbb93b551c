//! Embedded MQTT broker (rumqttd, MQTT 3.1.1 on one listener) so `hub run
//! --embedded-broker` works with no broker installed.
//!
//! Tuning against rumqttd's example configuration: the router hands each connection up to
//! `max_outgoing_packet_count` packets per pass (raised from 200 to 4096, so a subscriber
//! catching up receives large batches); a connection's reader hands up to
//! `max_inflight_count` packets to the router at once (raised from 100 to 1024, so a fast
//! publisher is not cut into small batches); segments are kept small (the hub persists
//! everything itself; the broker's log only buffers); new connections are not delayed.
//! rumqttd keeps at most 100 unacknowledged QoS 1 messages per subscriber (a constant in
//! its router), which bounds the hub's batch size on the embedded broker.
//!
//! Logins (`[[embedded_broker_logins]]`): when any are configured, a client must give one
//! of them, and its client id must be its username, so no login can take over another
//! client's session. rumqttd has no topic rules: for those, run mosquitto
//! (`deploy/mosquitto`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use subtle::ConstantTimeEq;

use super::config::BrokerLogin;

use super::error::MqttError;
use super::mqtt::MAX_PACKET_BYTES;

/// Whether `client_id` may connect as `username` with `password` (see the module docs).
fn admits(logins: &[BrokerLogin], client_id: &str, username: &str, password: &str) -> bool {
    client_id == username
        && logins.iter().any(|l| {
            l.username == username
                && bool::from(l.password.expose().as_bytes().ct_eq(password.as_bytes()))
        })
}

/// The broker configuration the hub embeds, listening on `listen`, admitting `logins` (any
/// client when empty).
pub fn config(listen: SocketAddr, logins: &[BrokerLogin]) -> Config {
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: MAX_PACKET_BYTES,
        max_inflight_count: 1024,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    if !logins.is_empty() {
        let logins: Arc<[BrokerLogin]> = logins.into();
        connections.set_auth_handler(move |client_id, username, password| {
            let ok = admits(&logins, &client_id, &username, &password);
            if !ok {
                tracing::warn!(%client_id, %username, "embedded broker refused a login");
            }
            async move { ok }
        });
    }
    let server = ServerSettings {
        name: "v4-hub".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections,
    };
    let router = RouterConfig {
        max_connections: 10_000,
        max_outgoing_packet_count: 4096,
        max_segment_size: 16 * 1024 * 1024,
        max_segment_count: 8,
        custom_segment: None,
        initialized_filters: None,
        shared_subscriptions_strategy: Default::default(),
    };
    Config {
        id: 0,
        router,
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Config::default()
    }
}

/// Start the embedded broker on its own threads. It runs until the process exits.
pub fn spawn(listen: SocketAddr, logins: &[BrokerLogin]) -> Result<(), MqttError> {
    let addr = listen.to_string();
    let mut broker = Broker::new(config(listen, logins));
    thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(|e| MqttError::Broker {
            addr: addr.clone(),
            message: e.to_string(),
        })?;
    tracing::info!(%addr, "embedded broker started");
    Ok(())
}
