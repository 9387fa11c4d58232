//! The case queue, a work list (issue 15): each case with its number, age, customer (masked),
//! amount, network, score and band, categories, outcome, assignee by name and deadline; search,
//! filters, sort, pages of 50 and bulk assignment. Filtering, searching, sorting and counting
//! happen in one statement in the database.

use super::guard::Viewer;
use super::i18n::Lang;
use super::views::{self, render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use custos_app::accounts::records::AccountRecord;
use custos_app::model::{CaseActionRequest, QueueCounts, QueueQuery, QueueRow, QueueSort};
use custos_domain::access::{mask_email, Permission};
use custos_domain::status::CaseStatus;
use custos_domain::{Action, RiskCategory};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Cases on one page of the queue.
pub const PER_PAGE: i64 = 50;

/// What the queue's form and links carry, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct QueueParams {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub network: String,
    /// A staff account's id, or `mine`.
    #[serde(default)]
    pub assignee: String,
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub answered: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: String,
}

impl QueueParams {
    /// The query string of these parameters on another page.
    fn on_page(&self, page: i64) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("action", &self.action),
            ("category", &self.category),
            ("network", &self.network),
            ("assignee", &self.assignee),
            ("overdue", &self.overdue),
            ("answered", &self.answered),
            ("q", &self.q),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &page.to_string());
        s.finish()
    }

    fn page(&self) -> i64 {
        self.page.parse::<i64>().ok().filter(|p| (1..=100_000).contains(p)).unwrap_or(1)
    }
}

pub struct QueueLine {
    pub id: String,
    pub number: i64,
    pub order_number: i64,
    pub age: String,
    pub customer: String,
    pub amount: String,
    pub network: &'static str,
    pub score: String,
    pub band: &'static str,
    /// `low` … `critical`, for the band's colour.
    pub band_class: &'static str,
    /// The categories' names in the reader's language.
    pub categories: Vec<&'static str>,
    pub action: &'static str,
    pub assignee: String,
    pub due: views::Due,
    pub open: bool,
    /// The customer's answer: when, and when its review is due.
    pub answered: Option<(String, views::Due)>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    f: Frame,
    lines: Vec<QueueLine>,
    counts: QueueCounts,
    p: QueueParams,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
    /// The query of the CSV export of these filters.
    export: String,
    /// Staff who may be assigned cases: (id, e-mail).
    assignees: Vec<(String, String)>,
    /// (name, in the reader's language) of every category, for the filter.
    categories: Vec<(&'static str, &'static str)>,
    can_assign: bool,
    error: Option<&'static str>,
    /// Open appeals: (case id, due, overdue).
    appeals: Vec<(String, String, bool)>,
    /// Open appeals of a suspension: (customer id, due, overdue).
    standing_appeals: Vec<(String, String, bool)>,
}

/// How long ago, in days and hours: `3 d 4 h`, `5 h 10 min`.
fn age(opened_ms: i64, now_ms: i64, lang: Lang) -> String {
    views::duration((now_ms - opened_ms).max(0), lang)
}

/// The staff's names by actor (`staff:<id>` → e-mail).
pub fn staff_names(staff: &[AccountRecord], s: &AppState) -> HashMap<String, String> {
    staff.iter().filter_map(|a| s.app.accounts().email_of(a).ok().map(|e| (format!("staff:{}", a.id), e))).collect()
}

/// A person's name for an actor: staff by e-mail, anything else as it is.
pub fn actor_name(actor: &str, names: &HashMap<String, String>) -> String {
    names.get(actor).cloned().unwrap_or_else(|| actor.to_owned())
}

fn line(s: &AppState, r: &QueueRow, names: &HashMap<String, String>, now: i64, lang: Lang) -> QueueLine {
    let customer = match &r.customer {
        Some((id, enc)) => s.app.accounts().open_email(*id, enc).map(|e| mask_email(&e)).unwrap_or_default(),
        None if r.has_customer_email => lang.t("not_registered").to_owned(),
        None => "—".to_owned(),
    };
    QueueLine {
        id: r.case.id.to_string(),
        number: r.case.number,
        order_number: r.order_number,
        age: age(r.case.opened_at_ms, now, lang),
        customer,
        amount: views::amount(r.amount, r.asset, lang),
        network: views::network_key(r.network),
        score: r.score.map(|x| x.to_string()).unwrap_or_default(),
        band: r.band.map_or("", views::band_key),
        band_class: r.band.map_or("", |b| b.as_str()),
        categories: r.categories.iter().map(|c| lang.category(*c)).collect(),
        action: r.case.action.as_str(),
        assignee: r.case.assignee.as_deref().map(|a| actor_name(a, names)).unwrap_or_default(),
        due: views::Due::new(r.case.due_at_ms, now, lang),
        open: r.case.status == CaseStatus::Open,
        answered: r
            .answered_at_ms
            .zip(r.review_due_at_ms)
            .map(|(at, due)| (views::when(at), views::Due::new(due, now, lang))),
    }
}

