//! The pages' gate: every page names who may see it in [`PAGES`]; the session comes from a
//! `__Host-` cookie; every POST carries the session's CSRF token; every answer carries the
//! security headers.

use super::i18n::Lang;
pub use super::viewer::{secure, Viewer, LANG_COOKIE};
use super::{Access, PAGES};
use crate::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use custos_app::accounts::records::AccountKind;
use custos_app::accounts::Authenticated;

pub const STAFF_COOKIE: &str = "__Host-custos_staff";
pub const CUSTOMER_COOKIE: &str = "__Host-custos_customer";
/// Double-submit token for forms shown before a session exists (login, registration).
pub const PRE_COOKIE: &str = "__Host-custos_pre";
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A session cookie: `__Host-` (Secure, Path=/, no Domain), HttpOnly, SameSite=Strict.
pub fn session_cookie(name: &str, value: &str) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn kind_of(path: &str) -> AccountKind {
    if path.starts_with("/office") {
        AccountKind::Staff
    } else {
        AccountKind::Customer
    }
}

pub fn cookie_of(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Staff => STAFF_COOKIE,
        AccountKind::Customer => CUSTOMER_COOKIE,
    }
}

fn login_of(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Staff => "/office/login",
        AccountKind::Customer => "/cabinet/login",
    }
}

/// Whether `auth` may open a page with `access`.
pub fn allowed(access: Access, auth: Option<&Authenticated>) -> bool {
    match (access, auth) {
        (Access::Public, _) => true,
        (_, None) => false,
        (Access::Customer, Some(a)) => a.account.kind == AccountKind::Customer && a.is_full(),
        (Access::CustomerPending, Some(a)) => a.account.kind == AccountKind::Customer,
        (Access::StaffPending, Some(a)) => a.account.kind == AccountKind::Staff,
        (Access::Staff(None), Some(a)) => a.account.kind == AccountKind::Staff && a.is_full(),
        (Access::Staff(Some(p)) | Access::Restricted(p), Some(a)) => a.account.kind == AccountKind::Staff && a.can(p),
    }
}

/// The client's address: the connection's, or behind a trusted proxy the last hop it added.
fn client_ip(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        let last = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty());
        if let Some(ip) = last {
            return ip.to_owned();
        }
    }
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = req.method().clone();
    let chosen = cookie(req.headers(), LANG_COOKIE).and_then(Lang::parse);
    let lang = chosen.unwrap_or(Lang::En);
    let Some(page) = PAGES.iter().find(|p| p.path == path && p.method == method.as_str()) else {
        // Deny by default: a page without a rule is not served.
        return denied(super::views::message(lang, StatusCode::FORBIDDEN, "forbidden"));
    };
    let kind = kind_of(&path);
    let token = cookie(req.headers(), cookie_of(kind)).map(str::to_owned);
    let auth = match &token {
        Some(t) => match state.app.accounts().session(t).await {
            Ok(a) => a.filter(|a| a.account.kind == kind),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return secure(super::views::message(lang, StatusCode::SERVICE_UNAVAILABLE, "error"));
            }
        },
        None => None,
    };
    if !allowed(page.access, auth.as_ref()) {
        return denied(match (&auth, method == Method::GET) {
            (None, true) => Redirect::to(login_of(kind)).into_response(),
            (None, false) => super::views::message(lang, StatusCode::UNAUTHORIZED, "expired"),
            (Some(_), _) if matches!(page.access, Access::Restricted(_)) => {
                super::views::message(lang, StatusCode::NOT_FOUND, "not_found")
            }
            (Some(_), _) => super::views::message(lang, StatusCode::FORBIDDEN, "forbidden"),
        });
    }
    // Without a choice in this browser, a customer reads the language saved with their account.
    let lang = chosen.or_else(|| auth.as_ref().and_then(|a| Lang::parse(&a.account.locale))).unwrap_or(lang);
    let pre = cookie(req.headers(), PRE_COOKIE).map(str::to_owned);
    let (csrf, new_pre) = match (&auth, pre) {
        (Some(a), _) => (a.csrf.clone(), None),
        (None, Some(p)) if p.len() >= 32 => (p, None),
        (None, _) => {
            let p = custos_crypto::new_token();
            (p.clone(), Some(p))
        }
    };
    let ip = client_ip(&req, state.trust_forwarded_for);
    let req = if method == Method::POST {
        let upload = UPLOAD_PAGES.iter().find(|(p, ..)| *p == path);
        let (limit, too_large) = upload.map_or((state.max_body_bytes, "too_large_form"), |&(_, l, m)| (l, m));
        match check_csrf(req, &csrf, limit).await {
            Ok(r) => r,
            Err(FormRefusal::TooLarge) => {
                return denied(super::views::message(lang, StatusCode::PAYLOAD_TOO_LARGE, too_large))
            }
            Err(FormRefusal::Csrf) => return denied(super::views::message(lang, StatusCode::FORBIDDEN, "csrf")),
        }
    } else {
        req
    };
    let mut req = req;
    req.extensions_mut().insert(Viewer { auth, token, csrf, lang, ip, now_ms: state.app.now_ms() });
    let mut response = next.run(req).await;
    if let Some(p) = new_pre {
        if let Ok(v) = HeaderValue::from_str(&session_cookie(PRE_COOKIE, &p)) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    secure(response)
}

