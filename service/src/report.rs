//! One line for an error and its causes, each cause said once: many errors print their
//! source inside their own message as well as exposing it as `source()`, and a plain
//! `{:#}` chain would repeat it.

use std::error::Error;

/// `error: cause: cause …`, leaving out a cause whose text the line already holds.
pub fn error_line(err: &(dyn Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading {0}: {1}")]
    struct Reading(&'static str, #[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("publish: {0}")]
    struct Publish(#[from] Reading);

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Publish(Reading("ca.pem", io));
        assert_eq!(error_line(&err), "publish: reading ca.pem: no such file");
        let plain = Reading(
            "x",
            std::io::Error::other(Reading("inner", std::io::Error::other("deep"))),
        );
        assert_eq!(error_line(&plain), "reading x: reading inner: deep");
    }
}
