//! Consolidation (ADDR-2, ADDR-5): a plan that gathers cleared deposits into one of the
//! service's verified wallets, as unsigned transactions for the operator's signer. Custos holds
//! no private key: the signer signs and broadcasts, then reports each sweep's transaction.

use crate::error::{AppError, ErrorCode};
pub use crate::model::Candidate;
use crate::ports::RemoteError;
use crate::App;
use custos_domain::consolidation::sweep_blocker;
use custos_domain::{Address, Amount, Asset, Network};
use serde::Serialize;
use std::collections::BTreeMap;
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

/// The cleared deposits of one address and asset, swept together.
#[derive(Default)]
struct Group {
    total: u128,
    deposits: Vec<Uuid>,
    derivation_index: Option<u32>,
}

/// Signs and sends a plan's transaction (the operator's signer, or Custos's optional one);
/// returns the transaction hash.
#[async_trait::async_trait]
pub trait EvmSend: Send + Sync {
    async fn send(&self, request: &EvmRequest) -> Result<String, RemoteError>;
}

/// `transfer(to, amount)` call data.
fn transfer_call(to: &Address, amount: Amount) -> String {
    format!("0xa9059cbb{:0>64}{:064x}", &to.as_str()[2..], amount.0)
}

impl App {
    /// The plan for Ethereum: per deposit address and asset, one sweep of its cleared deposits
    /// to `wallet` (ether less the fee; tokens with a gas top-up from `gas_wallet` first). An
    /// address that also holds funds that are not cleared is left whole (ADDR-5).
    pub async fn plan_evm_consolidation(
        &self,
        wallet: &Address,
        gas_wallet: &Address,
        fees: &EvmFees,
        tokens: &BTreeMap<Asset, Address>,
    ) -> Result<ConsolidationPlan, AppError> {
        if wallet.network() != Network::Ethereum || gas_wallet.network() != Network::Ethereum {
            return Err(AppError::invalid(ErrorCode::NetworkMismatch, "the wallets must be Ethereum addresses"));
        }
        let candidates = self.store.sweep_candidates(Network::Ethereum).await?;
        let mut excluded = Vec::new();
        let mut tainted: Vec<&str> = Vec::new();
        for c in &candidates {
            if let Some(why) = sweep_blocker(&c.state) {
                excluded.push(Excluded { deposit_id: c.deposit_id, address: c.address.clone(), reason: why.into() });
                tainted.push(&c.address);
            }
        }
        let mut groups: BTreeMap<(String, Asset), Group> = BTreeMap::new();
        for c in candidates.iter().filter(|c| sweep_blocker(&c.state).is_none()) {
            if tainted.contains(&c.address.as_str()) {
                excluded.push(Excluded {
                    deposit_id: c.deposit_id,
                    address: c.address.clone(),
                    reason: "its address also holds funds that are not cleared".into(),
                });
                continue;
            }
            let g = groups.entry((c.address.clone(), c.asset)).or_default();
            g.total = g.total.saturating_add(c.amount.0);
            g.deposits.push(c.deposit_id);
            g.derivation_index = c.derivation_index;
        }
        let price = fees.gas_price_wei;
        let mut requests = Vec::new();
        for ((address, asset), Group { total, deposits, derivation_index }) in groups {
            if asset == Asset::Eth {
                let fee = price.saturating_mul(u128::from(fees.native_gas));
                if total <= fee {
                    for d in deposits {
                        excluded.push(Excluded {
                            deposit_id: d,
                            address: address.clone(),
                            reason: "less than the fee".into(),
                        });
                    }
                    continue;
                }
                requests.push(EvmRequest {
                    purpose: "sweep",
                    from: address,
                    to: wallet.as_str().to_owned(),
                    value: (total - fee).to_string(),
                    data: None,
                    gas: fees.native_gas,
                    gas_price: price.to_string(),
                    deposits,
                    derivation_index,
                });
                continue;
            }
            let Some(contract) = tokens.get(&asset) else {
                for d in deposits {
                    excluded.push(Excluded {
                        deposit_id: d,
                        address: address.clone(),
                        reason: format!("no contract configured for {asset}"),
                    });
                }
                continue;
            };
            requests.push(EvmRequest {
                purpose: "gas_top_up",
                from: gas_wallet.as_str().to_owned(),
                to: address.clone(),
                value: price.saturating_mul(u128::from(fees.token_gas)).to_string(),
                data: None,
                gas: fees.native_gas,
                gas_price: price.to_string(),
                deposits: vec![],
                derivation_index: None,
            });
            requests.push(EvmRequest {
                purpose: "sweep",
                from: address,
                to: contract.as_str().to_owned(),
                value: "0".into(),
                data: Some(transfer_call(wallet, Amount(total))),
                gas: fees.token_gas,
                gas_price: price.to_string(),
                deposits,
                derivation_index,
            });
        }
        Ok(ConsolidationPlan { network: Network::Ethereum, wallet: wallet.as_str().to_owned(), requests, excluded })
    }

