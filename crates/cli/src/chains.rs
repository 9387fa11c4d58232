//! `[chains.ethereum]`, `[chains.bitcoin]`: the watchers that see deposits on the chains themselves, beside the REST
//! intake (see docs/operations.md).

use custos_app::watch::{ChainSource, WatchSettings};
use custos_app::App;
use custos_chain::evm::{EvmRpc, Token};
use custos_domain::{Address, Asset, Network};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// `[signer.ethereum]`: Custos's optional signer (off unless configured).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignerConfig {
    pub ethereum: Option<EvmSignerConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvmSignerConfig {
    /// The account key (m/44'/60'/0'), sealed by the master key: written by `custos signer import`.
    pub key_file: std::path::PathBuf,
    /// The gas wallet is `0/gas_index` below the account key [default: 1000000].
    pub gas_index: Option<u32>,
}

/// Where a sealed signer key is bound (its associated data).
pub fn signer_aad(network: &str) -> custos_crypto::Aad<'_> {
    custos_crypto::Aad { table: "signer", column: network, row: "account" }
}

/// `[consolidation.ethereum]`: where cleared funds go (ADDR-2).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsolidationConfig {
    pub ethereum: Option<EvmWallets>,
    pub bitcoin: Option<BitcoinWallets>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BitcoinWallets {
    /// The service's verified wallets; the first is the default destination.
    pub wallets: Vec<String>,
    /// sat/vB [default: 10].
    pub fee_rate: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvmWallets {
    /// The service's verified wallets; the first is the default destination.
    pub wallets: Vec<String>,
    /// Pays the gas of token sweeps (a top-up to each deposit address first).
    pub gas_wallet: Option<String>,
    /// Gas price in gwei for the plan [default: 20].
    pub gas_price_gwei: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainsConfig {
    pub ethereum: Option<EvmConfig>,
    pub bitcoin: Option<BitcoinConfig>,
    pub tron: Option<TronConfig>,
}

impl ChainsConfig {
    /// The configured ERC-20 contracts by asset (for consolidation and the payment URIs).
    pub fn ethereum_tokens(&self) -> Result<BTreeMap<Asset, Address>, String> {
        match &self.ethereum {
            Some(e) => Ok(contracts(&e.tokens, Network::Ethereum)?.into_iter().collect()),
            None => Ok(BTreeMap::new()),
        }
    }
}

/// TRON through a full node's HTTP API with TronGrid's event API.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TronConfig {
    /// e.g. https://api.trongrid.io, or your node with the event service.
    pub api_url: String,
    /// The environment variable holding a TronGrid API key, if any.
    pub api_key_env: Option<String>,
    /// Confirmations before a deposit is credited [default: 20].
    pub confirmations: Option<u32>,
    /// TRC-20 contracts to read (base58), with the asset each carries.
    pub tokens: Vec<TokenConfig>,
    pub start_block: Option<u64>,
    /// Seconds between passes [default: 3].
    pub poll_seconds: Option<u64>,
    pub watch_days: Option<u32>,
    pub timeout_seconds: Option<u64>,
}

/// The configured token contracts of a network, each with its asset.
pub fn contracts(tokens: &[TokenConfig], network: Network) -> Result<Vec<(Asset, Address)>, String> {
    tokens
        .iter()
        .map(|t| {
            let contract = Address::parse(network, &t.contract)
                .map_err(|e| format!("chains.{network}.tokens: {}: {e}", t.contract))?;
            Ok((t.asset, contract))
        })
        .collect()
}

impl TronConfig {
    pub fn source(&self) -> Result<custos_chain::tron::TronGrid, String> {
        let tokens = contracts(&self.tokens, Network::Tron)?
            .into_iter()
            .map(|(asset, contract)| custos_chain::tron::Trc20 { contract, asset })
            .collect();
        let key = match &self.api_key_env {
            Some(v) => Some(std::env::var(v).map_err(|_| format!("chains.tron.api_key_env: {v} is not set"))?),
            None => None,
        };
        let timeout = Duration::from_secs(self.timeout_seconds.unwrap_or(10));
        custos_chain::tron::TronGrid::new(&self.api_url, key, tokens, timeout)
            .map_err(|e| format!("chains.tron.api_url: {e}"))
    }
}

/// Bitcoin through an Esplora-compatible API (a self-hosted electrs/esplora, or a provider), or
/// through Bitcoin Core's JSON-RPC.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BitcoinConfig {
    pub esplora_url: Option<String>,
    /// Bitcoin Core instead: its RPC URL, and `rpcauth` credentials (the password from an
    /// environment variable) or its cookie file.
    pub core_url: Option<String>,
    pub core_user: Option<String>,
    pub core_password_env: Option<String>,
    pub core_cookie_file: Option<std::path::PathBuf>,
    /// Confirmations before a deposit is credited [default: 3].
    pub confirmations: Option<u32>,
    pub start_block: Option<u64>,
    /// Seconds between passes [default: 30].
    pub poll_seconds: Option<u64>,
    pub watch_days: Option<u32>,
    pub timeout_seconds: Option<u64>,
}

