//! A secret of a configuration (camera keys, broker passwords): read from a plain TOML
//! string, never shown by `Debug`, so a logged or printed config cannot leak it.

use std::fmt;

use serde::Deserialize;

/// What `Debug` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// A secret string.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret text, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(REDACTED, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret_and_serde_reads_a_plain_string() {
        #[derive(Debug, Deserialize)]
        struct Login {
            password: Secret,
        }
        let login: Login =
            toml::from_str("password = \"hunter2\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(login.password.expose(), "hunter2");
        let shown = format!("{login:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains(REDACTED),
            "{shown}"
        );
    }
}