    /// The plan for Bitcoin: every cleared deposit output, and no other, to one output at
    /// `wallet`, less the fee at `sat_per_vbyte`. Held, frozen or refused outputs stay where they
    /// are, even at the same address: each output is spent or not on its own (ADDR-5).
    pub async fn plan_bitcoin_consolidation(
        &self,
        wallet: &Address,
        sat_per_vbyte: u64,
    ) -> Result<BitcoinPlan, AppError> {
        if wallet.network() != Network::Bitcoin {
            return Err(AppError::invalid(ErrorCode::NetworkMismatch, "the wallet must be a Bitcoin address"));
        }
        let mut excluded = Vec::new();
        let mut inputs = Vec::new();
        for c in self.store.sweep_candidates(Network::Bitcoin).await? {
            let blocker = sweep_blocker(&c.state)
                .map(str::to_owned)
                .or_else(|| c.derivation_index.is_none().then(|| "its address was not derived by Custos".to_owned()));
            match (blocker, u64::try_from(c.amount.0)) {
                (Some(reason), _) => excluded.push(Excluded { deposit_id: c.deposit_id, address: c.address, reason }),
                (None, Err(_)) => excluded.push(Excluded {
                    deposit_id: c.deposit_id,
                    address: c.address,
                    reason: "amount out of range".into(),
                }),
                (None, Ok(value)) => inputs.push(BitcoinInput {
                    deposit_id: c.deposit_id,
                    txid: c.txid,
                    vout: c.index,
                    value,
                    address: c.address,
                    derivation_index: c.derivation_index.unwrap_or_default(),
                }),
            }
        }
        let total = inputs.iter().try_fold(0u64, |t, i| t.checked_add(i.value));
        let total = total.ok_or_else(|| AppError::Internal("the cleared outputs add up past u64".into()))?;
        let fee = custos_domain::consolidation::p2wpkh_vsize(inputs.len()).saturating_mul(sat_per_vbyte);
        if !inputs.is_empty() && total <= fee + 546 {
            return Err(AppError::conflict(
                ErrorCode::BelowFee,
                format!("{total} sat of cleared deposits do not cover the fee of {fee} sat"),
            ));
        }
        let output_value = total.saturating_sub(fee);
        Ok(BitcoinPlan { wallet: wallet.as_str().to_owned(), inputs, fee, output_value, excluded })
    }

    /// Runs a plan through a signer, in order (a token's gas top-up before its sweep), and
    /// records each sweep. Stops at the first refusal; what was sent stays recorded.
    pub async fn execute_evm_plan(
        &self,
        plan: &ConsolidationPlan,
        signer: &dyn EvmSend,
        actor: &str,
    ) -> Result<Vec<String>, AppError> {
        let mut sent = Vec::new();
        for r in &plan.requests {
            let txid = signer.send(r).await.map_err(|e| AppError::Unavailable(format!("the signer: {e}")))?;
            for d in &r.deposits {
                self.record_sweep(*d, &txid, actor).await?;
            }
            sent.push(txid);
        }
        Ok(sent)
    }

