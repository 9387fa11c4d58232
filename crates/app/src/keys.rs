//! Keys at rest (SEC-6): the blind-index key kept apart from the master key (so that lookups
//! survive a rotation), and re-sealing every encrypted value under the current master key
//! after a rotation, in batches, safe alongside a running server.

use crate::clock::Clock;
use crate::error::{AppError, ErrorCode};
pub use crate::model::{SealedColumn, StoredKey};
use crate::ports::Store;
use crate::repos::*;
use custos_crypto::{Aad, DataKey, FieldCipher};
use custos_domain::audit::AuditEvent;
use std::sync::{Arc, Mutex};

const fn sealed(table: &'static str, key: &'static str, column: &'static str, aad: &'static str) -> SealedColumn {
    SealedColumn { table, key, column, aad_column: aad, json_reports: false }
}

/// Every encrypted column of the schema. A test checks that each `*_enc` column is here.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    sealed("data_keys", "id", "wrapped", "key"),
    sealed("orders", "id", "customer_email_enc", "customer_email"),
    sealed("accounts", "id", "email_enc", "email"),
    sealed("accounts", "id", "totp_secret_enc", "totp_secret"),
    sealed("email_tokens", "token_hash", "data_enc", "data"),
    sealed("customer_requests", "id", "answer_enc", "answer"),
    sealed("customer_requests", "id", "message_enc", "message"),
    sealed("request_documents", "id", "file_name_enc", "file_name"),
    sealed("request_documents", "id", "content_enc", "content"),
    sealed("appeals", "id", "text_enc", "text"),
    sealed("appeals", "id", "outcome_enc", "outcome"),
    sealed("standing_appeals", "id", "text_enc", "text"),
    sealed("standing_appeals", "id", "outcome_enc", "outcome"),
    sealed("case_notes", "id", "body_enc", "body"),
    sealed("decisions", "id", "rationale_enc", "rationale"),
    sealed("authority_requests", "id", "details_enc", "details"),
    sealed("legal_holds", "id", "reason_enc", "reason"),
    sealed("legal_holds", "id", "release_reason_enc", "release_reason"),
    sealed("verifications", "id", "comment_enc", "comment"),
    sealed("kyc_inbox", "dedup_key", "body_enc", "body"),
    sealed("cards", "id", "holder_enc", "holder"),
    sealed("verification_files", "id", "content_enc", "content"),
    SealedColumn { table: "screenings", key: "id", column: "reports", aad_column: "evidence", json_reports: true },
];

/// The id and owner of the blind-index key in `data_keys`.
pub const INDEX_KEY: &str = "index";

fn key_aad(id: &str) -> Aad<'_> {
    Aad { table: "data_keys", column: "key", row: id }
}

/// The owner name of a customer's data keys.
pub fn customer_owner(email_index: &str) -> String {
    format!("customer:{email_index}")
}

fn unwrap(cipher: &FieldCipher, k: &StoredKey, wrapped: &str) -> Result<[u8; 32], AppError> {
    cipher.unwrap_key(wrapped, key_aad(&k.id)).map_err(|e| {
        AppError::Internal(format!(
            "key {} cannot be opened ({e}); configure the master key it was sealed with \
             (secrets.master_key or secrets.previous_keys)",
            k.id
        ))
    })
}

/// The cipher with the installation's blind-index key (read from the database, or made on the
/// first start from the current master key) and every customer data key held.
pub(crate) async fn prepare(store: &dyn Store, cipher: FieldCipher, now_ms: i64) -> Result<FieldCipher, AppError> {
    if cipher.is_ephemeral() {
        // A command without the master key (it reads no personal data): store nothing.
        return Ok(cipher);
    }
    let stored = match store.data_keys_of(INDEX_KEY).await?.into_iter().next() {
        Some(k) => k,
        None => {
            let fresh = StoredKey {
                id: INDEX_KEY.into(),
                owner: INDEX_KEY.into(),
                wrapped: Some(cipher.wrap_key(&cipher.index_key_seed(), key_aad(INDEX_KEY))),
                created_at_ms: now_ms,
                erased_at_ms: None,
            };
            store.insert_data_key(&fresh).await?;
            // Another process may have won the race: use what is stored.
            store.data_keys_of(INDEX_KEY).await?.into_iter().next().unwrap_or(fresh)
        }
    };
    let wrapped = stored.wrapped.as_deref().ok_or_else(|| AppError::Internal("the index key was erased".into()))?;
    let index_key = unwrap(&cipher, &stored, wrapped)?;
    let cipher = cipher.with_index_key(index_key);
    hold_keys(&cipher, &store.data_keys_changed_since(0).await?)?;
    Ok(cipher)
}

/// Makes the cipher hold these customer keys (and forget the erased ones).
fn hold_keys(cipher: &FieldCipher, keys: &[StoredKey]) -> Result<(), AppError> {
    for k in keys.iter().filter(|k| k.owner != INDEX_KEY) {
        match &k.wrapped {
            Some(w) => cipher.hold(&DataKey::from_parts(&k.id, unwrap(cipher, k, w)?)),
            None => cipher.forget(&k.id),
        }
    }
    Ok(())
}

