//! What chain watchers keep: block hashes and transfers to deposit addresses.

use crate::rows;
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::repos::*;
use custos_app::watch::WatchedTransfer;
use custos_app::StoreError;
use custos_domain::audit::AuditEvent;
use custos_domain::status::TransferStatus;
use custos_domain::{Amount, Network};
use uuid::Uuid;

const TRANSFER_COLUMNS: &str = "network, txid, output_index, asset, address, sources, amount, block_number, \
    block_hash, status, deposit_id";

fn transfer(r: &sqlx::any::AnyRow) -> StoreResult<WatchedTransfer> {
    let bad = |what: &str, v: &str| StoreError::Other(format!("chain_transfers: bad {what} {v:?}"));
    let network: String = rows::get(r, "network")?;
    let asset: String = rows::get(r, "asset")?;
    let amount: String = rows::get(r, "amount")?;
    let deposit: Option<String> = rows::get(r, "deposit_id")?;
    Ok(WatchedTransfer {
        network: network.parse().map_err(|_| bad("network", &network))?,
        txid: rows::get(r, "txid")?,
        index: u32::try_from(rows::get::<i64>(r, "output_index")?).map_err(|_| bad("index", ""))?,
        asset: asset.parse().map_err(|_| bad("asset", &asset))?,
        address: rows::get(r, "address")?,
        sources: serde_json::from_str(&rows::get::<String>(r, "sources")?)
            .map_err(|e| bad("sources", &e.to_string()))?,
        amount: Amount(amount.parse().map_err(|_| bad("amount", &amount))?),
        block_number: u64::try_from(rows::get::<i64>(r, "block_number")?).map_err(|_| bad("block", ""))?,
        block_hash: rows::get(r, "block_hash")?,
        status: rows::parse(r, "status")?,
        deposit_id: deposit.map(|d| d.parse().map_err(|_| bad("deposit_id", &d))).transpose()?,
    })
}