impl BitcoinConfig {
    pub fn source(&self) -> Result<Arc<dyn ChainSource>, String> {
        let timeout = Duration::from_secs(self.timeout_seconds.unwrap_or(20));
        match (&self.esplora_url, &self.core_url) {
            (Some(url), None) => Ok(Arc::new(
                custos_chain::esplora::Esplora::new(url, timeout)
                    .map_err(|e| format!("chains.bitcoin.esplora_url: {e}"))?,
            )),
            (None, Some(url)) => {
                let (user, password) = match (&self.core_cookie_file, &self.core_user, &self.core_password_env) {
                    (Some(f), None, None) => {
                        let cookie = std::fs::read_to_string(f)
                            .map_err(|e| format!("chains.bitcoin.core_cookie_file {}: {e}", f.display()))?;
                        let (u, p) =
                            cookie.trim().split_once(':').ok_or("chains.bitcoin.core_cookie_file: not a cookie")?;
                        (u.to_owned(), p.to_owned())
                    }
                    (None, Some(u), Some(env)) => (
                        u.clone(),
                        std::env::var(env)
                            .map_err(|_| format!("chains.bitcoin.core_password_env: {env} is not set"))?,
                    ),
                    _ => return Err("chains.bitcoin: give core_cookie_file, or core_user and core_password_env".into()),
                };
                Ok(Arc::new(
                    custos_chain::bitcoind::BitcoinCore::new(url, &user, &password, timeout)
                        .map_err(|e| format!("chains.bitcoin.core_url: {e}"))?,
                ))
            }
            _ => Err("chains.bitcoin: set esplora_url or core_url (one of them)".into()),
        }
    }
}

