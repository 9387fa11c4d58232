//! The staff back-office: the case queue and the staff list.

use super::guard::Viewer;
use super::views::{self, render, unavailable, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use custos_app::model::{CaseActionRequest, DecisionRequest, RequestKind};
use custos_app::queries::CaseFile;
use custos_app::{AppError, ErrorCode};
use custos_domain::access::{mask_email, Permission};
use custos_domain::status::{CaseStatus, DecisionStatus, RefundStatus, ReplyStatus};
use serde::Deserialize;
use uuid::Uuid;

/// The open appeals of orders (case id, due, overdue) and of suspensions (customer id, due,
/// overdue), for the queue.
pub async fn open_appeals(
    s: &AppState,
    now: i64,
    lang: super::i18n::Lang,
) -> (Vec<(String, String, bool)>, Vec<(String, String, bool)>) {
    let mut appeals = Vec::new();
    for a in s.app.appeals().open_appeals().await.unwrap_or_default() {
        if let Some(case) = latest_case(s, a.order_id).await {
            let due = format!("{} ({})", views::when(a.due_at_ms), views::countdown(a.due_at_ms, now, lang));
            appeals.push((case.to_string(), due, a.due_at_ms <= now));
        }
    }
    let mut standing_appeals = Vec::new();
    for a in s.app.appeals().open_standing_appeals().await.unwrap_or_default() {
        let customer = s.app.queries().customer_by_index(&a.email_index).await.ok().flatten();
        if let Some(c) = customer {
            let due = format!("{} ({})", views::when(a.due_at_ms), views::countdown(a.due_at_ms, now, lang));
            standing_appeals.push((c.id.to_string(), due, a.due_at_ms <= now));
        }
    }
    (appeals, standing_appeals)
}

pub struct CaseHead {
    pub id: String,
    pub number: i64,
    pub status: String,
    pub action: &'static str,
    pub reasons: String,
    pub due: String,
    pub overdue: bool,
}

pub struct ScreeningRow {
    pub band: &'static str,
    pub decision: &'static str,
    pub when: String,
    pub explanation: String,
    pub analyzers: Vec<(String, String, String)>,
}

pub struct RequestRow {
    pub id: String,
    pub kind_key: &'static str,
    pub status: String,
    pub message: String,
    pub due: String,
    pub answer: Option<String>,
    /// Answered by an API key on the customer's behalf (integration mode), not by the customer.
    pub by_key: bool,
    /// (id, name, type, size) of the documents sent with the answer.
    pub documents: Vec<(String, String, String, String)>,
}

pub struct DecisionRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub by: String,
    pub pending: bool,
    /// A refund this decision made: (id, amount less fee → address, due, still to send).
    pub refund: Option<(String, String, views::Due, bool)>,
}

pub struct OfficeAppealRow {
    pub id: String,
    pub text: String,
    pub open: bool,
    pub outcome: Option<String>,
    pub due: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    f: Frame,
    appeals: Vec<OfficeAppealRow>,
    /// (txid:index, amount, sources, received)
    deposits: Vec<(String, String, String, String)>,
    /// Addresses a refund may go to: the deposits' sources.
    sources: Vec<String>,
    assignee: String,
    /// (when, who, what) from the audit log.
    timeline: Vec<(String, String, String)>,
    customer_link: Option<String>,
    c: CaseHead,
    error: Option<String>,
    done: Option<String>,
    order_number: i64,
    order_status: &'static str,
    pay: String,
    customer: String,
    has_customer: bool,
    customer_revealed: bool,
    can_reveal: bool,
    can_decide: bool,
    can_approve: bool,
    needs_step_up: bool,
    screenings: Vec<ScreeningRow>,
    requests: Vec<RequestRow>,
    decisions: Vec<DecisionRow>,
}

/// What an action on the case page reports back.
#[derive(Default)]
struct Outcome {
    error: Option<String>,
    done: Option<String>,
    reveal: bool,
}

fn parse_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

