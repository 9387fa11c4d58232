//! Bitcoin through Bitcoin Core's JSON-RPC (the alternative to Esplora): `getblockcount`,
//! `getblockhash`, and `getblock <hash> 3`, whose inputs carry their previous outputs (Bitcoin
//! Core 25 and later), so every input's address is a source without further calls.

use crate::error::ChainError;
use base64::Engine;
use custos_app::watch::{ChainBlock, ChainTransfer};
use custos_domain::{Address, Amount, Asset, Network};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

pub struct BitcoinCore {
    url: String,
    auth: String,
    http: reqwest::Client,
}

impl BitcoinCore {
    /// `user` and `password` from `rpcauth`, or `__cookie__` and the cookie file's secret.
    pub fn new(url: &str, user: &str, password: &str, timeout: Duration) -> Result<BitcoinCore, ChainError> {
        let http = ChainError::http_client("the node's URL", url, timeout)?;
        let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
        Ok(BitcoinCore { url: url.to_owned(), auth, http })
    }

    /// One call; `Ok(None)` for "out of range" (no such block yet).
    async fn call(&self, method: &str, params: Value) -> Result<Option<Value>, ChainError> {
        let body = json!({"jsonrpc": "1.0", "id": "custos", "method": method, "params": params});
        let r = self
            .http
            .post(&self.url)
            .header("authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .map_err(ChainError::transport)?;
        if r.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ChainError::Refused(format!("{method}: the node refused the credentials")));
        }
        let status = r.status();
        let v: Value = match r.json().await {
            Ok(v) => v,
            Err(_) if status.is_server_error() => return Err(ChainError::status(method, status)),
            Err(e) => return Err(ChainError::Malformed(format!("{method}: not JSON-RPC: {e}"))),
        };
        match &v["error"] {
            Value::Null => Ok(Some(v["result"].clone())),
            // RPC_INVALID_PARAMETER: "Block height out of range".
            e if e["code"] == -8 => Ok(None),
            e => Err(ChainError::Refused(format!("{method}: {}", e["message"].as_str().unwrap_or("error")))),
        }
    }
}

/// Bitcoin Core writes amounts in BTC; Custos counts satoshis.
fn sats(v: &Value) -> Option<u64> {
    let btc = v.as_f64()?;
    (0.0..21e6).contains(&btc).then(|| (btc * 1e8).round() as u64)
}

fn address(v: &Value) -> Option<Address> {
    Address::parse(Network::Bitcoin, v["scriptPubKey"]["address"].as_str()?).ok()
}

/// The transfers of one transaction (`getblock` verbosity 3) to the watched addresses.
pub fn transfers_of(tx: &Value, watched: &HashSet<String>) -> Result<Vec<ChainTransfer>, ChainError> {
    let txid = tx["txid"].as_str().ok_or("a transaction without a txid")?.to_lowercase();
    let mut sources: Vec<Address> = Vec::new();
    for vin in tx["vin"].as_array().into_iter().flatten() {
        if let Some(a) = address(&vin["prevout"]) {
            if !sources.contains(&a) {
                sources.push(a);
            }
        }
    }
    let mut out = Vec::new();
    for vout in tx["vout"].as_array().into_iter().flatten() {
        let Some(to) = address(vout) else { continue };
        if !watched.contains(to.as_str()) {
            continue;
        }
        let n = vout["n"].as_u64().and_then(|n| u32::try_from(n).ok()).ok_or("an output without n")?;
        let value = sats(&vout["value"]).ok_or_else(|| format!("{txid}:{n}: a bad value"))?;
        out.push(ChainTransfer {
            txid: txid.clone(),
            index: n,
            asset: Asset::Btc,
            to,
            sources: sources.clone(),
            amount: Amount(u128::from(value)),
        });
    }
    Ok(out)
}

crate::error::chain_source!(BitcoinCore, custos_domain::Network::Bitcoin);

impl BitcoinCore {
    async fn read_tip(&self) -> Result<u64, ChainError> {
        self.call("getblockcount", json!([]))
            .await?
            .and_then(|v| v.as_u64())
            .ok_or_else(|| "getblockcount: no count".into())
    }

    async fn read_block_hash(&self, number: u64) -> Result<Option<String>, ChainError> {
        Ok(self.call("getblockhash", json!([number])).await?.and_then(|v| v.as_str().map(str::to_lowercase)))
    }

    async fn read_block(&self, number: u64, watched: &HashSet<String>) -> Result<Option<ChainBlock>, ChainError> {
        let Some(hash) = self.read_block_hash(number).await? else { return Ok(None) };
        let Some(b) = self.call("getblock", json!([hash, 3])).await? else { return Ok(None) };
        let parent_hash = b["previousblockhash"].as_str().unwrap_or_default().to_lowercase();
        let mut transfers = Vec::new();
        for tx in b["tx"].as_array().into_iter().flatten() {
            transfers.extend(transfers_of(tx, watched)?);
        }
        Ok(Some(ChainBlock { number, hash, parent_hash, transfers }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_btc_become_exact_satoshis() {
        assert_eq!(sats(&json!(0.00099)), Some(99_000));
        assert_eq!(sats(&json!(20999999.9769)), Some(2_099_999_997_690_000));
        assert_eq!(sats(&json!(-1.0)), None);
    }
}
