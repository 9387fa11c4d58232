//! The customer's personal cabinet: registration, confirmation, orders.

use super::guard::Viewer;
use super::views::{self, notice, render, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use custos_app::accounts::AuthError;
use custos_app::error::AppError;
use custos_domain::notice::NextStep;
use custos_domain::status::ReplyStatus;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    f: Frame,
    error: Option<String>,
}

pub struct OrderRow {
    pub id: String,
    pub number: i64,
    pub status_key: &'static str,
    pub pay: String,
    pub receive: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    f: Frame,
    mfa_enabled: bool,
    /// The account's standing when it is not active, and why (SEC-14..SEC-16).
    standing: Option<&'static str>,
    /// New exchanges wait for an open verification (SEC-14).
    kyc_blocks: bool,
    /// Appeals of the account's standing, newest first.
    standing_appeals: Vec<AppealRow>,
    /// The customer may appeal the standing now (suspended, passed KYC, none open).
    can_appeal_standing: bool,
    orders: Vec<OrderRow>,
    verifications: Vec<super::kyc::VerificationRow>,
    // The verification list's office-only parts.
    id: String,
    can_decide: bool,
    reasons: Vec<&'static str>,
}

#[derive(Deserialize)]
pub struct RegisterForm {
    email: String,
    password: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

pub fn order_row(o: &custos_app::model::OrderRecord, lang: super::i18n::Lang) -> OrderRow {
    OrderRow {
        id: o.id.to_string(),
        number: o.number,
        status_key: status_key(o.status),
        pay: views::amount(o.pay_amount, o.pay_asset, lang),
        receive: views::amount(o.receive_amount, o.receive_asset, lang),
        created: views::when(o.created_at_ms),
    }
}

/// The text key of an order status, in plain words.
pub fn status_key(status: custos_domain::OrderStatus) -> &'static str {
    use custos_domain::OrderStatus::*;
    match status {
        AwaitingDeposit => "st_awaiting_deposit",
        Confirming => "st_confirming",
        Screening => "st_screening",
        Accepted => "st_accepted",
        PayoutPending => "st_payout_pending",
        Completed => "st_completed",
        InReview => "st_in_review",
        OnHoldAwaitingCustomer => "st_on_hold_awaiting_customer",
        UnderReview => "st_under_review",
        Released => "st_released",
        RefundPending => "st_refund_pending",
        Refunded => "st_refunded",
        Frozen => "st_frozen",
        Rejected => "st_rejected",
        Expired => "st_expired",
    }
}

pub async fn register_form(Extension(v): Extension<Viewer>) -> Response {
    render(StatusCode::OK, RegisterPage { f: Frame::new(&v, false, "/cabinet/register"), error: None })
}

pub async fn register(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<RegisterForm>,
) -> Response {
    if s.app.accounts().registration_allowed(&v.ip).await.is_err() {
        return notice(Frame::new(&v, false, "/cabinet/register"), StatusCode::TOO_MANY_REQUESTS, "locked", None);
    }
    match s.app.accounts().register_customer(&form.email, &form.password, v.lang.code()).await {
        Ok(()) => notice(Frame::new(&v, false, "/cabinet/login"), StatusCode::OK, "check_mail", None),
        Err(AuthError::Rejected(reason)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            RegisterPage { f: Frame::new(&v, false, "/cabinet/register"), error: Some(reason) },
        ),
        Err(e) => {
            tracing::error!(error = %e, "registration failed");
            notice(Frame::new(&v, false, "/cabinet/register"), StatusCode::SERVICE_UNAVAILABLE, "error", None)
        }
    }
}

pub async fn confirm(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let f = Frame::new(&v, false, "/cabinet/login");
    match s.app.accounts().confirm_email(&q.token).await {
        Ok(_) => notice(f, StatusCode::OK, "confirmed", Some(("/cabinet/login", "login"))),
        Err(_) => notice(f, StatusCode::NOT_FOUND, "not_found", Some(("/cabinet/login", "login"))),
    }
}