/// The customer's data key: their newest one, or a new one.
pub(crate) async fn customer_key(
    store: &dyn KeyRepo,
    cipher: &FieldCipher,
    email_index: &str,
    now_ms: i64,
) -> Result<DataKey, AppError> {
    let owner = customer_owner(email_index);
    if let Some(k) = store.data_keys_of(&owner).await?.into_iter().find(|k| k.wrapped.is_some()) {
        let key = DataKey::from_parts(&k.id, unwrap(cipher, &k, k.wrapped.as_deref().unwrap_or_default())?);
        cipher.hold(&key);
        return Ok(key);
    }
    let key = DataKey::generate();
    let stored = StoredKey {
        id: key.id().to_owned(),
        owner,
        wrapped: Some(cipher.wrap_key(key.bytes(), key_aad(key.id()))),
        created_at_ms: now_ms,
        erased_at_ms: None,
    };
    store.insert_data_key(&stored).await?;
    cipher.hold(&key);
    Ok(key)
}

/// Seals one customer's personal data: with their data key, or with the master key for data
/// of no known customer.
pub struct Sealer<'a> {
    cipher: &'a FieldCipher,
    key: Option<DataKey>,
}

impl<'a> Sealer<'a> {
    /// Seals with the master key (data of no particular customer).
    pub fn master(cipher: &'a FieldCipher) -> Sealer<'a> {
        Sealer { cipher, key: None }
    }

    pub fn seal(&self, plaintext: &[u8], aad: Aad<'_>) -> String {
        match &self.key {
            Some(k) => self.cipher.encrypt_for(k, plaintext, aad),
            None => self.cipher.encrypt_bytes(plaintext, aad),
        }
    }

    pub fn seal_str(&self, plaintext: &str, aad: Aad<'_>) -> String {
        self.seal(plaintext.as_bytes(), aad)
    }
}

/// The sealer for the customer of `email_index` (their data key, made on first use).
pub(crate) async fn sealer<'a>(
    store: &dyn KeyRepo,
    cipher: &'a FieldCipher,
    email_index: Option<&str>,
    now_ms: i64,
) -> Result<Sealer<'a>, AppError> {
    let key = match email_index {
        Some(i) => Some(customer_key(store, cipher, i, now_ms).await?),
        None => None,
    };
    Ok(Sealer { cipher, key })
}

/// Why a customer's data cannot be erased yet, if it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRules {
    /// Records are kept this long after the customer's last order changed (AML record keeping).
    pub retention_ms: i64,
}

