//! Logging in, the second factor, MFA setup and logging out: the same steps for the cabinet
//! and the back-office, each with its own cookie and pages.

use super::guard::{clear_cookie, cookie_of, session_cookie, Viewer};
use super::views::{render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use custos_app::accounts::records::AccountKind;
use custos_app::accounts::{AuthError, LoginStep, MfaSetup};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    f: Frame,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    f: Frame,
    action: &'static str,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    pub f: Frame,
    pub error: Option<&'static str>,
    pub required: bool,
    pub enabled: bool,
    pub recovery_left: i64,
    pub setup: Option<MfaSetup>,
    /// The QR code of the setup's `otpauth://` URI, for the authenticator app to scan.
    pub qr: String,
    pub confirm_action: &'static str,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    f: Frame,
    codes: Vec<String>,
    next: &'static str,
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

fn office(kind: AccountKind) -> bool {
    kind == AccountKind::Staff
}

fn home(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Staff => "/office",
        AccountKind::Customer => "/cabinet",
    }
}

fn paths(kind: AccountKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        AccountKind::Staff => ("/office/login", "/office/login/code", "/office/mfa/confirm"),
        AccountKind::Customer => ("/cabinet/login", "/cabinet/login/code", "/cabinet/mfa/confirm"),
    }
}

/// A redirect that sets (or clears) the kind's session cookie.
fn with_cookie(mut r: Response, value: Option<&str>, kind: AccountKind) -> Response {
    let c = match value {
        Some(v) => session_cookie(cookie_of(kind), v),
        None => clear_cookie(cookie_of(kind)),
    };
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The text key and status of an authentication failure.
fn failure(e: &AuthError) -> (StatusCode, &'static str) {
    match e {
        AuthError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_login"),
        AuthError::BadCode => (StatusCode::UNAUTHORIZED, "bad_code"),
        AuthError::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, "locked"),
        AuthError::NoSession => (StatusCode::UNAUTHORIZED, "expired"),
        AuthError::Rejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_code"),
        AuthError::App(err) => {
            tracing::error!(error = %err, "authentication failed on our side");
            (StatusCode::SERVICE_UNAVAILABLE, "error")
        }
    }
}

fn show_login(v: &Viewer, kind: AccountKind) -> Response {
    let (login, _, _) = paths(kind);
    render(StatusCode::OK, LoginPage { f: Frame::new(v, office(kind), login), error: None })
}

async fn do_login(state: &AppState, v: &Viewer, kind: AccountKind, form: Credentials) -> Response {
    let accounts = state.app.accounts();
    let (login, code, _) = paths(kind);
    match accounts.login(kind, &form.email, &form.password, &v.ip, v.token.as_deref()).await {
        Ok((token, step)) => {
            let next = match step {
                LoginStep::Done => home(kind),
                LoginStep::Code => code,
                LoginStep::EnrolMfa => match kind {
                    AccountKind::Staff => "/office/mfa",
                    AccountKind::Customer => "/cabinet/mfa",
                },
            };
            with_cookie(Redirect::to(next).into_response(), Some(&token), kind)
        }
        Err(e) => {
            let (status, key) = failure(&e);
            render(status, LoginPage { f: Frame::new(v, office(kind), login), error: Some(key) })
        }
    }
}

fn show_code(v: &Viewer, kind: AccountKind) -> Response {
    let (_, code, _) = paths(kind);
    render(StatusCode::OK, CodePage { f: Frame::new(v, office(kind), code), action: code, error: None })
}

async fn do_code(state: &AppState, v: &Viewer, kind: AccountKind, form: CodeForm) -> Response {
    let (Some(auth), Some(token)) = (&v.auth, &v.token) else {
        return Redirect::to(paths(kind).0).into_response();
    };
    match state.app.accounts().complete_login(auth, token, &form.code, &v.ip).await {
        Ok(new) => with_cookie(Redirect::to(home(kind)).into_response(), Some(&new), kind),
        Err(e) => {
            let (status, key) = failure(&e);
            let (_, code, _) = paths(kind);
            render(status, CodePage { f: Frame::new(v, office(kind), code), action: code, error: Some(key) })
        }
    }
}