fn settings(depth: BTreeMap<Asset, u32>, default_depth: u32, start: Option<u64>, days: Option<u32>) -> WatchSettings {
    WatchSettings {
        depth,
        default_depth,
        start_block: start,
        max_blocks_per_step: 500,
        watch_window_ms: i64::from(days.unwrap_or(30)) * 86_400_000,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvmConfig {
    /// The node's JSON-RPC URL (your own node, or a provider's).
    pub rpc_url: String,
    /// Confirmations before a deposit is credited [default: 12]; per asset below.
    pub confirmations: Option<u32>,
    pub confirmations_per_asset: BTreeMap<Asset, u32>,
    /// ERC-20 contracts to read, with the asset each carries.
    pub tokens: Vec<TokenConfig>,
    /// The first block a watcher with no history reads [default: the newest].
    pub start_block: Option<u64>,
    /// Seconds between passes [default: 4].
    pub poll_seconds: Option<u64>,
    /// Days an order's address is watched after its creation, when the order is no longer open
    /// [default: 30]; late deposits within them are screened and get a case.
    pub watch_days: Option<u32>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub asset: Asset,
    pub contract: String,
}

impl EvmConfig {
    pub fn settings(&self) -> WatchSettings {
        let depth = self.confirmations.unwrap_or(12);
        settings(self.confirmations_per_asset.clone(), depth, self.start_block, self.watch_days)
    }

    pub fn source(&self) -> Result<EvmRpc, String> {
        let tokens = contracts(&self.tokens, Network::Ethereum)?
            .into_iter()
            .map(|(asset, contract)| Token { contract, asset })
            .collect();
        let timeout = Duration::from_secs(self.timeout_seconds.unwrap_or(10));
        EvmRpc::new(&self.rpc_url, tokens, timeout).map_err(|e| format!("chains.ethereum.rpc_url: {e}"))
    }
}

/// Runs a watcher in the background: a pass every `poll` (at once again while catching up).
pub fn spawn_watcher(app: Arc<App>, source: Arc<dyn ChainSource>, settings: WatchSettings, poll: Duration) {
    tokio::spawn(async move {
        let network = source.network();
        loop {
            let busy = match app.intake().watch_step(source.as_ref(), &settings).await {
                Ok(r) => {
                    if r.seen + r.credited + r.dropped + r.reverted + r.refused > 0 {
                        tracing::info!(%network, tip = r.tip, scanned = r.scanned, seen = r.seen, credited = r.credited,
                            dropped = r.dropped, reverted = r.reverted, refused = r.refused, "chain watcher");
                    }
                    r.scanned >= settings.max_blocks_per_step
                }
                Err(e) => {
                    tracing::warn!(%network, error = %e, "chain watcher");
                    false
                }
            };
            if !busy {
                tokio::time::sleep(poll).await;
            }
        }
    });
}

impl ChainsConfig {
    /// Starts the configured watchers; returns how many.
    pub fn spawn(&self, app: &Arc<App>) -> Result<usize, String> {
        let mut n = 0;
        if let Some(eth) = &self.ethereum {
            let poll = Duration::from_secs(eth.poll_seconds.unwrap_or(4).max(1));
            spawn_watcher(app.clone(), Arc::new(eth.source()?), eth.settings(), poll);
            n += 1;
        }
        if let Some(btc) = &self.bitcoin {
            let s = settings(BTreeMap::new(), btc.confirmations.unwrap_or(3), btc.start_block, btc.watch_days);
            spawn_watcher(app.clone(), btc.source()?, s, Duration::from_secs(btc.poll_seconds.unwrap_or(30).max(1)));
            n += 1;
        }
        if let Some(tron) = &self.tron {
            let s = settings(BTreeMap::new(), tron.confirmations.unwrap_or(20), tron.start_block, tron.watch_days);
            let poll = Duration::from_secs(tron.poll_seconds.unwrap_or(3).max(1));
            spawn_watcher(app.clone(), Arc::new(tron.source()?), s, poll);
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watcher_section_reads_depths_and_tokens() {
        let cfg: ChainsConfig = toml::from_str(
            r#"
            [ethereum]
            rpc_url = "http://127.0.0.1:8545"
            confirmations = 12
            confirmations_per_asset = { USDT = 20 }
            tokens = [{ asset = "USDT", contract = "0xdAC17F958D2ee523a2206206994597C13D831ec7" }]
            "#,
        )
        .unwrap();
        let eth = cfg.ethereum.unwrap();
        let s = eth.settings();
        assert_eq!((s.depth_of(Asset::Usdt), s.depth_of(Asset::Eth)), (20, 12));
        assert!(eth.source().is_ok());
        let bad: EvmConfig = toml::from_str("rpc_url = \"ftp://x\"").unwrap();
        assert!(bad.source().err().unwrap().contains("http(s)"));
        let token: Result<ChainsConfig, _> =
            toml::from_str("[ethereum]\nrpc_url = \"http://n\"\ntokens = [{ asset = \"USDT\", contract = \"0x12\" }]");
        assert!(token.unwrap().ethereum.unwrap().source().is_err(), "a malformed contract is refused");
    }
}