impl Default for ErasureRules {
    fn default() -> Self {
        ErasureRules { retention_ms: 5 * 365 * 86_400_000 }
    }
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

/// Why a stored value could not be sealed again.
#[derive(Debug, thiserror::Error)]
enum ResealError {
    #[error(transparent)]
    Crypto(#[from] custos_crypto::CryptoError),
    #[error("stored reports are not JSON: {0}")]
    Reports(#[from] serde_json::Error),
}

/// One value sealed again, or `None` when it already uses the current key.
fn reseal_value(cipher: &FieldCipher, c: &SealedColumn, row: &str, value: &str) -> Result<Option<String>, ResealError> {
    if !c.json_reports {
        let aad = Aad { table: c.table, column: c.aad_column, row };
        return Ok(cipher.reseal(value, aad)?);
    }
    let mut reports: serde_json::Value = serde_json::from_str(value)?;
    let mut changed = false;
    for (i, report) in reports.as_array_mut().into_iter().flatten().enumerate() {
        let Some(evidence) = report.pointer_mut("/vendor/evidence") else { continue };
        let Some(envelope) = evidence.as_str() else { continue };
        let column = format!("{}:{i}", c.aad_column);
        if let Some(new) = cipher.reseal(envelope, Aad { table: c.table, column: &column, row })? {
            *evidence = serde_json::Value::String(new);
            changed = true;
        }
    }
    Ok(changed.then(|| reports.to_string()))
}

/// The repositories key management needs.
pub struct KeyRepos {
    pub keys: Arc<dyn KeyRepo>,
    pub orders: Arc<dyn OrderRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub verifications: Arc<dyn VerificationRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub holds: Arc<dyn HoldRepo>,
}

impl KeyRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> KeyRepos {
        KeyRepos {
            keys: store.clone(),
            orders: store.clone(),
            accounts: store.clone(),
            verifications: store.clone(),
            audit: store.clone(),
            holds: store.clone(),
        }
    }
}

/// Key management: re-sealing after a master key rotation, other processes' data keys, the
/// erasure of a customer (SEC-6, PD-3), and what each key seals.
pub struct Keys {
    repos: KeyRepos,
    cipher: FieldCipher,
    clock: Arc<dyn Clock>,
    /// Data keys made or erased before this were picked up ([`Keys::refresh_data_keys`]).
    seen_ms: Mutex<i64>,
}

impl Keys {
    pub fn new(repos: KeyRepos, cipher: FieldCipher, clock: Arc<dyn Clock>) -> Keys {
        let seen_ms = Mutex::new(clock.now_ms() - 60_000);
        Keys { repos, cipher, clock, seen_ms }
    }

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
                let rows = self.repos.keys.sealed_values(c, &current, &after, batch).await?;
                let Some((last, _)) = rows.last() else { break };
                after = last.clone();
                for (row, value) in &rows {
                    report.examined += 1;
                    match reseal_value(&self.cipher, c, row, value) {
                        Ok(None) => {}
                        Ok(Some(new)) => {
                            if self.repos.keys.replace_sealed(c, row, value, &new).await? {
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
            let data = serde_json::json!({"resealed": report.resealed, "unreadable": report.unreadable.len()});
            let event = AuditEvent::new("system", "keys.resealed", "key", self.cipher.key_id(), data);
            self.repos.audit.append_audit(&event, self.clock.now_ms()).await?;
        }
        Ok(report)
    }

    /// Picks up the data keys other processes made or erased since the last look.
    pub async fn refresh_data_keys(&self) -> Result<(), AppError> {
        let since = *self.seen_ms.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now_ms();
        hold_keys(&self.cipher, &self.repos.keys.data_keys_changed_since(since).await?)?;
        *self.seen_ms.lock().unwrap_or_else(|e| e.into_inner()) = now - 60_000;
        Ok(())
    }

    /// Erases a customer where the law allows (SEC-6, PD-3): once nothing of theirs is open and
    /// the record-keeping period after their last order has passed, their data keys are deleted
    /// (everything sealed with them becomes unreadable, here and in every backup made from now
    /// on), their account can no longer sign in, and their records lose the link to the e-mail.
    /// Orders, screenings and the audit log stay, without personal data. Returns the keys erased.
    pub async fn erase_customer(&self, email: &str, rules: &ErasureRules, actor: &str) -> Result<u64, AppError> {
        let normalized = email.trim().to_lowercase();
        let index = self.cipher.blind_index("customer_email", &normalized);
        let now = self.clock.now_ms();
        let orders = self.repos.orders.orders_of_customer(&index, 100_000).await?;
        let account = self.repos.accounts.find_account(crate::accounts::records::AccountKind::Customer, &index).await?;
        let keys = self.repos.keys.data_keys_of(&customer_owner(&index)).await?;
        if orders.is_empty() && account.is_none() && keys.is_empty() {
            return Err(AppError::not_found(ErrorCode::CustomerNotFound, "no customer with this e-mail"));
        }
        // A legal hold stops erasure and crypto-shredding until it is released (issue 16). The
        // command is the operator's; it says why, but no customer ever reads it.
        if self.repos.holds.held(&index).await? {
            return Err(AppError::conflict(
                ErrorCode::ErasureNotAllowed,
                "a legal hold covers this customer: nothing of theirs is erased until it is released",
            ));
        }
        let frozen = custos_domain::OrderStatus::Frozen;
        if let Some(o) = orders.iter().find(|o| !o.status.is_terminal() || o.status == frozen) {
            return Err(AppError::conflict(
                ErrorCode::ErasureNotAllowed,
                format!("order {} is still {}: its records are needed until it ends", o.number, o.status.as_str()),
            ));
        }
        if self.repos.verifications.verifications_of(&index).await?.iter().any(|v| !v.state.is_final()) {
            return Err(AppError::conflict(
                ErrorCode::ErasureNotAllowed,
                "a verification of this customer is still open",
            ));
        }
        if let Some(last) = orders.iter().map(|o| o.updated_at_ms).max() {
            let allowed_from = last + rules.retention_ms;
            if now < allowed_from {
                return Err(AppError::conflict(
                    ErrorCode::ErasureNotAllowed,
                    format!(
                        "AML records are kept until {} (the retention period after the last order)",
                        custos_domain::time::rfc3339(allowed_from)
                    ),
                ));
            }
        }
        let tombstone = format!("erased:{}", uuid::Uuid::now_v7().simple());
        let data =
            serde_json::json!({"orders": orders.len(), "keys": keys.iter().filter(|k| k.wrapped.is_some()).count()});
        let event = AuditEvent::new(actor, "customer.erased", "customer", &tombstone, data);
        let erased = self.repos.keys.erase_customer(&index, &customer_owner(&index), &tombstone, &[event], now).await?;
        for k in &keys {
            self.cipher.forget(&k.id);
        }
        Ok(erased)
    }

    /// How many values each key id seals, per column; for `custos keys status`.
    pub async fn sealed_key_ids(&self) -> Result<Vec<(String, String, u64)>, AppError> {
        let mut out = std::collections::BTreeMap::<(String, String), u64>::new();
        for c in SEALED_COLUMNS {
            let mut after = String::new();
            loop {
                let rows = self.repos.keys.sealed_values(c, "", &after, 1000).await?;
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
                    } else if FieldCipher::data_key_id(value).is_some() {
                        vec!["customer data keys".to_owned()]
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