async fn case_page(s: &AppState, v: &Viewer, id: Uuid, out: Outcome) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let CaseFile { case, order: view, requests, decisions } = match s.app.queries().case_file(id).await {
        Ok(f) => f,
        Err(AppError::NotFound { .. }) => return views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return unavailable(v, e),
    };
    let screenings = &view.screenings;
    let order = view.order.clone();
    let now = s.app.now_ms();
    let accounts = s.app.accounts();
    let customer_account = match &order.customer_email_index {
        Some(ix) => accounts.customer_by_index(ix).await.ok().flatten(),
        None => None,
    };
    let mut error = out.error;
    let mut customer_revealed = false;
    let customer = match &customer_account {
        Some(a) if out.reveal => match accounts.reveal_email(auth, a).await {
            Ok(email) => {
                customer_revealed = true;
                email
            }
            Err(e) => {
                error = Some(e.to_string());
                accounts.email_of(a).map(|e| mask_email(&e)).unwrap_or_default()
            }
        },
        Some(a) => accounts.email_of(a).map(|e| mask_email(&e)).unwrap_or_default(),
        None if order.has_customer_email => "***".into(),
        None => "—".into(),
    };
    let can_decide = auth.can(Permission::CasesDecide);
    let mut rows = Vec::new();
    for r in requests {
        // Answers are the customer's words: officers read them, and each reading is audited.
        let answer = if can_decide && r.status != ReplyStatus::Open {
            s.app.requests().read_answer(r.id, &auth.actor()).await.ok().flatten()
        } else {
            None
        };
        let documents = if can_decide {
            s.app
                .requests()
                .documents_of_request(r.id)
                .await
                .unwrap_or_default()
                .iter()
                .map(|d| {
                    let size = format!("{} KB", (d.size_bytes + 1023) / 1024);
                    (d.id.to_string(), s.app.requests().document_name(d), d.content_type.clone(), size)
                })
                .collect()
        } else {
            Vec::new()
        };
        rows.push(RequestRow {
            documents,
            by_key: r.status == ReplyStatus::Answered && !r.answered_by_customer(),
            id: r.id.to_string(),
            kind_key: super::cabinet::kind_key(r.kind),
            status: r.status.to_string(),
            message: r.message,
            due: format!("{} ({})", views::when(r.due_at_ms), views::countdown(r.due_at_ms, now, v.lang)),
            answer,
        });
    }
    let appeals = s.app.appeals().appeals_of_order(order.id).await.unwrap_or_default();
    let mut appeal_rows = Vec::new();
    for a in &appeals {
        // Only those who decide read the customer's words, and each reading is audited.
        let (text, outcome) = if can_decide {
            s.app.appeals().read_appeal(a, &auth.actor()).await.unwrap_or_default()
        } else {
            ("***".into(), None)
        };
        appeal_rows.push(OfficeAppealRow {
            id: a.id.to_string(),
            text,
            open: a.status == ReplyStatus::Open,
            outcome,
            due: format!("{} ({})", views::when(a.due_at_ms), views::countdown(a.due_at_ms, now, v.lang)),
        });
    }
    let mut entities: Vec<String> = vec![case.id.to_string(), order.id.to_string()];
    entities.extend(view.deposits.iter().map(|d| d.id.to_string()));
    entities.extend(rows.iter().map(|r| r.id.clone()));
    entities.extend(decisions.iter().map(|d| d.id.to_string()));
    entities.extend(appeals.iter().map(|a| a.id.to_string()));
    let timeline = s
        .app
        .queries()
        .timeline(&entities, 500)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| (views::when(e.at_ms), e.actor, e.action))
        .collect();
    let deposits = view
        .deposits
        .iter()
        .filter(|d| case.deposit_id.is_none_or(|id| id == d.id))
        .map(|d| {
            (
                format!("{}:{}", d.txid, d.index),
                views::amount(d.amount, d.asset, v.lang),
                d.sources.join(", "),
                views::when(d.received_at_ms),
            )
        })
        .collect();
    let mut sources: Vec<String> = view.deposits.iter().flat_map(|d| d.sources.clone()).collect();
    sources.dedup();
    let mut decision_rows = Vec::new();
    for d in &decisions {
        // An executed refund decision carries its refund; it is sent within REF-4's deadline.
        let refund_id = d.params.refund().map(|r| r.id);
        let refund = match refund_id {
            Some(rid) if d.status != DecisionStatus::Pending => s.app.payouts().get_refund(rid).await.ok().map(|r| {
                let net = r.amount.checked_sub(r.network_fee).unwrap_or(r.amount);
                let what = format!("{} → {}", views::amount(net, r.asset, v.lang), r.to_address);
                (r.id.to_string(), what, views::Due::new(r.due_at_ms, now, v.lang), r.status == RefundStatus::Pending)
            }),
            _ => None,
        };
        decision_rows.push(DecisionRow {
            id: d.id.to_string(),
            kind: format!("{:?}", d.kind).to_lowercase(),
            status: d.status.to_string(),
            by: d.requested_by.clone(),
            pending: d.status == DecisionStatus::Pending,
            refund,
        });
    }
    let page = CasePage {
        f: Frame::new(v, true, &format!("/office/cases/{id}")),
        deposits,
        sources,
        assignee: case.assignee.clone().unwrap_or_else(|| "—".into()),
        appeals: appeal_rows,
        timeline,
        customer_link: customer_account
            .as_ref()
            .filter(|_| auth.can(Permission::CustomersRead))
            .map(|a| format!("/office/customers/{}", a.id)),
        c: CaseHead {
            id: case.id.to_string(),
            number: case.number,
            status: case.status.to_string(),
            action: case.action.as_str(),
            reasons: case.reasons.iter().map(|r| r.describe()).collect::<Vec<_>>().join("; "),
            due: format!("{} ({})", views::when(case.due_at_ms), views::countdown(case.due_at_ms, now, v.lang)),
            overdue: case.status == CaseStatus::Open && case.due_at_ms <= now,
        },
        error,
        done: out.done,
        order_number: order.number,
        order_status: order.status.as_str(),
        pay: views::amount(order.pay_amount, order.pay_asset, v.lang),
        has_customer: customer_account.is_some(),
        customer,
        customer_revealed,
        can_reveal: auth.can(Permission::PersonalDataReveal),
        can_decide,
        can_approve: auth.can(Permission::DecisionsApprove),
        needs_step_up: !auth.stepped_up
            && (auth.can(Permission::DecisionsApprove) || auth.can(Permission::PersonalDataReveal)),
        screenings: screenings
            .iter()
            .map(|sc| ScreeningRow {
                band: sc.decision.band.as_str(),
                decision: sc.decision.action.as_str(),
                when: views::when(sc.created_at_ms),
                explanation: sc.decision.explanation(),
                analyzers: sc
                    .reports
                    .iter()
                    .map(|r| {
                        let cats: Vec<&str> = r.categories.iter().map(|c| c.category.as_str()).collect();
                        (r.analyzer.to_string(), r.band.map_or("—", |b| b.as_str()).to_owned(), cats.join(", "))
                    })
                    .collect(),
            })
            .collect(),
        requests: rows,
        decisions: decision_rows,
    };
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render(status, page)
}

