//! The page: `hub/web/index.html` with its style sheet and script inlined, so one request
//! (with the token) gives everything; no external fonts, scripts or CDNs.

use std::sync::LazyLock;

use axum::response::Html;

static PAGE: LazyLock<String> = LazyLock::new(|| {
    include_str!("../../web/index.html")
        .replace("/*STYLE*/", include_str!("../../web/style.css"))
        .replace("/*SCRIPT*/", include_str!("../../web/app.js"))
});

/// `GET /`.
pub async fn index() -> Html<&'static str> {
    Html(PAGE.as_str())
}
