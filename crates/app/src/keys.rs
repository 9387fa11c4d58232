//! Keys at rest (SEC-6): the blind-index key kept apart from the master key (so that lookups
//! survive a rotation), and re-sealing every encrypted value under the current master key
//! after a rotation, in batches, safe alongside a running server.

use crate::error::AppError;
use crate::ports::Store;
use crate::App;
use custos_crypto::{Aad, FieldCipher};

/// An encrypted column: where it is, and the names its values are bound to (their AAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The row's key column (also the AAD's row).
    pub key: &'static str,
    pub column: &'static str,
    /// The column name in the AAD.
    pub aad_column: &'static str,
    /// A JSON list of screening reports whose vendors' evidence is sealed
    /// (`[i].vendor.evidence`, bound to `evidence:<i>`).
    pub json_reports: bool,
}

const fn sealed(table: &'static str, key: &'static str, column: &'static str, aad: &'static str) -> SealedColumn {
    SealedColumn { table, key, column, aad_column: aad, json_reports: false }
}

/// Every encrypted column of the schema. A test checks that each `*_enc` column is here.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    sealed("data_keys", "owner", "wrapped", "key"),
    sealed("orders", "id", "customer_email_enc", "customer_email"),
    sealed("accounts", "id", "email_enc", "email"),
    sealed("accounts", "id", "totp_secret_enc", "totp_secret"),
    sealed("email_tokens", "token_hash", "data_enc", "data"),
    sealed("customer_requests", "id", "answer_enc", "answer"),
    sealed("request_documents", "id", "file_name_enc", "file_name"),
    sealed("request_documents", "id", "content_enc", "content"),
    sealed("appeals", "id", "text_enc", "text"),
    sealed("appeals", "id", "outcome_enc", "outcome"),
    sealed("case_notes", "id", "body_enc", "body"),
    sealed("verifications", "id", "comment_enc", "comment"),
    sealed("kyc_inbox", "dedup_key", "body_enc", "body"),
    sealed("cards", "id", "holder_enc", "holder"),
    sealed("verification_files", "id", "content_enc", "content"),
    SealedColumn { table: "screenings", key: "id", column: "reports", aad_column: "evidence", json_reports: true },
];

/// The owner of the blind-index key in `data_keys`.
pub const INDEX_KEY_OWNER: &str = "index";

fn key_aad(owner: &str) -> Aad<'_> {
    Aad { table: "data_keys", column: "key", row: owner }
}

/// The cipher with the installation's blind-index key: read from the database (unwrapped with
/// the master key), or made on the first start from the current master key.
pub(crate) async fn with_index_key(
    store: &dyn Store,
    cipher: FieldCipher,
    now_ms: i64,
) -> Result<FieldCipher, AppError> {
    if cipher.is_ephemeral() {
        // A command without the master key (it reads no personal data): store nothing.
        return Ok(cipher);
    }
    let wrapped = match store.data_key(INDEX_KEY_OWNER).await? {
        Some(w) => w,
        None => {
            let fresh = cipher.wrap_key(&cipher.index_key_seed(), key_aad(INDEX_KEY_OWNER));
            store.insert_data_key(INDEX_KEY_OWNER, &fresh, now_ms).await?;
            // Another process may have won the race: read what is stored.
            store.data_key(INDEX_KEY_OWNER).await?.ok_or_else(|| AppError::Internal("the index key vanished".into()))?
        }
    };
    let key = cipher.unwrap_key(&wrapped, key_aad(INDEX_KEY_OWNER)).map_err(|e| {
        AppError::Internal(format!(
            "the blind-index key cannot be opened ({e}); configure the master key it was sealed with \
             (secrets.master_key or secrets.previous_keys)"
        ))
    })?;
    Ok(cipher.with_index_key(key))
}

/// How far a re-sealing pass got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Values read.
    pub examined: u64,
    /// Values sealed again under the current key.
    pub resealed: u64,
    /// Values changed by someone else meanwhile (they were written under the current key).
    pub raced: u64,
    /// Values that could not be opened with any configured key: (table.column, row).
    pub unreadable: Vec<(String, String)>,
}

