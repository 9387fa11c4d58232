//! Wrapped keys and the sealed values a key rotation re-seals.

use crate::rows;
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::keys::SealedColumn;
use custos_app::ports::{KeyStore, StoreResult};
use custos_app::StoreError;

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
impl KeyStore for SqlStore {
    async fn data_key(&self, owner: &str) -> StoreResult<Option<String>> {
        let q = sqlx::query("SELECT wrapped FROM data_keys WHERE owner = $1 AND wrapped IS NOT NULL").bind(owner);
        self.read_one(q, |r| rows::get::<String>(r, "wrapped")).await
    }

    async fn insert_data_key(&self, owner: &str, wrapped: &str, at_ms: i64) -> StoreResult<bool> {
        let script = Script::one(
            "INSERT INTO data_keys (owner, wrapped, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (owner) DO NOTHING",
            values![owner, wrapped, at_ms],
        );
        Ok(self.write_with(script, &[], at_ms).await?[0].affected == 1)
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
             AND ($2 = '' OR {column} NOT LIKE $2) ORDER BY {key} LIMIT $3"
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
