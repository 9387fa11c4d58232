//! What every handler shares.

use custos_app::App;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub max_body_bytes: usize,
    /// Behind a reverse proxy: the client's address is the last hop of `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

impl AppState {
    pub fn new(app: Arc<App>) -> AppState {
        AppState { app, max_body_bytes: crate::DEFAULT_MAX_BODY_BYTES, trust_forwarded_for: false }
    }
}
