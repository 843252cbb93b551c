//! `[publish]`: how the agent paces its publishing (the broker itself is `[mqtt]`, the
//! table the hub reads too: `spanreid_service::mqtt::MqttConnection`).

use serde::Deserialize;

/// `[publish]`: when a signature leaves the queue, publishing window and status period.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// When a queued signature is deleted.
    pub delete_on: DeleteOn,
    /// Publishes the broker has not acknowledged, at most.
    pub window: usize,
    /// With `delete_on = "hub_receipt"`: seconds to wait for the receipt of the oldest
    /// acknowledged signature before sending the queue again (doubling, up to 10 min,
    /// while none comes).
    pub receipt_timeout_s: u64,
    /// With `delete_on = "hub_receipt"`: signatures acknowledged by the broker and awaiting
    /// their receipt, at most.
    pub receipt_window: usize,
    /// Seconds between status messages.
    pub status_interval_s: u64,
}

/// When a queued signature is deleted.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeleteOn {
    /// When the hub's receipt says it committed (or refused) the signature: nothing is
    /// lost whatever the broker does.
    #[default]
    HubReceipt,
    /// When the broker acknowledges the publish: for a broker with no hub behind it.
    BrokerAck,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            delete_on: DeleteOn::HubReceipt,
            window: 64,
            receipt_timeout_s: 30,
            receipt_window: 1024,
            status_interval_s: 30,
        }
    }
}
