//! Standard output of the subcommands that print. A reader that goes away
//! (`edge-agent inspect f | head -0`) ends the command quietly: [`StdoutClosed`] is a
//! clean exit, not a panic or a failure.

use std::fmt::Display;
use std::io::{self, Write};

/// Standard output was closed by its reader.
#[derive(Debug, thiserror::Error)]
#[error("standard output closed")]
pub struct StdoutClosed;

/// Writes each line to standard output.
pub fn print_lines<L: Display>(lines: impl IntoIterator<Item = L>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    let written = lines
        .into_iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    written.map_err(|e| match e.kind() {
        io::ErrorKind::BrokenPipe => anyhow::Error::new(StdoutClosed),
        _ => anyhow::Error::new(e).context("writing to standard output"),
    })
}

/// Whether `err` is (or wraps) [`StdoutClosed`].
pub fn is_closed(err: &anyhow::Error) -> bool {
    err.downcast_ref::<StdoutClosed>().is_some()
}