pub async fn case(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    match parse_id(&id) {
        Some(id) => case_page(&s, &v, id, Outcome::default()).await,
        None => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    kind: String,
    /// Refunds: one of the deposit's sources, and the network fee in base units.
    #[serde(default)]
    to_address: String,
    #[serde(default)]
    network_fee: String,
}

pub async fn decide(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let request = match form.kind.as_str() {
        "release" => DecisionRequest::Release,
        "freeze" => DecisionRequest::Freeze,
        "refund" => match custos_domain::Amount::parse(form.network_fee.trim()) {
            Ok(network_fee) => DecisionRequest::Refund { to_address: form.to_address.trim().to_owned(), network_fee },
            Err(e) => {
                let error = Some(format!("network fee: {e}"));
                return case_page(&s, &v, id, Outcome { error, ..Default::default() }).await;
            }
        },
        _ => {
            return case_page(&s, &v, id, Outcome { error: Some("unknown decision".into()), ..Default::default() })
                .await
        }
    };
    let out = match s.app.cases().decide(id, request, &auth.actor()).await {
        Ok(d) if d.status == DecisionStatus::Pending => Outcome {
            done: Some("recorded: a senior officer must approve it (four eyes)".into()),
            ..Default::default()
        },
        Ok(d) => Outcome { done: Some(format!("decision {}", d.status)), ..Default::default() },
        Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
    };
    case_page(&s, &v, id, out).await
}

#[derive(Deserialize)]
pub struct RequestForm {
    kind: String,
    message: String,
}

pub async fn request(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<RequestForm>,
) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Some(kind) = RequestKind::parse(&form.kind) else {
        return case_page(&s, &v, id, Outcome { error: Some("unknown request kind".into()), ..Default::default() })
            .await;
    };
    let out = match s.app.requests().request_from_customer(id, kind, &form.message, &auth.actor()).await {
        Ok(_) => Outcome { done: Some("the request was sent to the customer".into()), ..Default::default() },
        Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
    };
    case_page(&s, &v, id, out).await
}

