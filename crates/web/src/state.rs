//! What every handler shares.

use custos_app::App;
use custos_domain::{Address, Asset};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub max_body_bytes: usize,
    /// Behind a reverse proxy: the client's address is the last hop of `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The ERC-20 contracts of the Ethereum assets, for the payment URIs of deposit addresses.
    pub ethereum_tokens: Arc<BTreeMap<Asset, Address>>,
    /// Where the back-office links transactions and addresses (`[web.explorers]`).
    pub explorers: Arc<crate::Explorers>,
}

impl AppState {
    pub fn new(app: Arc<App>) -> AppState {
        AppState {
            app,
            max_body_bytes: crate::DEFAULT_MAX_BODY_BYTES,
            trust_forwarded_for: false,
            ethereum_tokens: Default::default(),
            explorers: Arc::new(crate::Explorers::public_mainnets()),
        }
    }
}
