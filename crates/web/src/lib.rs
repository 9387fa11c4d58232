//! The HTTP layer of Custos: thin handlers over the use cases, bearer API keys checked against
//! a permission table, problem+json errors, `Idempotency-Key`, a body limit, and the OpenAPI
//! document at `/api/openapi.json`.

mod auth;
mod caller;
pub mod dto;
mod extract;
mod idempotency;
pub mod openapi;
pub mod pages;
pub mod problem;
pub mod routes;
pub mod server;
mod state;
pub mod tls;

pub use routes::ROUTES;
pub use server::{serve, Limits};
pub use state::AppState;
pub use tokio_rustls::TlsAcceptor;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use custos_app::ErrorCode;
use problem::Problem;

/// The default request body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/screenings", post(routes::create_screening))
        .route("/api/v1/orders", post(routes::create_order))
        .route("/api/v1/orders/{id}", get(routes::get_order))
        .route("/api/v1/deposits", post(routes::report_deposit))
        .route("/api/v1/orders/{id}/card", post(routes::register_card))
        .route("/api/v1/orders/{id}/payout", post(routes::request_payout))
        .route("/api/v1/orders/{id}/payout/complete", post(routes::complete_payout))
        .route("/api/v1/cases/{id}", get(routes::get_case))
        .route("/api/v1/cases/{id}/decisions", post(routes::decide))
        .route("/api/v1/cases/{id}/actions", post(routes::case_action))
        .route("/api/v1/cases/{id}/requests", post(routes::request_from_customer))
        .route("/api/v1/requests/{id}/answer", post(routes::answer_request))
        .route("/api/v1/refunds/{id}/sent", post(routes::refund_sent))
        .route("/api/v1/webhooks/events/{id}", get(routes::get_webhook_event))
        .route("/api/v1/webhooks/events/{id}/replay", post(routes::replay_webhook_event))
        .route("/api/v1/metrics", get(routes::metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    let document = openapi::document();
    Router::new()
        .merge(api)
        .merge(pages::router(state.clone()))
        .route("/api/openapi.json", get(move || async move { Json(document.clone()) }))
        .route("/healthz", get(routes::health))
        .route("/api/v1/kyc/sumsub/webhook", post(routes::sumsub_webhook))
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route").into_response()
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "this method is not allowed on this route",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .with_state(state)
}
