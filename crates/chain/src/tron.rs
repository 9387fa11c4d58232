//! TRON through a full node's HTTP API and TronGrid's event API (TronGrid itself, or a node
//! with the event service) as a chain source: blocks by number (`POST /wallet/getblockbynum`,
//! hash and parent from the block), TRX transfers from their successful `TransferContract`
//! transactions, and TRC-20 `Transfer` events of the configured contracts
//! (`GET /v1/blocks/:number/events`). The source is the transfer's `from`, not the contract.

use crate::error::ChainError;
use custos_app::watch::{ChainBlock, ChainTransfer};
use custos_domain::{Address, Amount, Asset, Network};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

/// A TRC-20 contract and the asset it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trc20 {
    pub contract: Address,
    pub asset: Asset,
}

pub struct TronGrid {
    base: String,
    http: reqwest::Client,
    api_key: Option<String>,
    tokens: Vec<Trc20>,
}

impl TronGrid {
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        tokens: Vec<Trc20>,
        timeout: Duration,
    ) -> Result<TronGrid, ChainError> {
        let http = ChainError::http_client("the TRON API URL", base_url, timeout)?;
        Ok(TronGrid { base: base_url.trim_end_matches('/').to_owned(), http, api_key, tokens })
    }

    async fn send(&self, r: reqwest::RequestBuilder, what: &str) -> Result<Value, ChainError> {
        let r = match &self.api_key {
            Some(k) => r.header("TRON-PRO-API-KEY", k),
            None => r,
        };
        let response = r.send().await.map_err(ChainError::transport)?;
        if !response.status().is_success() {
            return Err(ChainError::status(what, response.status()));
        }
        Ok(response.json().await.map_err(|e| format!("{what}: not JSON: {e}"))?)
    }

    async fn block_by_number(&self, number: u64) -> Result<Option<Value>, ChainError> {
        let url = format!("{}/wallet/getblockbynum", self.base);
        let b = self.send(self.http.post(url).json(&json!({"num": number})), "getblockbynum").await?;
        Ok(b.get("blockID").is_some().then_some(b))
    }
}

/// A TRON address from its hex (`41…` or `0x…`, 20 bytes after the prefix) or base58 form.
pub fn tron_address(v: &Value) -> Option<Address> {
    let s = v.as_str()?;
    if s.starts_with('T') {
        return Address::parse(Network::Tron, s).ok();
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("41")).unwrap_or(s);
    let hex = if hex.len() == 42 && hex.starts_with("41") { &hex[2..] } else { hex };
    if hex.len() != 40 {
        return None;
    }
    let mut bytes = [0u8; 20];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(Address::tron_from_bytes(&bytes))
}

fn parse_block(number: u64, b: &Value) -> Result<(String, String), ChainError> {
    let hash = b["blockID"].as_str().ok_or("a block without blockID")?.to_lowercase();
    let parent = b["block_header"]["raw_data"]["parentHash"].as_str().unwrap_or_default().to_lowercase();
    let n = b["block_header"]["raw_data"]["number"].as_u64().unwrap_or(number);
    if n != number {
        return Err(ChainError::Malformed(format!("asked for block {number}, got {n}")));
    }
    Ok((hash, parent))
}

crate::error::chain_source!(TronGrid, custos_domain::Network::Tron);

impl TronGrid {
    async fn read_tip(&self) -> Result<u64, ChainError> {
        let url = format!("{}/wallet/getnowblock", self.base);
        let b = self.send(self.http.post(url).json(&json!({})), "getnowblock").await?;
        b["block_header"]["raw_data"]["number"].as_u64().ok_or_else(|| "getnowblock: no number".into())
    }

    async fn read_block_hash(&self, number: u64) -> Result<Option<String>, ChainError> {
        match self.block_by_number(number).await? {
            Some(b) => Ok(Some(parse_block(number, &b)?.0)),
            None => Ok(None),
        }
    }

    async fn read_block(&self, number: u64, watched: &HashSet<String>) -> Result<Option<ChainBlock>, ChainError> {
        let Some(b) = self.block_by_number(number).await? else { return Ok(None) };
        let (hash, parent_hash) = parse_block(number, &b)?;
        let mut transfers = Vec::new();
        for tx in b["transactions"].as_array().into_iter().flatten() {
            let ok = tx["ret"][0]["contractRet"].as_str().is_none_or(|r| r == "SUCCESS");
            let contract = &tx["raw_data"]["contract"][0];
            if !ok || contract["type"] != "TransferContract" {
                continue;
            }
            let value = &contract["parameter"]["value"];
            let (Some(to), Some(from)) = (tron_address(&value["to_address"]), tron_address(&value["owner_address"]))
            else {
                continue;
            };
            let Some(amount) = value["amount"].as_u64() else { continue };
            if amount == 0 || !watched.contains(to.as_str()) {
                continue;
            }
            transfers.push(ChainTransfer {
                txid: tx["txID"].as_str().ok_or("a transaction without txID")?.to_lowercase(),
                index: 0,
                asset: Asset::Trx,
                to,
                sources: vec![from],
                amount: Amount(u128::from(amount)),
            });
        }
        if !self.tokens.is_empty() {
            let url = format!("{}/v1/blocks/{number}/events", self.base);
            let events = self.send(self.http.get(url), "events").await?;
            for e in events["data"].as_array().into_iter().flatten() {
                if e["event_name"] != "Transfer" {
                    continue;
                }
                let Some(contract) = tron_address(&e["contract_address"]) else { continue };
                let Some(token) = self.tokens.iter().find(|t| t.contract == contract) else { continue };
                let result = &e["result"];
                let (Some(from), Some(to)) = (tron_address(&result["from"]), tron_address(&result["to"])) else {
                    continue;
                };
                if !watched.contains(to.as_str()) {
                    continue;
                }
                let Some(amount) = result["value"].as_str().and_then(|v| v.parse::<u128>().ok()) else { continue };
                let index = e["event_index"].as_u64().and_then(|i| u32::try_from(i).ok()).unwrap_or(0);
                transfers.push(ChainTransfer {
                    txid: e["transaction_id"].as_str().ok_or("an event without transaction_id")?.to_lowercase(),
                    index: index + 1,
                    asset: token.asset,
                    to,
                    sources: vec![from],
                    amount: Amount(amount),
                });
            }
        }
        Ok(Some(ChainBlock { number, hash, parent_hash, transfers }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tron_addresses_read_in_every_form() {
        let usdt = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
        let a = tron_address(&json!(usdt)).unwrap();
        assert_eq!(a.as_str(), usdt);
        let hex = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c";
        assert_eq!(tron_address(&json!(hex)).unwrap().as_str(), usdt);
        assert_eq!(tron_address(&json!(format!("0x{}", &hex[2..]))).unwrap().as_str(), usdt);
        assert!(tron_address(&json!("0x12")).is_none());
    }
}
