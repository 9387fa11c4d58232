//! The audit log's hash chain: each entry's hash covers its content and the previous hash, so
//! altering, removing or reordering a row breaks the chain at a place `verify` names.
//!
//! Audit entries hold references (ids) and hashes, never personal data.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The previous-hash of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Who: "api:<key id>", "system", "cli", "staff:<id>".
    pub actor: String,
    /// What, as a dotted verb: "order.created", "deposit.screened".
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// Details: ids, statuses, codes. No personal data.
    pub data: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        entity_type: impl Into<String>,
        entity_id: impl ToString,
        data: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            actor: actor.into(),
            action: action.into(),
            entity_type: entity_type.into(),
            entity_id: entity_id.to_string(),
            data,
        }
    }
}

/// A stored entry of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// The event's data as stored (compact JSON text), hashed byte for byte.
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each length-prefixed so
/// that no two different entries encode alike.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    data: &str,
) -> String {
    let mut h = Sha256::new();
    for field in [
        prev_hash.as_bytes(),
        &seq.to_be_bytes(),
        &at_ms.to_be_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        entity_type.as_bytes(),
        entity_id.as_bytes(),
        data.as_bytes(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl AuditEntry {
    pub fn expected_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.at_ms,
            &self.actor,
            &self.action,
            &self.entity_type,
            &self.entity_id,
            &self.data,
        )
    }
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: its content does not match its hash (the row was altered)")]
    Altered { seq: i64 },
    #[error("entry {seq}: it does not follow entry {expected_prev} (a row before it was removed or the rows were reordered)")]
    Unlinked { seq: i64, expected_prev: i64 },
    #[error("entry {seq}: expected sequence number {expected} (a row was removed)")]
    Gap { seq: i64, expected: i64 },
    #[error("the log ends at entry {last_seq} but its head records entry {head_seq} (rows were removed from the end)")]
    Truncated { last_seq: i64, head_seq: i64 },
}

/// Checks a chain incrementally, entry by entry in `seq` order.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_hash: String,
    prev_seq: i64,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { prev_hash: GENESIS_HASH.to_owned(), prev_seq: 0, checked: 0 }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, e: &AuditEntry) -> Result<(), ChainBreak> {
        if e.expected_hash() != e.hash {
            return Err(ChainBreak::Altered { seq: e.seq });
        }
        if e.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { seq: e.seq, expected_prev: self.prev_seq });
        }
        if e.seq != self.prev_seq + 1 {
            return Err(ChainBreak::Gap { seq: e.seq, expected: self.prev_seq + 1 });
        }
        self.prev_hash.clone_from(&e.hash);
        self.prev_seq = e.seq;
        self.checked += 1;
        Ok(())
    }

    /// Compares the end of the chain with the recorded head (seq and hash of the last append).
    pub fn finish(&self, head: Option<(i64, &str)>) -> Result<u64, ChainBreak> {
        match head {
            Some((head_seq, head_hash)) if head_seq != self.prev_seq || head_hash != self.prev_hash => {
                Err(ChainBreak::Truncated { last_seq: self.prev_seq, head_seq })
            }
            _ => Ok(self.checked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let data = format!("{{\"n\":{seq}}}");
                let hash =
                    entry_hash(&prev, seq, 1000 + seq, "system", "order.created", "order", &format!("o{seq}"), &data);
                let e = AuditEntry {
                    seq,
                    at_ms: 1000 + seq,
                    actor: "system".into(),
                    action: "order.created".into(),
                    entity_type: "order".into(),
                    entity_id: format!("o{seq}"),
                    data,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: Option<(i64, &str)>) -> Result<u64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for e in entries {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, Some((5, &c[4].hash))), Ok(5));
    }

    #[test]
    fn altered_removed_reordered_and_truncated_rows_are_named() {
        let c = chain(5);
        let head = Some((5, c[4].hash.as_str()));
        let mut altered = c.clone();
        altered[2].data = "{\"n\":99}".into();
        assert_eq!(verify(&altered, head), Err(ChainBreak::Altered { seq: 3 }));
        let mut removed = c.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, head), Err(ChainBreak::Unlinked { seq: 3, expected_prev: 1 }));
        let mut reordered = c.clone();
        reordered.swap(1, 2);
        assert_eq!(verify(&reordered, head), Err(ChainBreak::Unlinked { seq: 3, expected_prev: 1 }));
        assert_eq!(verify(&c[..4], head), Err(ChainBreak::Truncated { last_seq: 4, head_seq: 5 }));
    }
}
