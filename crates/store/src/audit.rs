//! Appends audit events to the hash chain inside the caller's transaction.

use crate::map_err;
use custos_app::StoreError;
use custos_domain::audit::{entry_hash, AuditEvent};
use sqlx::{Any, Row, Transaction};

/// Appends `events` after the current head. `lock` is " FOR UPDATE" on PostgreSQL so that
/// concurrent transactions chain one after another; SQLite's single writer already does.
pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    events: &[AuditEvent],
    at_ms: i64,
    lock: &str,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let head = sqlx::query(&format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}"))
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
    let mut seq: i64 = head.get(0);
    let mut prev: String = head.get(1);
    for e in events {
        seq += 1;
        let data = serde_json::to_string(&e.data).map_err(|e| StoreError::Other(e.to_string()))?;
        let hash = entry_hash(&prev, seq, at_ms, &e.actor, &e.action, &e.entity_type, &e.entity_id, &data);
        sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(at_ms)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.entity_type)
        .bind(&e.entity_id)
        .bind(&data)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&prev)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
