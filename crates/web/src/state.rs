//! What every handler shares.

use custos_app::App;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub max_body_bytes: usize,
}