/// Marks a refusal by the gate (not by the page), for monitoring and the authorisation tests.
pub const DENIED_HEADER: &str = "x-custos-denied";

fn denied(response: Response) -> Response {
    let mut r = secure(response);
    r.headers_mut().insert(DENIED_HEADER, HeaderValue::from_static("1"));
    r
}

/// Room for a form's text fields and multipart framing beside its files.
const FORM_OVERHEAD_BYTES: usize = 64 * 1024;
/// An answer to a request: up to five documents of 5 MB.
pub const ANSWER_UPLOAD_BYTES: usize =
    custos_app::documents::MAX_FILES * custos_app::documents::MAX_FILE_BYTES + FORM_OVERHEAD_BYTES;
/// One verification document of 5 MB.
pub const KYC_UPLOAD_BYTES: usize = custos_app::documents::MAX_FILE_BYTES + FORM_OVERHEAD_BYTES;
/// The largest form any page takes: the body limit of the pages, applied before the gate reads
/// the form (each page's own limit is then enforced by the gate).
pub const MAX_UPLOAD_BYTES: usize = ANSWER_UPLOAD_BYTES;

/// Pages whose forms carry files (multipart), how large such a form may be, and the message
/// that names the limit when it is larger.
pub const UPLOAD_PAGES: &[(&str, usize, &str)] = &[
    ("/cabinet/requests/{id}/answer", ANSWER_UPLOAD_BYTES, "too_large"),
    ("/cabinet/kyc/{id}/documents", KYC_UPLOAD_BYTES, "too_large_document"),
];

/// Why the gate refused a form.
enum FormRefusal {
    /// Larger than the page takes.
    TooLarge,
    /// No CSRF token, or the wrong one.
    Csrf,
}

/// The `csrf` field of a multipart form.
async fn multipart_csrf(parts: &axum::http::request::Parts, bytes: &axum::body::Bytes) -> Option<String> {
    use axum::extract::FromRequest;
    let req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
    let mut form = axum::extract::Multipart::from_request(req, &()).await.ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// Reads the form, compares its `csrf` field with the expected token in constant time, and
/// puts the body back for the handler.
async fn check_csrf(req: Request, expected: &str, limit: usize) -> Result<Request, FormRefusal> {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, limit).await.map_err(|_| FormRefusal::TooLarge)?;
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let sent = if multipart {
        multipart_csrf(&parts, &bytes).await
    } else {
        form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned())
    };
    let ok = sent.is_some_and(|s| {
        s.len() == expected.len() && s.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(FormRefusal::Csrf)
    }
}
