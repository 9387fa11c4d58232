//! The routes, their permission table, and the thin handlers: parse, call a use case, render.

use crate::caller::Caller;
use crate::extract::{ApiBytes, ApiJson, ApiPath};
use crate::problem::Problem;
pub use crate::route::RouteSpec;
use crate::state::AppState;
use crate::{body, dto};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json, Router};
use custos_app::model::Scope;
use custos_app::ErrorCode;
use serde_json::Value;

/// Declares the API: for each route its method, path, scope (or `public`), operation id, handler
/// and summary. Makes [`ROUTES`] and [`api_router`] from the one list.
macro_rules! api_routes {
    ($($method:ident $path:literal, $scope:ident, $op:ident => $handler:ident, $summary:literal;)*) => {
        pub const ROUTES: &[RouteSpec] = &[$(RouteSpec {
            method: stringify!($method),
            path: $path,
            scope: api_routes!(@scope $scope),
            operation_id: stringify!($op),
            summary: $summary,
        },)*];

        /// The routes of [`ROUTES`] with their handlers: those that need an API key, and the
        /// public ones.
        pub(crate) fn api_router() -> (Router<AppState>, Router<AppState>) {
            let (mut keyed, mut public) = (Router::new(), Router::new());
            $(
                let route = api_routes!(@method $method)($handler);
                if api_routes!(@scope $scope).is_some() {
                    keyed = keyed.route($path, route);
                } else {
                    public = public.route($path, route);
                }
            )*
            (keyed, public)
        }
    };
    (@scope public) => { None::<Scope> };
    (@scope $scope:ident) => { Some(Scope::$scope) };
    (@method GET) => { axum::routing::get };
    (@method POST) => { axum::routing::post };
}

api_routes! {
    POST "/api/v1/screenings", ScreeningsCreate, createScreening => create_screening, "Pre-check an address before creating an order (PRE-1)";
    POST "/api/v1/orders", OrdersCreate, createOrder => create_order, "Create an order and get its one-time deposit address (ADDR-1)";
    GET "/api/v1/orders", OrdersRead, listOrders => list_orders, "Orders, the newest first: by external id, status and creation time, a page at a time (cursor)";
    GET "/api/v1/orders/{id}", OrdersRead, getOrder => get_order, "An order with its deposits, screenings, cases and deadlines";
    POST "/api/v1/orders/{id}/card", OrdersCreate, registerCard => register_card, "The bank card paying for an order (KYC-4): kept by its ends and a keyed hash only";
    POST "/api/v1/deposits", DepositsCreate, reportDeposit => report_deposit, "Report an incoming transfer; it is screened and decided at once (RISK-1, FLOW-1)";
    POST "/api/v1/orders/{id}/payout", PayoutsManage, requestPayout => request_payout, "Pay an accepted order out: its destination is screened first (ADDR-4, ADDR-5)";
    POST "/api/v1/orders/{id}/payout/complete", PayoutsManage, completePayout => complete_payout, "Record the payout's on-chain transaction id";
    GET "/api/v1/cases", CasesManage, listCases => list_cases, "Cases, the newest first: by status and the decision that opened them, a page at a time (cursor)";
    GET "/api/v1/cases/{id}", CasesManage, getCase => get_case, "A case: its reasons, deadline, evidence (screenings), requests to the customer and decisions";
    POST "/api/v1/cases/{id}/decisions", CasesManage, decide => decide, "Release a review case or freeze; refunds and releases of held or rejected funds are decided and approved by two officers in the back-office (four-eyes)";
    POST "/api/v1/cases/{id}/actions", CasesManage, caseAction => case_action, "Assign, note (stored encrypted), escalate, extend the deadline (SLA-2) or close a case";
    POST "/api/v1/cases/{id}/requests", CasesManage, requestFromCustomer => request_from_customer, "Ask the customer for KYC, Source of Funds or more information, due in 24 h (SEC-15)";
    POST "/api/v1/requests/{id}/answer", RequestsAnswer, answerRequest => answer_request, "Submit the customer's answer on their behalf (integration mode `[api] answers_by_key` only; labelled, never counts as the customer's KYC)";
    POST "/api/v1/refunds/{id}/sent", CasesManage, refundSent => refund_sent, "Record the refund's on-chain transaction id";
    GET "/api/v1/webhooks/events/{id}", WebhooksManage, getWebhookEvent => get_webhook_event, "A webhook event and its delivery state";
    POST "/api/v1/webhooks/events/{id}/replay", WebhooksManage, replayWebhookEvent => replay_webhook_event, "Deliver a webhook event again (e.g. from the dead letters)";
    GET "/api/v1/metrics", MetricsRead, getMetrics => metrics, "Prometheus metrics: analyzer calls, errors, timeouts, cache hits, latency, cost and breaker state";
    GET "/api/openapi.json", public, getOpenApi => openapi_document, "This OpenAPI document";
    GET "/healthz", public, health => health, "Liveness check";
}