pub async fn orders(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let orders = match s.app.queries().orders_of_customer(&auth.account.email_index, 200).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "orders of a customer failed");
            return views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error");
        }
    };
    let orders = orders.iter().map(|o| order_row(o, v.lang)).collect();
    let list = s.app.kyc().verifications_of(&auth.account.email_index).await.unwrap_or_default();
    let verifications = super::kyc::rows(&s, &list, v.lang, false).await;
    let standing = match s.app.queries().customer_status(&auth.account.email_index).await {
        Ok(Some(custos_app::model::CustomerStatus::Suspended)) => Some("standing_suspended"),
        Ok(Some(custos_app::model::CustomerStatus::Restricted)) => Some("standing_restricted"),
        _ => None,
    };
    let appeals = s.app.appeals().standing_appeals_of(&auth.account.email_index).await.unwrap_or_default();
    let kyc_passed = list.iter().any(|v| v.state == custos_domain::kyc::VerificationState::Verified);
    let page = OrdersPage {
        f: Frame::new(&v, false, "/cabinet"),
        mfa_enabled: auth.account.mfa_enabled,
        can_appeal_standing: standing.is_some() && kyc_passed && appeals.iter().all(|a| a.status != ReplyStatus::Open),
        standing_appeals: appeals
            .iter()
            .map(|a| {
                let (text, outcome) = s.app.appeals().standing_appeal_texts(a);
                AppealRow { text, outcome, due: views::when(a.due_at_ms) }
            })
            .collect(),
        standing,
        kyc_blocks: s.app.kyc().kyc_rules().block_orders && list.iter().any(|v| !v.state.is_final()),
        orders,
        verifications,
        id: String::new(),
        can_decide: false,
        reasons: Vec::new(),
    };
    render(StatusCode::OK, page)
}

pub struct RequestRow {
    pub id: String,
    pub kind_key: &'static str,
    pub message: String,
    pub due: views::Due,
    pub open: bool,
    /// What the customer typed, kept when the answer was refused, and why it was.
    pub draft: String,
    pub error: Option<&'static str>,
}

pub struct AppealRow {
    pub text: String,
    pub outcome: Option<String>,
    pub due: String,
}

/// Whether the order page offers an appeal, and if not, what comes first.
pub enum AppealOffer {
    /// Nothing to appeal, or an appeal is being reviewed (shown above).
    None,
    /// An appeal needs a passed identity verification first (SEC-17): the link to go on with
    /// the open one, or a button to start one.
    NeedsVerification { open: Option<String> },
    /// The form.
    Form,
}

/// The order's deposit address as a wallet reads it.
pub struct Deposit {
    /// Checksummed where the network has a checksum.
    pub address: String,
    pub uri: String,
    /// The QR code of `uri`, an SVG drawn here.
    pub qr: String,
    /// "Send only USDT on Ethereum".
    pub asset: String,
    pub network: &'static str,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    f: Frame,
    id: String,
    number: i64,
    external_id: Option<String>,
    status_key: &'static str,
    next_key: &'static str,
    pay: String,
    receive: String,
    deposit: Deposit,
    /// The payment is still expected: the address, its QR code and the warning are shown.
    awaiting: bool,
    requests: Vec<RequestRow>,
    appeals: Vec<AppealRow>,
    appeal: AppealOffer,
    appeal_draft: String,
    appeal_error: Option<&'static str>,
}

pub fn kind_key(kind: custos_app::model::RequestKind) -> &'static str {
    match kind {
        custos_app::model::RequestKind::Kyc => "rk_kyc",
        custos_app::model::RequestKind::SourceOfFunds => "rk_source_of_funds",
        custos_app::model::RequestKind::Information => "rk_information",
    }
}

