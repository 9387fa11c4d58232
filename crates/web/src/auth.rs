//! Bearer API keys and the permission table: every route names the scope it requires, and a
//! route missing from the table is refused (deny by default).

use crate::problem::Problem;
use crate::routes::ROUTES;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use custos_app::ErrorCode;

pub use crate::caller::Caller;

pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// Authenticates the bearer key and checks the route's scope in [`ROUTES`].
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = bearer(&req) else {
        return Problem::unauthorized("send an API key as `Authorization: Bearer <key>`").into_response();
    };
    let key = match state.app.api_keys().authenticate(token).await {
        Ok(Some(k)) => k,
        Ok(None) => return Problem::unauthorized("the API key is unknown or revoked").into_response(),
        Err(e) => return Problem::from(e).into_response(),
    };
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let Some(rule) = ROUTES.iter().find(|r| r.path == path && r.method == method) else {
        return Problem::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "this route has no permission rule")
            .into_response();
    };
    if let Some(scope) = rule.scope {
        if !key.scopes.contains(&scope) {
            let detail = format!("this API key lacks the scope {}", scope.as_str());
            return Problem::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, detail).into_response();
        }
    }
    let mut req = req;
    req.extensions_mut().insert(Caller(key));
    next.run(req).await
}
