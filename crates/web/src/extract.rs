//! Extractors for the API whose rejections are problem+json: a JSON body, a path parameter and
//! a raw body.

use crate::problem::{body_too_large, Problem};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use custos_app::ErrorCode;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode::UnsupportedMediaType,
                    "send the body as JSON with `Content-Type: application/json`",
                )
                .into_response(),
                JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    body_too_large(state.max_body_bytes)
                }
                JsonRejection::JsonDataError(e) => {
                    // The message names the field and what was wrong with it.
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody, e.body_text())
                        .into_response()
                }
                other => {
                    Problem::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidBody, other.body_text()).into_response()
                }
            }),
        }
    }
}

/// The route's one path parameter (`{id}`); one that is not UTF-8 after decoding is a 400
/// `invalid_path`, not axum's plain-text answer.
pub struct ApiPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(Problem::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidPath, e.body_text()).into_response()),
        }
    }
}

/// The raw body (a signed webhook), with the body limit answered as problem+json.
pub struct ApiBytes(pub axum::body::Bytes);

impl FromRequest<AppState> for ApiBytes {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(body_too_large(state.max_body_bytes)),
            Err(r) => Err(Problem::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidBody, r.body_text()).into_response()),
        }
    }
}
