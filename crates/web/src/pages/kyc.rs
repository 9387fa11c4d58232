//! Verifications in the pages: the customer sees what is asked, its deadline and what to fix,
//! and starts the provider's check; officers request a level and, without a provider, decide.

use super::guard::Viewer;
use super::i18n::Lang;
use super::views::{self, render, Due, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use custos_app::kyc::{level_steps, ReviewDecision, VerificationUpload};
use custos_app::model::VerificationRecord;
use custos_domain::kyc::{Level, RejectReason, Step, StepFinding, VerificationState};
use serde::Deserialize;
use uuid::Uuid;

/// A verification as a page shows it.
pub struct VerificationRow {
    pub id: String,
    pub level: String,
    pub provider: String,
    pub state_key: &'static str,
    pub open: bool,
    pub due: Due,
    pub labels: String,
    /// Our findings among the labels (an officer's), as text keys the customer can read:
    /// (the step's short name, if any; the reason).
    pub reasons: Vec<(Option<String>, &'static str)>,
    /// The steps of the level, for a reviewer's per-step findings.
    pub steps: Vec<&'static str>,
    /// What the customer is told to fix.
    pub comment: Option<String>,
    /// The customer can start (or restart) the provider's check.
    pub startable: bool,
    /// An officer can decide it (no provider, not final).
    pub reviewable: bool,
    /// For the reviewing officer: the documents sent.
    pub files: Vec<FileRow>,
    /// For the reviewing officer: what the A4 sheet must show.
    pub sheet: String,
    /// The level asks for an identity document: approving it records the name (KYC-4).
    pub needs_name: bool,
}

/// A document sent for a verification, without its content.
pub struct FileRow {
    pub id: String,
    pub step: &'static str,
    /// The i18n key of the document kind the customer named, or "".
    pub kind: String,
    pub content_type: String,
    pub size: String,
    pub issued_on: String,
}

impl FileRow {
    fn of(f: &custos_app::model::VerificationFile) -> FileRow {
        FileRow {
            id: f.id.to_string(),
            step: f.step.as_str(),
            kind: f.document_kind.clone().unwrap_or_default(),
            content_type: f.content_type.clone(),
            size: format!("{} KB", (f.size_bytes + 1023) / 1024),
            issued_on: f.issued_on.clone().unwrap_or_default(),
        }
    }
}

/// Lists a verification's documents (their descriptions only).
async fn file_rows(s: &AppState, id: Uuid) -> Vec<FileRow> {
    s.app.kyc().verification_files(id).await.unwrap_or_default().iter().map(FileRow::of).collect()
}

pub fn state_key(s: VerificationState) -> &'static str {
    match s {
        VerificationState::Requested => "kyc_requested",
        VerificationState::InProgress => "kyc_in_progress",
        VerificationState::OnHold => "kyc_on_hold",
        VerificationState::Resubmission => "kyc_resubmission",
        VerificationState::Verified => "kyc_verified",
        VerificationState::Failed => "kyc_failed",
    }
}

/// The verifications as rows; `office` adds the documents and the A4 checklist for reviewers.
pub async fn rows(s: &AppState, list: &[VerificationRecord], lang: Lang, office: bool) -> Vec<VerificationRow> {
    let now_ms = s.app.now_ms();
    let mut out = Vec::with_capacity(list.len());
    for v in list {
        let open = !v.state.is_final();
        let (files, sheet) = if office && v.provider == "manual" {
            let files = file_rows(s, v.id).await;
            let sheet = match s.app.kyc().sheet_checklist(v).await {
                Ok(c) => format!("{} · № {} · {}", c.date, c.order_number, c.site_name),
                Err(_) => String::new(),
            };
            (files, sheet)
        } else {
            (Vec::new(), String::new())
        };
        out.push(VerificationRow {
            id: v.id.to_string(),
            level: lang.level(&v.level),
            provider: v.provider.clone(),
            state_key: state_key(v.state),
            open,
            due: Due::new(v.due_at_ms, now_ms, lang),
            labels: v.reject_labels.join(", "),
            reasons: v
                .reject_labels
                .iter()
                .filter_map(|l| StepFinding::parse(l))
                .map(|f| (f.step.map(|s| format!("step_{}", s.as_str())), f.reason.as_str()))
                .collect(),
            steps: level_steps(&v.level).into_iter().map(|s| s.as_str()).collect(),
            comment: s.app.kyc().verification_comment(v),
            // SumSub's widget, or our upload form when officers review.
            startable: matches!(
                v.state,
                VerificationState::Requested | VerificationState::Resubmission | VerificationState::OnHold
            ) && (v.provider == "manual" || v.state != VerificationState::OnHold),
            reviewable: v.provider == "manual" && open,
            files,
            sheet,
            needs_name: level_steps(&v.level).contains(&custos_domain::kyc::Step::Identity),
        });
    }
    out
}

#[derive(Template)]
#[template(path = "kyc_start.html")]
struct StartPage {
    f: Frame,
    token: String,
    level: String,
}

/// The provider's check, embedded: the page loads SumSub's WebSDK, which our script starts
/// with a short-lived token bound to this customer and level.
pub async fn start(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let list = s.app.kyc().verifications_of(&auth.account.email_index).await.unwrap_or_default();
    let Some(ver) = Uuid::parse_str(&id).ok().and_then(|id| list.into_iter().find(|x| x.id == id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    if ver.provider == "manual" {
        return upload_page(&s, &v, &ver, None).await;
    }
    match s.app.kyc().kyc_sdk_token(&ver).await {
        Ok(token) => {
            let page = StartPage { f: Frame::new(&v, false, "/cabinet"), token, level: v.lang.level(&ver.level) };
            let mut r = render(StatusCode::OK, page);
            // This page alone may load SumSub's widget and frame.
            let csp =
                "default-src 'none'; script-src 'self' https://static.sumsub.com; style-src 'self' 'unsafe-inline'; \
                       img-src 'self' data: https:; connect-src https://*.sumsub.com; frame-src https://*.sumsub.com; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            r.headers_mut().insert("content-security-policy", HeaderValue::from_static(csp));
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, "a verification could not be started");
            views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
        }
    }
}

/// The customer starts a verification themselves (to appeal, say), or goes on with the open one.
pub async fn start_own(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    match s.app.kyc().start_own_verification(&auth.account.email_index, &auth.actor()).await {
        Ok(ver) => Redirect::to(&format!("/cabinet/kyc/{}", ver.id)).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "a customer could not start a verification");
            views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
        }
    }
}

