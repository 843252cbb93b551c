//! The access token: `Authorization: Bearer <token>`, or `?token=<token>` for what a
//! browser cannot send headers with (the event stream, image links). Compared in
//! constant time; never logged.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;

/// The token a request carries, from its header or its query string.
pub fn presented<'a>(authorization: Option<&'a str>, query: Option<&'a str>) -> Option<&'a str> {
    if let Some(t) = authorization.and_then(|h| h.strip_prefix("Bearer ")) {
        return Some(t.trim());
    }
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

/// Whether `presented` opens a hub whose token is `expected` (none: every request).
pub fn allows(expected: Option<&str>, presented: Option<&str>) -> bool {
    match (expected, presented) {
        (None, _) => true,
        (Some(e), Some(p)) => bool::from(e.as_bytes().ct_eq(p.as_bytes())),
        (Some(_), None) => false,
    }
}

/// Middleware: refuses requests without the configured token (401, JSON).
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = presented(header, request.uri().query());
    if allows(state.token.as_ref().map(|t| t.expose()), token) {
        return next.run(request).await;
    }
    if request.uri().path() == "/" {
        // A person opening the page: a form asking for the token, not JSON.
        return (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(super::page::TOKEN_FORM),
        )
            .into_response();
    }
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: "this hub needs its access token: Authorization: Bearer <token>, or \
                  ?token=<token>"
            .into(),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_or_query_token_opens_only_with_the_right_value() {
        let t = Some("0123456789abcdef");
        assert!(allows(None, None));
        assert!(allows(t, presented(Some("Bearer 0123456789abcdef"), None)));
        assert!(allows(
            t,
            presented(None, Some("camera=a/b&token=0123456789abcdef"))
        ));
        assert!(!allows(t, presented(Some("Bearer 0123456789abcdeX"), None)));
        assert!(!allows(t, presented(Some("Basic 0123456789abcdef"), None)));
        assert!(!allows(t, presented(None, Some("tokens=0123456789abcdef"))));
        assert!(!allows(t, presented(None, Some("token=0123"))));
        assert!(!allows(t, None));
    }
}
