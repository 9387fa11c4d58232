//! Payouts and refunds: a payout's destination screened before it goes (ADDR-4, ADDR-5), the
//! payout and the refunds recorded as sent, and consolidation of cleared deposits (ADDR-3).

use crate::consolidation::*;
use crate::context::Context;
use crate::effects::{Effect, OrderEventWrite};
use crate::error::{AppError, ErrorCode};
use crate::kyc::KycGate;
use crate::model::*;
use crate::queries::Queries;
use crate::repos::{CaseRepo, ChainRepo, OrderRepo, Store};
use crate::screening::{Occasion, Screening};
use custos_domain::consolidation::sweep_blocker;
use custos_domain::order::OrderEvent;
use custos_domain::policy::Action;
use custos_domain::status::RefundStatus;
use custos_domain::OrderStatus;
use custos_domain::{Address, Amount, Asset, Network};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// The cleared deposits of one address and asset, swept together.
#[derive(Default)]
struct Group {
    total: u128,
    deposits: Vec<Uuid>,
    derivation_index: Option<u32>,
}

/// The repositories payouts and refunds need.
pub struct PayoutRepos {
    pub orders: Arc<dyn OrderRepo>,
    pub cases: Arc<dyn CaseRepo>,
    pub chain: Arc<dyn ChainRepo>,
}

impl PayoutRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> PayoutRepos {
        PayoutRepos { orders: store.clone(), cases: store.clone(), chain: store.clone() }
    }
}

/// Payouts, refunds and consolidation.
pub struct Payouts {
    repos: PayoutRepos,
    screening: Arc<Screening>,
    queries: Arc<Queries>,
    kyc_gate: KycGate,
    cx: Context,
}

impl Payouts {
    pub fn new(
        repos: PayoutRepos,
        screening: Arc<Screening>,
        queries: Arc<Queries>,
        kyc_gate: KycGate,
        cx: Context,
    ) -> Payouts {
        Payouts { repos, screening, queries, kyc_gate, cx }
    }

    /// ADDR-4, ADDR-5: asks to pay an accepted (or released) order out. The destination is
    /// screened first; unless it is clean the payout is blocked, the order goes to review and a
    /// case opens with the screening as its evidence.
    pub async fn request_payout(
        &self,
        order_id: Uuid,
        actor: &str,
    ) -> Result<(OrderRecord, ScreeningRecord, Option<CaseRecord>), AppError> {
        let order = self.queries.order(order_id).await?.order;
        if !matches!(order.status, OrderStatus::Accepted | OrderStatus::Released) {
            return Err(AppError::conflict(
                ErrorCode::OrderNotPayable,
                format!("order {} is {}; only accepted or released orders are paid out", order.number, order.status),
            ));
        }
        self.kyc_gate.check(order.customer_email_index.as_deref(), true).await?;
        let destination = Address::parse(order.receive_network, &order.receive_address)
            .map_err(|e| AppError::Internal(format!("stored receive address: {e}")))?;
        let mut screening =
            self.screening.evaluate(Occasion::Payout, &destination, std::slice::from_ref(&destination)).await;
        screening.order_id = Some(order.id);
        let now = self.cx.now_ms();
        let blocked = screening.decision.action > Action::Proceed;
        let case = blocked.then(|| {
            CaseRecord::open(
                order.id,
                None,
                screening.decision.action,
                screening.decision.reasons.clone(),
                DeadlineKind::Review,
                now,
                now + self.cx.deadlines.review_ms,
            )
        });
        let mut events = vec![OrderEvent::PayoutRequested];
        if blocked {
            events.push(OrderEvent::PayoutBlocked);
        }
        let write = OrderEventWrite {
            data: json!({"payout": if blocked { "blocked" } else { "pending" }, "screening_id": screening.id,
                         "decision": screening.decision.action}),
            effects: [Some(Effect::RecordScreening(screening.clone())), case.clone().map(Effect::OpenCase)]
                .into_iter()
                .flatten()
                .collect(),
            ..OrderEventWrite::new(order.id, events, actor, now)
        };
        let order = self.repos.orders.apply_order_events(&write).await?;
        Ok((order, screening, case))
    }

    /// Records that the payout is on chain.
    pub async fn complete_payout(&self, order_id: Uuid, txid: &str, actor: &str) -> Result<OrderRecord, AppError> {
        self.queries.order(order_id).await?;
        let write = OrderEventWrite {
            data: json!({"payout_txid": txid}),
            ..OrderEventWrite::new(order_id, vec![OrderEvent::PayoutCompleted], actor, self.cx.now_ms())
        };
        Ok(self.repos.orders.apply_order_events(&write).await?)
    }

    pub async fn get_refund(&self, id: Uuid) -> Result<RefundRecord, AppError> {
        self.repos
            .cases
            .get_refund(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::RefundNotFound, format!("no refund {id}")))
    }

    /// Records that a refund is on chain.
    pub async fn refund_sent(&self, refund_id: Uuid, txid: &str, actor: &str) -> Result<RefundRecord, AppError> {
        let refund = self.get_refund(refund_id).await?;
        let write = OrderEventWrite {
            data: json!({"refund_id": refund.id, "refund_txid": txid}),
            effects: vec![Effect::RefundSent { refund_id: refund.id, txid: txid.to_owned() }],
            ..OrderEventWrite::new(refund.order_id, vec![OrderEvent::RefundSent], actor, self.cx.now_ms())
        };
        self.repos.orders.apply_order_events(&write).await?;
        Ok(RefundRecord { status: RefundStatus::Sent, txid: Some(txid.to_owned()), ..refund })
    }

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
        let candidates = self.repos.chain.sweep_candidates(Network::Ethereum).await?;
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
        for c in self.repos.chain.sweep_candidates(Network::Bitcoin).await? {
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
        let index = self.repos.chain.derivation_index(refund.network, &from).await?;
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
        Ok(self.repos.chain.record_sweep(deposit_id, &txid, actor, self.cx.now_ms()).await?)
    }
}
