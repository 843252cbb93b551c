//! Load-side MQTT clients for `hub bench` and the tests: a publisher that waits for every
//! acknowledgement, and a subscriber that only counts (the broker's delivery rate alone,
//! the reference the hub's ingest rate is measured against).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rumqttc::{Client, Event, Packet, QoS};

use crate::config::MqttConnection;
use crate::error::{HubError, MqttError};
use crate::mqtt::{REQUEST_QUEUE, options};

/// Publish `messages` (topic, payload) with QoS 1 as client `client_id` and return once
/// the broker has acknowledged every one of them (used by `hub bench`).
pub fn publish_all(
    broker: &MqttConnection,
    client_id: &str,
    messages: Vec<(String, Vec<u8>)>,
) -> Result<(), HubError> {
    let mut opts = options(broker, client_id)?;
    opts.set_inflight(1000);
    let (client, mut connection) = Client::new(opts, REQUEST_QUEUE);
    let total = messages.len();
    if total == 0 {
        return Ok(());
    }
    let addr = broker.addr();
    let publisher = thread::Builder::new()
        .name("bench-publisher".into())
        .spawn(move || {
            for (topic, payload) in messages {
                if client
                    .publish(topic, QoS::AtLeastOnce, false, payload)
                    .is_err()
                {
                    break;
                }
            }
            client
        })
        .map_err(|e| MqttError::Broker {
            addr: addr.clone(),
            message: e.to_string(),
        })?;
    let mut acked = 0;
    let mut failures = 0;
    for event in connection.iter() {
        match event {
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                acked += 1;
                if acked == total {
                    break;
                }
            }
            Ok(_) => {}
            Err(source) => {
                failures += 1;
                if failures > 20 {
                    return Err(MqttError::Connection {
                        addr,
                        source: Box::new(source),
                    }
                    .into());
                }
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    if let Ok(client) = publisher.join() {
        let _ = client.disconnect();
        // Drain until the disconnect is sent.
        for event in connection.iter() {
            if event.is_err() {
                break;
            }
        }
    }
    Ok(())
}

/// A subscriber that only counts: connects, subscribes to `filter` at QoS 1, then counts
/// publishes (acknowledged by the client as they arrive) until `expected` have come or
/// `timeout` passes. The reference for the hub's ingest rate: the broker's delivery alone.
pub struct DeliveryCounter {
    handle: thread::JoinHandle<Result<(usize, Option<std::time::Instant>), HubError>>,
}

impl DeliveryCounter {
    /// Starts counting; returns once the subscription is acknowledged.
    pub fn start(
        broker: &MqttConnection,
        client_id: &str,
        filter: &str,
        expected: usize,
        timeout: Duration,
    ) -> Result<Self, HubError> {
        let (client, mut connection) = Client::new(options(broker, client_id)?, REQUEST_QUEUE);
        let addr = broker.addr();
        client
            .subscribe(filter, QoS::AtLeastOnce)
            .map_err(|e| MqttError::Broker {
                addr: addr.clone(),
                message: e.to_string(),
            })?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread_addr = addr.clone();
        let handle = thread::Builder::new()
            .name("bench-counter".into())
            .spawn(move || {
                let began = std::time::Instant::now();
                let (mut count, mut last) = (0usize, None);
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.send(());
                        }
                        Ok(Event::Incoming(Packet::Publish(_))) => {
                            count += 1;
                            last = Some(std::time::Instant::now());
                        }
                        Ok(_) => {}
                        Err(source) => {
                            return Err(MqttError::Connection {
                                addr: thread_addr,
                                source: Box::new(source),
                            }
                            .into());
                        }
                    }
                    if count >= expected || began.elapsed() > timeout {
                        break;
                    }
                }
                let _ = client.disconnect();
                Ok((count, last))
            })
            .map_err(|e| MqttError::Broker {
                addr: addr.clone(),
                message: e.to_string(),
            })?;
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| MqttError::Broker {
                addr,
                message: "no subscription acknowledgement within 10 s".into(),
            })?;
        Ok(DeliveryCounter { handle })
    }

    /// Waits for the count to end; returns the publishes received and when the last came.
    pub fn finish(self) -> Result<(usize, Option<std::time::Instant>), HubError> {
        self.handle.join().unwrap_or_else(|_| {
            Err(MqttError::Broker {
                addr: String::new(),
                message: "delivery counter thread panicked".into(),
            }
            .into())
        })
    }
}
