//! The register of authority requests (DISC-1) in the back-office: restricted to the MLRO's
//! permissions (the gate answers everyone else "no such page"). Register, verify the requester,
//! move the request along its life, approve by two people.

use super::guard::Viewer;
use super::views::{self, render, unavailable, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use custos_app::disclosures::{AuthorityRequest, NewAuthorityRequest};
use custos_app::AppError;
use custos_domain::disclosure::{AuthorityKind, DataCategory, Details, DisclosureState, Scope};
use serde::Deserialize;
use uuid::Uuid;

/// A request as a row of the register.
pub struct RegisterRow {
    pub id: String,
    pub number: i64,
    /// Text keys of the kind and state.
    pub kind: &'static str,
    pub state: &'static str,
    pub authority: String,
    pub received: String,
    pub due: views::Due,
    pub open: bool,
    pub emergency: bool,
}

/// A legal hold as the register lists it.
pub struct HoldRow {
    pub id: String,
    pub customer: String,
    pub reason: String,
    /// (when, by whom)
    pub placed: (String, String),
    /// (when, by whom, why), once released.
    pub released: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "disclosures.html")]
struct RegisterPage {
    f: Frame,
    rows: Vec<RegisterRow>,
    holds: Vec<HoldRow>,
    kinds: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "disclosure.html")]
struct RequestPage {
    f: Frame,
    r: RegisterRow,
    legal_basis: String,
    document_ref: String,
    freeze_requested: bool,
    non_disclosure_until: Option<String>,
    /// Scope: customers, addresses, transactions, period, category keys.
    customers: Vec<String>,
    addresses: Vec<String>,
    txids: Vec<String>,
    period: String,
    scope_categories: Vec<&'static str>,
    /// (channel, method, who, when)
    verification: Option<(String, String, String, String)>,
    approvals: Vec<String>,
    /// The outcome the first approver chose (text key).
    pending_outcome: Option<&'static str>,
    /// The moves offered: (state, text key).
    moves: Vec<(&'static str, &'static str)>,
    can_verify: bool,
    can_approve: bool,
    /// Approved (or produced): the records in scope can be downloaded.
    can_produce: bool,
    /// The last bundle's SHA-256, and the key bundles are signed with (hex).
    bundle_sha256: Option<String>,
    public_key: String,
    needs_step_up: Option<&'static str>,
    error: Option<String>,
    done: Option<&'static str>,
}

fn kind_key(k: AuthorityKind) -> &'static str {
    match k {
        AuthorityKind::LawEnforcement => "ak_law_enforcement",
        AuthorityKind::CourtOrder => "ak_court_order",
        AuthorityKind::Fiu => "ak_fiu",
        AuthorityKind::PaymentSystem => "ak_payment_system",
        AuthorityKind::CryptoPlatform => "ak_crypto_platform",
    }
}

fn state_key(s: DisclosureState) -> &'static str {
    match s {
        DisclosureState::Received => "dst_received",
        DisclosureState::Verifying => "dst_verifying",
        DisclosureState::LegalReview => "dst_legal_review",
        DisclosureState::Approved => "dst_approved",
        DisclosureState::PartlyApproved => "dst_partly_approved",
        DisclosureState::Rejected => "dst_rejected",
        DisclosureState::Produced => "dst_produced",
        DisclosureState::Closed => "dst_closed",
    }
}

fn category_key(c: DataCategory) -> &'static str {
    match c {
        DataCategory::Account => "dc_account",
        DataCategory::Transactions => "dc_transactions",
        DataCategory::Kyc => "dc_kyc",
        DataCategory::Communications => "dc_communications",
    }
}

fn row(r: &AuthorityRequest, now: i64, lang: super::i18n::Lang) -> RegisterRow {
    let rec = &r.record;
    RegisterRow {
        id: rec.id.to_string(),
        number: rec.number,
        kind: kind_key(rec.kind),
        state: state_key(rec.state),
        authority: r.details.authority.clone(),
        received: views::when(rec.received_at_ms),
        due: views::Due::new(rec.due_at_ms, now, lang),
        open: rec.state.is_open(),
        emergency: rec.emergency,
    }
}

