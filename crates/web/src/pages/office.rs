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
    /// The text key of its status.
    pub status: &'static str,
    pub open: bool,
    pub action: &'static str,
    pub reasons: Vec<views::ReasonRow>,
    pub due: String,
    pub overdue: bool,
}

pub struct ScreeningRow {
    /// The text key of the band, and the band for its colour.
    pub band: &'static str,
    pub band_class: &'static str,
    pub decision: &'static str,
    pub when: String,
    /// Why the policy decided so.
    pub reasons: Vec<views::ReasonRow>,
    pub analyzers: Vec<AnalyzerRow>,
}

/// One analyzer's verdict on a screening, its reports taken together.
pub struct AnalyzerRow {
    pub name: String,
    pub score: String,
    /// The text key of the band, or empty.
    pub band: &'static str,
    /// Each category once, in the reader's language, with what it rests on.
    pub categories: Vec<CategoryChip>,
}

/// A category an analyzer found: its name, the label and source it rests on (names, not ours
/// to translate) and the facts (confidence, exposure, direct or not) in the reader's language.
#[derive(PartialEq)]
pub struct CategoryChip {
    pub name: &'static str,
    pub labels: String,
    pub facts: String,
}

/// The reports of a screening as one row per analyzer.
pub(super) fn analyzer_rows(reports: &[custos_domain::RiskReport], lang: super::i18n::Lang) -> Vec<AnalyzerRow> {
    /// One analyzer's reports so far: the highest score and band, the categories.
    struct Verdict {
        name: String,
        score: Option<custos_domain::RiskScore>,
        band: Option<custos_domain::RiskBand>,
        categories: Vec<CategoryChip>,
    }
    let mut verdicts: Vec<Verdict> = Vec::new();
    for r in reports {
        let i = match verdicts.iter().position(|x| x.name == r.analyzer) {
            Some(i) => i,
            None => {
                let name = r.analyzer.to_string();
                verdicts.push(Verdict { name, score: None, band: None, categories: Vec::new() });
                verdicts.len() - 1
            }
        };
        let verdict = &mut verdicts[i];
        verdict.score = verdict.score.max(r.score);
        verdict.band = verdict.band.max(r.band);
        for c in &r.categories {
            let labels = [c.label.as_deref().map(|l| format!("«{l}»")), c.source.as_deref().map(str::to_owned)];
            let mut facts = Vec::new();
            if let Some(conf) = c.confidence {
                facts.push(format!("{} {conf} %", lang.t("confidence")));
            }
            let direct = if c.direct { lang.t("direct") } else { lang.t("indirect") };
            facts.push(format!("{} {}, {direct}", lang.t("exposure"), c.exposure));
            let chip = CategoryChip {
                name: lang.category(c.category),
                labels: labels.into_iter().flatten().collect::<Vec<_>>().join(", "),
                facts: facts.join(", "),
            };
            if !verdict.categories.contains(&chip) {
                verdict.categories.push(chip);
            }
        }
    }
    verdicts
        .into_iter()
        .map(|v| AnalyzerRow {
            name: v.name,
            score: v.score.map(|x| x.to_string()).unwrap_or_default(),
            band: v.band.map_or("", views::band_key),
            categories: v.categories,
        })
        .collect()
}

pub struct RequestRow {
    pub id: String,
    pub kind_key: &'static str,
    /// The text key of its status.
    pub status: &'static str,
    pub message: String,
    pub due: String,
    /// The customer's answer: when, and when an officer must have reviewed it (SLA-2).
    pub answered: Option<(String, views::Due)>,
    pub answer: Option<String>,
    /// Answered by an API key on the customer's behalf (integration mode), not by the customer.
    pub by_key: bool,
    /// (id, name, type, size) of the documents sent with the answer.
    pub documents: Vec<(String, String, String, String)>,
}

pub struct DecisionRow {
    pub id: String,
    /// Text keys of its kind and status.
    pub kind: &'static str,
    pub status: &'static str,
    pub by: String,
    pub pending: bool,
    /// Why the officer decided so (none on decisions made before it was required).
    pub rationale: Option<String>,
    /// A refund this decision made: (id, amount less fee → address, due, still to send).
    pub refund: Option<(String, String, views::Due, bool)>,
}

