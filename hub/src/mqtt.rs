//! The hub's only socket code: the MQTT subscription feeding [`Hub::process`], match-event
//! publishing, and acknowledgements.
//!
//! Delivery: QoS 1 with manual acknowledgements on a persistent session (fixed client id,
//! `clean_session = false`). A message is acknowledged only after the transaction that
//! stored it (or counted its rejection) has committed, so the broker redelivers anything
//! the hub did not make durable, and a redelivered message is recognised as a duplicate.
//!
//! Connection: `[mqtt]` (`spanreid_service::mqtt`): address, client id, login and TLS
//! (rustls on ring). Payloads are authenticated per camera (HMAC) either way; TLS adds
//! confidentiality and authenticates the broker.
//!
//! Threads: one thread drives the connection and forwards publishes over a channel; the
//! caller's thread batches whatever has arrived, processes it and queues acks and events.
//! The broker's in-flight window bounds how many unacknowledged messages can be queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use rumqttc::{
    Client, ConnectionError, Event, MqttOptions, Outgoing, Packet, Publish, QoS, StateError,
};
use spanreid::clock::now_us;

use super::config::MqttConnection;
use super::error::{HubError, MqttError};
use super::event_key::EventSigner;
use super::events::MATCH_TOPIC;
use super::index::GalleryIndex;
use super::ingest::SIGNATURE_FILTER;
use super::live::{Live, STATUS_FILTER};
use super::service::{Hub, Message, Outcome};
use super::store::Store;
use super::thumbnails::THUMBNAIL_FILTER;

/// Largest MQTT packet a broker should accept from publishers (set mosquitto's
/// `max_packet_size` to at most this): bigger than any valid signature, so oversized
/// payloads reach the verifier and are counted.
pub const MAX_PACKET_BYTES: usize = 256 * 1024;

/// Largest packet the hub's client reads: a margin above [`MAX_PACKET_BYTES`] for the
/// packet identifier a broker adds when forwarding, so no message the broker accepted can
/// break the hub's connection (and come back forever as an unacknowledged redelivery).
const MAX_INCOMING_BYTES: usize = MAX_PACKET_BYTES + 1024;

/// What the connection thread hands the processing loop.
enum Delivery {
    /// A message to process and acknowledge.
    Message(Publish),
    /// A message too large to read was discarded with the broker session.
    Oversized,
}

/// Topic ending of the edge agents' status messages ([`STATUS_FILTER`]).
const STATUS_SUFFIX: &str = "/status";

/// Topic ending of the thumbnails ([`THUMBNAIL_FILTER`]).
const THUMBNAIL_SUFFIX: &str = "/thumbnail";

/// Most messages processed in one transaction.
const MAX_BATCH: usize = 512;

/// Capacity of the client's request queue (acks and publishes).
pub(crate) const REQUEST_QUEUE: usize = 4096;

/// Running totals since start, logged periodically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Messages stored (including redeliveries of stored ones).
    pub stored: u64,
    /// Messages rejected.
    pub rejected: u64,
    /// Match events published.
    pub events: u64,
    /// Receipts published (one per camera and run of sequences in a batch).
    pub receipts: u64,
}

/// MQTT options for a client of `broker` with `client_id` (login and TLS as configured),
/// reading packets up to [`MAX_INCOMING_BYTES`].
pub fn options(broker: &MqttConnection, client_id: &str) -> Result<MqttOptions, MqttError> {
    let mut opts = broker.options(client_id)?;
    opts.set_max_packet_size(MAX_INCOMING_BYTES, MAX_PACKET_BYTES);
    Ok(opts)
}