/// The text key of what the customer is told to expect next (docs/web.md has the words).
fn next_key(step: NextStep) -> &'static str {
    match step {
        NextStep::None => "",
        NextStep::Pay => "next_pay",
        NextStep::AnswerRequest => "next_hold",
        NextStep::TeamWillAsk => "next_hold_no_request",
        NextStep::Reviewing => "next_review",
        NextStep::RefundAfterReview { requests_open: true } => "next_rejected_answer",
        NextStep::RefundAfterReview { requests_open: false } => "next_rejected",
        NextStep::RefundOnItsWay => "next_refund_pending",
        NextStep::FundsHeld => "next_funds_held",
    }
}

/// The words for a refused answer or appeal: never the error's own text, which is written
/// for the API and may carry an internal code.
fn refusal_key(e: &AppError) -> &'static str {
    use custos_app::error::ErrorCode as C;
    match e.error_code() {
        C::KycRequired => "appeal_needs_kyc",
        C::AppealOpen => "appeal_open",
        C::NotAppealable => "appeal_not_possible",
        C::RequestAnswered => "already_answered",
        C::TooManyFiles | C::FileTooLarge => "too_large",
        C::EmptyFile | C::UnsupportedFile => "bad_file",
        C::InvalidField => "text_length",
        _ => "form_refused",
    }
}

/// The order, if it is this customer's (someone else's reads as missing).
async fn own_order(s: &AppState, v: &Viewer, id: &str) -> Option<custos_app::model::OrderView> {
    let auth = v.auth.as_ref()?;
    let id = uuid::Uuid::parse_str(id).ok()?;
    let view = s.app.queries().order(id).await.ok()?;
    (view.order.customer_email_index.as_deref() == Some(auth.account.email_index.as_str())).then_some(view)
}

/// A form the customer sent that was refused: what they typed stays in it; the page answers
/// with the refusal's status.
#[derive(Default)]
struct Refused {
    request: Option<(uuid::Uuid, String, &'static str)>,
    appeal: Option<(String, &'static str)>,
    status: Option<StatusCode>,
}

fn deposit_of(s: &AppState, o: &custos_app::model::OrderRecord, lang: super::i18n::Lang) -> Deposit {
    let parsed = custos_domain::Address::parse(o.pay_network, &o.deposit_address).ok();
    let address = parsed.as_ref().map_or_else(|| o.deposit_address.clone(), |a| a.display());
    let contract = match o.pay_network {
        custos_domain::Network::Ethereum => s.ethereum_tokens.get(&o.pay_asset),
        _ => None,
    };
    let uri = parsed.as_ref().map_or_else(
        || address.clone(),
        |a| custos_domain::payment::payment_uri(a, o.pay_asset, o.pay_amount, contract),
    );
    Deposit {
        qr: views::qr_svg(&uri),
        address,
        uri,
        asset: o.pay_asset.to_string(),
        network: lang.t(views::network_key(o.pay_network)),
    }
}

async fn order_page(s: &AppState, v: &Viewer, view: &custos_app::model::OrderView, refused: Refused) -> Response {
    let o = &view.order;
    let (requests, appeals) =
        match tokio::try_join!(s.app.queries().requests_of_order(o.id), s.app.appeals().appeals_of_order(o.id)) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the requests or appeals of an order failed");
                return views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error");
            }
        };
    let now = s.app.now_ms();
    let open_requests = requests.iter().any(|r| r.status == ReplyStatus::Open);
    let never_refunded =
        view.screenings.iter().any(|x| custos_domain::refund::never_refunded(&x.decision.categories).is_some());
    let appeal_open = appeals.iter().any(|a| a.status == ReplyStatus::Open);
    let appeal = if !custos_app::appeals::appealable(o.status) || appeal_open {
        AppealOffer::None
    } else {
        let index = o.customer_email_index.as_deref().unwrap_or_default();
        let list = s.app.kyc().verifications_of(index).await.unwrap_or_default();
        if list.iter().any(|x| x.state == custos_domain::kyc::VerificationState::Verified) {
            AppealOffer::Form
        } else {
            AppealOffer::NeedsVerification {
                open: list.iter().find(|x| !x.state.is_final()).map(|x| format!("/cabinet/kyc/{}", x.id)),
            }
        }
    };
    let (appeal_draft, appeal_error) = refused.appeal.map_or((String::new(), None), |(d, e)| (d, Some(e)));
    let page = OrderPage {
        f: Frame::new(v, false, &format!("/cabinet/orders/{}", o.id)),
        id: o.id.to_string(),
        number: o.number,
        external_id: o.external_id.clone(),
        status_key: status_key(o.status),
        next_key: next_key(custos_domain::notice::next_step(o.status, open_requests, never_refunded)),
        pay: views::amount(o.pay_amount, o.pay_asset, v.lang),
        receive: views::amount(o.receive_amount, o.receive_asset, v.lang),
        deposit: deposit_of(s, o, v.lang),
        awaiting: o.status == custos_domain::OrderStatus::AwaitingDeposit,
        requests: requests
            .into_iter()
            .map(|r| {
                let (draft, error) = match &refused.request {
                    Some((id, draft, error)) if *id == r.id => (draft.clone(), Some(*error)),
                    _ => (String::new(), None),
                };
                RequestRow {
                    id: r.id.to_string(),
                    kind_key: kind_key(r.kind),
                    message: r.message,
                    due: views::Due::new(r.due_at_ms, now, v.lang),
                    open: r.status == ReplyStatus::Open,
                    draft,
                    error,
                }
            })
            .collect(),
        appeals: appeals
            .iter()
            .map(|a| {
                let (text, outcome) = s.app.appeals().appeal_texts(a);
                AppealRow { text, outcome, due: views::when(a.due_at_ms) }
            })
            .collect(),
        appeal,
        appeal_draft,
        appeal_error,
    };
    render(refused.status.unwrap_or(StatusCode::OK), page)
}