#[derive(Deserialize)]
pub struct RequestForm {
    level: String,
    /// The order the verification is for (its number goes on the A4 sheet), if any.
    #[serde(default)]
    order: String,
}

/// An officer asks a customer for a verification level.
pub async fn request(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(form): Form<RequestForm>,
) -> Response {
    let (Some(auth), Some(id)) = (&v.auth, Uuid::parse_str(&id).ok()) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let Ok(Some(customer)) = s.app.queries().customer(id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let order = match Uuid::parse_str(form.order.trim()) {
        Ok(o) => match s.app.queries().order(o).await {
            Ok(view) if view.order.customer_email_index.as_deref() == Some(customer.email_index.as_str()) => Some(o),
            _ => return views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
        },
        Err(_) => None,
    };
    match s.app.kyc().request_verification(&customer.email_index, order, &form.level, &auth.actor()).await {
        Ok(_) => Redirect::to(&format!("/office/customers/{id}")).into_response(),
        Err(e) => views::text_notice(
            Frame::new(&v, true, &format!("/office/customers/{id}")),
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
        ),
    }
}

/// An officer decides a verification without a provider: approve, ask again, or refuse. The
/// form carries `decision`, `identity_name`, and the findings: `reason_<step>` per step, or
/// `reason` for all of it.
pub async fn review(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or_default();
    let (Some(auth), Some(id), Some(customer)) =
        (&v.auth, Uuid::parse_str(&id).ok(), Uuid::parse_str(field("customer")).ok())
    else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let back = format!("/office/customers/{customer}");
    let Ok(Some(account)) = s.app.queries().customer(customer).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let findings: Vec<StepFinding> = fields
        .iter()
        .filter_map(|(k, r)| {
            let step = match k.strip_prefix("reason_") {
                Some(st) => Some(Step::parse(st)?),
                None if k == "reason" => None,
                None => return None,
            };
            Some(StepFinding { step, reason: RejectReason::parse(r.trim())? })
        })
        .collect();
    let refuse =
        |text: &str| views::text_notice(Frame::new(&v, true, &back), StatusCode::UNPROCESSABLE_ENTITY, text.to_owned());
    let decision = match field("decision") {
        "approve" if findings.is_empty() => {
            ReviewDecision::Approve { identity_name: Some(field("identity_name").to_owned()).filter(|n| !n.is_empty()) }
        }
        "approve" => return refuse("a step has a reason: ask again or refuse"),
        _ if findings.is_empty() => return refuse("choose a reason for a refusal"),
        "retry" => ReviewDecision::Retry(findings),
        "reject" => ReviewDecision::Reject(findings),
        _ => return refuse("choose a decision"),
    };
    match s.app.kyc().review_verification(id, &account.email_index, decision, &auth.actor()).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => views::text_notice(Frame::new(&v, true, &back), crate::problem::status_of(&e), e.to_string()),
    }
}