    /// Sends an approved ether refund through a signer (REF-2, REF-3): from the deposit's own
    /// address to the source the officers chose, the amount less only the network fee (paid as
    /// the gas of one transfer), then records it as sent.
    pub async fn send_refund(
        &self,
        refund_id: Uuid,
        signer: &dyn EvmSend,
        actor: &str,
    ) -> Result<crate::model::RefundRecord, AppError> {
        let refund = self.get_refund(refund_id).await?;
        if refund.status != custos_domain::status::RefundStatus::Pending {
            return Err(AppError::conflict(ErrorCode::RefundSent, format!("refund {refund_id} is {}", refund.status)));
        }
        if refund.network != Network::Ethereum || refund.asset != Asset::Eth {
            return Err(AppError::invalid(
                ErrorCode::SignerUnsupported,
                "the signer sends ether refunds; record others by their transaction",
            ));
        }
        let view = self.queries.order(refund.order_id).await?;
        let from = view
            .deposits
            .iter()
            .find(|d| d.id == refund.deposit_id)
            .map(|d| d.address.clone())
            .unwrap_or(view.order.deposit_address);
        let index = self.store.derivation_index(refund.network, &from).await?;
        let native_gas = EvmFees::default().native_gas;
        let request = EvmRequest {
            purpose: "refund",
            from,
            to: refund.to_address.clone(),
            value: refund.amount.0.to_string(),
            data: None,
            gas: native_gas,
            gas_price: (refund.network_fee.0 / u128::from(native_gas)).to_string(),
            deposits: vec![],
            derivation_index: index,
        };
        let txid = signer.send(&request).await.map_err(|e| AppError::Unavailable(format!("the signer: {e}")))?;
        self.refund_sent(refund_id, &txid, actor).await
    }

    /// Sends a payout whose destination was screened clean (`payout_pending`) through a signer,
    /// in ether from the service's hot wallet (ADDR-3), then records it as completed.
    pub async fn send_payout(
        &self,
        order_id: Uuid,
        signer: &dyn EvmSend,
        fees: &EvmFees,
        actor: &str,
    ) -> Result<crate::model::OrderRecord, AppError> {
        let order = self.queries.order(order_id).await?.order;
        if order.status != custos_domain::OrderStatus::PayoutPending {
            return Err(AppError::conflict(
                ErrorCode::OrderNotPayable,
                format!(
                    "order {} is {}: request the payout first (its destination is screened)",
                    order.number, order.status
                ),
            ));
        }
        if order.receive_network != Network::Ethereum || order.receive_asset != Asset::Eth {
            return Err(AppError::invalid(
                ErrorCode::SignerUnsupported,
                "the signer pays out ether; record others by their transaction",
            ));
        }
        let request = EvmRequest {
            purpose: "payout",
            from: String::new(),
            to: order.receive_address.clone(),
            value: order.receive_amount.0.to_string(),
            data: None,
            gas: fees.native_gas,
            gas_price: fees.gas_price_wei.to_string(),
            deposits: vec![],
            derivation_index: None,
        };
        let txid = signer.send(&request).await.map_err(|e| AppError::Unavailable(format!("the signer: {e}")))?;
        self.complete_payout(order_id, &txid, actor).await
    }

    /// The signer reports a sweep's transaction; each deposit is swept once.
    pub async fn record_sweep(&self, deposit_id: Uuid, txid: &str, actor: &str) -> Result<bool, AppError> {
        let txid = txid.trim().to_lowercase();
        if txid.is_empty() || txid.len() > 100 || !txid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::invalid(ErrorCode::InvalidTxid, "a transaction id in hex"));
        }
        Ok(self.store.record_sweep(deposit_id, &txid, actor, self.clock.now_ms()).await?)
    }
}
