//! Consolidation (ADDR-2, ADDR-5): a plan that gathers cleared deposits into one of the
//! service's verified wallets, as unsigned transactions for the operator's signer. Custos holds
//! no private key: the signer signs and broadcasts, then reports each sweep's transaction.

pub use crate::model::Candidate;
use crate::ports::RemoteError;
use custos_domain::{Address, Amount, Network};
use serde::Serialize;
use uuid::Uuid;

/// A deposit output a Bitcoin consolidation spends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BitcoinInput {
    pub deposit_id: Uuid,
    pub txid: String,
    pub vout: u32,
    pub value: u64,
    pub address: String,
    pub derivation_index: u32,
}

/// A Bitcoin consolidation: cleared deposit outputs to one output at the wallet; the signer
/// gets it as a PSBT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BitcoinPlan {
    pub wallet: String,
    pub inputs: Vec<BitcoinInput>,
    pub fee: u64,
    pub output_value: u64,
    pub excluded: Vec<Excluded>,
}

/// What an EVM sweep costs, as the operator's fee policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvmFees {
    pub gas_price_wei: u128,
    /// Gas of a plain ether transfer [21,000].
    pub native_gas: u64,
    /// Gas allowed for a token transfer [65,000].
    pub token_gas: u64,
}

impl Default for EvmFees {
    fn default() -> Self {
        EvmFees { gas_price_wei: 20_000_000_000, native_gas: 21_000, token_gas: 65_000 }
    }
}

/// One unsigned transaction for the signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvmRequest {
    /// `gas_top_up` (ether for a token sweep's fee, from the gas wallet) or `sweep`.
    pub purpose: &'static str,
    pub from: String,
    pub to: String,
    /// Wei, as a decimal string.
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    pub gas: u64,
    pub gas_price: String,
    /// The deposits this request sweeps (report the transaction for each).
    pub deposits: Vec<Uuid>,
    /// For a sweep: the deposit address's receive index below the configured key (the signer's
    /// path `0/index`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation_index: Option<u32>,
}

/// A deposit left where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excluded {
    pub deposit_id: Uuid,
    pub address: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsolidationPlan {
    pub network: Network,
    pub wallet: String,
    pub requests: Vec<EvmRequest>,
    pub excluded: Vec<Excluded>,
}

/// Signs and sends a plan's transaction (the operator's signer, or Custos's optional one);
/// returns the transaction hash.
#[async_trait::async_trait]
pub trait EvmSend: Send + Sync {
    async fn send(&self, request: &EvmRequest) -> Result<String, RemoteError>;
}

/// `transfer(to, amount)` call data.
pub(crate) fn transfer_call(to: &Address, amount: Amount) -> String {
    format!("0xa9059cbb{:0>64}{:064x}", &to.as_str()[2..], amount.0)
}
