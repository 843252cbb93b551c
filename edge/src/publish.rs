//! Delivery to the hub: records are read from the on-disk queue, published with QoS 1 to
//! `spanreid/v1/<site>/<camera>/signature`, and removed from the queue only when the hub's
//! receipt for their sequence number arrives on `…/receipt` (tagged with the camera's key:
//! [`spanreid::signature::receipt`]) — the hub has committed them, whatever the broker
//! does afterwards. A broker PUBACK only moves a record to [`awaiting::Awaiting`]; with
//! `delete_on = "broker_ack"` (no hub, e.g. a bare broker) the PUBACK removes it. A lost
//! connection throws the client away; the next one, after an exponential back-off, starts
//! again from the oldest record still queued, as does a receipt that does not come in
//! time, so a record is delivered at least once (the hub drops duplicates by camera and
//! sequence number and receipts them again).
//! A retained status message on `…/status` says `online` (with the counters, refreshed
//! periodically); the last will replaces it with `{"online":false}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rumqttc::{Client, ConnectionError, Event, LastWill, MqttOptions, Outgoing, Packet, QoS};

use crate::metrics::Metrics;
use crate::queue::{DiskQueue, QueueError};
use spanreid::signature::CameraKey;
use spanreid_service::mqtt::{MqttConnection, OptionsError};

pub mod awaiting;
pub mod inflight;
use awaiting::{Awaiting, on_receipt, sequence_of};
pub use inflight::{Inflight, Record};

/// Why the publisher stopped.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The queue failed (disk full, I/O error).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The client options could not be built (TLS files).
    #[error(transparent)]
    Options(#[from] OptionsError),
}

/// Where and how the agent publishes.
#[derive(Clone, Debug)]
pub struct PublishSettings {
    /// Broker address, login and TLS (`[mqtt]`).
    pub connection: MqttConnection,
    /// MQTT client id.
    pub client_id: String,
    /// Site id (topic level).
    pub site: String,
    /// Camera id (topic level).
    pub camera: String,
    /// Unacknowledged publishes at most.
    pub window: usize,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Period of the status message.
    pub status_interval: Duration,
    /// Delete records on the hub's receipt (`Some`) or on the broker's PUBACK (`None`).
    pub receipts: Option<ReceiptSettings>,
}

/// How the agent waits for the hub's receipts.
#[derive(Clone, Debug)]
pub struct ReceiptSettings {
    /// The camera's key: receipts are tagged with it.
    pub key: CameraKey,
    /// Wait this long for the receipt of the oldest acknowledged record before sending the
    /// queue again (doubling while none comes).
    pub timeout: Duration,
    /// Records acknowledged by the broker and awaiting their receipt, at most.
    pub window: usize,
}

impl PublishSettings {
    /// Topic of the hub's receipts for this camera.
    pub fn receipt_topic(&self) -> String {
        format!("spanreid/v1/{}/{}/receipt", self.site, self.camera)
    }

    /// Topic of the signatures.
    pub fn signature_topic(&self) -> String {
        format!("spanreid/v1/{}/{}/signature", self.site, self.camera)
    }

    /// Topic of the thumbnails.
    pub fn thumbnail_topic(&self) -> String {
        format!("spanreid/v1/{}/{}/thumbnail", self.site, self.camera)
    }

    /// Topic of the retained status.
    pub fn status_topic(&self) -> String {
        format!("spanreid/v1/{}/{}/status", self.site, self.camera)
    }

    fn options(&self) -> Result<MqttOptions, PublishError> {
        let mut o = self.connection.options(&self.client_id)?;
        o.set_clean_session(true);
        o.set_max_packet_size(1 << 16, 1 << 16);
        o.set_last_will(LastWill::new(
            self.status_topic(),
            "{\"online\":false}",
            QoS::AtLeastOnce,
            true,
        ));
        Ok(o)
    }
}

/// What the publisher does next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum RunState {
    /// Keep publishing.
    #[default]
    Run = 0,
    /// Stop once every queued record is acknowledged.
    Drain = 1,
    /// Stop now (records stay queued on disk).
    Stop = 2,
}