fn number(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl ChainRepo for SqlStore {
    async fn chain_head(&self, network: Network) -> StoreResult<Option<(u64, String)>> {
        let q = sqlx::query("SELECT number, hash FROM chain_blocks WHERE network = $1 ORDER BY number DESC LIMIT 1")
            .bind(network.as_str());
        self.read_one(q, |r| Ok((rows::get::<i64>(r, "number")?.max(0) as u64, rows::get(r, "hash")?))).await
    }

    async fn chain_block_hash(&self, network: Network, n: u64) -> StoreResult<Option<String>> {
        let q = sqlx::query("SELECT hash FROM chain_blocks WHERE network = $1 AND number = $2")
            .bind(network.as_str())
            .bind(number(n));
        self.read_one(q, |r| rows::get(r, "hash")).await
    }

    async fn chain_add_block(
        &self,
        network: Network,
        n: u64,
        hash: &str,
        parent_hash: &str,
        transfers: &[WatchedTransfer],
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut script = Script::one(
            "INSERT INTO chain_blocks (network, number, hash, parent_hash) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (network, number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash",
            values![network.as_str(), number(n), hash, parent_hash],
        );
        for t in transfers {
            let sources = serde_json::to_string(&t.sources).map_err(|e| StoreError::Other(e.to_string()))?;
            script.push(
                "INSERT INTO chain_transfers (network, txid, output_index, asset, address, sources, amount, \
                 block_number, block_hash, status, seen_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) \
                 ON CONFLICT (network, txid, output_index) DO UPDATE SET block_number = excluded.block_number, \
                 block_hash = excluded.block_hash, updated_at_ms = excluded.updated_at_ms, \
                 status = CASE WHEN chain_transfers.status IN ('dropped', 'reverted') THEN 'pending' \
                 ELSE chain_transfers.status END",
                values![
                    network.as_str(),
                    t.txid.as_str(),
                    i64::from(t.index),
                    t.asset.as_str(),
                    t.address.as_str(),
                    sources,
                    t.amount.0.to_string(),
                    number(t.block_number),
                    t.block_hash.as_str(),
                    at_ms
                ],
            );
        }
        self.write(script, &[], at_ms).await
    }

    async fn chain_rewind(&self, network: Network, ancestor: u64, at_ms: i64) -> StoreResult<Vec<WatchedTransfer>> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM chain_transfers WHERE network = $1 AND block_number > $2 \
             AND status IN ('pending', 'credited') ORDER BY block_number, txid, output_index"
        );
        let q = sqlx::query(&sql).bind(network.as_str()).bind(number(ancestor));
        let mut affected = self.read_all(q, transfer).await?;
        let mut script = Script::one(
            "DELETE FROM chain_blocks WHERE network = $1 AND number > $2",
            values![network.as_str(), number(ancestor)],
        );
        script.push(
            "UPDATE deposits SET reverted_at_ms = $1 WHERE id IN (SELECT deposit_id FROM chain_transfers \
             WHERE network = $2 AND block_number > $3 AND status = 'credited')",
            values![at_ms, network.as_str(), number(ancestor)],
        );
        script.push(
            "UPDATE chain_transfers SET status = CASE WHEN status = 'credited' THEN 'reverted' ELSE 'dropped' END, \
             updated_at_ms = $1 WHERE network = $2 AND block_number > $3 AND status IN ('pending', 'credited')",
            values![at_ms, network.as_str(), number(ancestor)],
        );
        let events: Vec<AuditEvent> = affected
            .iter()
            .filter(|t| t.status == TransferStatus::Credited)
            .map(|t| custos_app::entries::deposit_reverted(network, t))
            .collect();
        self.write(script, &events, at_ms).await?;
        for t in &mut affected {
            t.status =
                if t.status == TransferStatus::Credited { TransferStatus::Reverted } else { TransferStatus::Dropped };
        }
        Ok(affected)
    }

    async fn chain_open_transfers(&self, network: Network) -> StoreResult<Vec<WatchedTransfer>> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM chain_transfers WHERE network = $1 AND status = 'pending' \
             ORDER BY block_number, txid, output_index"
        );
        self.read_all(sqlx::query(&sql).bind(network.as_str()), transfer).await
    }

    async fn chain_credit(
        &self,
        network: Network,
        txid: &str,
        index: u32,
        deposit_id: Uuid,
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut script = Script::one(
            "UPDATE chain_transfers SET status = 'credited', deposit_id = $1, updated_at_ms = $2 \
             WHERE network = $3 AND txid = $4 AND output_index = $5",
            values![deposit_id.to_string(), at_ms, network.as_str(), txid, i64::from(index)],
        );
        script.push(
            "UPDATE deposits SET reverted_at_ms = NULL WHERE id = $1 AND reverted_at_ms IS NOT NULL",
            values![deposit_id.to_string()],
        );
        self.write(script, &[], at_ms).await
    }

    async fn chain_refuse(&self, network: Network, txid: &str, index: u32, at_ms: i64) -> StoreResult<()> {
        let script = Script::one(
            "UPDATE chain_transfers SET status = 'refused', updated_at_ms = $1 \
             WHERE network = $2 AND txid = $3 AND output_index = $4",
            values![at_ms, network.as_str(), txid, i64::from(index)],
        );
        self.write(script, &[], at_ms).await
    }

    async fn chain_prune(&self, network: Network, n: u64) -> StoreResult<()> {
        let script = Script::one(
            "DELETE FROM chain_blocks WHERE network = $1 AND number < $2",
            values![network.as_str(), number(n)],
        );
        self.write(script, &[], 0).await
    }

    async fn watched_addresses(&self, network: Network, since_ms: i64) -> StoreResult<Vec<String>> {
        let q = sqlx::query(
            "SELECT da.address FROM deposit_addresses da JOIN orders o ON o.id = da.order_id \
             WHERE da.network = $1 AND (da.created_at_ms >= $2 OR o.status NOT IN ('completed', 'refunded', 'frozen', 'expired'))",
        )
        .bind(network.as_str())
        .bind(since_ms);
        self.read_all(q, |r| rows::get(r, "address")).await
    }

    async fn sweep_candidates(&self, network: Network) -> StoreResult<Vec<custos_app::consolidation::Candidate>> {
        let q = sqlx::query(
            "SELECT d.id, d.asset, d.address, d.amount, d.txid, d.output_index, da.derivation_index, o.status, \
             d.reverted_at_ms, \
             (SELECT COUNT(*) FROM cases c WHERE c.deposit_id = d.id AND c.status = 'open') AS open_cases \
             FROM deposits d JOIN orders o ON o.id = d.order_id \
             LEFT JOIN deposit_addresses da ON da.network = d.network AND da.address = d.address \
             WHERE d.network = $1 AND d.swept_at_ms IS NULL ORDER BY d.received_at_ms, d.id",
        )
        .bind(network.as_str());
        self.read_all(q, |r| {
            let status: String = rows::get(r, "status")?;
            let asset: String = rows::get(r, "asset")?;
            let amount: String = rows::get(r, "amount")?;
            let bad = |what: &str, v: &str| StoreError::Other(format!("deposits: bad {what} {v:?}"));
            Ok(custos_app::consolidation::Candidate {
                deposit_id: rows::uuid(r, "id")?,
                asset: asset.parse().map_err(|_| bad("asset", &asset))?,
                address: rows::get(r, "address")?,
                amount: Amount(amount.parse().map_err(|_| bad("amount", &amount))?),
                txid: rows::get(r, "txid")?,
                index: u32::try_from(rows::get::<i64>(r, "output_index")?).map_err(|_| bad("index", ""))?,
                derivation_index: rows::get::<Option<i64>>(r, "derivation_index")?.and_then(|i| u32::try_from(i).ok()),
                state: custos_domain::consolidation::SweepCandidate {
                    order_status: status.parse().map_err(|_| bad("status", &status))?,
                    reverted: rows::get::<Option<i64>>(r, "reverted_at_ms")?.is_some(),
                    open_cases: u32::try_from(rows::get::<i64>(r, "open_cases")?).unwrap_or(u32::MAX),
                },
            })
        })
        .await
    }

    async fn derivation_index(&self, network: Network, address: &str) -> StoreResult<Option<u32>> {
        let q = sqlx::query("SELECT derivation_index FROM deposit_addresses WHERE network = $1 AND address = $2")
            .bind(network.as_str())
            .bind(address);
        Ok(self.read_one(q, |r| rows::get::<i64>(r, "derivation_index")).await?.and_then(|i| u32::try_from(i).ok()))
    }

    async fn record_sweep(&self, deposit_id: Uuid, txid: &str, actor: &str, at_ms: i64) -> StoreResult<bool> {
        let script = Script::one(
            "UPDATE deposits SET swept_txid = $1, swept_at_ms = $2 WHERE id = $3 AND swept_at_ms IS NULL",
            values![txid, at_ms, deposit_id.to_string()],
        );
        let ev = custos_app::entries::deposit_swept(actor, deposit_id, txid);
        self.write_if_one(script, &[ev], at_ms).await
    }

    async fn chain_transfers(&self, network: Network, limit: i64) -> StoreResult<Vec<WatchedTransfer>> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM chain_transfers WHERE network = $1 \
             ORDER BY block_number DESC, txid, output_index LIMIT $2"
        );
        self.read_all(sqlx::query(&sql).bind(network.as_str()).bind(limit), transfer).await
    }
}