/// A second officer approves a decision (four eyes); needs a step-up.
pub async fn approve(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(Some(decision)) = s.app.queries().decision(id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let out = if !auth.stepped_up {
        Outcome { error: Some(v.lang.t("step_up").into()), ..Default::default() }
    } else {
        match s.app.cases().approve_decision(id, auth).await {
            Ok(d) => Outcome { done: Some(format!("decision {}", d.status)), ..Default::default() },
            Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
        }
    };
    case_page(&s, &v, decision.case_id, out).await
}

pub async fn reveal(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    match parse_id(&id) {
        Some(id) => case_page(&s, &v, id, Outcome { reveal: true, ..Default::default() }).await,
        None => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}

#[derive(Deserialize)]
pub struct StepUpForm {
    code: String,
    back: String,
}

/// Step-up: the TOTP code again; then back to the page it was asked from.
pub async fn step_up(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<StepUpForm>,
) -> Response {
    let (Some(auth), Some(token)) = (&v.auth, &v.token) else {
        return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired");
    };
    // The target is checked before the code is: a bad one records nothing.
    let Ok(back) = views::local_back(&form.back, "/office") else {
        return views::message(v.lang, StatusCode::BAD_REQUEST, "bad_request");
    };
    let back = back.unwrap_or_else(|| "/office".into());
    match s.app.accounts().step_up(auth, token, &form.code, &v.ip).await {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(_) => views::message(v.lang, StatusCode::UNAUTHORIZED, "bad_code"),
    }
}

pub struct CustomerRow {
    pub id: String,
    pub email: String,
    pub mfa: bool,
    pub confirmed: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    f: Frame,
    customers: Vec<CustomerRow>,
}

/// Customer accounts, e-mails masked.
pub async fn customers(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let accounts = s.app.accounts();
    let list = match s.app.queries().customers().await {
        Ok(l) => l,
        Err(e) => return unavailable(&v, e),
    };
    let customers = list
        .iter()
        .rev()
        .map(|a| CustomerRow {
            id: a.id.to_string(),
            email: accounts.email_of(a).map(|e| mask_email(&e)).unwrap_or_else(|_| "***".into()),
            mfa: a.mfa_enabled,
            confirmed: a.email_confirmed,
            created: views::when(a.created_at_ms),
        })
        .collect();
    render(StatusCode::OK, CustomersPage { f: Frame::new(&v, true, "/office/customers"), customers })
}

pub struct StandingAppealRow {
    pub id: String,
    pub text: String,
    pub outcome: Option<String>,
    pub due: String,
    pub open: bool,
    pub reinstated: bool,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    f: Frame,
    id: String,
    email: String,
    revealed: bool,
    error: Option<String>,
    can_reveal: bool,
    needs_step_up: bool,
    standing: String,
    mfa: bool,
    orders: Vec<super::cabinet::OrderRow>,
    verifications: Vec<super::kyc::VerificationRow>,
    /// Appeals of the customer's standing (texts only for who decides).
    standing_appeals: Vec<StandingAppealRow>,
    /// KYC-4: (brand, first6, last4, state, holder check's i18n key).
    cards: Vec<(&'static str, String, String, String, String)>,
    can_decide: bool,
    levels: Vec<String>,
    reasons: Vec<&'static str>,
}

async fn customer_page(s: &AppState, v: &Viewer, id: &str, reveal: bool) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let accounts = s.app.accounts();
    let account = match parse_id(id) {
        Some(id) => s.app.queries().customer(id).await.ok().flatten(),
        None => None,
    };
    let Some(account) = account else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let (mut email, mut revealed, mut error) =
        (accounts.email_of(&account).map(|e| mask_email(&e)).unwrap_or_default(), false, None);
    if reveal {
        match accounts.reveal_email(auth, &account).await {
            Ok(e) => (email, revealed) = (e, true),
            Err(e) => error = Some(e.to_string()),
        }
    }
    let standing = match s.app.queries().customer_status(&account.email_index).await {
        Ok(Some(st)) => format!("{st:?}").to_lowercase(),
        Ok(None) => "active".into(),
        Err(e) => return unavailable(v, e),
    };
    let orders = match s.app.queries().orders_of_customer(&account.email_index, 200).await {
        Ok(o) => o.into_iter().map(|o| super::cabinet::order_row(&o, v.lang)).collect(),
        Err(e) => return unavailable(v, e),
    };
    let list = s.app.kyc().verifications_of(&account.email_index).await.unwrap_or_default();
    let cards = match s.app.queries().cards_of(&account.email_index).await {
        Ok(c) => c
            .into_iter()
            .map(|c| {
                (c.brand.as_str(), c.first6, c.last4, c.state.as_str().to_owned(), format!("holder_{}", c.holder_check))
            })
            .collect(),
        Err(e) => return unavailable(v, e),
    };
    let mut standing_appeals = Vec::new();
    for a in s.app.appeals().standing_appeals_of(&account.email_index).await.unwrap_or_default() {
        let (text, outcome) = if auth.can(Permission::CasesDecide) {
            match s.app.appeals().read_standing_appeal(&a, &auth.actor()).await {
                Ok(t) => t,
                Err(e) => return unavailable(v, e),
            }
        } else {
            (String::new(), None)
        };
        standing_appeals.push(StandingAppealRow {
            id: a.id.to_string(),
            text,
            outcome,
            due: format!("{} ({})", views::when(a.due_at_ms), views::countdown(a.due_at_ms, s.app.now_ms(), v.lang)),
            open: a.status == ReplyStatus::Open,
            reinstated: a.reinstated,
        });
    }
    let page = CustomerPage {
        standing_appeals,
        cards,
        verifications: super::kyc::rows(s, &list, v.lang, auth.can(Permission::CasesDecide)).await,
        can_decide: auth.can(Permission::CasesDecide),
        levels: super::kyc::levels(),
        reasons: super::kyc::reasons(),
        f: Frame::new(v, true, &format!("/office/customers/{}", account.id)),
        id: account.id.to_string(),
        email,
        revealed,
        error,
        can_reveal: auth.can(Permission::PersonalDataReveal),
        needs_step_up: auth.can(Permission::PersonalDataReveal) && !auth.stepped_up,
        standing,
        mfa: account.mfa_enabled,
        orders,
    };
    render(StatusCode::OK, page)
}

pub async fn customer(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    customer_page(&s, &v, &id, false).await
}

pub async fn reveal_customer(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    customer_page(&s, &v, &id, true).await
}

/// Downloads a document an officer opens; each opening is audited.
pub async fn document(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    match s.app.requests().open_document(id, &auth.actor()).await {
        Ok((record, bytes)) => views::attachment(bytes, &record.content_type, &s.app.requests().document_name(&record)),
        Err(e) if e.error_code() == ErrorCode::DocumentNotFound => {
            views::message(v.lang, StatusCode::NOT_FOUND, "not_found")
        }
        Err(e) => unavailable(&v, e),
    }
}

#[derive(Deserialize)]
pub struct AppealAnswer {
    outcome: String,
}

/// An officer answers an appeal, from the case page of its order.
pub async fn answer_appeal(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<AppealAnswer>,
) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(Some(appeal)) = s.app.queries().appeal(id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let out = match s.app.appeals().answer_appeal(id, &form.outcome, &auth.actor()).await {
        Ok(()) => Outcome { done: Some("the appeal is answered; the customer was told".into()), ..Default::default() },
        Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
    };
    match latest_case(&s, appeal.order_id).await {
        Some(case) => case_page(&s, &v, case, out).await,
        None => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}

#[derive(Deserialize)]
pub struct StandingAnswer {
    outcome: String,
    #[serde(default)]
    reinstate: Option<String>,
}

/// An officer answers a customer's appeal of their standing, from the customer page.
pub async fn answer_standing_appeal(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<StandingAnswer>,
) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(Some(appeal)) = s.app.queries().standing_appeal(id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(Some(customer)) = s.app.queries().customer_by_index(&appeal.email_index).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let back = format!("/office/customers/{}", customer.id);
    match s.app.appeals().answer_standing_appeal(id, &form.outcome, form.reinstate.is_some(), &auth.actor()).await {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => views::text_notice(Frame::new(&v, true, &back), crate::problem::status_of(&e), e.to_string()),
    }
}

/// The most recent case of an order.
async fn latest_case(s: &AppState, order_id: Uuid) -> Option<Uuid> {
    s.app.queries().order(order_id).await.ok()?.cases.iter().max_by_key(|c| c.opened_at_ms).map(|c| c.id)
}

#[derive(Deserialize)]
pub struct ActForm {
    op: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    hours: String,
}

/// An officer's work on a case that does not move the order: take it, note, escalate to the
/// MLRO, extend the deadline (with a reason), close.
pub async fn act(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<ActForm>,
) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let request = match form.op.as_str() {
        "take" => Ok(CaseActionRequest::Assign(auth.actor())),
        "note" => Ok(CaseActionRequest::Note(form.text.clone())),
        "escalate" => Ok(CaseActionRequest::Escalate),
        "close" => Ok(CaseActionRequest::Close),
        "extend" => form
            .hours
            .trim()
            .parse::<u32>()
            .map(|hours| CaseActionRequest::Extend { hours, reason: form.text.clone() })
            .map_err(|_| "hours: a whole number".to_owned()),
        _ => Err("unknown action".to_owned()),
    };
    let out = match request {
        Ok(r) => match s.app.cases().case_action(id, r, &auth.actor()).await {
            Ok(_) => Outcome { done: Some(format!("{}: done", form.op)), ..Default::default() },
            Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
        },
        Err(e) => Outcome { error: Some(e), ..Default::default() },
    };
    case_page(&s, &v, id, out).await
}

#[derive(Deserialize)]
pub struct SentForm {
    txid: String,
}

/// Records the transaction that sent a refund back (REF-4).
pub async fn refund_sent(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<SentForm>,
) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(refund) = s.app.payouts().get_refund(id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let out = match s.app.payouts().refund_sent(id, form.txid.trim(), &auth.actor()).await {
        Ok(_) => Outcome { done: Some("the refund is recorded as sent".into()), ..Default::default() },
        Err(e) => Outcome { error: Some(e.to_string()), ..Default::default() },
    };
    match latest_case(&s, refund.order_id).await {
        Some(case) => case_page(&s, &v, case, out).await,
        None => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}
