//! Errors of the hub, one enum per layer.

use std::path::PathBuf;

/// The configuration could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// File named on the command line.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown or mistyped fields.
    #[error("config {origin} does not parse")]
    Parse {
        /// File (or other origin) of the text.
        origin: String,
        /// Underlying error, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The gallery database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database {path}: {context}")]
    Sqlite {
        /// Database file.
        path: PathBuf,
        /// What the hub was doing.
        context: &'static str,
        /// Underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored payload no longer decodes (the database was edited or corrupted).
    #[error("database {path}: stored signature {id} does not decode")]
    Corrupt {
        /// Database file.
        path: PathBuf,
        /// Row id of the signature.
        id: i64,
        /// Why it does not decode.
        #[source]
        source: spanreid::signature::WireError,
    },
}

/// The MQTT connection or the embedded broker failed.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    /// A request to the client could not be queued.
    #[error("MQTT client request failed")]
    Client(#[source] Box<rumqttc::ClientError>),
    /// The connection to the broker failed and could not be re-established.
    #[error("MQTT connection to {addr} failed")]
    Connection {
        /// Broker address.
        addr: String,
        /// Underlying error.
        #[source]
        source: Box<rumqttc::ConnectionError>,
    },
    /// The embedded broker stopped.
    #[error("embedded broker on {addr} failed: {message}")]
    Broker {
        /// Listen address.
        addr: String,
        /// What the broker reported.
        message: String,
    },
    /// A match event could not be serialised.
    #[error("match event does not serialise")]
    Json(#[from] serde_json::Error),
    /// The client options could not be built (the TLS files).
    #[error(transparent)]
    Options(#[from] spanreid_service::mqtt::OptionsError),
}

impl From<rumqttc::ClientError> for MqttError {
    fn from(e: rumqttc::ClientError) -> Self {
        MqttError::Client(Box::new(e))
    }
}

/// Any error of the hub service.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Gallery database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// MQTT.
    #[error(transparent)]
    Mqtt(#[from] MqttError),
    /// The key match events are signed with.
    #[error(transparent)]
    EventKey(#[from] crate::event_key::EventKeyError),
    /// A file or thread operation outside the database.
    #[error("{context}")]
    Io {
        /// What the hub was doing, naming the file.
        context: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}