/// One value sealed again, or `None` when it already uses the current key.
fn reseal_value(cipher: &FieldCipher, c: &SealedColumn, row: &str, value: &str) -> Result<Option<String>, String> {
    if !c.json_reports {
        let aad = Aad { table: c.table, column: c.aad_column, row };
        return cipher.reseal(value, aad).map_err(|e| e.to_string());
    }
    let mut reports: serde_json::Value = serde_json::from_str(value).map_err(|e| e.to_string())?;
    let mut changed = false;
    for (i, report) in reports.as_array_mut().into_iter().flatten().enumerate() {
        let Some(evidence) = report.pointer_mut("/vendor/evidence") else { continue };
        let Some(envelope) = evidence.as_str() else { continue };
        let column = format!("{}:{i}", c.aad_column);
        if let Some(new) =
            cipher.reseal(envelope, Aad { table: c.table, column: &column, row }).map_err(|e| e.to_string())?
        {
            *evidence = serde_json::Value::String(new);
            changed = true;
        }
    }
    Ok(changed.then(|| reports.to_string()))
}

impl App {
    /// Seals every value still under an older master key again under the current one; each
    /// value is replaced only if unchanged since it was read. Run after a rotation (`custos keys
    /// rotate`, or in the background by the server) until it reports nothing left; then the
    /// old key can leave the configuration. `progress` is told the values examined so far.
    pub async fn reseal_all(
        &self,
        batch: i64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ResealReport, AppError> {
        let mut report = ResealReport::default();
        let current = format!("v1.{}.%", self.cipher.key_id());
        for c in SEALED_COLUMNS {
            let mut after = String::new();
            loop {
                let rows = self.store.sealed_values(c, &current, &after, batch).await?;
                let Some((last, _)) = rows.last() else { break };
                after = last.clone();
                for (row, value) in &rows {
                    report.examined += 1;
                    match reseal_value(&self.cipher, c, row, value) {
                        Ok(None) => {}
                        Ok(Some(new)) => {
                            if self.store.replace_sealed(c, row, value, &new).await? {
                                report.resealed += 1;
                            } else {
                                report.raced += 1;
                            }
                        }
                        Err(e) => {
                            tracing::error!(table = c.table, column = c.column, error = %e, "a sealed value cannot be opened");
                            report.unreadable.push((format!("{}.{}", c.table, c.column), row.clone()));
                        }
                    }
                }
                progress(report.examined);
            }
        }
        if report.resealed > 0 {
            self.audit(
                "system",
                "keys.resealed",
                "key",
                self.cipher.key_id(),
                serde_json::json!({"resealed": report.resealed, "unreadable": report.unreadable.len()}),
            )
            .await?;
        }
        Ok(report)
    }

    /// How many values each key id seals, per column; for `custos keys status`.
    pub async fn sealed_key_ids(&self) -> Result<Vec<(String, String, u64)>, AppError> {
        let mut out = std::collections::BTreeMap::<(String, String), u64>::new();
        for c in SEALED_COLUMNS {
            let mut after = String::new();
            loop {
                let rows = self.store.sealed_values(c, "", &after, 1000).await?;
                let Some((last, _)) = rows.last() else { break };
                after = last.clone();
                for (_, value) in &rows {
                    let ids: Vec<String> = if c.json_reports {
                        let v: serde_json::Value = serde_json::from_str(value).unwrap_or_default();
                        v.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r.pointer("/vendor/evidence").and_then(|e| e.as_str()))
                            .filter_map(FieldCipher::envelope_key_id)
                            .map(str::to_owned)
                            .collect()
                    } else {
                        FieldCipher::envelope_key_id(value).map(str::to_owned).into_iter().collect()
                    };
                    for id in ids {
                        *out.entry((format!("{}.{}", c.table, c.column), id)).or_default() += 1;
                    }
                }
            }
        }
        Ok(out.into_iter().map(|((col, id), n)| (col, id, n)).collect())
    }
}
