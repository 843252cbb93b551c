//! Counters shared by the stages, rendered as Prometheus text and as the JSON status the
//! agent publishes on MQTT.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use spanreid::signature::receipt::Outcome;

use crate::queue::DiskQueue;

macro_rules! counters {
    ($( $field:ident, $kind:literal, $help:literal; )*) => {
        /// Counters and gauges of one agent.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $( #[doc = $help] pub $field: AtomicU64, )*
        }

        impl Metrics {
    /// Sets the queue's gauge and counters from the queue itself.
    pub fn record_queue(&self, q: &DiskQueue) {
        let c = q.counts();
        Metrics::set(&self.queue_depth, q.len() as u64);
        Metrics::set(&self.queue_dropped, c.dropped);
        Metrics::set(&self.queue_dropped_disk_full, c.dropped_disk_full);
        Metrics::set(&self.queue_lost_disk_full, c.lost_disk_full);
        Metrics::set(&self.queue_removals_deferred, c.removals_deferred);
    }

            /// `(name, kind, help, value)` of every metric, in a fixed order.
            pub fn snapshot(&self) -> Vec<(&'static str, &'static str, &'static str, u64)> {
                vec![$( (stringify!($field), $kind, $help, self.$field.load(Ordering::Relaxed)), )*]
            }
        }
    };
}

counters! {
    frames, "counter", "Frames captured.";
    frames_dropped, "counter", "Frames dropped because the pipeline was busy.";
    decode_errors, "counter", "Frames that could not be decoded.";
    detect_errors, "counter", "Frames the detector failed on (skipped).";
    detections, "counter", "Moving objects detected.";
    tracks, "counter", "Vehicle tracks confirmed (one per passage).";
    tracks_discarded, "counter", "Tracks too short to be a vehicle.";
    tracks_edge_only, "counter", "Tracks only ever seen cut by the frame edge (a fragment of a vehicle entering or leaving), smaller than half the frame: no passage.";
    crops, "counter", "Crops run through the model.";
    signatures, "counter", "Signatures written to the queue.";
    signature_errors, "counter", "Passages that could not be turned into a signature.";
    thumbnails, "counter", "Thumbnails written to their queue ([thumbnails] enabled).";
    thumbnails_skipped, "counter", "Passages without a thumbnail: no JPEG fitted max_bytes, or the thumbnail queue failed.";
    thumbnails_sent, "counter", "Thumbnails acknowledged by the broker and deleted from their queue.";
    signatures_sent, "counter", "Signatures delivered and deleted from the queue: receipted as stored by the hub (or acknowledged by the broker with delete_on = broker_ack).";
    refused_replay, "counter", "Signatures the hub refused: sequence already sent with other content.";
    refused_model_mismatch, "counter", "Signatures the hub refused: computed by another model than the hub's.";
    refused_dimension_mismatch, "counter", "Signatures the hub refused: feature dimension other than the hub's model.";
    refused_too_old, "counter", "Signatures the hub refused: captured before its replay window.";
    refused_from_future, "counter", "Signatures the hub refused: captured too far ahead of its clock.";
    receipts_invalid, "counter", "Messages on the receipt topic that are not a receipt tagged with this camera's key (ignored).";
    receipt_timeouts, "counter", "Times the oldest signature waited longer than the receipt timeout (the queue is sent again).";
    queue_depth, "gauge", "Signatures waiting in the on-disk queue.";
    queue_dropped, "counter", "Oldest signatures dropped to keep the queue within [queue] capacity and max_bytes.";
    queue_dropped_disk_full, "counter", "Oldest signatures dropped, a segment file at a time, to make room on a full disk.";
    queue_lost_disk_full, "counter", "Signatures not queued: the disk was full with nothing left to drop.";
    queue_removals_deferred, "counter", "Times the queue's removal log found the disk full (removals applied in memory, written once there is room).";
    mqtt_connected, "gauge", "1 while connected to the broker.";
    mqtt_reconnects, "counter", "Broker connections lost.";
}

impl Metrics {
    /// The counter of signatures the hub refused with `outcome` (`None` for `Stored`).
    pub fn refused(&self, outcome: Outcome) -> Option<&AtomicU64> {
        match outcome {
            Outcome::Stored => None,
            Outcome::Replay => Some(&self.refused_replay),
            Outcome::ModelMismatch => Some(&self.refused_model_mismatch),
            Outcome::DimensionMismatch => Some(&self.refused_dimension_mismatch),
            Outcome::TooOld => Some(&self.refused_too_old),
            Outcome::FromFuture => Some(&self.refused_from_future),
        }
    }

    /// `"reason: count"` of every refusal so far, comma-separated; empty when none.
    pub fn refusals(&self) -> String {
        use Outcome::*;
        let mut out = String::new();
        for o in [Replay, ModelMismatch, DimensionMismatch, TooOld, FromFuture] {
            let n = self.refused(o).map_or(0, |c| c.load(Ordering::Relaxed));
            if n > 0 {
                let sep = if out.is_empty() { "" } else { ", " };
                let _ = write!(out, "{sep}{}: {n}", o.name());
            }
        }
        out
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets a gauge.
    pub fn set(gauge: &AtomicU64, v: u64) {
        gauge.store(v, Ordering::Relaxed);
    }

    /// Prometheus text exposition (version 0.0.4), names prefixed `spanreid_edge_`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, value) in self.snapshot() {
            let suffix = if kind == "counter" { "_total" } else { "" };
            let _ = writeln!(out, "# HELP spanreid_edge_{name}{suffix} {help}");
            let _ = writeln!(out, "# TYPE spanreid_edge_{name}{suffix} {kind}");
            let _ = writeln!(out, "spanreid_edge_{name}{suffix} {value}");
        }
        out
    }

    /// JSON object of every metric plus `"online": true`.
    pub fn status_json(&self) -> String {
        let mut out = String::from("{\"online\":true");
        for (name, _, _, value) in self.snapshot() {
            let _ = write!(out, ",\"{name}\":{value}");
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let m = Metrics::default();
        Metrics::add(&m.frames, 3);
        Metrics::add(&m.frames, 2);
        Metrics::set(&m.queue_depth, 7);
        let text = m.prometheus();
        assert!(text.contains("\nspanreid_edge_frames_total 5\n"), "{text}");
        assert!(
            text.contains("# TYPE spanreid_edge_queue_depth gauge\nspanreid_edge_queue_depth 7\n")
        );
        let json = m.status_json();
        assert!(json.starts_with("{\"online\":true,\"frames\":5,"), "{json}");
        assert!(json.ends_with('}'));
    }
}
