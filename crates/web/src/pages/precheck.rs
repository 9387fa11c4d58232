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
    pub band: &'static str,
    pub decision: &'static str,
    pub details: Vec<String>,
}

#[derive(Template)]
#[template(path = "precheck.html")]
struct PrecheckPage {
    f: Frame,
    networks: Vec<&'static str>,
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
        networks: state.app.intake().configured_networks().into_iter().map(Network::as_str).collect(),
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
            let details = if office {
                s.reports
                    .iter()
                    .map(|r| {
                        let cats: Vec<String> = r.categories.iter().map(|c| c.category.as_str().to_owned()).collect();
                        format!("{}: {} {}", r.analyzer, r.band.map_or("—", |b| b.as_str()), cats.join(", "))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            p.result = Some(CheckResult {
                address: address.as_str().to_owned(),
                band: s.decision.band.as_str(),
                decision: s.decision.action.as_str(),
                details,
            });
            render(StatusCode::OK, p)
        }
        Err(e) => {
            p.error = Some(e.to_string());
            render(StatusCode::SERVICE_UNAVAILABLE, p)
        }
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
