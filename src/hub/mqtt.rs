//! The hub's only socket code: the MQTT subscription feeding [`Hub::process`], match-event
//! publishing, and acknowledgements.
//!
//! Delivery: QoS 1 with manual acknowledgements on a persistent session (fixed client id,
//! `clean_session = false`). A message is acknowledged only after the transaction that
//! stored it (or counted its rejection) has committed, so the broker redelivers anything
//! the hub did not make durable, and a redelivered message is recognised as a duplicate.
//!
//! TLS: the client is built without TLS (`rumqttc` with `default-features = false`): the
//! default `use-rustls` pulls the aws-lc-sys C build. Deploy the hub next to the broker or
//! on a trusted network; payloads are authenticated per camera (HMAC) either way, so TLS
//! adds confidentiality, not integrity. Enabling `use-rustls-no-provider` with the ring
//! provider is the intended route when confidentiality is needed.
//!
//! Threads: one thread drives the connection and forwards publishes over a channel; the
//! caller's thread batches whatever has arrived, processes it and queues acks and events.
//! The broker's in-flight window bounds how many unacknowledged messages can be queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{Client, Event, MqttOptions, Packet, Publish, QoS};

use super::config::BrokerConfig;
use super::error::{HubError, MqttError};
use super::events::MATCH_TOPIC;
use super::gallery::Store;
use super::index::GalleryIndex;
use super::ingest::SIGNATURE_FILTER;
use super::service::{Hub, Message, Outcome};

/// Largest MQTT packet a broker should accept from publishers (set mosquitto's
/// `max_packet_size` to at most this): bigger than any valid signature, so oversized
/// payloads reach the verifier and are counted.
pub const MAX_PACKET_BYTES: usize = 256 * 1024;

/// Largest packet the hub's client reads: a margin above [`MAX_PACKET_BYTES`] for the
/// packet identifier a broker adds when forwarding, so no message the broker accepted can
/// break the hub's connection (and come back forever as an unacknowledged redelivery).
const MAX_INCOMING_BYTES: usize = MAX_PACKET_BYTES + 1024;

/// Most messages processed in one transaction.
const MAX_BATCH: usize = 512;

/// Capacity of the client's request queue (acks and publishes).
const REQUEST_QUEUE: usize = 4096;

/// Running totals since start, logged periodically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Messages stored (including redeliveries of stored ones).
    pub stored: u64,
    /// Messages rejected.
    pub rejected: u64,
    /// Match events published.
    pub events: u64,
}

/// The hub's clock: µs since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// MQTT options for a client of `broker` with `client_id` (over TLS when configured).
pub fn options(broker: &BrokerConfig, client_id: &str) -> Result<MqttOptions, MqttError> {
    let mut opts = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    opts.set_keep_alive(Duration::from_secs(broker.keep_alive_s.max(5)));
    opts.set_max_packet_size(MAX_INCOMING_BYTES, MAX_PACKET_BYTES);
    if let Some(files) = broker.tls() {
        opts.set_transport(crate::tls::transport(&files)?);
    }
    Ok(opts)
}

/// Subscribe to the signature topics and process messages until `stop` is set.
pub fn run<S: Store, I: GalleryIndex>(
    hub: &mut Hub<S, I>,
    broker: &BrokerConfig,
    stop: &Arc<AtomicBool>,
) -> Result<RunCounts, HubError> {
    let mut opts = options(broker, &broker.client_id)?;
    opts.set_clean_session(false).set_manual_acks(true);
    let (client, mut connection) = Client::new(opts, REQUEST_QUEUE);
    let (tx, rx) = mpsc::channel::<Publish>();
    let addr = format!("{}:{}", broker.host, broker.port);
    let driver = {
        let client = client.clone();
        let stop = Arc::clone(stop);
        let conn_addr = addr.clone();
        thread::Builder::new()
            .name("mqtt-connection".into())
            .spawn(move || {
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            if tx.send(p).is_err() {
                                break;
                            }
                        }
                        Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                            tracing::info!(addr = %conn_addr, session = ack.session_present, "connected");
                            if !ack.session_present {
                                let sub = client.try_subscribe(SIGNATURE_FILTER, QoS::AtLeastOnce);
                                if let Err(e) = sub {
                                    tracing::warn!(error = %e, "cannot queue the subscription");
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            tracing::warn!(addr = %conn_addr, error = %e, "MQTT error; retrying");
                            thread::sleep(Duration::from_millis(500));
                        }
                    }
                }
            })
            .map_err(|e| MqttError::Broker { addr: addr.clone(), message: e.to_string() })?
    };

    let mut counts = RunCounts::default();
    let mut last_log = now_us();
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(counts);
        }
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                let message = "connection thread ended".into();
                break Err(HubError::from(MqttError::Broker { addr, message }));
            }
        };
        let mut publishes = vec![first];
        while publishes.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => publishes.push(p),
                Err(_) => break,
            }
        }
        if let Err(e) = process_and_ack(hub, &client, &publishes, &mut counts) {
            break Err(e);
        }
        let now = now_us();
        if now.saturating_sub(last_log) > 10_000_000 {
            last_log = now;
            tracing::info!(?counts, gallery = hub.matcher().len(), "ingest progress");
        }
    };
    let _ = client.disconnect();
    drop(rx);
    let _ = driver.join();
    result
}

fn process_and_ack<S: Store, I: GalleryIndex>(
    hub: &mut Hub<S, I>,
    client: &Client,
    publishes: &[Publish],
    counts: &mut RunCounts,
) -> Result<(), HubError> {
    let batch: Vec<Message> = publishes
        .iter()
        .map(|p| Message {
            topic: p.topic.clone(),
            payload: p.payload.to_vec(),
        })
        .collect();
    let result = hub.process(&batch, now_us())?;
    for outcome in &result.outcomes {
        match outcome {
            Outcome::Stored(_) => counts.stored += 1,
            Outcome::Rejected(_) => counts.rejected += 1,
        }
    }
    for event in &result.events {
        let json = event.to_json().map_err(MqttError::from)?;
        client
            .publish(MATCH_TOPIC, QoS::AtLeastOnce, false, json)
            .map_err(MqttError::from)?;
        counts.events += 1;
    }
    for p in publishes {
        client.ack(p).map_err(MqttError::from)?;
    }
    Ok(())
}

/// Publish `messages` (topic, payload) with QoS 1 as client `client_id` and return once
/// the broker has acknowledged every one of them (used by `hub bench`).
pub fn publish_all(
    broker: &BrokerConfig,
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
    let addr = format!("{}:{}", broker.host, broker.port);
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
        broker: &BrokerConfig,
        client_id: &str,
        filter: &str,
        expected: usize,
        timeout: Duration,
    ) -> Result<Self, HubError> {
        let (client, mut connection) = Client::new(options(broker, client_id)?, REQUEST_QUEUE);
        let addr = format!("{}:{}", broker.host, broker.port);
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