impl TryFrom<u8> for RunState {
    type Error = u8;

    fn try_from(v: u8) -> Result<Self, u8> {
        [RunState::Run, RunState::Drain, RunState::Stop]
            .into_iter()
            .find(|s| *s as u8 == v)
            .ok_or(v)
    }
}

/// Run state shared with the publisher thread (lock-free).
#[derive(Debug, Default)]
pub struct Control(AtomicU8);

impl Control {
    /// Sets the state.
    pub fn set(&self, state: RunState) {
        self.0.store(state as u8, Ordering::SeqCst);
    }

    /// The state.
    pub fn get(&self) -> RunState {
        // Only `set` writes, so the byte is always a state; `Stop` is the safe reading.
        RunState::try_from(self.0.load(Ordering::SeqCst)).unwrap_or(RunState::Stop)
    }
}

fn lock(q: &Mutex<DiskQueue>) -> std::sync::MutexGuard<'_, DiskQueue> {
    q.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Thumbnails in flight at most: they go out one or two at a time, between signatures.
pub const THUMBNAIL_WINDOW: usize = 2;

/// Publishes queued records until `control` says stop (or drain and the queue is empty).
pub fn run(
    settings: &PublishSettings,
    queue: &Mutex<DiskQueue>,
    metrics: &Metrics,
    control: &Control,
) -> Result<(), PublishError> {
    run_with_thumbnails(settings, queue, None, metrics, control)
}