/// The MFA page: its state, the secret being set up, or a new one (`begin`, or always for
/// staff who have none yet).
async fn show_mfa(
    state: &AppState,
    v: &Viewer,
    kind: AccountKind,
    begin: bool,
    error: Option<&'static str>,
) -> Response {
    let Some(auth) = &v.auth else { return Redirect::to(paths(kind).0).into_response() };
    let accounts = state.app.accounts();
    let mut page = MfaPage {
        f: Frame::new(v, office(kind), &format!("{}/mfa", home(kind))),
        error,
        required: kind == AccountKind::Staff && !auth.account.mfa_enabled,
        enabled: auth.account.mfa_enabled,
        recovery_left: 0,
        setup: None,
        qr: String::new(),
        confirm_action: paths(kind).2,
    };
    if page.enabled {
        page.recovery_left = accounts.unused_recovery_codes(auth).await.unwrap_or(0);
        return render(StatusCode::OK, page);
    }
    let pending = match accounts.pending_mfa(&auth.account) {
        Ok(p) => p,
        Err(e) => return failure_page(v, kind, &AuthError::App(e)),
    };
    page.setup = match pending {
        Some(p) if !begin => Some(p),
        None if !begin && kind == AccountKind::Customer => None,
        _ => match accounts.begin_mfa(auth).await {
            Ok(s) => Some(s),
            Err(e) => return failure_page(v, kind, &e),
        },
    };
    page.qr = page.setup.as_ref().map(|s| super::views::qr_svg(&s.otpauth_uri)).unwrap_or_default();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render(status, page)
}

fn failure_page(v: &Viewer, kind: AccountKind, e: &AuthError) -> Response {
    let (status, key) = failure(e);
    super::views::notice(Frame::new(v, office(kind), home(kind)), status, key, None)
}

async fn do_confirm(state: &AppState, v: &Viewer, kind: AccountKind, form: CodeForm) -> Response {
    let (Some(auth), Some(token)) = (&v.auth, &v.token) else {
        return Redirect::to(paths(kind).0).into_response();
    };
    match state.app.accounts().confirm_mfa(auth, token, &form.code, &v.ip).await {
        Ok((new, codes)) => {
            let page = RecoveryPage { f: Frame::new(v, office(kind), home(kind)), codes, next: home(kind) };
            with_cookie(render(StatusCode::OK, page), Some(&new), kind)
        }
        // The secret being set up stays: show it again with the error.
        Err(e) => show_mfa(state, v, kind, false, Some(failure(&e).1)).await,
    }
}

async fn do_logout(state: &AppState, v: &Viewer, kind: AccountKind) -> Response {
    if let (Some(auth), Some(token)) = (&v.auth, &v.token) {
        if let Err(e) = state.app.accounts().logout(auth, token).await {
            tracing::error!(error = %e, "logout failed");
        }
    }
    with_cookie(Redirect::to(paths(kind).0).into_response(), None, kind)
}

// Handlers: `STAFF` picks the back-office (true) or the cabinet (false).

const fn side(staff: bool) -> AccountKind {
    if staff {
        AccountKind::Staff
    } else {
        AccountKind::Customer
    }
}

pub async fn login_form<const STAFF: bool>(Extension(v): Extension<Viewer>) -> Response {
    show_login(&v, side(STAFF))
}

pub async fn login<const STAFF: bool>(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<Credentials>,
) -> Response {
    do_login(&s, &v, side(STAFF), f).await
}

pub async fn code_form<const STAFF: bool>(Extension(v): Extension<Viewer>) -> Response {
    show_code(&v, side(STAFF))
}

pub async fn code<const STAFF: bool>(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<CodeForm>,
) -> Response {
    do_code(&s, &v, side(STAFF), f).await
}

/// The MFA page. Staff without MFA see a secret straight away: MFA is mandatory for them.
pub async fn mfa<const STAFF: bool>(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    show_mfa(&s, &v, side(STAFF), false, None).await
}

/// A customer starts setting up MFA.
pub async fn mfa_begin(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    show_mfa(&s, &v, AccountKind::Customer, true, None).await
}

pub async fn mfa_confirm<const STAFF: bool>(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<CodeForm>,
) -> Response {
    do_confirm(&s, &v, side(STAFF), f).await
}

pub async fn logout<const STAFF: bool>(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    do_logout(&s, &v, side(STAFF)).await
}