type ApiResult<T> = Result<(StatusCode, Json<T>), Problem>;

/// The OpenAPI document, made once.
pub async fn openapi_document() -> Json<Value> {
    static DOCUMENT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(|| crate::openapi::document(ROUTES)).clone())
}

/// One Prometheus series: name, type, help, and how to read it off an analyzer's counters.
type Series = (&'static str, &'static str, &'static str, fn(&custos_app::screening::AnalyzerMetrics) -> f64);

/// The analyzers' counters in the Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let mut out = String::with_capacity(2048);
    let metrics = state.app.screening().analyzer_metrics();
    let series: [Series; 8] = [
        ("custos_analyzer_calls_total", "counter", "Calls that reached the analyzer", |m| m.calls as f64),
        ("custos_analyzer_errors_total", "counter", "Calls that failed (errors, garbage, timeouts)", |m| {
            m.errors as f64
        }),
        ("custos_analyzer_timeouts_total", "counter", "Calls cut off at their time budget", |m| m.timeouts as f64),
        ("custos_analyzer_cache_hits_total", "counter", "Answers served from the result cache", |m| {
            m.cache_hits as f64
        }),
        ("custos_analyzer_short_circuited_total", "counter", "Calls refused by an open circuit breaker", |m| {
            m.short_circuited as f64
        }),
        ("custos_analyzer_latency_seconds_total", "counter", "Time spent in analyzer calls", |m| {
            m.latency_ms_total as f64 / 1000.0
        }),
        ("custos_analyzer_cost_total", "counter", "What the calls cost, in the configured currency", |m| {
            m.cost_micros_total as f64 / 1e6
        }),
        ("custos_analyzer_breaker_open", "gauge", "1 while the analyzer's circuit breaker is open", |m| {
            u8::from(m.breaker_open) as f64
        }),
    ];
    for (name, kind, help, value) in series {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for m in &metrics {
            out.push_str(&format!(
                "{name}{{analyzer=\"{}\"}} {}\n",
                m.analyzer.replace(['"', '\\', '\n'], "_"),
                value(m)
            ));
        }
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

pub async fn create_screening(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<dto::ScreeningRequest>,
) -> ApiResult<body::Screening> {
    let network = dto::network("network", &req.network)?;
    let address = dto::address("address", network, &req.address)?;
    let screening = state.app.screening().screen_address(&address, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json((&screening).into())))
}

pub async fn create_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<dto::OrderRequest>,
) -> ApiResult<body::Order> {
    let order = state.app.intake().create_order(req.parse()?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(body::Order::new(&order))))
}

pub async fn list_orders(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<body::OrderList> {
    let query = dto::order_list(raw.as_deref())?;
    let orders = state.app.queries().list_orders(&query).await?;
    let (items, next_cursor) = body::page(orders, query.limit - 1, |o| o.number, |o| body::OrderSummary::from(o));
    Ok((StatusCode::OK, Json(body::OrderList { items, next_cursor })))
}

pub async fn list_cases(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<body::CaseList> {
    let query = dto::case_list(raw.as_deref())?;
    let page = state.app.queries().queue(&query).await?;
    let (items, next_cursor) = body::page(page.rows, query.limit - 1, |r| r.case.number, |r| body::Case::from(&r.case));
    Ok((StatusCode::OK, Json(body::CaseList { items, next_cursor })))
}

pub async fn get_order(State(state): State<AppState>, ApiPath(id): ApiPath) -> ApiResult<body::Order> {
    let id = dto::order_id(&id)?;
    let view = state.app.queries().order(id).await?;
    let requests = state.app.queries().requests_of_order(id).await?;
    Ok((StatusCode::OK, Json(body::Order::view(&view, &requests))))
}

pub async fn report_deposit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(req): ApiJson<dto::DepositRequest>,
) -> ApiResult<body::Deposit> {
    let outcome = state.app.intake().report_deposit(req.parse()?, &caller.actor()).await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json((&outcome).into())))
}

