//! The HTTP layer of Custos: thin handlers over the use cases, bearer API keys checked against
//! a permission table, problem+json errors, `Idempotency-Key`, a body limit, and the OpenAPI
//! document at `/api/openapi.json`.

mod auth;
pub mod body;
mod caller;
pub mod dto;
pub mod explorers;
mod extract;
mod idempotency;
pub mod openapi;
pub mod pages;
pub mod problem;
mod route;
pub mod routes;
pub mod server;
mod state;
pub mod tls;

pub use explorers::Explorers;
pub use routes::ROUTES;
pub use server::{serve, Limits};
pub use state::AppState;
pub use tokio_rustls::TlsAcceptor;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{middleware, Router};
use custos_app::ErrorCode;
use problem::Problem;

/// The default request body limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let (keyed, public) = routes::api_router();
    let api = keyed
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    Router::new()
        .merge(api)
        .merge(public)
        .merge(pages::router(state.clone()))
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
