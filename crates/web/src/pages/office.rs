//! The staff back-office: the case queue and the staff list.

use super::guard::Viewer;
use super::views::{self, render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use custos_domain::access::mask_email;

pub struct CaseRow {
    pub id: String,
    pub number: i64,
    pub action: &'static str,
    pub reason: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    f: Frame,
    cases: Vec<CaseRow>,
}

pub struct StaffRow {
    pub email: String,
    pub role: &'static str,
    pub mfa: bool,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    f: Frame,
    staff: Vec<StaffRow>,
}

fn unavailable(v: &Viewer, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a back-office page failed");
    views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
}

/// The queue: open cases, the earliest deadline (so the overdue) first.
pub async fn dashboard(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let cases = match s.app.store().open_cases(500).await {
        Ok(c) => c,
        Err(e) => return unavailable(&v, e),
    };
    let now = s.app.now_ms();
    let cases = cases
        .into_iter()
        .map(|c| CaseRow {
            id: c.id.to_string(),
            number: c.number,
            action: c.action.as_str(),
            reason: c.reasons.iter().map(|r| r.describe()).collect::<Vec<_>>().join("; "),
            due: format!("{} ({})", views::when(c.due_at_ms), views::countdown(c.due_at_ms, now)),
            overdue: c.due_at_ms <= now,
        })
        .collect();
    render(StatusCode::OK, Dashboard { f: Frame::new(&v, true, "/office"), cases })
}

/// Staff accounts, e-mails masked.
pub async fn staff(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let accounts = s.app.accounts();
    let list = match accounts.staff().await {
        Ok(l) => l,
        Err(e) => return unavailable(&v, e),
    };
    let staff = list
        .iter()
        .map(|a| StaffRow {
            email: accounts.email_of(a).map(|e| mask_email(&e)).unwrap_or_else(|_| "***".into()),
            role: a.role.map_or("—", |r| r.as_str()),
            mfa: a.mfa_enabled,
            disabled: a.disabled,
        })
        .collect();
    render(StatusCode::OK, StaffPage { f: Frame::new(&v, true, "/office/staff"), staff })
}
