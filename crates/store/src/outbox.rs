//! The outbox repository.

use crate::rows::{self, OUTBOX_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;
use uuid::Uuid;

#[async_trait]
impl OutboxRepo for SqlStore {
    async fn outbox_due(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxEvent>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
             ORDER BY created_at_ms, id LIMIT $2"
        );
        self.read_all(sqlx::query(&sql).bind(now_ms).bind(limit), rows::outbox).await
    }

    async fn outbox_get(&self, id: Uuid) -> StoreResult<Option<OutboxEvent>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::outbox).await
    }

    async fn outbox_record(&self, id: Uuid, record: &DeliveryRecord) -> StoreResult<()> {
        let id = id.to_string();
        let script = match record {
            DeliveryRecord::Delivered { at_ms } => Script::one(
                "UPDATE outbox SET status = 'delivered', delivered_at_ms = $1, attempts = attempts + 1, last_error = NULL \
                 WHERE id = $2",
                values![*at_ms, id],
            ),
            DeliveryRecord::Retry { next_at_ms, error } => Script::one(
                "UPDATE outbox SET next_attempt_at_ms = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3",
                values![*next_at_ms, error.as_str(), id],
            ),
            DeliveryRecord::Dead { error } => Script::one(
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $1 WHERE id = $2",
                values![error.as_str(), id],
            ),
        };
        self.session().await?.commit(script).await?;
        Ok(())
    }

    async fn outbox_replay(&self, id: Uuid, now_ms: i64, actor: &str) -> StoreResult<bool> {
        if self.outbox_get(id).await?.is_none() {
            return Ok(false);
        }
        let script = Script::one(
            "UPDATE outbox SET status = 'pending', next_attempt_at_ms = $1, attempts = 0, delivered_at_ms = NULL WHERE id = $2",
            values![now_ms, id.to_string()],
        );
        let ev = custos_app::entries::webhook_replayed(actor, id);
        self.write(script, &[ev], now_ms).await?;
        Ok(true)
    }
}
