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

/// What `GET /` answers without the token (status 401): a form that opens the page with it.
pub const TOKEN_FORM: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>spanreid hub</title></head><body style=\"font-family:system-ui,sans-serif;margin:3rem\">\
<h1>spanreid hub</h1><p>This hub needs its access token (<code>[http] token</code> in its \
configuration).</p><form method=\"get\" action=\"/\"><input name=\"token\" type=\"password\" \
size=\"40\" autofocus> <button>Open</button></form></body></html>";
