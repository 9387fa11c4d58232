//! The audit log repository.

use crate::rows::{self, get};
use crate::script::Script;
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::repos::*;
use custos_domain::audit::{AuditEntry, AuditEvent};

#[async_trait]
impl AuditRepo for SqlStore {
    async fn audit_of(&self, entity_ids: &[String], limit: i64) -> StoreResult<Vec<AuditEntry>> {
        if entity_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (2..entity_ids.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash FROM audit_log \
             WHERE entity_id IN ({}) ORDER BY seq LIMIT $1",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(limit);
        for id in entity_ids {
            query = query.bind(id.as_str());
        }
        self.read_all(query, rows::audit_entry).await
    }

    async fn append_audit(&self, ev: &AuditEvent, at_ms: i64) -> StoreResult<()> {
        self.write(Script::default(), std::slice::from_ref(ev), at_ms).await
    }

    async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let query = sqlx::query(
            "SELECT seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit);
        self.read_all(query, rows::audit_entry).await
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        self.read_one(sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1"), |r| {
            Ok((get(r, "seq")?, get(r, "hash")?))
        })
        .await
    }
}