/// The queue's query from its parameters; `me` is the viewer's actor (for "mine").
pub fn query_of(s: &AppState, p: &QueueParams, me: &str, now: i64) -> QueueQuery {
    let assignee = match p.assignee.as_str() {
        "" => None,
        "mine" => Some(me.to_owned()),
        id => Uuid::parse_str(id).ok().map(|id| format!("staff:{id}")),
    };
    QueueQuery {
        status: match p.status.as_str() {
            "closed" => Some(CaseStatus::Closed),
            "any" => None,
            _ => Some(CaseStatus::Open),
        },
        action: Action::parse(&p.action),
        category: p.category.parse().ok(),
        network: p.network.parse().ok(),
        assignee,
        due_before_ms: (p.overdue == "1").then_some(now),
        answered: p.answered == "1",
        search: s.app.queries().queue_search(&p.q),
        sort: QueueSort::parse(&p.sort).unwrap_or_default(),
        before_number: None,
        offset: (p.page() - 1) * PER_PAGE,
        limit: PER_PAGE,
    }
}

async fn queue_page(s: &AppState, v: &Viewer, p: QueueParams, error: Option<&'static str>) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let now = s.app.now_ms();
    let query = query_of(s, &p, &auth.actor(), now);
    let queries = s.app.queries();
    let (page, counts, staff) =
        match tokio::try_join!(queries.queue(&query), queries.queue_counts(now), s.app.accounts().staff()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the queue failed");
                return views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error");
            }
        };
    let names = staff_names(&staff, s);
    let lines = page.rows.iter().map(|r| line(s, r, &names, now, v.lang)).collect();
    let number = p.page();
    let pages = ((page.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let assignees = staff
        .iter()
        .filter(|a| !a.disabled && a.role.is_some_and(|r| r.can(Permission::CasesDecide)))
        .filter_map(|a| names.get(&format!("staff:{}", a.id)).map(|e| (a.id.to_string(), e.clone())))
        .collect();
    let (appeals, standing_appeals) = super::office::open_appeals(s, now, v.lang).await;
    let page = Dashboard {
        f: Frame::new(v, true, "/office"),
        lines,
        counts,
        prev: (number > 1).then(|| p.on_page(number - 1)),
        next: (number < pages).then(|| p.on_page(number + 1)),
        export: p.on_page(1),
        p,
        total: page.total,
        page: number,
        pages,
        assignees,
        categories: RiskCategory::ALL.iter().map(|c| (c.as_str(), v.lang.category(*c))).collect(),
        can_assign: auth.can(Permission::CasesDecide),
        error,
        appeals,
        standing_appeals,
    };
    render(if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK }, page)
}

/// The queue (open cases by default, the earliest deadline first).
pub async fn dashboard(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<QueueParams>,
) -> Response {
    queue_page(&s, &v, p, None).await
}

/// Assigns the ticked cases to one member of staff, then back to the queue as it was.
pub async fn bulk_assign(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    RawForm(body): RawForm,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let (mut cases, mut assignee, mut back) = (Vec::new(), None, String::new());
    for (k, val) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "case" => cases.extend(Uuid::parse_str(&val).ok()),
            "assignee" => assignee = Uuid::parse_str(&val).ok(),
            "back" => back = val.into_owned(),
            _ => {}
        }
    }
    let back = views::local_back(&back, "/office").ok().flatten().unwrap_or_else(|| "/office".to_owned());
    let staff = s.app.accounts().staff().await.unwrap_or_default();
    let target = assignee.and_then(|id| staff.iter().find(|a| a.id == id && !a.disabled));
    let params = || QueueParams::default();
    let Some(target) = target.filter(|a| a.role.is_some_and(|r| r.can(Permission::CasesDecide))) else {
        return queue_page(&s, &v, params(), Some("choose_assignee")).await;
    };
    if cases.is_empty() {
        return queue_page(&s, &v, params(), Some("choose_cases")).await;
    }
    let actor = format!("staff:{}", target.id);
    for id in cases {
        if let Err(e) = s.app.cases().case_action(id, CaseActionRequest::Assign(actor.clone()), &auth.actor()).await {
            tracing::warn!(error = %e, case = %id, "a case could not be assigned");
            return queue_page(&s, &v, params(), Some("assign_failed")).await;
        }
    }
    Redirect::to(&back).into_response()
}