/// [`run`], also publishing the `thumbnails` queue on `…/thumbnail`: a thumbnail goes out
/// only when every queued signature is already in flight, at most [`THUMBNAIL_WINDOW`] at
/// a time, and leaves its queue on the broker's PUBACK (the hub sends no receipt for it).
pub fn run_with_thumbnails(
    settings: &PublishSettings,
    queue: &Mutex<DiskQueue>,
    thumbnails: Option<&Mutex<DiskQueue>>,
    metrics: &Metrics,
    control: &Control,
) -> Result<(), PublishError> {
    let options = settings.options()?;
    let thumbnail_topic = settings.thumbnail_topic();
    let (topic, status_topic) = (settings.signature_topic(), settings.status_topic());
    let receipt_topic = settings.receipt_topic();
    let mut backoff = Duration::from_millis(100);
    loop {
        let (client, mut connection) = Client::new(options.clone(), 2 * settings.window + 8);
        let (tx, rx) = channel::<Result<Event, ConnectionError>>();
        std::thread::Builder::new()
            .name("mqtt-events".into())
            .spawn(move || {
                for event in connection.iter() {
                    let failed = event.is_err();
                    if tx.send(event).is_err() || failed {
                        break;
                    }
                }
            })
            .map_err(|source| QueueError::Io {
                path: "mqtt-events thread".into(),
                source,
            })?;
        let mut inflight = Inflight::default();
        let mut awaiting = settings.receipts.as_ref().map(|r| Awaiting::new(r.timeout));
        // Sequence numbers of the records in flight to the broker.
        let mut sequences: HashMap<u64, u64> = HashMap::new();
        let mut connected = false;
        let mut last_status: Option<Instant> = None;
        let mut acks = Vec::new();
        let mut thumbnail_acks = Vec::new();
        loop {
            let done = match control.get() {
                RunState::Run => false,
                RunState::Drain => {
                    lock(queue).is_empty()
                        && inflight.pending() == 0
                        && thumbnails.is_none_or(|t| lock(t).is_empty())
                        && inflight.pending_thumbnails() == 0
                }
                RunState::Stop => true,
            };
            if done {
                let _ = client.disconnect();
                return Ok(());
            }
            if connected {
                if last_status.is_none_or(|t| t.elapsed() >= settings.status_interval)
                    && client
                        .try_publish(&status_topic, QoS::AtMostOnce, true, metrics.status_json())
                        .is_ok()
                {
                    inflight.sent(None);
                    last_status = Some(Instant::now());
                }
                let mut room = settings.window.saturating_sub(inflight.pending());
                if let (Some(r), Some(a)) = (&settings.receipts, &awaiting) {
                    room = room.min(r.window.saturating_sub(a.len() + inflight.pending()));
                }
                let mut signatures_waiting = room == 0;
                if room > 0 {
                    let records = lock(queue).peek_after(inflight.cursor, room)?;
                    signatures_waiting = !records.is_empty();
                    for (id, payload) in records {
                        let seq = sequence_of(&payload);
                        if client
                            .try_publish(&topic, QoS::AtLeastOnce, false, payload)
                            .is_err()
                        {
                            break;
                        }
                        inflight.sent(Some(Record::Signature(id)));
                        if let Some(seq) = seq {
                            sequences.insert(id, seq);
                        }
                    }
                }
                let thumbnail_room = THUMBNAIL_WINDOW.saturating_sub(inflight.pending_thumbnails());
                if let Some(t) = thumbnails
                    && !signatures_waiting
                    && thumbnail_room > 0
                {
                    let records = lock(t).peek_after(inflight.thumbnail_cursor, thumbnail_room)?;
                    for (id, payload) in records {
                        if client
                            .try_publish(&thumbnail_topic, QoS::AtLeastOnce, false, payload)
                            .is_err()
                        {
                            break;
                        }
                        inflight.sent(Some(Record::Thumbnail(id)));
                    }
                }
            }
            let mut lost = false;
            let mut next = rx.recv_timeout(Duration::from_millis(50));
            loop {
                match next {
                    Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                        if awaiting.is_some() {
                            let _ = client.try_subscribe(&receipt_topic, QoS::AtLeastOnce);
                        }
                        connected = true;
                        backoff = Duration::from_millis(100);
                        Metrics::set(&metrics.mqtt_connected, 1);
                        tracing::info!(broker = %settings.connection.addr(), "connected to the broker");
                    }
                    Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => inflight.went_out(pkid),
                    Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                        match inflight.acked(ack.pkid) {
                            Some(Record::Signature(id)) => {
                                match (&mut awaiting, sequences.remove(&id)) {
                                    (Some(a), Some(seq)) => a.insert(seq, id, Instant::now()),
                                    _ => acks.push(id),
                                }
                            }
                            Some(Record::Thumbnail(id)) => thumbnail_acks.push(id),
                            None => {}
                        }
                    }
                    Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == receipt_topic => {
                        if let (Some(a), Some(r)) = (&mut awaiting, &settings.receipts) {
                            acks.extend(on_receipt(a, &r.key, &p.payload, metrics));
                        }
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, retry_in = ?backoff, "broker connection lost");
                        lost = true;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => lost = true,
                }
                if lost {
                    break;
                }
                next = match rx.try_recv() {
                    Ok(ev) => Ok(ev),
                    Err(_) => break,
                };
            }
            if let Some(a) = &mut awaiting
                && a.expired(Instant::now())
            {
                Metrics::add(&metrics.receipt_timeouts, 1);
                tracing::warn!(
                    next_wait = ?a.timeout(),
                    "no receipt from the hub in time: sending the queue again"
                );
                inflight.cursor = None;
            }
            if !acks.is_empty() {
                let mut q = lock(queue);
                let removed = q.ack_many(&acks)?;
                if awaiting.is_none() {
                    Metrics::add(&metrics.signatures_sent, removed as u64);
                }
                metrics.record_queue(&q);
                acks.clear();
            }
            if let Some(t) = thumbnails
                && !thumbnail_acks.is_empty()
            {
                let removed = lock(t).ack_many(&thumbnail_acks)?;
                Metrics::add(&metrics.thumbnails_sent, removed as u64);
                thumbnail_acks.clear();
            }
            if lost {
                break;
            }
        }
        drop(client);
        if connected {
            Metrics::add(&metrics.mqtt_reconnects, 1);
        }
        Metrics::set(&metrics.mqtt_connected, 0);
        let waited = Instant::now();
        while waited.elapsed() < backoff && control.get() != RunState::Stop {
            std::thread::sleep(Duration::from_millis(20));
        }
        if control.get() == RunState::Stop {
            return Ok(());
        }
        backoff = (backoff * 2).min(settings.max_backoff.max(Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests;
