//! spanreid-hub: the central service. Verified MQTT ingest of signatures, a durable SQLite
//! store with an in-memory search index, CPDM matching across cameras, and match events.
//!
//! Data flow: [`mqtt`] receives messages → [`ingest`] verifies them (no I/O) →
//! [`store`] keeps them durably in one transaction → [`matcher`] searches the other cameras'
//! signatures → [`events`] are published and stored → [`receipts`] tell each camera what
//! was committed → the messages are acknowledged.
//! [`service::Hub`] ties the pure steps together; [`run`] wires it to a broker.
//!
//! Depends on the core (`spanreid`: signatures, CPDM, search kernels), `spanreid-service`
//! (broker TLS, secrets, signals) and `spanreid-infer` (the model manifest and its match
//! calibration); nothing depends on it but its binary, the demo and its tests. Feature
//! `bench` (default) adds `hub bench`: a synthetic load generator and its MQTT clients.
#![deny(missing_docs)]

#[cfg(feature = "bench")]
pub mod bench;
pub mod broker;
pub mod config;
pub mod error;
pub mod event_key;
pub mod events;
pub mod http;
pub mod index;
pub mod ingest;
pub mod live;
pub mod matcher;
pub mod mqtt;
pub mod receipts;
pub mod service;
pub mod stats;
pub mod store;
#[cfg(any(test, feature = "bench"))]
pub mod synthetic;
pub mod thumbnails;
pub mod watch;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use config::{HubConfig, Settings};
pub use error::{ConfigError, HubError, MqttError, StoreError};
pub use index::{ExactIndex, GalleryIndex, HubIndex, Int8Index, RowMeta, Window, WindowIndex};
pub use service::Hub;
pub use store::{SqliteStore, Store};

/// An empty search index for the configured model: windowed by camera and capture time
/// when camera links are configured.
pub fn new_index(settings: &Settings) -> HubIndex {
    HubIndex::new(
        settings.model_id,
        settings.config.model.dim,
        !settings.config.links.is_empty(),
    )
}

/// Run the hub with `settings` until `stop` is set: start the embedded broker if asked,
/// open the database, rebuild the gallery, start the web page and API if configured, then
/// ingest.
pub fn run(settings: &Settings, stop: &Arc<AtomicBool>) -> Result<mqtt::RunCounts, HubError> {
    if settings.keys.is_empty() {
        tracing::warn!("no cameras configured: every signature will be rejected");
    }
    if let Some(listen) = settings.embedded_listen {
        broker::spawn(listen, &settings.config.embedded_broker_logins)?;
    }
    let signer = event_key::EventSigner::load_or_create(&settings.config.events_key_path())?;
    tracing::info!(public_key = %signer.public().to_hex(), "match events signed");
    let store = SqliteStore::open(&settings.config.db)?;
    let mut hub = Hub::open(settings, store, new_index(settings))?;
    let live = Arc::new(live::Live::new(settings.keys.keys().cloned()));
    let http = match settings.config.http.listen {
        Some(_) => Some(http::spawn(settings, Arc::clone(&live))?),
        None => None,
    };
    let counts = mqtt::run(
        &mut hub,
        &settings.config.mqtt,
        &settings.config.client_id(),
        &signer,
        &live,
        stop,
    );
    drop(http);
    // Closes the database: every batch acknowledged has been committed.
    drop(hub);
    counts
}

/// `hub query`: signature `id` of the database at `db` and its `k` nearest signatures from
/// other cameras (no distance threshold, no gating), with the candidates recorded at ingest.
/// `None` when no signature has that id.
pub fn query(
    db: &std::path::Path,
    id: i64,
    k: usize,
) -> Result<Option<stats::QueryReport>, HubError> {
    let store = SqliteStore::open(db)?;
    let Some(target) = store.get(id)? else {
        return Ok(None);
    };
    let sig = &target.signature;
    let index = Int8Index::new(sig.model_id, sig.dim());
    let mut matcher = matcher::Matcher::new(index, &[], k.max(1), f32::INFINITY)?;
    let all = store.load_all()?;
    for s in &all {
        matcher.insert(s.id, &s.signature);
    }
    let hits = matcher.candidates(sig);
    let by_id: std::collections::HashMap<i64, &store::StoredSignature> =
        all.iter().map(|s| (s.id, s)).collect();
    let nearest = hits
        .into_iter()
        .filter_map(|c| {
            let s = by_id.get(&c.id)?;
            Some((events::SignatureRef::new(s.id, &s.signature), c.distance))
        })
        .collect();
    let recorded = store
        .matches_of(id)?
        .into_iter()
        .map(|m| (m.rank, m.candidate_id, m.distance))
        .collect();
    Ok(Some(stats::QueryReport {
        query: events::SignatureRef::new(id, &target.signature),
        nearest,
        recorded,
    }))
}
