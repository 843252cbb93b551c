//! `edge-agent`: the roadside unit. Capture, vehicle crops, inference and delivery are
//! built up in this package; today it decodes and checks signature files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "edge-agent", version, about = "spanreid roadside unit")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a signature file (wire format) and print its header.
    Inspect {
        /// File holding one encoded signature.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("edge-agent: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let envelope = spanreid::signature::Envelope::decode(&bytes)
                .with_context(|| format!("decoding {}", file.display()))?;
            let sig = envelope.signature();
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "site={} camera={} seq={} track={} t_us={} dim={} area_ratios={:?} bytes={}",
                    sig.site,
                    sig.camera,
                    sig.sequence,
                    sig.track_id,
                    sig.capture_time_us,
                    sig.dim(),
                    sig.area_ratios.0,
                    bytes.len()
                );
            }
            Ok(())
        }
    }
}