/// Subscribe to the signature topics and process messages until `stop` is set. The batch in
/// hand when it is set is committed and acknowledged; messages received after it stay
/// unacknowledged, for the broker to redeliver to the next run.
pub fn run<S: Store, I: GalleryIndex>(
    hub: &mut Hub<S, I>,
    broker: &MqttConnection,
    client_id: &str,
    signer: &EventSigner,
    live: &Arc<Live>,
    stop: &Arc<AtomicBool>,
) -> Result<RunCounts, HubError> {
    let mut opts = options(broker, client_id)?;
    opts.set_clean_session(false).set_manual_acks(true);
    let (client, mut connection) = Client::new(opts, REQUEST_QUEUE);
    let (tx, rx) = mpsc::channel::<Delivery>();
    let addr = broker.addr();
    // Set once the caller's loop has ended, whatever the reason.
    let closing = Arc::new(AtomicBool::new(false));
    let driver = {
        let client = client.clone();
        let closing = Arc::clone(&closing);
        let conn_addr = addr.clone();
        let live = Arc::clone(live);
        thread::Builder::new()
            .name("mqtt-connection".into())
            .spawn(move || {
                while let Ok(event) = connection.recv() {
                    match event {
                        Ok(Event::Incoming(Packet::Publish(p)))
                            if p.topic.ends_with(STATUS_SUFFIX) =>
                        {
                            // QoS 0: nothing to acknowledge.
                            if let Err(e) = live.record_status(&p.topic, &p.payload, now_us()) {
                                tracing::debug!(topic = %p.topic, error = %e, "status ignored");
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            // Once the caller is done the message is dropped unacknowledged,
                            // and the loop goes on until the acks queued before the
                            // disconnect have gone out with it.
                            let _ = tx.send(Delivery::Message(p));
                        }
                        // The DISCONNECT (and the acks queued before it) may still sit in
                        // the write buffer: keep polling until the broker closes the
                        // connection, which flushes them.
                        Ok(Event::Outgoing(Outgoing::Disconnect)) => {}
                        Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                            tracing::info!(addr = %conn_addr, session = ack.session_present, "connected");
                            // After a clean start (below) the next reconnects keep the
                            // session again.
                            connection.eventloop.mqtt_options.set_clean_session(false);
                            // Subscribe on every connection, session or not: a session
                            // may exist without the subscription (a hub stopped before its
                            // SUBACK), and subscribing again keeps what the session queued.
                            let sub = client.try_subscribe(SIGNATURE_FILTER, QoS::AtLeastOnce);
                            if let Err(e) = sub {
                                tracing::warn!(error = %e, "cannot queue the subscription");
                            }
                            let sub = client.try_subscribe(THUMBNAIL_FILTER, QoS::AtLeastOnce);
                            if let Err(e) = sub {
                                tracing::warn!(error = %e, "cannot queue the thumbnail subscription");
                            }
                            // Statuses are retained health hints: at most once is enough.
                            let sub = client.try_subscribe(STATUS_FILTER, QoS::AtMostOnce);
                            if let Err(e) = sub {
                                tracing::warn!(error = %e, "cannot queue the status subscription");
                            }
                        }
                        Ok(_) => {}
                        Err(ConnectionError::MqttState(StateError::Deserialization(
                            rumqttc::Error::PayloadSizeLimitExceeded(bytes),
                        ))) => {
                            // The broker would send it again on every reconnect, for ever:
                            // start a clean session, dropping what the broker queued for the
                            // hub. Nothing is lost: edges send again what no receipt covers.
                            tracing::warn!(
                                addr = %conn_addr,
                                bytes,
                                limit = MAX_INCOMING_BYTES,
                                "a message larger than any signature: discarding the broker \
                                 session to get past it (edges send again what it held)"
                            );
                            connection.eventloop.mqtt_options.set_clean_session(true);
                            let _ = tx.send(Delivery::Oversized);
                        }
                        Err(e) => {
                            if closing.load(Ordering::Relaxed) {
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
        let mut publishes = Vec::new();
        let mut oversized = 0;
        let mut next = Some(first);
        while let Some(delivery) = next.take() {
            match delivery {
                Delivery::Message(p) => publishes.push(p),
                Delivery::Oversized => oversized += 1,
            }
            if publishes.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if oversized > 0
            && let Err(e) = hub.count("oversized", oversized)
        {
            break Err(e.into());
        }
        if publishes.is_empty() {
            continue;
        }
        if let Err(e) = process_and_ack(hub, &client, signer, live, &publishes, &mut counts) {
            break Err(e);
        }
        let now = now_us();
        if now.saturating_sub(last_log) > 10_000_000 {
            last_log = now;
            tracing::info!(?counts, gallery = hub.matcher().len(), "ingest progress");
        }
    };
    // The disconnect follows the last batch's acks in the client's queue.
    closing.store(true, Ordering::Relaxed);
    let _ = client.disconnect();
    drop(rx);
    let _ = driver.join();
    result
}

fn process_and_ack<S: Store, I: GalleryIndex>(
    hub: &mut Hub<S, I>,
    client: &Client,
    signer: &EventSigner,
    live: &Live,
    publishes: &[Publish],
    counts: &mut RunCounts,
) -> Result<(), HubError> {
    let message = |p: &Publish| Message {
        topic: p.topic.clone(),
        payload: p.payload.to_vec(),
    };
    let (thumbnails, signatures): (Vec<&Publish>, Vec<&Publish>) = publishes
        .iter()
        .partition(|p| p.topic.ends_with(THUMBNAIL_SUFFIX));
    // Signatures first: a thumbnail that came with its signature finds it stored.
    let batch: Vec<Message> = signatures.into_iter().map(message).collect();
    let result = hub.process(&batch, now_us())?;
    if !thumbnails.is_empty() {
        let batch: Vec<Message> = thumbnails.into_iter().map(message).collect();
        let counts = hub.thumbnails(&batch, now_us())?;
        tracing::debug!(?counts, "thumbnails");
    }
    for outcome in &result.outcomes {
        match outcome {
            Outcome::Stored(_) => counts.stored += 1,
            Outcome::Rejected(_) => counts.rejected += 1,
        }
    }
    for json in signer.sign_all(&result.events).map_err(MqttError::from)? {
        client
            .publish(MATCH_TOPIC, QoS::AtLeastOnce, false, json)
            .map_err(MqttError::from)?;
        counts.events += 1;
    }
    live.publish(&result.events);
    for r in &result.receipts {
        client
            .publish(
                r.topic.as_str(),
                QoS::AtLeastOnce,
                false,
                r.payload.to_vec(),
            )
            .map_err(MqttError::from)?;
        counts.receipts += 1;
    }
    for p in publishes {
        client.ack(p).map_err(MqttError::from)?;
    }
    Ok(())
}