pub async fn request_payout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
) -> ApiResult<body::PayoutRequested> {
    let (order, screening, case) = state.app.payouts().request_payout(dto::order_id(&id)?, &caller.actor()).await?;
    let body = body::PayoutRequested {
        order: (&order).into(),
        screening: (&screening).into(),
        case: case.as_ref().map(Into::into),
    };
    Ok((StatusCode::OK, Json(body)))
}

pub async fn complete_payout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::PayoutCompletion>,
) -> ApiResult<body::OrderSummary> {
    let id = dto::order_id(&id)?;
    let network = state.app.queries().order(id).await?.order.receive_network;
    let txid = dto::txid_of(network, &req.txid)?;
    let order = state.app.payouts().complete_payout(id, &txid, &caller.actor()).await?;
    Ok((StatusCode::OK, Json((&order).into())))
}

pub async fn get_case(State(state): State<AppState>, ApiPath(id): ApiPath) -> ApiResult<body::CaseFile> {
    let file = state.app.queries().case_file(dto::uuid_in_path(&id, ErrorCode::CaseNotFound)?).await?;
    Ok((StatusCode::OK, Json((&file).into())))
}

pub async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::DecisionBody>,
) -> ApiResult<body::Decision> {
    // A key makes only the decisions that need no second officer: they take effect at once.
    let case = dto::uuid_in_path(&id, ErrorCode::CaseNotFound)?;
    let (request, rationale) = req.parse()?;
    let decision = state.app.cases().decide(case, request, &rationale, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json((&decision).into())))
}

pub async fn case_action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::CaseActionBody>,
) -> ApiResult<body::Case> {
    let case = state
        .app
        .cases()
        .case_action(dto::uuid_in_path(&id, ErrorCode::CaseNotFound)?, req.parse()?, &caller.actor())
        .await?;
    Ok((StatusCode::OK, Json((&case).into())))
}

pub async fn request_from_customer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::RequestBody>,
) -> ApiResult<body::CustomerRequestBody> {
    let kind = req.kind()?;
    let request = state
        .app
        .requests()
        .request_from_customer(dto::uuid_in_path(&id, ErrorCode::CaseNotFound)?, kind, &req.message, &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json((&request).into())))
}

pub async fn answer_request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::AnswerBody>,
) -> ApiResult<body::CustomerRequestBody> {
    let request = state
        .app
        .requests()
        .answer_request(dto::uuid_in_path(&id, ErrorCode::RequestNotFound)?, &req.answer, &caller.actor())
        .await?;
    Ok((StatusCode::OK, Json((&request).into())))
}

pub async fn register_card(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::CardBody>,
) -> ApiResult<body::CardRegistered> {
    let order = dto::uuid_in_path(&id, ErrorCode::OrderNotFound)?;
    let holder = req.holder()?;
    let (card, case_opened) = state.app.kyc().register_card(order, &req.number, holder, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(body::CardRegistered::new(&card, case_opened))))
}

pub async fn refund_sent(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<dto::PayoutCompletion>,
) -> ApiResult<body::Refund> {
    let id = dto::uuid_in_path(&id, ErrorCode::RefundNotFound)?;
    let txid = dto::txid_of(state.app.payouts().get_refund(id).await?.network, &req.txid)?;
    let refund = state.app.payouts().refund_sent(id, &txid, &caller.actor()).await?;
    Ok((StatusCode::OK, Json((&refund).into())))
}

pub async fn get_webhook_event(State(state): State<AppState>, ApiPath(id): ApiPath) -> ApiResult<body::WebhookEvent> {
    let event = state.app.webhook_events().get(dto::event_id(&id)?).await?;
    Ok((StatusCode::OK, Json((&event).into())))
}

pub async fn replay_webhook_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath,
) -> ApiResult<body::WebhookEvent> {
    let event = state.app.webhook_events().replay(dto::event_id(&id)?, &caller.actor()).await?;
    Ok((StatusCode::ACCEPTED, Json((&event).into())))
}

pub async fn health() -> Json<Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// SumSub's webhook: authenticated by its signature (not an API key), verified before it is
/// read; answered at once.
pub async fn sumsub_webhook(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    ApiBytes(body): ApiBytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    match state.app.kyc().kyc_webhook(&body, h("x-payload-digest"), h("x-payload-digest-alg")).await {
        Ok(outcome) => axum::Json(serde_json::json!({"status": outcome.as_str()})).into_response(),
        Err(e) if e.error_code() == ErrorCode::BadSignature => Problem::new(
            axum::http::StatusCode::UNAUTHORIZED,
            ErrorCode::BadSignature,
            "the webhook's signature does not verify",
        )
        .into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}
