//! `hub`: the central re-identification service.
//!
//! - `hub run --config FILE [--embedded-broker] [--http ADDR]` ingests signatures and
//!   publishes matches until SIGINT or SIGTERM (then it commits and acknowledges the batch
//!   in hand, and exits); with `--http` (or `[http] listen`) it serves the operator's page.
//! - `hub query --db FILE --signature ID [-k N]` shows a signature's nearest neighbours.
//! - `hub stats --db FILE` shows gallery size and ingest counters.
//! - `hub bench` (feature `bench`, default) measures ingest throughput and query latency.
//!
//! Output goes to a locked stdout; a reader that goes away (`hub stats | head -0`) ends the
//! command quietly with success.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
#[cfg(feature = "bench")]
use spanreid_hub::bench;
use spanreid_hub::{self as hub, HubConfig, Store as _, config::Overrides, stats};

#[derive(Parser, Debug)]
#[command(
    name = "hub",
    version,
    about = "spanreid hub: verified ingest, gallery, CPDM matching"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Ingest signatures from the broker and publish match events until SIGINT/SIGTERM.
    Run {
        /// TOML configuration (see hub/hub.example.toml); defaults apply without it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run an embedded MQTT broker on the configured host and port.
        #[arg(long)]
        embedded_broker: bool,
        /// Database file (overrides the config).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Broker port (overrides the config).
        #[arg(long)]
        broker_port: Option<u16>,
        /// Serve the operator's page and API on this address, e.g. 127.0.0.1:8480
        /// (overrides `[http] listen`).
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
    },
    /// Print the public key match events are signed with (creating the key if missing),
    /// for the consumers that verify them.
    EventsKey {
        /// TOML configuration (its `events_key`, else beside its `db`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Nearest signatures from other cameras for one stored signature.
    Query {
        /// Database file.
        #[arg(long)]
        db: PathBuf,
        /// Signature id (as in match events).
        #[arg(long)]
        signature: i64,
        /// Number of neighbours.
        #[arg(short, default_value_t = 5)]
        k: usize,
    },
    /// Gallery size, matches and ingest counters.
    Stats {
        /// Database file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Measure ingest throughput through a broker and query latency against the memory
    /// bandwidth bound.
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<StdoutClosed>().is_some() => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("hub: {}", spanreid_service::report::error_line(e.as_ref()));
            }
            ExitCode::FAILURE
        }
    }
}

/// Standard output was closed by its reader: a clean end, not a failure.
#[derive(Debug, thiserror::Error)]
#[error("standard output closed")]
struct StdoutClosed;

/// Writes `text` to standard output.
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    write!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => anyhow::Error::new(StdoutClosed),
            _ => anyhow::Error::new(e).context("writing to standard output"),
        })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            config,
            embedded_broker,
            db,
            broker_port,
            http,
        } => {
            let file = match &config {
                Some(path) => HubConfig::from_file(path)?,
                None => HubConfig::default(),
            };
            let settings = file
                .with_overrides(&Overrides {
                    db,
                    embedded_broker,
                    broker_port,
                    http_listen: http,
                })
                .validate()?;
            let stop = spanreid_service::shutdown::on_signal(
                "signal received: committing and acknowledging the batch in hand, then exiting",
            )
            .context("installing the signal handlers")?;
            let counts = hub::run(&settings, &stop)?;
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                // Also here: the watcher thread may not have run before the hub was done.
                tracing::info!(?counts, "signal received; hub stopped cleanly");
            } else {
                tracing::info!(?counts, "hub stopped");
            }
        }
        Command::EventsKey { config } => {
            let file = match &config {
                Some(path) => HubConfig::from_file(path)?,
                None => HubConfig::default(),
            };
            let signer = hub::event_key::EventSigner::load_or_create(&file.events_key_path())?;
            print_out(&format!("{}\n", signer.public().to_hex()))?;
        }
        Command::Query { db, signature, k } => {
            anyhow::ensure!(db.exists(), "database {} does not exist", db.display());
            let report = hub::query(&db, signature, k)?
                .with_context(|| format!("no signature {signature} in {}", db.display()))?;
            print_out(&stats::render_query(&report))?;
        }
        Command::Stats { db } => {
            anyhow::ensure!(db.exists(), "database {} does not exist", db.display());
            let store = hub::SqliteStore::open(&db)?;
            print_out(&stats::render_stats(&store.stats()?))?;
        }
        #[cfg(feature = "bench")]
        Command::Bench(args) => {
            let report = bench::run(&args)?;
            print_out(&bench::render(&report))?;
        }
    }
    Ok(())
}
