//! Errors of the HTTP API: a status code and a message, sent as JSON
//! ([`super::api::ErrorJson`]).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::api::ErrorJson;
use crate::error::StoreError;

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// Status code.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// 400: the request is malformed; `message` names the parameter.
    pub fn bad_request(message: String) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }

    /// 404: nothing under that name.
    pub fn not_found(message: String) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message,
        }
    }

    /// 500: the hub failed; the details go to the log, not to the client.
    pub fn internal(what: &str, e: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %spanreid_service::report::error_line(e), "HTTP API: {what}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("{what} failed; see the hub's log"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal("reading the database", &e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorJson::new(self.status, self.message))).into_response()
    }
}
