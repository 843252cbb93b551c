//! The operator's web page and JSON API, served by the hub itself (`[http]`).
//!
//! Paths (JSON unless noted; every error is `{"status": …, "error": …}`):
//! - `GET /healthz` — `ok`, without a token.
//! - `GET /` — the page (HTML, one file, no external resources).
//! - `GET /api/v1/stats` — gallery counts and ingest counters.
//! - `GET /api/v1/cameras` — configured cameras, their stored passages and last status.
//! - `GET /api/v1/passages?camera=site/cam&from_us=&to_us=&before=&limit=` — newest first.
//! - `GET /api/v1/passages/{id}` — one passage, its candidates and who found it.
//! - `GET /api/v1/passages/{id}/thumbnail` — its JPEG, when the camera sent one.
//! - `GET /api/v1/matches?camera=&from_us=&to_us=&min_confidence=&best_only=&after=&limit=`.
//! - `GET /api/v1/matches/live` — server-sent events of new match events.
//! - `POST /api/v1/search?k=` — body: a JPEG or PNG of a vehicle; nearest passages.
//!
//! The server runs on its own threads (a small tokio runtime); it reads the database
//! through its own read-only connections, never the ingest's, and the live state
//! ([`crate::live::Live`]) the MQTT loop feeds.

mod api;
mod auth;
mod error;
mod page;
mod routes;
mod search;

pub use api::{ErrorJson, PairJson};
pub use error::ApiError;
pub use routes::{MatchPage, PassageDetail, PassagePage, SearchResults};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use spanreid_infer::calibration::MatchCalibration;

use crate::config::{Secret, Settings, to_hex};
use crate::error::HubError;
use crate::live::Live;
use search::SearchEngine;

/// What every handler reads.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    db: Arc<PathBuf>,
    live: Arc<Live>,
    token: Option<Secret>,
    calibration: Option<Arc<MatchCalibration>>,
    model_id: String,
    /// The model for search by image, or why there is none.
    search: Result<Arc<SearchEngine>, Arc<str>>,
}

/// The running server; dropping it stops it.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The address it listens on (the actual port when the config said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn search_engine(settings: &Settings) -> Result<Arc<SearchEngine>, Arc<str>> {
    let (Some(manifest), Some(name)) =
        (&settings.config.model.manifest, &settings.config.model.name)
    else {
        return Err("search by image needs the model: set [model] manifest and name".into());
    };
    SearchEngine::load(manifest, name)
        .map(Arc::new)
        .map_err(|e| {
            let why = format!("search by image is off: the model does not load: {e}");
            tracing::warn!("{why}");
            why.into()
        })
}

fn router(state: AppState, max_body: usize) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/api/v1/stats", get(routes::stats))
        .route("/api/v1/cameras", get(routes::cameras))
        .route("/api/v1/passages", get(routes::passages))
        .route("/api/v1/passages/:id", get(routes::passage))
        .route("/api/v1/passages/:id/thumbnail", get(routes::thumbnail))
        .route("/api/v1/matches", get(routes::matches))
        .route("/api/v1/matches/live", get(routes::live))
        .route("/api/v1/search", post(routes::search))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Starts the server on `[http] listen` (which must be set), serving the database of
/// `settings` and `live`.
pub fn spawn(settings: &Settings, live: Arc<Live>) -> Result<HttpServer, HubError> {
    let http = &settings.config.http;
    let listen = http
        .listen
        .ok_or_else(|| crate::error::ConfigError::Invalid("http.listen is not set".into()))?;
    let io = |context: String| move |source| HubError::Io { context, source };
    let listener = std::net::TcpListener::bind(listen)
        .map_err(io(format!("HTTP server: cannot listen on {listen}")))?;
    listener
        .set_nonblocking(true)
        .map_err(io("HTTP server: non-blocking socket".into()))?;
    let addr = listener
        .local_addr()
        .map_err(io("HTTP server: local address".into()))?;
    let state = AppState {
        db: Arc::new(settings.config.db.clone()),
        live,
        token: http.token.clone(),
        calibration: settings.calibration.clone().map(Arc::new),
        model_id: to_hex(&settings.model_id),
        search: search_engine(settings),
    };
    let app = router(state, http.max_body_bytes);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .thread_name("http")
        .enable_io()
        .enable_time()
        .build()
        .map_err(io("HTTP server: starting its runtime".into()))?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("http-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "HTTP server: cannot use its socket");
                        return;
                    }
                };
                let serve = std::pin::pin!(axum::serve(listener, app).into_future());
                // Open event streams never end by themselves: stop by dropping the server
                // (the runtime's shutdown below then drops their connections).
                match futures_util::future::select(serve, stop_rx).await {
                    futures_util::future::Either::Left((Err(e), _)) => {
                        tracing::error!(error = %e, "HTTP server failed");
                    }
                    _ => tracing::debug!("HTTP server stopped"),
                }
            });
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        })
        .map_err(io("HTTP server: starting its thread".into()))?;
    let token_note = if http.token.is_some() {
        " (token required)"
    } else {
        ""
    };
    tracing::info!("operator page and API on http://{addr}/{token_note}");
    Ok(HttpServer {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}
