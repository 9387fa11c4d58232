//! `Idempotency-Key` on POST: the first response to a key is stored and replayed for retries of
//! the same request; reusing a key for a different request is refused.

use crate::caller::Caller;
use crate::problem::{body_too_large, Problem};
use crate::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use custos_app::model::IdempotencyBegin;
use custos_app::ErrorCode;

pub const HEADER: &str = "idempotency-key";

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER) else { return next.run(req).await };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => k.to_owned(),
        _ => {
            let detail = "Idempotency-Key must be 1 to 255 visible ASCII characters";
            return Problem::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidIdempotencyKey, detail)
                .into_response();
        }
    };
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return Problem::unauthorized("authentication is required").into_response();
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, state.max_body_bytes).await else {
        return body_too_large(state.max_body_bytes);
    };
    let request_hash = {
        let mut material = format!("{} {}\n", parts.method, parts.uri.path()).into_bytes();
        material.extend_from_slice(&bytes);
        custos_crypto::sha256_hex(&material)
    };
    let scoped = format!("{}:{}", caller.0.id, key);
    let keys = state.app.idempotency();
    match keys.begin(&scoped, &request_hash).await {
        Err(e) => Problem::from(e).into_response(),
        // The request itself may be fine: it collides with what the key already stands for.
        Ok(IdempotencyBegin::Mismatch) => Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request",
        )
        .into_response(),
        Ok(IdempotencyBegin::InProgress) => Problem::new(
            StatusCode::CONFLICT,
            ErrorCode::IdempotencyRequestInProgress,
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )
        .into_response(),
        Ok(IdempotencyBegin::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut r = (status, body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, content_type(status));
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Ok(IdempotencyBegin::New) => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (parts, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
            if let Err(e) = keys.finish(&scoped, parts.status.as_u16(), &String::from_utf8_lossy(&body)).await {
                tracing::warn!(error = %e, "could not record the idempotent response");
            }
            Response::from_parts(parts, Body::from(body))
        }
    }
}

fn content_type(status: StatusCode) -> HeaderValue {
    if status.is_success() {
        HeaderValue::from_static("application/json")
    } else {
        HeaderValue::from_static("application/problem+json")
    }
}
