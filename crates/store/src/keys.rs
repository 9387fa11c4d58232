//! Wrapped keys and the sealed values a key rotation re-seals.

use crate::rows;
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::keys::{SealedColumn, StoredKey};
use custos_app::repos::*;
use custos_app::StoreError;
use custos_domain::audit::AuditEvent;

const KEY_COLUMNS: &str = "id, owner, wrapped, created_at_ms, erased_at_ms";

fn stored_key(r: &sqlx::any::AnyRow) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        id: rows::get(r, "id")?,
        owner: rows::get(r, "owner")?,
        wrapped: rows::get(r, "wrapped")?,
        created_at_ms: rows::get(r, "created_at_ms")?,
        erased_at_ms: rows::get(r, "erased_at_ms")?,
    })
}

/// Table and column names come from the code's own list, never from input; still, only plain
/// names are put into SQL.
fn names(c: &SealedColumn) -> StoreResult<(&'static str, &'static str, &'static str)> {
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain(c.table) && plain(c.key) && plain(c.column) {
        Ok((c.table, c.key, c.column))
    } else {
        Err(StoreError::Other(format!("not a plain column name: {}.{}", c.table, c.column)))
    }
}

#[async_trait]
impl KeyRepo for SqlStore {
    async fn data_keys_of(&self, owner: &str) -> StoreResult<Vec<StoredKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM data_keys WHERE owner = $1 ORDER BY created_at_ms DESC, id");
        let q = sqlx::query(&sql).bind(owner);
        self.read_all(q, stored_key).await
    }

    async fn insert_data_key(&self, k: &StoredKey) -> StoreResult<bool> {
        let script = Script::one(
            "INSERT INTO data_keys (id, owner, wrapped, created_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            values![k.id.as_str(), k.owner.as_str(), k.wrapped.clone(), k.created_at_ms],
        );
        Ok(self.write_with(script, &[], k.created_at_ms).await?[0].affected == 1)
    }

    async fn data_keys_changed_since(&self, since_ms: i64) -> StoreResult<Vec<StoredKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM data_keys WHERE created_at_ms >= $1 OR erased_at_ms >= $1 ORDER BY created_at_ms, id"
        );
        let q = sqlx::query(&sql).bind(since_ms);
        self.read_all(q, stored_key).await
    }

    async fn erase_customer(
        &self,
        email_index: &str,
        owner: &str,
        tombstone: &str,
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<u64> {
        let mut script = Script::one(
            "UPDATE data_keys SET wrapped = NULL, erased_at_ms = $1, owner = $3 WHERE owner = $2",
            values![at_ms, owner, tombstone],
        );
        script.push(
            "DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE kind = 'customer' AND email_index = $1)",
            values![email_index],
        );
        // The sealed values go too, so that nothing sealed by the master key before data keys
        // existed outlives the erasure.
        let orders = "SELECT id FROM orders WHERE customer_email_index = $1";
        for sql in [
            format!(
                "DELETE FROM request_documents WHERE request_id IN (SELECT id FROM customer_requests WHERE order_id IN ({orders}))"
            ),
            format!("UPDATE customer_requests SET answer_enc = NULL, message_enc = NULL WHERE order_id IN ({orders})"),
            format!("UPDATE appeals SET text_enc = '', outcome_enc = NULL WHERE order_id IN ({orders})"),
            "UPDATE standing_appeals SET text_enc = '', outcome_enc = NULL WHERE email_index = $1".to_owned(),
            "UPDATE cards SET holder_enc = NULL WHERE email_index = $1".to_owned(),
            "DELETE FROM verification_files WHERE verification_id IN (SELECT id FROM verifications WHERE email_index = $1)"
                .to_owned(),
            "UPDATE verifications SET comment_enc = NULL, identity_name_hash = NULL WHERE email_index = $1".to_owned(),
            "UPDATE orders SET customer_email_enc = NULL WHERE customer_email_index = $1".to_owned(),
        ] {
            script.push(sql, values![email_index]);
        }
        script.push(
            "UPDATE accounts SET email_index = $1, email_enc = '', disabled = 1, password_hash = '', \
             totp_secret_enc = NULL, updated_at_ms = $2 WHERE kind = 'customer' AND email_index = $3",
            values![tombstone, at_ms, email_index],
        );
        script.push(
            "UPDATE orders SET customer_email_index = $1 WHERE customer_email_index = $2",
            values![tombstone, email_index],
        );
        for table in ["customers", "verifications", "cards", "standing_appeals"] {
            script.push(
                format!("UPDATE {table} SET email_index = $1 WHERE email_index = $2"),
                values![tombstone, email_index],
            );
        }
        Ok(self.write_with(script, events, at_ms).await?[0].affected)
    }

    async fn sealed_values(
        &self,
        c: &SealedColumn,
        skip_like: &str,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        let (table, key, column) = names(c)?;
        let sql = format!(
            "SELECT {key} AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL AND {key} > $1 \
             AND ($2 = '' OR ({column} NOT LIKE $2 AND {column} NOT LIKE 'v2.%')) ORDER BY {key} LIMIT $3"
        );
        let q = sqlx::query(&sql).bind(after).bind(skip_like).bind(limit);
        self.read_all(q, |r| Ok((rows::get::<String>(r, "k")?, rows::get::<String>(r, "v")?))).await
    }

    async fn replace_sealed(&self, c: &SealedColumn, key: &str, old: &str, new: &str) -> StoreResult<bool> {
        let (table, key_column, column) = names(c)?;
        let script = Script::one(
            format!("UPDATE {table} SET {column} = $1 WHERE {key_column} = $2 AND {column} = $3"),
            values![new, key, old],
        );
        Ok(self.write_with(script, &[], 0).await?[0].affected == 1)
    }
}

#[cfg(test)]
mod tests {
    use custos_app::keys::SEALED_COLUMNS;

    /// Every `*_enc` column the migrations create is re-sealed by a rotation.
    #[test]
    fn sec6_every_encrypted_column_is_in_the_rotation_list() {
        for dialect in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
            let mut found = Vec::new();
            for entry in std::fs::read_dir(&dir).unwrap() {
                let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                let mut table = String::new();
                for line in sql.lines().map(str::trim).filter(|l| !l.starts_with("--")) {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    if let ["CREATE" | "ALTER", "TABLE", name, ..] = words.as_slice() {
                        table = name.trim_start_matches("IF NOT EXISTS").to_owned();
                    }
                    for word in words {
                        let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
                        if word.ends_with("_enc") {
                            found.push((table.clone(), word.to_owned()));
                        }
                    }
                }
            }
            assert!(found.len() >= 14, "{dialect}: {found:?}");
            for (table, column) in found {
                assert!(
                    SEALED_COLUMNS.iter().any(|c| c.table == table && c.column == column),
                    "{dialect}: {table}.{column} is encrypted but not re-sealed by `custos keys rotate`"
                );
            }
        }
    }
}
