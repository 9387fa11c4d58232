//! The appeals repository.

use crate::rows::{self, APPEAL_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;
use uuid::Uuid;

#[async_trait]
impl AppealRepo for SqlStore {
    async fn insert_appeal(&self, a: &AppealRecord, actor: &str) -> StoreResult<()> {
        let mut script = Script::default();
        // One open appeal per order: a second is a conflict, inside the same transaction.
        script.push(
            "INSERT INTO appeals (id, order_id, status, text_enc, outcome_enc, created_at_ms, due_at_ms) \
             SELECT $1, $2, $3, $4, NULL, $5, $6 WHERE NOT EXISTS \
             (SELECT 1 FROM appeals WHERE order_id = $2 AND status = 'open')",
            values![
                a.id.to_string(),
                a.order_id.to_string(),
                a.status.as_str(),
                a.text_enc.as_str(),
                a.created_at_ms,
                a.due_at_ms
            ],
        );
        let ev = custos_app::entries::appeal_opened(actor, a);
        if self.write_if_one(script, &[ev], a.created_at_ms).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict("this order already has an open appeal".into()))
        }
    }

    async fn appeals_of_order(&self, order_id: Uuid) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE order_id = $1 ORDER BY created_at_ms");
        self.read_all(sqlx::query(&sql).bind(order_id.to_string()), rows::appeal).await
    }

    async fn open_appeals(&self, limit: i64) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE status = 'open' ORDER BY due_at_ms LIMIT $1");
        self.read_all(sqlx::query(&sql).bind(limit), rows::appeal).await
    }

    async fn get_appeal(&self, id: Uuid) -> StoreResult<Option<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::appeal).await
    }

    async fn answer_appeal(&self, id: Uuid, outcome_enc: &str, actor: &str, at_ms: i64) -> StoreResult<bool> {
        let script = Script::one(
            "UPDATE appeals SET status = 'answered', outcome_enc = $1, answered_by = $2, answered_at_ms = $3 \
             WHERE id = $4 AND status = 'open'",
            values![outcome_enc, actor, at_ms, id.to_string()],
        );
        self.write_if_one(script, &[custos_app::entries::appeal_answered(actor, id)], at_ms).await
    }
}
