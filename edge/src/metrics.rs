//! Counters shared by the stages, rendered as Prometheus text and as the JSON status the
//! agent publishes on MQTT.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $field:ident, $kind:literal, $help:literal; )*) => {
        /// Counters and gauges of one agent.
        #[derive(Debug, Default)]
        pub struct Metrics {
            $( #[doc = $help] pub $field: AtomicU64, )*
        }

        impl Metrics {
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
    signatures_sent, "counter", "Signatures acknowledged by the broker.";
    queue_depth, "gauge", "Signatures waiting in the on-disk queue.";
    queue_dropped, "counter", "Signatures dropped because the queue was full.";
    mqtt_connected, "gauge", "1 while connected to the broker.";
    mqtt_reconnects, "counter", "Broker connections lost.";
}

impl Metrics {
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
