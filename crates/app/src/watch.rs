//! Chain watchers (RISK-1 "automatically when funds arrive", ADDR-3): a chain source reports
//! blocks; Custos keeps their hashes, notes the transfers to its deposit addresses, and hands
//! each to the deposit intake (screening, case) once it is deep enough. A reorganisation is
//! noticed by the hashes: what the new chain removed is dropped (not yet credited) or reverted
//! (credited: the deposit stops counting and officers get a case), and what it added is picked
//! up like any block. After downtime the watcher catches up from the last block it kept.

pub use crate::model::WatchedTransfer;
use crate::ports::RemoteError;
use async_trait::async_trait;
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
pub(crate) const MAX_REORG: u64 = 1000;
