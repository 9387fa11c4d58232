//! Getting back into an account: "forgot password" and "resend confirmation" for customers, and
//! the page of a reset link for customers and staff (an admin sends staff theirs). The answer
//! to a request is the same for known and unknown addresses; links work once, for an hour.

use super::guard::Viewer;
use super::views::{self, notice, render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use custos_app::accounts::records::AccountKind;
use custos_app::accounts::AuthError;
use serde::Deserialize;

/// What a mailed link is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Reset,
    Confirmation,
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct AskPage {
    f: Frame,
    title: &'static str,
    intro: &'static str,
    action: &'static str,
}

fn ask_page(v: &Viewer, link: Link) -> Response {
    let (title, intro, action) = match link {
        Link::Reset => ("forgot_title", "forgot_intro", "/cabinet/forgot"),
        Link::Confirmation => ("resend_title", "resend_intro", "/cabinet/resend"),
    };
    render(StatusCode::OK, AskPage { f: Frame::new(v, false, action), title, intro, action })
}

pub async fn forgot_form(Extension(v): Extension<Viewer>) -> Response {
    ask_page(&v, Link::Reset)
}

pub async fn resend_form(Extension(v): Extension<Viewer>) -> Response {
    ask_page(&v, Link::Confirmation)
}

#[derive(Deserialize)]
pub struct EmailOnly {
    email: String,
}

pub async fn forgot(s: State<AppState>, v: Extension<Viewer>, f: Form<EmailOnly>) -> Response {
    send_link(s, v, f, Link::Reset).await
}

pub async fn resend(s: State<AppState>, v: Extension<Viewer>, f: Form<EmailOnly>) -> Response {
    send_link(s, v, f, Link::Confirmation).await
}

/// Throttled; then the same answer whether or not a mail went out.
async fn send_link(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<EmailOnly>,
    link: Link,
) -> Response {
    let f = Frame::new(&v, false, "/cabinet/login");
    let accounts = s.app.accounts();
    if accounts.mail_link_allowed(&v.ip, &form.email).await.is_err() {
        return notice(f, StatusCode::TOO_MANY_REQUESTS, "locked", None);
    }
    let sent = match link {
        Link::Reset => accounts.request_password_reset(AccountKind::Customer, &form.email).await,
        Link::Confirmation => accounts.resend_confirmation(&form.email).await,
    };
    if let Err(e) = sent {
        // Logged, not told: the answer must not differ for known addresses.
        tracing::error!(error = %e, "a mailed link could not be sent");
    }
    notice(f, StatusCode::OK, "link_on_its_way", Some(("/cabinet/login", "login")))
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    f: Frame,
    token: String,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

fn kind(staff: bool) -> AccountKind {
    if staff {
        AccountKind::Staff
    } else {
        AccountKind::Customer
    }
}

fn login_of(staff: bool) -> &'static str {
    if staff {
        "/office/login"
    } else {
        "/cabinet/login"
    }
}

/// The form of a reset link; the link is used up only when the new password is taken.
pub async fn reset_form<const STAFF: bool>(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let f = Frame::new(&v, STAFF, login_of(STAFF));
    match s.app.accounts().peek_reset(kind(STAFF), &q.token).await {
        Ok(Some(_)) => render(StatusCode::OK, ResetPage { f, token: q.token, error: None }),
        Ok(None) => notice(f, StatusCode::NOT_FOUND, "link_invalid", Some((login_of(STAFF), "login"))),
        Err(e) => {
            tracing::error!(error = %e, "a reset link could not be read");
            notice(f, StatusCode::SERVICE_UNAVAILABLE, "error", None)
        }
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
}

pub async fn reset<const STAFF: bool>(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<ResetForm>,
) -> Response {
    let f = Frame::new(&v, STAFF, login_of(STAFF));
    let accounts = s.app.accounts();
    match accounts.reset_password(kind(STAFF), &form.token, &form.password).await {
        Ok(()) => notice(f, StatusCode::OK, "password_reset_done", Some((login_of(STAFF), "login"))),
        // A weak password on a good link: the form again, the link still unused.
        Err(AuthError::Rejected(_)) if matches!(accounts.peek_reset(kind(STAFF), &form.token).await, Ok(Some(_))) => {
            let page = ResetPage { f, token: form.token, error: Some("weak_password") };
            render(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(AuthError::Rejected(_)) => {
            notice(f, StatusCode::NOT_FOUND, "link_invalid", Some((login_of(STAFF), "login")))
        }
        Err(e) => {
            tracing::error!(error = %e, "a password reset failed");
            views::notice(f, StatusCode::SERVICE_UNAVAILABLE, "error", None)
        }
    }
}
