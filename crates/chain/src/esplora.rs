//! Bitcoin through an Esplora-compatible HTTP API (Blockstream's esplora, mempool.space, or a
//! self-hosted electrs) as a chain source. Blocks are read whole, so that thousands of watched
//! addresses cost nothing extra: `GET /block-height/:h` → hash, `GET /block/:hash` → parent,
//! `GET /block/:hash/txs/:start` (25 a page, inputs with their prevouts). A payment to one of
//! our addresses is one output; its sources are the addresses its inputs spent (several inputs,
//! several sources, all screened). Only confirmed transactions count, so a replaced (RBF)
//! transaction is never credited: the one that was mined is.

use crate::error::ChainError;
use custos_app::watch::{ChainBlock, ChainTransfer};
use custos_domain::{Address, Amount, Asset, Network};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

pub struct Esplora {
    base: String,
    http: reqwest::Client,
}

/// Transactions per page of `/block/:hash/txs`.
const PAGE: usize = 25;

impl Esplora {
    pub fn new(base_url: &str, timeout: Duration) -> Result<Esplora, ChainError> {
        let http = ChainError::http_client("the Esplora URL", base_url, timeout)?;
        Ok(Esplora { base: base_url.trim_end_matches('/').to_owned(), http })
    }

    /// A GET; `None` for a 404 (no such block yet).
    async fn get(&self, path: &str) -> Result<Option<String>, ChainError> {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.map_err(ChainError::transport)?;
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !r.status().is_success() {
            return Err(ChainError::status(&format!("GET {path}"), r.status()));
        }
        r.text().await.map(Some).map_err(ChainError::transport)
    }

    async fn get_json(&self, path: &str) -> Result<Option<Value>, ChainError> {
        match self.get(path).await? {
            Some(t) => Ok(Some(serde_json::from_str(&t).map_err(|e| format!("GET {path}: not JSON: {e}"))?)),
            None => Ok(None),
        }
    }
}

fn bitcoin_address(v: &Value) -> Option<Address> {
    Address::parse(Network::Bitcoin, v.as_str()?).ok()
}

/// The transfers of one transaction to the watched addresses.
pub fn transfers_of(tx: &Value, watched: &HashSet<String>) -> Result<Vec<ChainTransfer>, ChainError> {
    let txid = tx["txid"].as_str().ok_or("a transaction without a txid")?.to_lowercase();
    let mut sources: Vec<Address> = Vec::new();
    for vin in tx["vin"].as_array().into_iter().flatten() {
        if vin["is_coinbase"].as_bool() == Some(true) {
            continue;
        }
        if let Some(a) = bitcoin_address(&vin["prevout"]["scriptpubkey_address"]) {
            if !sources.contains(&a) {
                sources.push(a);
            }
        }
    }
    let mut out = Vec::new();
    for (n, vout) in tx["vout"].as_array().into_iter().flatten().enumerate() {
        let Some(to) = bitcoin_address(&vout["scriptpubkey_address"]) else { continue };
        if !watched.contains(to.as_str()) {
            continue;
        }
        let value = vout["value"].as_u64().ok_or_else(|| format!("{txid}:{n}: no value"))?;
        out.push(ChainTransfer {
            txid: txid.clone(),
            index: u32::try_from(n).map_err(|_| "too many outputs")?,
            asset: Asset::Btc,
            to,
            sources: sources.clone(),
            amount: Amount(u128::from(value)),
        });
    }
    Ok(out)
}

crate::error::chain_source!(Esplora, custos_domain::Network::Bitcoin);

impl Esplora {
    async fn read_tip(&self) -> Result<u64, ChainError> {
        let t = self.get("/blocks/tip/height").await?.ok_or("no tip")?;
        Ok(t.trim().parse().map_err(|_| format!("not a height: {t:?}"))?)
    }

    async fn read_block_hash(&self, number: u64) -> Result<Option<String>, ChainError> {
        Ok(self.get(&format!("/block-height/{number}")).await?.map(|h| h.trim().to_lowercase()))
    }

    async fn read_block(&self, number: u64, watched: &HashSet<String>) -> Result<Option<ChainBlock>, ChainError> {
        let Some(hash) = self.read_block_hash(number).await? else { return Ok(None) };
        let Some(block) = self.get_json(&format!("/block/{hash}")).await? else { return Ok(None) };
        let parent_hash = block["previousblockhash"].as_str().unwrap_or_default().to_lowercase();
        let count = block["tx_count"].as_u64().ok_or("a block without tx_count")? as usize;
        let mut transfers = Vec::new();
        let mut start = 0;
        while start < count {
            let page =
                self.get_json(&format!("/block/{hash}/txs/{start}")).await?.ok_or("a page of the block vanished")?;
            let txs = page.as_array().ok_or("a page that is not a list")?;
            if txs.is_empty() {
                break;
            }
            for tx in txs {
                transfers.extend(transfers_of(tx, watched)?);
            }
            start += PAGE;
        }
        Ok(Some(ChainBlock { number, hash, parent_hash, transfers }))
    }
}
