//! Appends audit events to the hash chain inside the caller's transaction.

use crate::rows::get;
use crate::script::{values, Outcome, Script};
use custos_app::StoreError;
use custos_domain::audit::{entry_hash, AuditEvent};

/// Reads the chain's head. `lock` is " FOR UPDATE" on PostgreSQL so that concurrent
/// transactions chain one after another; SQLite's single writer already does.
pub(crate) fn read_head(script: &mut Script, lock: &str) {
    script.push(format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}"), vec![]);
}

pub(crate) fn head_of(outcome: &Outcome) -> Result<(i64, String), StoreError> {
    let row = outcome.rows.first().ok_or_else(|| StoreError::Other("the audit head is missing".into()))?;
    Ok((get(row, "seq")?, get(row, "hash")?))
}

/// Adds the entries for `events` after `head` to `script`, and moves the head.
pub(crate) fn push(
    script: &mut Script,
    head: (i64, String),
    events: &[AuditEvent],
    at_ms: i64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev) = head;
    for e in events {
        seq += 1;
        let data = serde_json::to_string(&e.data).map_err(|e| StoreError::Other(e.to_string()))?;
        let hash = entry_hash(&prev, seq, at_ms, &e.actor, &e.action, &e.entity_type, &e.entity_id, &data);
        script.push(
            "INSERT INTO audit_log (seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            values![
                seq,
                at_ms,
                e.actor.as_str(),
                e.action.as_str(),
                e.entity_type.as_str(),
                e.entity_id.as_str(),
                data,
                prev,
                hash.clone()
            ],
        );
        prev = hash;
    }
    script.push("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", values![seq, prev]);
    Ok(())
}