/// A deposit on the case page, with explorer links where configured.
pub struct DepositRow {
    /// txid:index
    pub tx: String,
    pub tx_url: Option<String>,
    pub amount: String,
    /// Each source address with its link.
    pub sources: Vec<(String, Option<String>)>,
    pub when: String,
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
    deposits: Vec<DepositRow>,
    /// The order's deposit address, with its explorer link.
    deposit_address: (String, Option<String>),
    /// Addresses a refund may go to: the deposits' sources.
    sources: Vec<String>,
    assignee: String,
    /// A decision waits for a second officer: no other is offered.
    pending: bool,
    /// The funds are never released or refunded: only a freeze is offered.
    freeze_only: bool,
    /// The text key of the last decision in effect (for a closed case).
    outcome: &'static str,
    /// (when, who, what in words if it has them, the event's code) from the audit log.
    timeline: Vec<(String, String, Option<&'static str>, String)>,
    customer_link: Option<String>,
    c: CaseHead,
    error: Option<String>,
    done: Option<String>,
    order_number: i64,
    /// The text key of the order's status, in staff's words.
    order_status: &'static str,
    pay: String,
    /// The deposit's asset: a refund's network fee is typed in it.
    asset: String,
    customer: String,
    has_customer: bool,
    customer_revealed: bool,
    can_reveal: bool,
    can_decide: bool,
    can_approve: bool,
    /// The text key of what a step-up would allow here, when the viewer has none.
    needs_step_up: Option<&'static str>,
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
        None if order.has_customer_email => v.lang.t("not_registered").into(),
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
            status: match r.status {
                ReplyStatus::Open => "rs_open",
                ReplyStatus::Answered => "rs_answered",
            },
            answered: r
                .answered_at_ms
                .zip(r.review_due_at_ms)
                .filter(|_| r.answered_by_customer())
                .map(|(at, due)| (views::when(at), views::Due::new(due, now, v.lang))),
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
    let names = super::queue::staff_names(&accounts.staff().await.unwrap_or_default(), s);
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
        .map(|e| (views::when(e.at_ms), super::queue::actor_name(&e.actor, &names), v.lang.event(&e.action), e.action))
        .collect();
    let explorers = &s.explorers;
    let linked = |network, address: &str| (address.to_owned(), explorers.address(network, address));
    let deposits = view
        .deposits
        .iter()
        .filter(|d| case.deposit_id.is_none_or(|id| id == d.id))
        .map(|d| DepositRow {
            tx: format!("{}:{}", d.txid, d.index),
            tx_url: explorers.tx(d.network, &d.txid),
            amount: views::amount(d.amount, d.asset, v.lang),
            sources: d.sources.iter().map(|a| linked(d.network, a)).collect(),
            when: views::when(d.received_at_ms),
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
                let due = views::Due::new(r.due_at_ms, now, v.lang);
                (r.id.to_string(), what, due, r.status == RefundStatus::Pending)
            }),
            _ => None,
        };
        decision_rows.push(DecisionRow {
            id: d.id.to_string(),
            kind: decision_key(d.kind),
            status: match d.status {
                DecisionStatus::Pending => "ds_pending",
                DecisionStatus::Executed => "ds_executed",
            },
            by: super::queue::actor_name(&d.requested_by, &names),
            rationale: s.app.cases().rationale(d).unwrap_or_else(|e| {
                tracing::error!(error = %e, "a decision's rationale could not be read");
                None
            }),
            pending: d.status == DecisionStatus::Pending,
            refund,
        });
    }
    let page = CasePage {
        f: Frame::new(v, true, &format!("/office/cases/{id}")),
        deposits,
        deposit_address: linked(order.pay_network, &order.deposit_address),
        sources,
        assignee: case.assignee.as_deref().map_or_else(|| "—".into(), |a| super::queue::actor_name(a, &names)),
        pending: decisions.iter().any(|d| d.status == DecisionStatus::Pending),
        freeze_only: screenings.iter().any(|x| custos_domain::refund::never_refunded(&x.decision.categories).is_some()),
        outcome: decisions
            .iter()
            .rev()
            .find(|d| d.status == DecisionStatus::Executed)
            .map_or("no_decision", |d| decision_key(d.kind)),
        appeals: appeal_rows,
        timeline,
        customer_link: customer_account
            .as_ref()
            .filter(|_| auth.can(Permission::CustomersRead))
            .map(|a| format!("/office/customers/{}", a.id)),
        c: CaseHead {
            id: case.id.to_string(),
            number: case.number,
            status: match case.status {
                CaseStatus::Open => "cs_open",
                CaseStatus::Closed => "cs_closed",
            },
            open: case.status == CaseStatus::Open,
            action: case.action.as_str(),
            reasons: views::reason_rows(&case.reasons, v.lang),
            // A closed case has no countdown: its deadline is history.
            due: if case.status == CaseStatus::Open {
                format!("{} ({})", views::when(case.due_at_ms), views::countdown(case.due_at_ms, now, v.lang))
            } else {
                views::when(case.due_at_ms)
            },
            overdue: case.status == CaseStatus::Open && case.due_at_ms <= now,
        },
        error,
        done: out.done,
        order_number: order.number,
        order_status: staff_status_key(order.status),
        pay: views::amount(order.pay_amount, order.pay_asset, v.lang),
        asset: order.pay_asset.to_string(),
        has_customer: customer_account.is_some(),
        customer,
        customer_revealed,
        can_reveal: auth.can(Permission::PersonalDataReveal),
        can_decide,
        can_approve: auth.can(Permission::DecisionsApprove),
        needs_step_up: (!auth.stepped_up
            && (auth.can(Permission::DecisionsApprove) || auth.can(Permission::PersonalDataReveal)))
        .then_some("step_up"),
        screenings: screenings
            .iter()
            .map(|sc| ScreeningRow {
                band: views::band_key(sc.decision.band),
                band_class: sc.decision.band.as_str(),
                decision: sc.decision.action.as_str(),
                when: views::when(sc.created_at_ms),
                reasons: views::reason_rows(&sc.decision.reasons, v.lang),
                analyzers: analyzer_rows(&sc.reports, v.lang),
            })
            .collect(),
        requests: rows,
        decisions: decision_rows,
    };
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render(status, page)
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// What a form just did, as the redirect after it names it (`?done=done_…`); only those texts.
fn done_text(lang: super::i18n::Lang, key: Option<&str>) -> Option<String> {
    let key = key.filter(|k| DONE_KEYS.contains(k))?;
    Some(lang.t(key).to_owned())
}

