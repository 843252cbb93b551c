//! `[publish]`: how the agent paces its publishing (the broker itself is `[mqtt]`, the
//! table the hub reads too: `spanreid_service::mqtt::MqttConnection`).

use serde::Deserialize;

/// `[publish]`: publishing window and status period.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// Unacknowledged publishes at most.
    pub window: usize,
    /// Seconds between status messages.
    pub status_interval_s: u64,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            window: 64,
            status_interval_s: 30,
        }
    }
}
