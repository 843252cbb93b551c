//! A client of the hub's output: match events as they are published, for the demo, tests
//! and any other consumer in Rust.

use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::Duration;

use rumqttc::{Client, Event, Packet, QoS};

use crate::config::MqttConnection;
use crate::error::MqttError;
use crate::event_key::EventKey;
use crate::events::{MATCH_TOPIC, MatchEvent};
use crate::mqtt::options;

/// Subscribes to match events on `broker` as `client_id` (a clean session: events published
/// while no one listens are not kept) and returns once the broker has acknowledged the
/// subscription, or after `timeout`. Only events signed with `hub_key` are passed on; others
/// (forged, malformed) are logged and skipped. A lost connection is re-established. The
/// thread ends with the first event after the receiver is dropped.
pub fn subscribe(
    broker: &MqttConnection,
    client_id: &str,
    hub_key: EventKey,
    timeout: Duration,
) -> Result<Receiver<MatchEvent>, MqttError> {
    let addr = broker.addr();
    let (client, mut connection) = Client::new(options(broker, client_id)?, 64);
    client.subscribe(MATCH_TOPIC, QoS::AtLeastOnce)?;
    let (tx, rx) = channel();
    let (ready_tx, ready_rx) = channel();
    thread::Builder::new()
        .name("match-watch".into())
        .spawn(move || {
            let _client = client;
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => match hub_key.verify(&p.payload) {
                        Ok(e) => {
                            if tx.send(e).is_err() {
                                return;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "match event rejected"),
                    },
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "match subscription reconnecting");
                        thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        })
        .map_err(|e| MqttError::Broker {
            addr: addr.clone(),
            message: e.to_string(),
        })?;
    ready_rx
        .recv_timeout(timeout)
        .map_err(|_| MqttError::Broker {
            addr,
            message: format!("no acknowledgement of the match subscription within {timeout:?}"),
        })?;
    Ok(rx)
}
