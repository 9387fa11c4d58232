//! The standing repository.

use crate::rows::{self, get, STANDING_APPEAL_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;
use uuid::Uuid;

#[async_trait]
impl StandingRepo for SqlStore {
    async fn customer_status(&self, email_index: &str) -> StoreResult<Option<(Uuid, CustomerStatus)>> {
        let query = sqlx::query("SELECT id, status FROM customers WHERE email_index = $1").bind(email_index);
        self.read_one(query, |r| {
            let status = match get::<String>(r, "status")?.as_str() {
                "restricted" => CustomerStatus::Restricted,
                "suspended" => CustomerStatus::Suspended,
                _ => CustomerStatus::Active,
            };
            Ok((rows::parse(r, "id")?, status))
        })
        .await
    }

    async fn insert_standing_appeal(&self, a: &StandingAppealRecord, actor: &str) -> StoreResult<()> {
        let script = Script::one(
            "INSERT INTO standing_appeals (id, email_index, status, text_enc, created_at_ms, due_at_ms) \
             SELECT $1, $2, 'open', $3, $4, $5 WHERE NOT EXISTS \
             (SELECT 1 FROM standing_appeals WHERE email_index = $2 AND status = 'open')",
            values![a.id.to_string(), a.email_index.as_str(), a.text_enc.as_str(), a.created_at_ms, a.due_at_ms],
        );
        let ev = custos_app::entries::standing_appeal_opened(actor, a);
        if self.write_if_one(script, &[ev], a.created_at_ms).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict("an appeal of the account's standing is open already".into()))
        }
    }

    async fn standing_appeals_of(&self, email_index: &str) -> StoreResult<Vec<StandingAppealRecord>> {
        let sql = format!(
            "SELECT {STANDING_APPEAL_COLUMNS} FROM standing_appeals WHERE email_index = $1 ORDER BY created_at_ms DESC"
        );
        self.read_all(sqlx::query(&sql).bind(email_index), rows::standing_appeal).await
    }

    async fn open_standing_appeals(&self, limit: i64) -> StoreResult<Vec<StandingAppealRecord>> {
        let sql = format!(
            "SELECT {STANDING_APPEAL_COLUMNS} FROM standing_appeals WHERE status = 'open' ORDER BY due_at_ms LIMIT $1"
        );
        self.read_all(sqlx::query(&sql).bind(limit), rows::standing_appeal).await
    }

    async fn get_standing_appeal(&self, id: Uuid) -> StoreResult<Option<StandingAppealRecord>> {
        let sql = format!("SELECT {STANDING_APPEAL_COLUMNS} FROM standing_appeals WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::standing_appeal).await
    }

    async fn answer_standing_appeal(
        &self,
        a: &StandingAppealRecord,
        outcome_enc: &str,
        reinstate: bool,
        actor: &str,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let mut script = Script::one(
            "UPDATE standing_appeals SET status = 'answered', outcome_enc = $1, reinstated = $2, answered_by = $3, \
             answered_at_ms = $4 WHERE id = $5 AND status = 'open'",
            values![outcome_enc, i64::from(reinstate), actor, at_ms, a.id.to_string()],
        );
        if reinstate {
            script.push(
                "UPDATE customers SET status = 'active', updated_at_ms = $1 WHERE email_index = $2",
                values![at_ms, a.email_index.as_str()],
            );
        }
        let ev = custos_app::entries::standing_appeal_answered(actor, a, reinstate);
        self.write_if_one(script, &[ev], at_ms).await
    }
}