pub async fn order(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match own_order(&s, &v, &id).await {
        Some(view) => order_page(&s, &v, &view, Refused::default()).await,
        None => views::message(v.lang, StatusCode::NOT_FOUND, "not_found"),
    }
}

/// The customer answers a request of one of their orders, with documents if any.
pub async fn answer(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    axum::extract::Path(id): axum::extract::Path<String>,
    mut form: axum::extract::Multipart,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let request = match uuid::Uuid::parse_str(&id) {
        Ok(id) => s.app.queries().request(id).await.ok().flatten(),
        Err(_) => None,
    };
    let Some(request) = request else { return views::message(v.lang, StatusCode::NOT_FOUND, "not_found") };
    let Some(view) = own_order(&s, &v, &request.order_id.to_string()).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let (mut answer, mut files) = (String::new(), Vec::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let file_name = field.file_name().map(str::to_owned);
                let Ok(bytes) = field.bytes().await else {
                    return views::message(v.lang, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
                };
                match (name.as_str(), file_name) {
                    ("answer", _) => answer = String::from_utf8_lossy(&bytes).into_owned(),
                    // A file input left empty sends a part without content.
                    ("documents", Some(file_name)) if !bytes.is_empty() => {
                        files.push(custos_app::documents::Upload { file_name, bytes: bytes.to_vec() })
                    }
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => return views::message(v.lang, StatusCode::BAD_REQUEST, "error"),
        }
    }
    match s.app.requests().answer_request_with(request.id, &answer, files, &auth.actor()).await {
        Ok(_) => axum::response::Redirect::to(&format!("/cabinet/orders/{}", request.order_id)).into_response(),
        Err(e @ (AppError::Unavailable(_) | AppError::Internal(_))) => {
            tracing::error!(error = %e, "an answer could not be saved");
            views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
        }
        Err(e) => {
            let refused = Refused {
                request: Some((request.id, answer, refusal_key(&e))),
                appeal: None,
                status: Some(crate::problem::status_of(&e)),
            };
            order_page(&s, &v, &view, refused).await
        }
    }
}

#[derive(Deserialize)]
pub struct AppealForm {
    appeal: String,
}

/// The customer appeals the decision on one of their orders.
pub async fn appeal(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<AppealForm>,
) -> Response {
    let Some(view) = own_order(&s, &v, &id).await else {
        return views::message(v.lang, StatusCode::NOT_FOUND, "not_found");
    };
    let actor = v.auth.as_ref().map(|a| a.actor()).unwrap_or_default();
    match s.app.appeals().appeal(view.order.id, &form.appeal, &actor).await {
        Ok(_) => axum::response::Redirect::to(&format!("/cabinet/orders/{}", view.order.id)).into_response(),
        Err(e @ (AppError::Unavailable(_) | AppError::Internal(_))) => {
            tracing::error!(error = %e, "an appeal could not be saved");
            views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
        }
        Err(e) => {
            let refused = Refused {
                request: None,
                appeal: Some((form.appeal, refusal_key(&e))),
                status: Some(crate::problem::status_of(&e)),
            };
            order_page(&s, &v, &view, refused).await
        }
    }
}

/// The customer appeals their account's suspension or restriction.
pub async fn appeal_standing(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<AppealForm>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    match s.app.appeals().appeal_standing(&auth.account.email_index, &form.appeal, &auth.actor()).await {
        Ok(_) => axum::response::Redirect::to("/cabinet").into_response(),
        Err(e) => notice(Frame::new(&v, false, "/cabinet"), crate::problem::status_of(&e), refusal_key(&e), None),
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    f: Frame,
    n: super::admin::Notice,
    locale: String,
    mfa: bool,
    utc_offset: i32,
    /// The time zones to choose from: (minutes east of UTC, `UTC+03:00`).
    zones: Vec<(i32, String)>,
}

/// The offsets people live in: every half hour from UTC−12:00 to UTC+14:00, and the three
/// quarter-hour ones (Nepal, Chatham, Eucla).
fn zones() -> Vec<(i32, String)> {
    let mut minutes: Vec<i32> = (-24..=28).map(|h| h * 30).chain([345, 525, 765]).collect();
    minutes.sort_unstable();
    minutes
        .into_iter()
        .map(|m| {
            let sign = if m < 0 { '−' } else { '+' };
            (m, format!("UTC{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60))
        })
        .collect()
}

fn settings_page(v: &Viewer, n: super::admin::Notice) -> Response {
    let locale = v.auth.as_ref().map_or_else(|| "en".into(), |a| a.account.locale.clone());
    let mfa = v.auth.as_ref().is_some_and(|a| a.account.mfa_enabled);
    let utc_offset = v.auth.as_ref().map_or(0, |a| a.account.utc_offset_minutes);
    let status = if n.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let f = Frame::new(v, false, "/cabinet/settings");
    render(status, SettingsPage { f, n, locale, mfa, utc_offset, zones: zones() })
}

pub async fn settings(Extension(v): Extension<Viewer>) -> Response {
    settings_page(&v, Default::default())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
}

pub async fn change_password(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let (Some(auth), Some(token)) = (&v.auth, &v.token) else {
        return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired");
    };
    let n = match s.app.accounts().change_password(auth, token, &form.current, &form.new).await {
        Ok(()) => super::admin::Notice { done: Some(v.lang.t("password_changed").into()), error: None },
        Err(AuthError::BadCredentials) => {
            super::admin::Notice { error: Some(v.lang.t("bad_login").into()), done: None }
        }
        Err(e) => super::admin::Notice { error: Some(e.to_string()), done: None },
    };
    settings_page(&v, n)
}

#[derive(Deserialize)]
pub struct LocaleForm {
    locale: String,
}

/// The account's language (for e-mails) and this browser's.
pub async fn change_language(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<LocaleForm>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    if let Err(e) = s.app.accounts().set_locale(auth, &form.locale).await {
        tracing::error!(error = %e, "saving the language failed");
        return views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error");
    }
    views::switch_language(
        super::i18n::Lang::parse(&form.locale).unwrap_or(super::i18n::Lang::En),
        views::Back::to("/cabinet/settings"),
    )
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    utc_offset_minutes: String,
}

/// The time zone the customer's e-mails give deadlines in. Then back to the settings, so a
/// refresh does not send the form again.
pub async fn change_time_zone(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<TimeZoneForm>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let saved = match form.utc_offset_minutes.trim().parse::<i32>() {
        Ok(minutes) => s.app.accounts().set_utc_offset(auth, minutes).await,
        Err(_) => {
            Err(AppError::invalid(custos_app::ErrorCode::InvalidField, "a time zone is a whole number of minutes"))
        }
    };
    match saved {
        Ok(()) => axum::response::Redirect::to("/cabinet/settings").into_response(),
        Err(AppError::Invalid { .. }) => {
            settings_page(&v, super::admin::Notice { error: Some(v.lang.t("bad_time_zone").into()), done: None })
        }
        Err(e) => {
            tracing::error!(error = %e, "saving the time zone failed");
            views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
        }
    }
}

#[derive(Deserialize)]
pub struct CodeOnly {
    code: String,
}

pub async fn disable_mfa(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<CodeOnly>,
) -> Response {
    let (Some(auth), Some(token)) = (&v.auth, &v.token) else {
        return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired");
    };
    match s.app.accounts().disable_mfa(auth, token, &form.code, &v.ip).await {
        Ok(()) => axum::response::Redirect::to("/cabinet/mfa").into_response(),
        Err(_) => views::message(v.lang, StatusCode::UNAUTHORIZED, "bad_code"),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
    password: String,
    #[serde(default)]
    code: String,
}

/// A new e-mail: the password and, with MFA, a code (step-up); confirmed from the new address.
pub async fn change_email(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(form): Form<EmailForm>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let n = match s.app.accounts().request_email_change(auth, &form.password, &form.code, &form.email, &v.ip).await {
        Ok(()) => super::admin::Notice { done: Some(v.lang.t("email_link_sent").into()), error: None },
        Err(AuthError::BadCredentials) => {
            super::admin::Notice { error: Some(v.lang.t("bad_login").into()), done: None }
        }
        Err(AuthError::BadCode) => super::admin::Notice { error: Some(v.lang.t("bad_code").into()), done: None },
        Err(e) => super::admin::Notice { error: Some(e.to_string()), done: None },
    };
    settings_page(&v, n)
}

/// The link from the new address.
pub async fn confirm_email_change(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let f = Frame::new(&v, false, "/cabinet/login");
    match s.app.accounts().confirm_email_change(&q.token).await {
        Ok(_) => notice(f, StatusCode::OK, "email_changed", Some(("/cabinet", "orders"))),
        Err(AuthError::Rejected(reason)) => views::text_notice(f, StatusCode::UNPROCESSABLE_ENTITY, reason),
        Err(e) => {
            tracing::error!(error = %e, "e-mail change failed");
            notice(f, StatusCode::SERVICE_UNAVAILABLE, "error", None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::i18n::Lang;

    /// docs/web.md shows what a customer reads in each state; it must be what the pages say.
    #[test]
    fn the_documented_next_steps_are_the_ones_shown() {
        let doc = include_str!("../../../../docs/web.md");
        let steps = [
            NextStep::Pay,
            NextStep::AnswerRequest,
            NextStep::TeamWillAsk,
            NextStep::Reviewing,
            NextStep::RefundAfterReview { requests_open: false },
            NextStep::RefundAfterReview { requests_open: true },
            NextStep::RefundOnItsWay,
            NextStep::FundsHeld,
        ];
        for step in steps {
            let text = Lang::En.t(next_key(step));
            assert!(doc.contains(&format!("| {text} |")), "docs/web.md lacks {text:?}");
        }
    }

    #[test]
    fn held_funds_never_promise_a_refund_nor_name_a_report() {
        for lang in [Lang::En, Lang::Ru] {
            let text = lang.t(next_key(NextStep::FundsHeld)).to_lowercase();
            for word in
                ["refund", "report", "authorit", "police", "sanction", "возврат", "отчёт", "орган", "полици", "санкц"]
            {
                assert!(!text.contains(word), "{text:?} says {word:?}");
            }
        }
    }
}
