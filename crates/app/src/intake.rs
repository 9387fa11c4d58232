//! Intake: orders with their one-time deposit addresses (ADDR-1), deposits screened and
//! decided as they arrive (FLOW-1, RISK-1, MON-1), and the chain watchers that find them.

use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::kyc::KycGate;
use crate::model::*;
use crate::monitoring::MonitoringRules;
use crate::ports::{AddressDeriver, Direction, RemoteError, Transfer};
use crate::repos::{CaseRepo, ChainRepo, OrderRepo, StandingRepo, Store};
use crate::screening::{Occasion, ScreenRequest, Screening};
use crate::watch::*;
use custos_crypto::Aad;
use custos_domain::policy::Action;
use custos_domain::status::TransferStatus;
use custos_domain::{Address, Network};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// The repositories intake needs.
pub struct IntakeRepos {
    pub orders: Arc<dyn OrderRepo>,
    pub cases: Arc<dyn CaseRepo>,
    pub standing: Arc<dyn StandingRepo>,
    pub chain: Arc<dyn ChainRepo>,
}

impl IntakeRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> IntakeRepos {
        IntakeRepos { orders: store.clone(), cases: store.clone(), standing: store.clone(), chain: store.clone() }
    }
}

/// Orders, deposits and the chain watchers.
pub struct Intake {
    repos: IntakeRepos,
    derivers: HashMap<Network, Arc<dyn AddressDeriver>>,
    monitoring: MonitoringRules,
    screening: Arc<Screening>,
    kyc_gate: KycGate,
    cx: Context,
}

impl Intake {
    pub fn new(
        repos: IntakeRepos,
        derivers: Vec<Arc<dyn AddressDeriver>>,
        monitoring: MonitoringRules,
        screening: Arc<Screening>,
        kyc_gate: KycGate,
        cx: Context,
    ) -> Intake {
        let derivers = derivers.into_iter().map(|d| (d.network(), d)).collect();
        Intake { repos, derivers, monitoring, screening, kyc_gate, cx }
    }

    /// The networks orders may be paid on (those with a deposit key).
    pub fn configured_networks(&self) -> Vec<Network> {
        let mut n: Vec<_> = self.derivers.keys().copied().collect();
        n.sort();
        n
    }

    /// ADDR-1: creates an order with a deposit address no other order has.
    pub async fn create_order(&self, order: NewOrder, actor: &str) -> Result<OrderRecord, AppError> {
        if !order.pay_asset.is_on(order.pay_network) {
            return Err(AppError::invalid(
                ErrorCode::AssetNotOnNetwork,
                format!("{} is not paid on {}", order.pay_asset, order.pay_network),
            ));
        }
        if !order.receive_asset.is_on(order.receive_network) {
            return Err(AppError::invalid(
                ErrorCode::AssetNotOnNetwork,
                format!("{} is not received on {}", order.receive_asset, order.receive_network),
            ));
        }
        let deriver = self.derivers.get(&order.pay_network).cloned().ok_or_else(|| {
            AppError::conflict(
                ErrorCode::NetworkNotConfigured,
                format!("no deposit key is configured for {}; orders paid on it cannot be created", order.pay_network),
            )
        })?;
        let id = Uuid::now_v7();
        let row = id.to_string();
        let (customer_email_enc, customer_email_index) = match &order.customer_email {
            Some(email) => {
                let normalized = email.trim().to_lowercase();
                let aad = Aad { table: "orders", column: "customer_email", row: &row };
                let index = self.cx.cipher.blind_index("customer_email", &normalized);
                (Some(self.cx.sealer_for(Some(&index)).await?.seal_str(&normalized, aad)), Some(index))
            }
            None => (None, None),
        };
        self.kyc_gate.check(customer_email_index.as_deref(), false).await?;
        if let Some(index) = &customer_email_index {
            // SEC-14: a customer with an overdue KYC request may not start new exchanges.
            if let Some((_, status)) = self.repos.standing.customer_status(index).await? {
                if status != CustomerStatus::Active {
                    return Err(AppError::conflict(
                        ErrorCode::CustomerRestricted,
                        format!("this customer is {} until their KYC request is completed", status.as_str()),
                    ));
                }
            }
        }
        let write = OrderWrite {
            id,
            order,
            customer_email_enc,
            customer_email_index,
            created_by: actor.to_owned(),
            at_ms: self.cx.now_ms(),
            key_fingerprint: deriver.fingerprint().to_owned(),
        };
        let derive = move |i: u32| deriver.derive(i);
        Ok(self.repos.orders.create_order(&write, &derive).await?)
    }