/// The levels and reasons a form offers.
/// (name, as the reader reads it)
pub fn levels(lang: Lang) -> Vec<(String, String)> {
    Level::defaults()
        .into_iter()
        .map(|l| {
            let shown = lang.level(&l.name);
            (l.name, shown)
        })
        .collect()
}

pub fn reasons() -> Vec<&'static str> {
    RejectReason::ALL.iter().map(|r| r.as_str()).collect()
}

#[derive(Template)]
#[template(path = "kyc_upload.html")]
struct UploadPage {
    f: Frame,
    id: String,
    level: String,
    /// Each step the level asks for with the documents it accepts (KYC-1, KYC-3).
    steps: Vec<(&'static str, Vec<&'static str>)>,
    /// KYC-4: the card whose photo is asked for, masked.
    card: Option<String>,
    checklist: custos_domain::kyc::SheetChecklist,
    sent: Vec<FileRow>,
    error: Option<String>,
    comment: Option<String>,
}

/// The customer's form to send each step's document when officers review.
async fn upload_page(s: &AppState, v: &Viewer, ver: &VerificationRecord, error: Option<String>) -> Response {
    let steps = level_steps(&ver.level).into_iter().map(|s| (s.as_str(), s.document_kinds())).collect();
    let card = s
        .app
        .queries()
        .cards_of(&ver.email_index)
        .await
        .unwrap_or_default()
        .first()
        .map(|c| format!("{} {}······{}", c.brand.as_str(), c.first6, c.last4));
    let checklist = match s.app.kyc().sheet_checklist(ver).await {
        Ok(c) => c,
        Err(e) => {
            return views::text_notice(Frame::new(v, false, "/cabinet"), StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    };
    let sent = file_rows(s, ver.id).await;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = UploadPage {
        f: Frame::new(v, false, &format!("/cabinet/kyc/{}", ver.id)),
        id: ver.id.to_string(),
        level: v.lang.level(&ver.level),
        steps,
        card,
        checklist,
        sent,
        error,
        comment: s.app.kyc().verification_comment(ver),
    };
    render(status, page)
}

/// A customer sends one step's document.
pub async fn upload(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    mut form: axum::extract::Multipart,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let list = s.app.kyc().verifications_of(&auth.account.email_index).await.unwrap_or_default();
    let Some(ver) = Uuid::parse_str(&id).ok().and_then(|id| list.into_iter().find(|x| x.id == id)) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let (mut step, mut kind, mut issued, mut bytes) = (String::new(), String::new(), String::new(), Vec::new());
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(data) = field.bytes().await else {
            return views::message(v.lang, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
        };
        match name.as_str() {
            "step" => step = String::from_utf8_lossy(&data).into_owned(),
            "issued_on" => issued = String::from_utf8_lossy(&data).into_owned(),
            "kind" => kind = String::from_utf8_lossy(&data).into_owned(),
            "document" => bytes = data.to_vec(),
            _ => {}
        }
    }
    let result = match custos_domain::kyc::Step::parse(&step) {
        Some(step) => s
            .app
            .kyc()
            .submit_verification_file(
                &auth.account.email_index,
                ver.id,
                VerificationUpload {
                    step,
                    kind: Some(kind.as_str()),
                    bytes: &bytes,
                    issued_on: Some(issued.trim()).filter(|i| !i.is_empty()),
                },
                &auth.actor(),
            )
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        None => Err("choose what the document is".to_owned()),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/cabinet/kyc/{}", ver.id)).into_response(),
        Err(e) => upload_page(&s, &v, &ver, Some(e)).await,
    }
}

/// A submitted document for the reviewing officer, as a sandboxed attachment; audited.
pub async fn file(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let (Some(auth), Some(id)) = (&v.auth, Uuid::parse_str(&id).ok()) else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    match s.app.kyc().open_verification_file(id, &auth.actor()).await {
        Ok((f, bytes)) => {
            let ext = custos_app::documents::extension_of(&f.content_type);
            views::attachment(bytes, &f.content_type, &format!("{}.{ext}", f.step.as_str()))
        }
        Err(_) => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}