async fn register_page(s: &AppState, v: &Viewer, error: Option<String>) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let list = match s.app.disclosures().list(auth).await {
        Ok(l) => l,
        Err(AppError::NotFound { .. }) => return views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return unavailable(v, e),
    };
    let holds = match s.app.disclosures().holds(auth).await {
        Ok(h) => h,
        Err(e) => return unavailable(v, e),
    };
    let names = super::queue::staff_names(&s.app.accounts().staff().await.unwrap_or_default(), s);
    let name = |actor: &str| super::queue::actor_name(actor, &names);
    let now = s.app.now_ms();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = RegisterPage {
        f: Frame::new(v, true, "/office/disclosures"),
        rows: list.iter().map(|r| row(r, now, v.lang)).collect(),
        holds: holds
            .into_iter()
            .map(|h| HoldRow {
                id: h.record.id.to_string(),
                customer: h.record.customer_masked.clone(),
                placed: (views::when(h.record.created_at_ms), name(&h.record.created_by)),
                released: h.record.released_at_ms.map(|at| {
                    let by = h.record.released_by.as_deref().map(name).unwrap_or_default();
                    (views::when(at), by, h.release_reason.clone().unwrap_or_default())
                }),
                reason: h.reason,
            })
            .collect(),
        kinds: AuthorityKind::ALL.iter().map(|k| (k.as_str(), kind_key(*k))).collect(),
        categories: DataCategory::ALL.iter().map(|c| (c.as_str(), category_key(*c))).collect(),
        error,
    };
    render(status, page)
}

pub async fn list(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    register_page(&s, &v, None).await
}

