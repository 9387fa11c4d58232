//! Who is asking (as the gate found them) and the headers every page carries: what the gate
//! and the pages share, so that neither imports the other for it.

use super::i18n::Lang;
use axum::http::HeaderValue;
use axum::response::Response;
use custos_app::accounts::Authenticated;

pub const LANG_COOKIE: &str = "custos_lang";

/// Who is asking, as the gate found it.
#[derive(Clone)]
pub struct Viewer {
    pub auth: Option<Authenticated>,
    /// The session token from the cookie (to rotate or revoke it).
    pub token: Option<String>,
    /// The CSRF token to put in this page's forms.
    pub csrf: String,
    pub lang: Lang,
    pub ip: String,
    /// The server's time when the request came in (deadlines count down from it).
    pub now_ms: i64,
}

/// The security headers of every page: a strict CSP without inline script, no framing, no
/// caching of personal pages, no referrer leaking tokens.
pub fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        // A page that set its own (stricter) value keeps it.
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}