    /// FLOW-1 and RISK-1: records a deposit, screens its sources and the deposit address,
    /// decides, moves the order and opens a case, all at once. Idempotent on
    /// (network, txid, index), also under concurrent duplicates.
    pub async fn report_deposit(&self, deposit: NewDeposit, actor: &str) -> Result<DepositOutcome, AppError> {
        let (order, recorded) = self
            .repos
            .orders
            .deposit_target(deposit.network, deposit.address.as_str(), &deposit.txid, deposit.index)
            .await?;
        if recorded {
            if let Some(existing) =
                self.repos.orders.find_deposit(deposit.network, &deposit.txid, deposit.index).await?
            {
                return Ok(existing);
            }
        }
        let order = order.ok_or_else(|| {
            AppError::not_found(
                ErrorCode::UnknownDepositAddress,
                format!("{} is not the deposit address of any order", deposit.address),
            )
        })?;
        if order.pay_asset != deposit.asset {
            return Err(AppError::conflict(
                ErrorCode::AssetMismatch,
                format!("order {} is paid in {}, but the deposit is {}", order.number, order.pay_asset, deposit.asset),
            ));
        }
        // A deposit to an expired order is still screened, and officers get a case for it.
        let late = !order.status.accepts_deposits();
        let mut addresses: Vec<Address> = Vec::with_capacity(deposit.sources.len() + 1);
        for a in deposit.sources.iter().chain(std::iter::once(&deposit.address)) {
            if !addresses.contains(a) {
                addresses.push(a.clone());
            }
        }
        let deposit_id = Uuid::now_v7();
        let transfer = Transfer {
            network: deposit.network,
            asset: deposit.asset,
            txid: deposit.txid.clone(),
            index: deposit.index,
            amount: deposit.amount,
            direction: Direction::Incoming,
            address: deposit.address.clone(),
            counterparties: deposit.sources.clone(),
            customer_ref: Some(self.customer_ref(&order)),
        };
        let request = ScreenRequest { occasion: Occasion::Deposit, addresses: &addresses, transfer: Some(&transfer) };
        let mut screening = self.screening.evaluate_request(request, &deposit.address).await;
        screening.order_id = Some(order.id);
        screening.deposit_id = Some(deposit_id);
        let now = self.cx.now_ms();
        // MON-1: the monitoring rules beside the analyzers.
        for hit in self
            .monitoring
            .check(self.repos.orders.as_ref(), self.repos.cases.as_ref(), &order, &deposit, &screening.reports, now)
            .await?
        {
            screening.decision.add_rule_hit(hit.rule, hit.detail, Action::Review);
        }
        if late {
            let detail =
                format!("order {} had expired: the funds wait for an officer (refund to the source)", order.number);
            screening.decision.add_rule_hit("late_deposit", detail, Action::Review);
        }
        let case = (screening.decision.action > Action::Proceed).then(|| {
            let (deadline_kind, window) = self.cx.deadlines.for_case(screening.decision.action);
            CaseRecord::open(
                order.id,
                Some(deposit_id),
                screening.decision.action,
                screening.decision.reasons.clone(),
                deadline_kind,
                now,
                now + window,
            )
        });
        let record = DepositRecord {
            id: deposit_id,
            order_id: order.id,
            network: deposit.network,
            asset: deposit.asset,
            address: deposit.address.as_str().to_owned(),
            txid: deposit.txid,
            index: deposit.index,
            amount: deposit.amount,
            sources: deposit.sources.iter().map(|a| a.as_str().to_owned()).collect(),
            confirmations: deposit.confirmations,
            screening_id: screening.id,
            received_at_ms: now,
        };
        let write = DepositWrite { deposit: record, screening, case, actor: actor.to_owned() };
        Ok(self.repos.orders.record_deposit(&write).await?)
    }

    /// The customer as vendors that profile users see them: a keyed hash, stable per customer
    /// (per order when the customer is anonymous), never personal data.
    fn customer_ref(&self, order: &OrderRecord) -> String {
        match &order.customer_email_index {
            Some(index) => self.cx.cipher.blind_index("vendor_customer_ref", index)[..32].to_owned(),
            None => order.id.simple().to_string(),
        }
    }

