//! Trying a broker login once, as a service's `check` command does before it runs: the
//! connection, TLS and username the service would use, up to the broker's CONNACK.

use std::time::Duration;

use rumqttc::{Client, ConnectionError, Event, Packet};

use crate::mqtt::{MqttConnection, OptionsError};

/// Why the login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The client options could not be built (the TLS files).
    #[error("broker TLS: {0}")]
    Options(#[from] OptionsError),
    /// The connection failed or the broker refused the login.
    #[error("broker {addr}: {source}")]
    Connection {
        /// `host:port`.
        addr: String,
        /// What failed.
        #[source]
        source: Box<ConnectionError>,
    },
    /// The broker answered with something else than a CONNACK.
    #[error("broker {addr}: unexpected first packet {packet}")]
    Unexpected {
        /// `host:port`.
        addr: String,
        /// The packet, as debug text.
        packet: String,
    },
    /// No answer in time.
    #[error("broker {addr}: no answer within {seconds} s")]
    Timeout {
        /// `host:port`.
        addr: String,
        /// The wait.
        seconds: u64,
    },
}

/// Connects to `conn`'s broker as `client_id`, waits up to `timeout` for its CONNACK, and
/// disconnects.
pub fn check_login(
    conn: &MqttConnection,
    client_id: &str,
    timeout: Duration,
) -> Result<(), LoginError> {
    let (client, mut connection) = Client::new(conn.options(client_id)?, 4);
    let outcome = connection.recv_timeout(timeout);
    let _ = client.disconnect();
    let addr = conn.addr();
    match outcome {
        Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => Ok(()),
        Ok(Ok(other)) => Err(LoginError::Unexpected {
            addr,
            packet: format!("{other:?}"),
        }),
        Ok(Err(source)) => Err(LoginError::Connection {
            addr,
            source: Box::new(source),
        }),
        Err(_) => Err(LoginError::Timeout {
            addr,
            seconds: timeout.as_secs(),
        }),
    }
}