/// The outcomes a case form reports after its redirect.
const DONE_KEYS: &[&str] = &[
    "done_request_sent",
    "done_four_eyes",
    "done_decided",
    "done_approved",
    "done_refund_sent",
    "done_take",
    "done_note",
    "done_extend",
    "done_escalate",
    "done_close",
];

/// After a form that changed the case: back to its page (a refresh never sends it again).
fn back_to_case(case: Uuid, done: &'static str) -> Response {
    Redirect::to(&format!("/office/cases/{case}?done={done}")).into_response()
}

pub async fn case(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> Response {
    match parse_id(&id) {
        Some(id) => {
            let out = Outcome { done: done_text(v.lang, q.done.as_deref()), ..Default::default() };
            case_page(&s, &v, id, out).await
        }
        None => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}

/// The text key of an order status in staff's words.
pub fn staff_status_key(status: custos_domain::OrderStatus) -> &'static str {
    use custos_domain::OrderStatus::*;
    match status {
        AwaitingDeposit => "os_awaiting_deposit",
        Confirming => "os_confirming",
        Screening => "os_screening",
        Accepted => "os_accepted",
        PayoutPending => "os_payout_pending",
        Completed => "os_completed",
        InReview => "os_in_review",
        OnHoldAwaitingCustomer => "os_on_hold_awaiting_customer",
        UnderReview => "os_under_review",
        Released => "os_released",
        RefundPending => "os_refund_pending",
        Refunded => "os_refunded",
        Frozen => "os_frozen",
        Rejected => "os_rejected",
        Expired => "os_expired",
    }
}

fn decision_key(kind: custos_domain::decision::DecisionKind) -> &'static str {
    use custos_domain::decision::DecisionKind::*;
    match kind {
        Release => "dk_release",
        Refund => "dk_refund",
        Freeze => "dk_freeze",
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    kind: String,
    /// Why: required with every decision.
    #[serde(default)]
    rationale: String,
    /// Refunds: one of the deposit's sources, and the network fee in whole units of the asset.
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
    let refused = |error: String| case_page(&s, &v, id, Outcome { error: Some(error), ..Default::default() });
    let rationale = match crate::dto::parse_rationale(&form.rationale) {
        Ok(r) => r,
        Err(e) => return refused(e).await,
    };
    let request = match form.kind.as_str() {
        "release" => DecisionRequest::Release,
        "freeze" => DecisionRequest::Freeze,
        "refund" => {
            // The fee is typed in whole units of the deposit's asset, as the page shows amounts.
            let asset = match s.app.queries().case_file(id).await {
                Ok(f) => f.order.order.pay_asset,
                Err(e) => return refused(e.to_string()).await,
            };
            match custos_domain::Amount::parse_whole_units(&form.network_fee, asset) {
                Ok(network_fee) => {
                    DecisionRequest::Refund { to_address: form.to_address.trim().to_owned(), network_fee }
                }
                Err(e) => return refused(format!("network fee: {e}")).await,
            }
        }
        _ => return refused("unknown decision".into()).await,
    };
    match s.app.cases().decide(id, request, &rationale, &auth.actor()).await {
        Ok(d) if d.status == DecisionStatus::Pending => back_to_case(id, "done_four_eyes"),
        Ok(_) => back_to_case(id, "done_decided"),
        Err(e) => refused(e.to_string()).await,
    }
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
    match s.app.requests().request_from_customer(id, kind, &form.message, &auth.actor()).await {
        Ok(_) => back_to_case(id, "done_request_sent"),
        Err(e) => case_page(&s, &v, id, Outcome { error: Some(e.to_string()), ..Default::default() }).await,
    }
}

/// A second officer approves a decision (four eyes); needs a step-up.
pub async fn approve(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let (Some(id), Some(auth)) = (parse_id(&id), &v.auth) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(Some(decision)) = s.app.queries().decision(id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let error = if !auth.stepped_up {
        v.lang.t("step_up").to_owned()
    } else {
        match s.app.cases().approve_decision(id, auth).await {
            Ok(_) => return back_to_case(decision.case_id, "done_approved"),
            Err(e) => e.to_string(),
        }
    };
    case_page(&s, &v, decision.case_id, Outcome { error: Some(error), ..Default::default() }).await
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
    /// The text key of what a step-up would allow here, when the viewer has none.
    needs_step_up: Option<&'static str>,
    /// The text key of the customer's standing.
    standing: &'static str,
    mfa: bool,
    orders: Vec<super::cabinet::OrderRow>,
    verifications: Vec<super::kyc::VerificationRow>,
    /// Appeals of the customer's standing (texts only for who decides).
    standing_appeals: Vec<StandingAppealRow>,
    /// KYC-4: (brand, first6, last4, state, holder check's i18n key).
    cards: Vec<(&'static str, String, String, String, String)>,
    can_decide: bool,
    /// (name, as the reader reads it)
    levels: Vec<(String, String)>,
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
        Ok(st) => match st.unwrap_or(custos_app::model::CustomerStatus::Active) {
            custos_app::model::CustomerStatus::Active => "cust_active",
            custos_app::model::CustomerStatus::Restricted => "cust_restricted",
            custos_app::model::CustomerStatus::Suspended => "cust_suspended",
        },
        Err(e) => return unavailable(v, e),
    };
    // The customer's orders in staff's words: the status as officers name it.
    let orders = match s.app.queries().orders_of_customer(&account.email_index, 200).await {
        Ok(o) => o
            .into_iter()
            .map(|o| super::cabinet::OrderRow {
                status_key: staff_status_key(o.status),
                ..super::cabinet::order_row(&o, v.lang)
            })
            .collect(),
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
        levels: super::kyc::levels(v.lang),
        reasons: super::kyc::reasons(),
        f: Frame::new(v, true, &format!("/office/customers/{}", account.id)),
        id: account.id.to_string(),
        email,
        revealed,
        error,
        can_reveal: auth.can(Permission::PersonalDataReveal),
        needs_step_up: (auth.can(Permission::PersonalDataReveal) && !auth.stepped_up).then_some("step_up_customer"),
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
    let done = match form.op.as_str() {
        "take" => "done_take",
        "note" => "done_note",
        "escalate" => "done_escalate",
        "close" => "done_close",
        _ => "done_extend",
    };
    let error = match request {
        Ok(r) => match s.app.cases().case_action(id, r, &auth.actor()).await {
            Ok(_) => return back_to_case(id, done),
            Err(e) => e.to_string(),
        },
        Err(e) => e,
    };
    case_page(&s, &v, id, Outcome { error: Some(error), ..Default::default() }).await
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
    let result = s.app.payouts().refund_sent(id, form.txid.trim(), &auth.actor()).await;
    match (latest_case(&s, refund.order_id).await, result) {
        (Some(case), Ok(_)) => back_to_case(case, "done_refund_sent"),
        (Some(case), Err(e)) => {
            case_page(&s, &v, case, Outcome { error: Some(e.to_string()), ..Default::default() }).await
        }
        (None, _) => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}