    /// One pass of a watcher: notice a reorganisation, read the new blocks (up to the tip or
    /// the step's limit), and credit what is deep enough. Safe to repeat and to restart.
    pub async fn watch_step(&self, source: &dyn ChainSource, s: &WatchSettings) -> Result<WatchReport, AppError> {
        let network = source.network();
        let unavailable = |e: RemoteError| AppError::Unavailable(format!("{network} node: {e}"));
        let tip = source.tip().await.map_err(unavailable)?;
        let mut report = WatchReport { tip, ..WatchReport::default() };
        let now = self.cx.now_ms();
        let mut next = match self.repos.chain.chain_head(network).await? {
            None => s.start_block.unwrap_or(tip),
            Some((head, _)) => {
                let ancestor = self.common_ancestor(source, head).await?;
                if ancestor < head {
                    self.rewind(network, ancestor, &mut report).await?;
                }
                ancestor + 1
            }
        };
        let watched: HashSet<String> =
            self.repos.chain.watched_addresses(network, now - s.watch_window_ms).await?.into_iter().collect();
        while next <= tip && report.scanned < s.max_blocks_per_step {
            let Some(block) = source.block(next, &watched).await.map_err(unavailable)? else { break };
            if let Some(parent) = self.repos.chain.chain_block_hash(network, next.saturating_sub(1)).await? {
                if next > 0 && parent != block.parent_hash {
                    // The chain changed under us; the next step finds the common ancestor.
                    break;
                }
            }
            let transfers: Vec<WatchedTransfer> = block
                .transfers
                .iter()
                .filter(|t| watched.contains(t.to.as_str()))
                .map(|t| WatchedTransfer {
                    network,
                    txid: t.txid.clone(),
                    index: t.index,
                    asset: t.asset,
                    address: t.to.as_str().to_owned(),
                    sources: t.sources.iter().map(|a| a.as_str().to_owned()).collect(),
                    amount: t.amount,
                    block_number: block.number,
                    block_hash: block.hash.clone(),
                    status: TransferStatus::Pending,
                    deposit_id: None,
                })
                .collect();
            report.seen += transfers.len() as u64;
            self.repos
                .chain
                .chain_add_block(network, block.number, &block.hash, &block.parent_hash, &transfers, now)
                .await?;
            report.scanned += 1;
            next += 1;
        }
        self.credit_deep_enough(network, tip, s, &mut report).await?;
        self.repos.chain.chain_prune(network, tip.saturating_sub(MAX_REORG)).await?;
        Ok(report)
    }

    /// The newest block we kept that the node still has.
    async fn common_ancestor(&self, source: &dyn ChainSource, head: u64) -> Result<u64, AppError> {
        let network = source.network();
        let mut n = head;
        loop {
            let ours = self.repos.chain.chain_block_hash(network, n).await?;
            let theirs =
                source.block_hash(n).await.map_err(|e| AppError::Unavailable(format!("{network} node: {e}")))?;
            match (ours, theirs) {
                (Some(a), Some(b)) if a == b => return Ok(n),
                (None, _) => return Ok(n),
                _ if n == 0 || head - n >= MAX_REORG => {
                    return Err(AppError::Internal(format!(
                        "{network}: no common block with the node within {MAX_REORG} blocks of {head}"
                    )))
                }
                _ => n -= 1,
            }
        }
    }

    /// Forgets the blocks after `ancestor`; their transfers are dropped or, if credited,
    /// reverted with a review case on the order.
    async fn rewind(&self, network: Network, ancestor: u64, report: &mut WatchReport) -> Result<(), AppError> {
        let now = self.cx.now_ms();
        tracing::warn!(%network, ancestor, "chain reorganisation: blocks after the common ancestor are forgotten");
        for t in self.repos.chain.chain_rewind(network, ancestor, now).await? {
            let Some(deposit_id) = t.deposit_id.filter(|_| t.status == TransferStatus::Reverted) else {
                report.dropped += 1;
                continue;
            };
            report.reverted += 1;
            let Some(deposit) = self.repos.orders.find_deposit(network, &t.txid, t.index).await? else { continue };
            let order_id = deposit.deposit.order_id;
            let detail = format!(
                "transaction {} left the {network} chain after it was credited (block {} was replaced)",
                t.txid, t.block_number
            );
            let data = serde_json::json!({"deposit_id": deposit_id, "rule": "deposit_reorged"});
            crate::cases::open_rule_case(
                self.repos.orders.as_ref(),
                &self.cx,
                order_id,
                Some(deposit_id),
                vec![("deposit_reorged", detail)],
                data,
                "system:watcher",
            )
            .await?;
        }
        Ok(())
    }

    /// Hands the transfers that reached their depth to the deposit intake.
    async fn credit_deep_enough(
        &self,
        network: Network,
        tip: u64,
        s: &WatchSettings,
        report: &mut WatchReport,
    ) -> Result<(), AppError> {
        for t in self.repos.chain.chain_open_transfers(network).await? {
            let confirmations = tip.saturating_sub(t.block_number) + 1;
            if confirmations < u64::from(s.depth_of(t.asset)) {
                continue;
            }
            let parse = |a: &str| Address::parse(network, a).map_err(|e| AppError::Internal(e.to_string()));
            let deposit = NewDeposit {
                network,
                asset: t.asset,
                address: parse(&t.address)?,
                txid: t.txid.clone(),
                index: t.index,
                amount: t.amount,
                sources: t.sources.iter().map(|a| parse(a)).collect::<Result<_, _>>()?,
                confirmations: Some(u32::try_from(confirmations).unwrap_or(u32::MAX)),
            };
            let now = self.cx.now_ms();
            match self.report_deposit(deposit, "system:watcher").await {
                Ok(outcome) => {
                    self.repos.chain.chain_credit(network, &t.txid, t.index, outcome.deposit.id, now).await?;
                    report.credited += 1;
                }
                Err(e @ (AppError::Invalid { .. } | AppError::NotFound { .. } | AppError::Conflict { .. })) => {
                    tracing::warn!(%network, txid = %t.txid, code = e.code(), "the deposit intake refused a watched transfer");
                    self.repos.chain.chain_refuse(network, &t.txid, t.index, now).await?;
                    report.refused += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
