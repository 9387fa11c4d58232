//! A JSON body extractor whose rejections are problem+json.

use crate::idempotency::body_too_large;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
                    "unsupported_media_type",
                    "send the body as JSON with `Content-Type: application/json`",
                )
                .into_response(),
                JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    body_too_large(state.max_body_bytes)
                }
                JsonRejection::JsonDataError(e) => {
                    // The message names the field and what was wrong with it.
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.body_text()).into_response()
                }
                other => Problem::new(StatusCode::BAD_REQUEST, "invalid_body", other.body_text()).into_response(),
            }),
        }
    }
}
