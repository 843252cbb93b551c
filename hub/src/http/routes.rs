//! The API's handlers: parse the request, read the store on a blocking thread, answer
//! JSON. Every error is [`ApiError`] JSON.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::api::{
    self, CameraJson, PairJson, PairQuery, PassageQuery, StatsJson, cursor_after, pair_json,
};
use super::error::ApiError;
use super::search;
use crate::store::browse::Passage;
use crate::store::{Browse, SqliteReader};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Runs `f` with a read-only connection on a blocking thread.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&SqliteReader) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let db = state.db.clone();
    tokio::task::spawn_blocking(move || f(&SqliteReader::open(&db)?))
        .await
        .map_err(|e| ApiError::internal("a database read", &e))?
}

/// The query string's parameters (`a=1&b=2`, percent-decoded).
type Raw = Result<Query<HashMap<String, String>>, QueryRejection>;

fn raw(q: Raw) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// `GET /api/v1/stats`.
pub async fn stats(State(state): State<AppState>) -> ApiResult<StatsJson> {
    let stats = read(&state, |r| Ok(r.stats()?)).await?;
    Ok(Json(StatsJson::new(
        stats,
        state.model_id.clone(),
        state.calibration.is_some(),
    )))
}

/// `GET /api/v1/cameras`.
pub async fn cameras(State(state): State<AppState>) -> ApiResult<Vec<CameraJson>> {
    let stored = read(&state, |r| Ok(r.cameras()?)).await?;
    Ok(Json(api::cameras_json(state.live.cameras(), &stored)))
}

/// A page of passages.
#[derive(Debug, Serialize, Deserialize)]
pub struct PassagePage {
    /// Newest first.
    pub passages: Vec<Passage>,
    /// `before` for the next page; absent on the last.
    pub next: Option<i64>,
}

/// `GET /api/v1/passages`.
pub async fn passages(State(state): State<AppState>, q: Raw) -> ApiResult<PassagePage> {
    let filter = PassageQuery::from_params(raw(q)?)?.filter()?;
    let limit = filter.limit;
    let rows = read(&state, move |r| Ok(r.passages(&filter)?)).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|p| p.id))
        .flatten();
    Ok(Json(PassagePage {
        passages: rows,
        next,
    }))
}

/// One passage with its pairs.
#[derive(Debug, Serialize, Deserialize)]
pub struct PassageDetail {
    /// The passage.
    pub passage: Passage,
    /// Candidates found for it when it arrived, by rank.
    pub candidates: Vec<PairJson>,
    /// Later passages that found it as their candidate.
    pub found_by: Vec<PairJson>,
}

fn id(p: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    p.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_request(format!("passage id: {}", e.body_text())))
}

/// `GET /api/v1/passages/{id}`.
pub async fn passage(
    State(state): State<AppState>,
    p: Result<Path<i64>, PathRejection>,
) -> ApiResult<PassageDetail> {
    let id = id(p)?;
    let (passage, candidates, found_by) = read(&state, move |r| {
        let passage = r
            .passage(id)?
            .ok_or_else(|| ApiError::not_found(format!("no passage {id}")))?;
        Ok((passage, r.candidates_of(id)?, r.found_by(id)?))
    })
    .await?;
    let cal = state.calibration.as_deref();
    Ok(Json(PassageDetail {
        passage,
        candidates: candidates.iter().map(|p| pair_json(p, cal)).collect(),
        found_by: found_by.iter().map(|p| pair_json(p, cal)).collect(),
    }))
}

/// `GET /api/v1/passages/{id}/thumbnail`: the JPEG the camera sent with the passage.
pub async fn thumbnail(
    State(state): State<AppState>,
    p: Result<Path<i64>, PathRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let id = id(p)?;
    let jpeg = read(&state, move |r| Ok(r.thumbnail(id)?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no thumbnail for passage {id}")))?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "image/jpeg"),
        (axum::http::header::CACHE_CONTROL, "private, max-age=86400"),
    ];
    Ok((headers, jpeg).into_response())
}

/// A page of match records.
#[derive(Debug, Serialize, Deserialize)]
pub struct MatchPage {
    /// Newest query first, then by rank.
    pub matches: Vec<PairJson>,
    /// `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// `GET /api/v1/matches`.
pub async fn matches(State(state): State<AppState>, q: Raw) -> ApiResult<MatchPage> {
    let filter = PairQuery::from_params(raw(q)?)?.filter(state.calibration.as_deref())?;
    let limit = filter.limit;
    let rows = read(&state, move |r| Ok(r.pairs(&filter)?)).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(cursor_after))
        .flatten();
    let cal = state.calibration.as_deref();
    Ok(Json(MatchPage {
        matches: rows.iter().map(|p| pair_json(p, cal)).collect(),
        next,
    }))
}

/// `GET /api/v1/matches/live`: server-sent events, one `match` event per match event
/// (the JSON of [`crate::events`]) from now on; `lagged` with a count when a slow reader
/// missed some.
pub async fn live(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.live.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(json) => Event::default().event("match").data(&*json),
            Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// One search result.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchHit {
    /// The stored passage.
    pub passage: Passage,
    /// CPDM distance to the uploaded image.
    pub distance: f32,
    /// Probability of the same vehicle (calibrated models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// Search results, nearest first.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchResults {
    /// Nearest first.
    pub results: Vec<SearchHit>,
    /// Decoding the image and running the model, milliseconds.
    pub inference_ms: f64,
    /// Reading the stored signatures and ranking them, milliseconds.
    pub search_ms: f64,
}

/// `POST /api/v1/search`: the body is a JPEG or PNG photograph of one vehicle.
pub async fn search(
    State(state): State<AppState>,
    q: Raw,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<SearchResults> {
    let k = api::Params::new(raw(q)?, &["k"])?
        .get("k", "a whole number")?
        .unwrap_or(10);
    if !(1..=api::MAX_LIMIT).contains(&k) {
        return Err(ApiError::bad_request(format!(
            "k {k} is not in 1..={}",
            api::MAX_LIMIT
        )));
    }
    let body = body.map_err(|e| ApiError {
        status: e.status(),
        message: format!("request body: {}", e.body_text()),
    })?;
    let engine = state.search.clone().map_err(|why| ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: why.to_string(),
    })?;
    let db = state.db.clone();
    let (hits, inference_ms, search_ms) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let crop = search::decode(&body)?;
        let sig = engine.signature(crop)?;
        let inference_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = std::time::Instant::now();
        let hits = search::nearest(&db, &sig, k)?;
        let reader = SqliteReader::open(&db)?;
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(p) = reader.passage(h.id)? {
                out.push((p, h.distance));
            }
        }
        Ok::<_, ApiError>((out, inference_ms, started.elapsed().as_secs_f64() * 1e3))
    })
    .await
    .map_err(|e| ApiError::internal("a search", &e))??;
    let cal = state.calibration.as_deref();
    Ok(Json(SearchResults {
        results: hits
            .into_iter()
            .map(|(passage, distance)| SearchHit {
                passage,
                distance,
                confidence: cal.map(|c| c.confidence(distance)),
            })
            .collect(),
        inference_ms,
        search_ms,
    }))
}

/// Anything else: 404 JSON.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such path {}", uri.path()))
}
