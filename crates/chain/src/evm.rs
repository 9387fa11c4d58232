//! An Ethereum (or compatible) node over JSON-RPC as a chain source: native transfers from the
//! blocks' transactions (successful ones only, by their receipts) and ERC-20 `Transfer` logs of
//! the configured token contracts (read by block hash, so logs and block always agree).

use crate::error::ChainError;
use custos_app::watch::{ChainBlock, ChainTransfer};
use custos_domain::{Address, Amount, Asset, Network};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// keccak256("Transfer(address,address,uint256)").
pub const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// A token contract and the asset it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub contract: Address,
    pub asset: Asset,
}

pub struct EvmRpc {
    url: String,
    http: reqwest::Client,
    tokens: Vec<Token>,
    next_id: AtomicU64,
}

impl EvmRpc {
    pub fn new(url: &str, tokens: Vec<Token>, timeout: Duration) -> Result<EvmRpc, ChainError> {
        let http = ChainError::http_client("the node's URL", url, timeout)?;
        Ok(EvmRpc { url: url.to_owned(), http, tokens, next_id: AtomicU64::new(1) })
    }

    /// One JSON-RPC call; a node's error is reported with its message.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, ChainError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self.http.post(&self.url).json(&body).send().await.map_err(ChainError::transport)?;
        let status = response.status();
        let v: Value = match response.json().await {
            Ok(v) => v,
            Err(_) if !status.is_success() => return Err(ChainError::status(method, status)),
            Err(e) => return Err(ChainError::Malformed(format!("{method}: not JSON-RPC ({status}): {e}"))),
        };
        if let Some(err) = v.get("error") {
            return Err(ChainError::Refused(format!("{method}: {}", err["message"].as_str().unwrap_or("error"))));
        }
        Ok(v["result"].clone())
    }
}

/// A hex quantity (`0x1a`).
pub fn quantity(v: &Value) -> Result<u128, ChainError> {
    let s = v.as_str().ok_or_else(|| format!("not a hex quantity: {v}"))?;
    let digits = s.strip_prefix("0x").ok_or_else(|| format!("not a hex quantity: {s}"))?;
    if digits.is_empty() {
        return Ok(0);
    }
    u128::from_str_radix(digits, 16).map_err(|_| ChainError::Malformed(format!("quantity out of range: {s}")))
}

/// A 32-byte word holding a uint256; `None` above 2^128.
fn word_amount(data: &str) -> Option<u128> {
    let digits = data.strip_prefix("0x")?;
    if digits.len() != 64 || !digits[..32].bytes().all(|b| b == b'0') {
        return None;
    }
    u128::from_str_radix(&digits[32..], 16).ok()
}

/// The address in a 32-byte topic.
fn topic_address(topic: &Value) -> Option<Address> {
    let t = topic.as_str()?.strip_prefix("0x")?;
    (t.len() == 64).then(|| Address::parse(Network::Ethereum, &format!("0x{}", &t[24..]))).and_then(Result::ok)
}

fn address(v: &Value) -> Option<Address> {
    Address::parse(Network::Ethereum, &v.as_str()?.to_lowercase()).ok()
}

fn hex_number(n: u64) -> String {
    format!("0x{n:x}")
}

crate::error::chain_source!(EvmRpc, custos_domain::Network::Ethereum);

impl EvmRpc {
    async fn read_tip(&self) -> Result<u64, ChainError> {
        let n = quantity(&self.call("eth_blockNumber", json!([])).await?)?;
        u64::try_from(n).map_err(|_| "block number out of range".into())
    }

    async fn read_block_hash(&self, number: u64) -> Result<Option<String>, ChainError> {
        let b = self.call("eth_getBlockByNumber", json!([hex_number(number), false])).await?;
        Ok(b["hash"].as_str().map(str::to_lowercase))
    }

    async fn read_block(&self, number: u64, watched: &HashSet<String>) -> Result<Option<ChainBlock>, ChainError> {
        let b = self.call("eth_getBlockByNumber", json!([hex_number(number), true])).await?;
        if b.is_null() {
            return Ok(None);
        }
        let hash = b["hash"].as_str().ok_or("a block without a hash")?.to_lowercase();
        let parent_hash = b["parentHash"].as_str().ok_or("a block without a parent")?.to_lowercase();
        let mut transfers = Vec::new();
        for tx in b["transactions"].as_array().into_iter().flatten() {
            let (Some(to), Some(from)) = (address(&tx["to"]), address(&tx["from"])) else { continue };
            let value = quantity(&tx["value"])?;
            if value == 0 || !watched.contains(to.as_str()) {
                continue;
            }
            let txid = tx["hash"].as_str().ok_or("a transaction without a hash")?.to_lowercase();
            // A failed transaction moves no ether.
            let receipt = self.call("eth_getTransactionReceipt", json!([txid])).await?;
            if quantity(&receipt["status"]).unwrap_or(0) != 1 {
                continue;
            }
            transfers.push(ChainTransfer {
                txid,
                index: 0,
                asset: Asset::Eth,
                to,
                sources: vec![from],
                amount: Amount(value),
            });
        }
        if !self.tokens.is_empty() {
            let contracts: Vec<&str> = self.tokens.iter().map(|t| t.contract.as_str()).collect();
            let filter = json!({"blockHash": hash, "address": contracts, "topics": [TRANSFER_TOPIC]});
            for log in self.call("eth_getLogs", json!([filter])).await?.as_array().into_iter().flatten() {
                if log["removed"].as_bool() == Some(true) {
                    continue;
                }
                let topics = log["topics"].as_array().cloned().unwrap_or_default();
                let (Some(from), Some(to)) =
                    (topics.get(1).and_then(topic_address), topics.get(2).and_then(topic_address))
                else {
                    continue;
                };
                if !watched.contains(to.as_str()) {
                    continue;
                }
                let Some(contract) = address(&log["address"]) else { continue };
                let Some(token) = self.tokens.iter().find(|t| t.contract == contract) else { continue };
                let Some(amount) = log["data"].as_str().and_then(word_amount) else {
                    tracing::warn!(txid = ?log["transactionHash"], "a token transfer too large to count; skipped");
                    continue;
                };
                let log_index = u32::try_from(quantity(&log["logIndex"])?).map_err(|_| "log index out of range")?;
                transfers.push(ChainTransfer {
                    txid: log["transactionHash"].as_str().ok_or("a log without a transaction")?.to_lowercase(),
                    index: log_index + 1,
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
    fn quantities_words_and_topics_read_strictly() {
        assert_eq!(quantity(&json!("0x1a")), Ok(26));
        assert_eq!(quantity(&json!("0x")), Ok(0));
        assert!(quantity(&json!("1a")).is_err());
        let word = format!("0x{:064x}", 1_000_000u64);
        assert_eq!(word_amount(&word), Some(1_000_000));
        assert_eq!(word_amount(&format!("0x1{}", "0".repeat(63))), None, "above 2^128");
        let topic = json!(format!("0x{}{}", "0".repeat(24), "ab".repeat(20)));
        assert_eq!(topic_address(&topic).unwrap().as_str(), format!("0x{}", "ab".repeat(20)));
        assert_eq!(
            TRANSFER_TOPIC,
            format!("0x{}", hex_of(&<sha3::Keccak256 as sha3::Digest>::digest(b"Transfer(address,address,uint256)")))
        );
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
