//! The address pre-check (PRE-1, PRE-2): customers see the band and the outcome only, staff
//! also see the categories and analyzers. Customers are rate-limited.

use super::guard::Viewer;
use super::views::{render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use custos_domain::{Address, Network};
use serde::Deserialize;

/// Pre-checks a customer may run per hour.
pub const CUSTOMER_CHECKS_PER_HOUR: i64 = 20;

pub struct CheckResult {
    pub address: String,
    /// The text key of the band, and the band for its colour.
    pub band: &'static str,
    pub band_class: &'static str,
    /// Staff: the text key of the policy's action. Customers: what would happen to a payment
    /// from this address, in their words.
    pub decision: &'static str,
    /// Staff only: one row per analyzer, as on a case.
    pub analyzers: Vec<super::office::AnalyzerRow>,
}

#[derive(Template)]
#[template(path = "precheck.html")]
struct PrecheckPage {
    f: Frame,
    /// (network, its name's text key)
    networks: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    result: Option<CheckResult>,
}

#[derive(Deserialize)]
pub struct PrecheckForm {
    network: String,
    address: String,
}

fn page(state: &AppState, v: &Viewer, office: bool) -> PrecheckPage {
    let back = if office { "/office/precheck" } else { "/cabinet/precheck" };
    PrecheckPage {
        f: Frame::new(v, office, back),
        networks: state
            .app
            .intake()
            .configured_networks()
            .into_iter()
            .map(|n| (n.as_str(), super::views::network_key(n)))
            .collect(),
        error: None,
        result: None,
    }
}

async fn check(state: &AppState, v: &Viewer, office: bool, form: PrecheckForm) -> Response {
    let mut p = page(state, v, office);
    let Some(auth) = &v.auth else { return render(StatusCode::UNAUTHORIZED, p) };
    if !office {
        let allowed = state.app.allow_customer_precheck(auth.account.id, CUSTOMER_CHECKS_PER_HOUR).await;
        if !matches!(allowed, Ok(true)) {
            p.error = Some(v.lang.t("rate_limited").into());
            return render(StatusCode::TOO_MANY_REQUESTS, p);
        }
    }
    let address = form
        .network
        .parse::<Network>()
        .map_err(|e| e.to_string())
        .and_then(|n| Address::parse(n, form.address.trim()).map_err(|e| e.to_string()));
    let address = match address {
        Ok(a) => a,
        Err(e) => {
            p.error = Some(e);
            return render(StatusCode::UNPROCESSABLE_ENTITY, p);
        }
    };
    match state.app.screening().screen_address(&address, &auth.actor()).await {
        Ok(s) => {
            let action = s.decision.action;
            p.result = Some(CheckResult {
                address: address.as_str().to_owned(),
                band: super::views::band_key(s.decision.band),
                band_class: s.decision.band.as_str(),
                decision: if office { action.as_str() } else { customer_outcome(action) },
                analyzers: if office { super::office::analyzer_rows(&s.reports, v.lang) } else { Vec::new() },
            });
            render(StatusCode::OK, p)
        }
        Err(e) => {
            p.error = Some(e.to_string());
            render(StatusCode::SERVICE_UNAVAILABLE, p)
        }
    }
}

/// What would happen to a customer's payment from the address, as a text key.
fn customer_outcome(action: custos_domain::Action) -> &'static str {
    use custos_domain::Action::*;
    match action {
        Proceed => "pc_proceed",
        Review => "pc_review",
        Hold => "pc_hold",
        Reject => "pc_reject",
    }
}

pub async fn cabinet_form(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    render(StatusCode::OK, page(&s, &v, false))
}
pub async fn cabinet_check(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<PrecheckForm>,
) -> Response {
    check(&s, &v, false, f).await
}
pub async fn office_form(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    render(StatusCode::OK, page(&s, &v, true))
}
pub async fn office_check(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<PrecheckForm>,
) -> Response {
    check(&s, &v, true, f).await
}
