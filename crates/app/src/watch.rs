//! Chain watchers (RISK-1 "automatically when funds arrive", ADDR-3): a chain source reports
//! blocks; Custos keeps their hashes, notes the transfers to its deposit addresses, and hands
//! each to the deposit intake (screening, case) once it is deep enough. A reorganisation is
//! noticed by the hashes: what the new chain removed is dropped (not yet credited) or reverted
//! (credited: the deposit stops counting and officers get a case), and what it added is picked
//! up like any block. After downtime the watcher catches up from the last block it kept.

use crate::error::AppError;
use crate::model::NewDeposit;
pub use crate::model::WatchedTransfer;
use crate::ports::RemoteError;
use crate::App;
use async_trait::async_trait;
use custos_domain::status::TransferStatus;
use custos_domain::{Address, Amount, Asset, Network};
use std::collections::{BTreeMap, HashSet};

/// A transfer to one of our addresses, as a chain source reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTransfer {
    pub txid: String,
    /// 0 for a native transfer; a token transfer's log index + 1 (unique within the transaction).
    pub index: u32,
    pub asset: Asset,
    pub to: Address,
    /// Where the funds came from (a token transfer's `from`, not the contract).
    pub sources: Vec<Address>,
    pub amount: Amount,
}

/// A block with its transfers to the watched addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBlock {
    pub number: u64,
    pub hash: String,
    pub parent_hash: String,
    pub transfers: Vec<ChainTransfer>,
}

/// A node or indexer of one network.
#[async_trait]
pub trait ChainSource: Send + Sync {
    fn network(&self) -> Network;
    /// The newest block's number.
    async fn tip(&self) -> Result<u64, RemoteError>;
    /// The hash of the block at `number` on the node's chain now.
    async fn block_hash(&self, number: u64) -> Result<Option<String>, RemoteError>;
    /// The block at `number` with its successful transfers to any of `watched` (normalised
    /// addresses).
    async fn block(&self, number: u64, watched: &HashSet<String>) -> Result<Option<ChainBlock>, RemoteError>;
}

/// How a watcher follows a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSettings {
    /// Confirmations before a transfer is credited, per asset; `default_depth` otherwise.
    pub depth: BTreeMap<Asset, u32>,
    pub default_depth: u32,
    /// Where a watcher with no history starts [default: the tip].
    pub start_block: Option<u64>,
    /// Blocks read per step at most (catching up goes on at the next step).
    pub max_blocks_per_step: u64,
    /// An order's address is watched until this long after the order was created, and while
    /// the order is open.
    pub watch_window_ms: i64,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            depth: BTreeMap::new(),
            default_depth: 12,
            start_block: None,
            max_blocks_per_step: 500,
            watch_window_ms: 30 * 86_400_000,
        }
    }
}

impl WatchSettings {
    pub fn depth_of(&self, asset: Asset) -> u32 {
        self.depth.get(&asset).copied().unwrap_or(self.default_depth).max(1)
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchReport {
    pub tip: u64,
    /// Blocks read.
    pub scanned: u64,
    /// Transfers to our addresses seen for the first time (or again after a reorg).
    pub seen: u64,
    /// Transfers handed to the deposit intake.
    pub credited: u64,
    /// Transfers the intake refused (e.g. an asset the order is not paid in).
    pub refused: u64,
    /// Transfers whose block left the chain before (dropped) or after (reverted) their credit.
    pub dropped: u64,
    pub reverted: u64,
}

/// How far back a reorganisation is looked for.
const MAX_REORG: u64 = 1000;

impl App {
    /// One pass of a watcher: notice a reorganisation, read the new blocks (up to the tip or
    /// the step's limit), and credit what is deep enough. Safe to repeat and to restart.
    pub async fn watch_step(&self, source: &dyn ChainSource, s: &WatchSettings) -> Result<WatchReport, AppError> {
        let network = source.network();
        let unavailable = |e: RemoteError| AppError::Unavailable(format!("{network} node: {e}"));
        let tip = source.tip().await.map_err(unavailable)?;
        let mut report = WatchReport { tip, ..WatchReport::default() };
        let now = self.clock.now_ms();
        let mut next = match self.store.chain_head(network).await? {
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
            self.store.watched_addresses(network, now - s.watch_window_ms).await?.into_iter().collect();
        while next <= tip && report.scanned < s.max_blocks_per_step {
            let Some(block) = source.block(next, &watched).await.map_err(unavailable)? else { break };
            if let Some(parent) = self.store.chain_block_hash(network, next.saturating_sub(1)).await? {
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
            self.store.chain_add_block(network, block.number, &block.hash, &block.parent_hash, &transfers, now).await?;
            report.scanned += 1;
            next += 1;
        }
        self.credit_deep_enough(network, tip, s, &mut report).await?;
        self.store.chain_prune(network, tip.saturating_sub(MAX_REORG)).await?;
        Ok(report)
    }

    /// The newest block we kept that the node still has.
    async fn common_ancestor(&self, source: &dyn ChainSource, head: u64) -> Result<u64, AppError> {
        let network = source.network();
        let mut n = head;
        loop {
            let ours = self.store.chain_block_hash(network, n).await?;
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
        let now = self.clock.now_ms();
        tracing::warn!(%network, ancestor, "chain reorganisation: blocks after the common ancestor are forgotten");
        for t in self.store.chain_rewind(network, ancestor, now).await? {
            let Some(deposit_id) = t.deposit_id.filter(|_| t.status == TransferStatus::Reverted) else {
                report.dropped += 1;
                continue;
            };
            report.reverted += 1;
            let Some(deposit) = self.store.find_deposit(network, &t.txid, t.index).await? else { continue };
            let order_id = deposit.deposit.order_id;
            let detail = format!(
                "transaction {} left the {network} chain after it was credited (block {} was replaced)",
                t.txid, t.block_number
            );
            let data = serde_json::json!({"deposit_id": deposit_id, "rule": "deposit_reorged"});
            self.open_rule_case(order_id, Some(deposit_id), vec![("deposit_reorged", detail)], data, "system:watcher")
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
        for t in self.store.chain_open_transfers(network).await? {
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
            let now = self.clock.now_ms();
            match self.report_deposit(deposit, "system:watcher").await {
                Ok(outcome) => {
                    self.store.chain_credit(network, &t.txid, t.index, outcome.deposit.id, now).await?;
                    report.credited += 1;
                }
                Err(e @ (AppError::Invalid { .. } | AppError::NotFound { .. } | AppError::Conflict { .. })) => {
                    tracing::warn!(%network, txid = %t.txid, code = e.code(), "the deposit intake refused a watched transfer");
                    self.store.chain_refuse(network, &t.txid, t.index, now).await?;
                    report.refused += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