/// A UTC day (`2026-12-31`) as the form's date fields give it, at midnight.
fn day(field: &str, value: &str) -> Result<Option<i64>, String> {
    match value.trim() {
        "" => Ok(None),
        v => super::export::day_start(v).map(Some).ok_or_else(|| format!("{field}: a day written as 2026-12-31")),
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// The register form: every field as text; the categories repeat.
fn new_request(body: &[u8]) -> Result<NewAuthorityRequest, String> {
    let mut f = std::collections::HashMap::<String, String>::new();
    let mut categories = Vec::new();
    for (k, val) in form_urlencoded::parse(body) {
        if k == "category" {
            categories.push(DataCategory::parse(&val).ok_or("category: unknown")?);
        } else {
            f.insert(k.into_owned(), val.into_owned());
        }
    }
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let kind = AuthorityKind::parse(field("kind")).ok_or("kind: choose who asks")?;
    let received = day("received", field("received"))?.ok_or("received: the day the request came in")?;
    // Due at the end of its day.
    let due = day("due", field("due"))?.ok_or("due: the day the answer is due")? + custos_domain::figures::DAY_MS - 1;
    let scope = Scope {
        customers: lines(field("customers")),
        addresses: lines(field("addresses")),
        txids: lines(field("txids")),
        from_ms: day("from", field("from"))?,
        to_ms: day("to", field("to"))?.map(|t| t + custos_domain::figures::DAY_MS),
        categories,
    };
    Ok(NewAuthorityRequest {
        kind,
        details: Details {
            authority: field("authority").to_owned(),
            legal_basis: field("legal_basis").to_owned(),
            document_ref: field("document_ref").to_owned(),
            scope,
        },
        received_at_ms: received,
        due_at_ms: due,
        emergency: field("emergency") == "1",
        freeze_requested: field("freeze") == "1",
        non_disclosure_until_ms: day("non_disclosure_until", field("non_disclosure_until"))?,
    })
}

pub async fn register(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    axum::extract::RawForm(body): axum::extract::RawForm,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let new = match new_request(&body) {
        Ok(n) => n,
        Err(e) => return register_page(&s, &v, Some(e)).await,
    };
    match s.app.disclosures().register(auth, new).await {
        Ok(r) => Redirect::to(&format!("/office/disclosures/{}?done=dd_registered", r.record.id)).into_response(),
        Err(e) => register_page(&s, &v, Some(e.to_string())).await,
    }
}

/// The records an approved request covers, as JSON to hand over.
pub async fn records(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let (Some(auth), Ok(uuid)) = (&v.auth, Uuid::parse_str(&id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    match s.app.disclosures().produce(auth, uuid).await {
        Ok(p) => {
            let body = serde_json::to_string_pretty(&p).unwrap_or_default();
            views::attachment(body, "application/json", &format!("authority-request-{}-records.json", p.request_number))
        }
        Err(AppError::NotFound { .. }) => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => request_page(&s, &v, &id, Some(refusal(&e)), None).await,
    }
}

/// The signed disclosure bundle as a tar of its bag (`authority-request-N/…`); producing it marks
/// the request produced and keeps the bag's SHA-256 on it and in the audit log.
pub async fn bundle(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let (Some(auth), Ok(uuid)) = (&v.auth, Uuid::parse_str(&id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let bundle = match s.app.disclosures().bundle(auth, uuid).await {
        Ok(b) => b,
        Err(AppError::NotFound { .. }) => return views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return request_page(&s, &v, &id, Some(refusal(&e)), None).await,
    };
    let folder = format!("authority-request-{}", bundle.number);
    let mut tar = tar::Builder::new(Vec::new());
    let mtime = u64::try_from(s.app.now_ms() / 1000).unwrap_or(0);
    for f in &bundle.files {
        let mut header = tar::Header::new_ustar();
        header.set_size(f.bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        if let Err(e) = tar.append_data(&mut header, format!("{folder}/{}", f.path), f.bytes.as_slice()) {
            return unavailable(&v, e);
        }
    }
    let bytes = match tar.into_inner() {
        Ok(b) => b,
        Err(e) => return unavailable(&v, e),
    };
    views::attachment(bytes, "application/x-tar", &format!("{folder}.tar"))
}

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    reason: String,
}

/// Places a legal hold over a customer.
pub async fn place_hold(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<HoldForm>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    match s.app.disclosures().place_hold(auth, &f.customer, &f.reason).await {
        Ok(_) => Redirect::to("/office/disclosures#holds").into_response(),
        Err(e) => register_page(&s, &v, Some(e.to_string())).await,
    }
}

/// Releases a legal hold, with a reason.
pub async fn release_hold(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(f): Form<HoldForm>,
) -> Response {
    let (Some(auth), Ok(id)) = (&v.auth, Uuid::parse_str(&id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    match s.app.disclosures().release_hold(auth, id, &f.reason).await {
        Ok(()) => Redirect::to("/office/disclosures#holds").into_response(),
        Err(e) => register_page(&s, &v, Some(e.to_string())).await,
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

const DONE: &[&str] = &["dd_registered", "dd_moved", "dd_verified", "dd_approved"];

/// A refusal as the page answers it: its text and status.
fn refusal(e: &AppError) -> (String, StatusCode) {
    let status = match e {
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (e.to_string(), status)
}

async fn request_page(
    s: &AppState,
    v: &Viewer,
    id: &str,
    error: Option<(String, StatusCode)>,
    done: Option<&str>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let Ok(id) = Uuid::parse_str(id) else { return views::message(v.lang, StatusCode::NOT_FOUND, "not_found") };
    let r = match s.app.disclosures().get(auth, id).await {
        Ok(r) => r,
        Err(AppError::NotFound { .. }) => return views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return unavailable(v, e),
    };
    let names = super::queue::staff_names(&s.app.accounts().staff().await.unwrap_or_default(), s);
    let name = |actor: &str| super::queue::actor_name(actor, &names);
    let rec = &r.record;
    let scope = &r.details.scope;
    let period = match (scope.from_ms, scope.to_ms) {
        (None, None) => "—".to_owned(),
        (from, to) => format!(
            "{} – {}",
            from.map(views::day).unwrap_or_default(),
            to.map(|ms| views::day(ms - 1)).unwrap_or_default()
        ),
    };
    // What a manager may do next by hand: the approvals and verification have forms of their own.
    let moves = rec
        .state
        .next()
        .iter()
        .filter(|to| !to.needs_approvers() && **to != DisclosureState::LegalReview)
        .map(|to| (to.as_str(), state_key(*to)))
        .collect();
    let can_approve = auth.can(custos_domain::access::Permission::DisclosuresApprove)
        && rec.state == DisclosureState::LegalReview
        && rec.verification.is_some();
    let (error, status) = match error {
        Some((text, status)) => (Some(text), status),
        None => (None, StatusCode::OK),
    };
    let page = RequestPage {
        f: Frame::new(v, true, &format!("/office/disclosures/{id}")),
        r: row(&r, s.app.now_ms(), v.lang),
        legal_basis: r.details.legal_basis.clone(),
        document_ref: r.details.document_ref.clone(),
        freeze_requested: rec.freeze_requested,
        non_disclosure_until: rec.non_disclosure_until_ms.map(views::when),
        customers: scope.customers.clone(),
        addresses: scope.addresses.clone(),
        txids: scope.txids.clone(),
        period,
        scope_categories: scope.categories.iter().map(|c| category_key(*c)).collect(),
        verification: rec
            .verification
            .as_ref()
            .map(|x| (x.channel.clone(), x.method.clone(), name(&x.verified_by), views::when(x.verified_at_ms))),
        approvals: rec.approvals.iter().map(|a| name(a)).collect(),
        pending_outcome: rec.pending_outcome.map(state_key),
        moves,
        can_verify: rec.state == DisclosureState::Verifying,
        bundle_sha256: rec.bundle_sha256.clone(),
        public_key: s.app.disclosures().bundle_public_key(),
        can_produce: matches!(
            rec.state,
            DisclosureState::Approved | DisclosureState::PartlyApproved | DisclosureState::Produced
        ),
        can_approve,
        needs_step_up: (can_approve && !auth.stepped_up).then_some("step_up_disclosure"),
        error,
        done: done.and_then(|d| DONE.iter().find(|k| **k == d).copied()),
    };
    render(status, page)
}

pub async fn show(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    request_page(&s, &v, &id, None, q.done.as_deref()).await
}

/// After a change: back to the request, saying what was done.
async fn after(s: &AppState, v: &Viewer, id: &str, r: Result<AuthorityRequest, AppError>, done: &str) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/office/disclosures/{id}?done={done}")).into_response(),
        Err(AppError::NotFound { .. }) => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => request_page(s, v, id, Some(refusal(&e)), None).await,
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    to: String,
}

pub async fn advance(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Response {
    let (Some(auth), Ok(uuid)) = (&v.auth, Uuid::parse_str(&id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Some(to) = DisclosureState::parse(&form.to) else {
        return request_page(&s, &v, &id, Some(("unknown state".into(), StatusCode::UNPROCESSABLE_ENTITY)), None).await;
    };
    let r = s.app.disclosures().advance(auth, uuid, to).await;
    after(&s, &v, &id, r, "dd_moved").await
}

#[derive(Deserialize)]
pub struct VerifyForm {
    channel: String,
    method: String,
}

pub async fn verify(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let (Some(auth), Ok(uuid)) = (&v.auth, Uuid::parse_str(&id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let r = s.app.disclosures().verify(auth, uuid, &form.channel, &form.method).await;
    after(&s, &v, &id, r, "dd_verified").await
}

#[derive(Deserialize)]
pub struct ApproveForm {
    outcome: String,
}

pub async fn approve(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<ApproveForm>,
) -> Response {
    let (Some(auth), Ok(uuid)) = (&v.auth, Uuid::parse_str(&id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Some(outcome) = DisclosureState::parse(&form.outcome) else {
        return request_page(&s, &v, &id, Some(("unknown outcome".into(), StatusCode::UNPROCESSABLE_ENTITY)), None)
            .await;
    };
    let r = s.app.disclosures().approve(auth, uuid, outcome).await;
    after(&s, &v, &id, r, "dd_approved").await
}
