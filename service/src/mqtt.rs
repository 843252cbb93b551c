//! `[mqtt]`: how a service reaches the broker — address, client id, login and TLS — read
//! from TOML once, checked once, and turned into rumqttc options. The edge agent and the
//! hub read the same table.

use std::path::PathBuf;
use std::time::Duration;

use rumqttc::MqttOptions;
use serde::Deserialize;

use crate::secret::Secret;

/// `[mqtt]`: the broker connection.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConnection {
    /// Host name or address of the broker.
    pub host: String,
    /// TCP port (8883 is usual with TLS).
    pub port: u16,
    /// MQTT client id. Empty: the service's default, which names the instance (the hub's
    /// `spanreid-hub`, an agent's `spanreid-edge-<site>-<camera>`). A broker drops the older
    /// of two connections with one id, so each running instance needs its own.
    pub client_id: String,
    /// Keep-alive interval in seconds.
    pub keep_alive_s: u64,
    /// Login name; empty: no login.
    pub username: String,
    /// Login password (never shown by `Debug`).
    pub password: Secret,
    /// PEM file of the CA certificate(s) the broker's certificate must chain to; setting it
    /// turns TLS on.
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate chain, for brokers that authenticate clients by certificate
    /// (with `tls_client_key`).
    pub tls_client_cert: Option<PathBuf>,
    /// PEM private key of `tls_client_cert`.
    pub tls_client_key: Option<PathBuf>,
}

impl Default for MqttConnection {
    fn default() -> Self {
        MqttConnection {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: String::new(),
            keep_alive_s: 30,
            username: String::new(),
            password: Secret::default(),
            tls_ca: None,
            tls_client_cert: None,
            tls_client_key: None,
        }
    }
}

/// A `[mqtt]` value that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("config {key}: {message}")]
pub struct InvalidMqtt {
    /// Dotted key, e.g. `mqtt.tls_client_key`.
    pub key: &'static str,
    /// What is wrong.
    pub message: &'static str,
}

impl MqttConnection {
    /// Checks the values that only make sense together.
    pub fn validate(&self) -> Result<(), InvalidMqtt> {
        let invalid = |key, message| Err(InvalidMqtt { key, message });
        if self.host.is_empty() {
            return invalid("mqtt.host", "must not be empty");
        }
        if self.tls_client_cert.is_some() != self.tls_client_key.is_some() {
            return invalid(
                "mqtt.tls_client_cert",
                "needs tls_client_key too (and the other way round)",
            );
        }
        if self.tls_client_cert.is_some() && self.tls_ca.is_none() {
            return invalid(
                "mqtt.tls_client_cert",
                "needs tls_ca (the CA the broker's certificate chains to)",
            );
        }
        if self.username.is_empty() && !self.password.is_empty() {
            return invalid("mqtt.password", "is set without a username");
        }
        if self.tls_ca.is_some() && !cfg!(feature = "tls") {
            return invalid("mqtt.tls_ca", "this build has no TLS (feature `tls`)");
        }
        Ok(())
    }

    /// `client_id`, or `default` when it is empty.
    pub fn client_id_or(&self, default: &str) -> String {
        if self.client_id.is_empty() {
            default.to_owned()
        } else {
            self.client_id.clone()
        }
    }

    /// `host:port`, for logs and errors.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The TLS files, when TLS is configured.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<crate::tls::TlsFiles> {
        self.tls_ca.clone().map(|ca| crate::tls::TlsFiles {
            ca,
            client: self
                .tls_client_cert
                .clone()
                .zip(self.tls_client_key.clone()),
        })
    }

    /// rumqttc options for a client `client_id` of this broker: keep-alive, login, TLS
    /// (which reads the certificate files, and so can fail). Session, packet sizes and last
    /// will are the caller's.
    pub fn options(&self, client_id: &str) -> Result<MqttOptions, OptionsError> {
        let mut o = MqttOptions::new(client_id, self.host.clone(), self.port);
        o.set_keep_alive(Duration::from_secs(self.keep_alive_s.max(5)));
        if !self.username.is_empty() {
            o.set_credentials(self.username.clone(), self.password.expose());
        }
        #[cfg(feature = "tls")]
        if let Some(files) = self.tls() {
            o.set_transport(crate::tls::transport(&files)?);
        }
        Ok(o)
    }
}

/// Why client options could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// The TLS files could not be read or used.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> MqttConnection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_and_client_id() {
        let c = parse("");
        assert_eq!(c.addr(), "127.0.0.1:1883");
        assert_eq!(c.client_id_or("spanreid-hub"), "spanreid-hub");
        assert_eq!(c.validate(), Ok(()));
        let c = parse("client_id = \"hub-2\"");
        assert_eq!(c.client_id_or("spanreid-hub"), "hub-2");
    }

    #[test]
    fn inconsistent_values_are_named() {
        let key = |text| parse(text).validate().unwrap_err().key;
        assert_eq!(key("tls_client_cert = \"c.pem\""), "mqtt.tls_client_cert");
        assert_eq!(
            key("tls_client_cert = \"c.pem\"\ntls_client_key = \"k.pem\""),
            "mqtt.tls_client_cert"
        );
        assert_eq!(key("password = \"p\""), "mqtt.password");
        assert_eq!(key("host = \"\""), "mqtt.host");
        assert!(toml::from_str::<MqttConnection>("hots = \"x\"").is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let c = parse("username = \"hub\"\npassword = \"hunter2\"");
        let shown = format!("{c:?}");
        assert!(
            shown.contains("hub") && !shown.contains("hunter2"),
            "{shown}"
        );
        let login = c.options("x").unwrap().credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("hub", "hunter2")
        );
    }
}
