//! The [`AccountRepo`] implementation: accounts, their second factors and e-mail changes.

use crate::rows::{bad, get, uuid, Columns};
use crate::script::{values, Outcome, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::accounts::records::*;
use custos_app::repos::*;
use custos_app::StoreError;
use custos_domain::access::Role;
use custos_domain::audit::AuditEvent;
use uuid::Uuid;

const ACCOUNT_COLUMNS: &str = "id, kind, email_index, email_enc, role, password_hash, totp_secret_enc, mfa_enabled, \
     totp_last_step, email_confirmed, locale, disabled, failed_logins, locked_until_ms, created_at_ms, updated_at_ms, \
     utc_offset_minutes";

fn flag(v: bool) -> i64 {
    i64::from(v)
}

fn account(row: &impl Columns) -> Result<AccountRecord, StoreError> {
    let kind: String = get(row, "kind")?;
    let role: Option<String> = get(row, "role")?;
    Ok(AccountRecord {
        id: uuid(row, "id")?,
        kind: AccountKind::parse(&kind).ok_or_else(|| bad("account kind", &kind))?,
        email_index: get(row, "email_index")?,
        email_enc: get(row, "email_enc")?,
        role: role.map(|r| Role::parse(&r).ok_or_else(|| bad("role", &r))).transpose()?,
        password_hash: get(row, "password_hash")?,
        totp_secret_enc: get(row, "totp_secret_enc")?,
        mfa_enabled: get::<i64>(row, "mfa_enabled")? != 0,
        totp_last_step: get(row, "totp_last_step")?,
        email_confirmed: get::<i64>(row, "email_confirmed")? != 0,
        locale: get(row, "locale")?,
        disabled: get::<i64>(row, "disabled")? != 0,
        failed_logins: get(row, "failed_logins")?,
        locked_until_ms: get(row, "locked_until_ms")?,
        created_at_ms: get(row, "created_at_ms")?,
        updated_at_ms: get(row, "updated_at_ms")?,
        utc_offset_minutes: i32::try_from(get::<i64>(row, "utc_offset_minutes")?)
            .map_err(|e| bad("utc_offset_minutes", e))?,
    })
}

/// The first returned row's `col`.
pub(crate) fn returned(outcomes: &[Outcome], col: &str) -> StoreResult<Option<i64>> {
    outcomes.first().and_then(|o| o.rows.first()).map(|r| get(r, col)).transpose()
}

impl SqlStore {
    /// Runs one statement without audit events; returns the rows it changed.
    pub(crate) async fn change(&self, sql: &'static str, values: Vec<crate::script::Value>) -> StoreResult<u64> {
        Ok(self.write_with(Script::one(sql, values), &[], 0).await?[0].affected)
    }
}

#[async_trait]
impl AccountRepo for SqlStore {
    async fn insert_account(&self, a: &AccountRecord, events: &[AuditEvent]) -> StoreResult<()> {
        let script = Script::one(
            format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $17)"
            ),
            values![
                a.id.to_string(),
                a.kind.as_str(),
                a.email_index.as_str(),
                a.email_enc.as_str(),
                a.role.map(|r| r.as_str().to_owned()),
                a.password_hash.as_str(),
                a.totp_secret_enc.clone(),
                flag(a.mfa_enabled),
                a.totp_last_step,
                flag(a.email_confirmed),
                a.locale.as_str(),
                flag(a.disabled),
                a.failed_logins,
                a.locked_until_ms,
                a.created_at_ms,
                a.updated_at_ms,
                i64::from(a.utc_offset_minutes)
            ],
        );
        self.write(script, events, a.created_at_ms).await
    }

    async fn get_account(&self, id: Uuid) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), account).await
    }

    async fn find_account(&self, kind: AccountKind, email_index: &str) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE kind = $1 AND email_index = $2");
        self.read_one(sqlx::query(&sql).bind(kind.as_str()).bind(email_index), account).await
    }

    async fn list_accounts(&self, kind: AccountKind) -> StoreResult<Vec<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE kind = $1 ORDER BY created_at_ms, id");
        self.read_all(sqlx::query(&sql).bind(kind.as_str()), account).await
    }

    async fn update_account(&self, a: &AccountRecord, events: &[AuditEvent], at_ms: i64) -> StoreResult<()> {
        let script = Script::one(
            "UPDATE accounts SET email_index = $2, email_enc = $3, role = $4, password_hash = $5, \
             totp_secret_enc = $6, mfa_enabled = $7, email_confirmed = $8, locale = $9, disabled = $10, \
             updated_at_ms = $11, utc_offset_minutes = $12 WHERE id = $1",
            values![
                a.id.to_string(),
                a.email_index.as_str(),
                a.email_enc.as_str(),
                a.role.map(|r| r.as_str().to_owned()),
                a.password_hash.as_str(),
                a.totp_secret_enc.clone(),
                flag(a.mfa_enabled),
                flag(a.email_confirmed),
                a.locale.as_str(),
                flag(a.disabled),
                at_ms,
                i64::from(a.utc_offset_minutes)
            ],
        );
        self.write(script, events, at_ms).await
    }

    async fn account_login_failed(&self, id: Uuid, limit: i64, lock_until_ms: i64) -> StoreResult<i64> {
        // Every right-hand side reads the row as it was before this UPDATE.
        let out = self
            .write_with(
                Script::one(
                    "UPDATE accounts SET \
                     failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END, \
                     locked_until_ms = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until_ms END \
                     WHERE id = $1 RETURNING locked_until_ms",
                    values![id.to_string(), limit, lock_until_ms],
                ),
                &[],
                0,
            )
            .await?;
        Ok(returned(&out, "locked_until_ms")?.filter(|&l| l == lock_until_ms).unwrap_or(0))
    }

    async fn account_login_succeeded(&self, id: Uuid) -> StoreResult<()> {
        self.change(
            "UPDATE accounts SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0",
            values![id.to_string()],
        )
        .await
        .map(drop)
    }

    async fn claim_totp_step(&self, id: Uuid, step: i64) -> StoreResult<bool> {
        let sql = "UPDATE accounts SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2";
        Ok(self.change(sql, values![id.to_string(), step]).await? == 1)
    }

    async fn replace_recovery_codes(
        &self,
        id: Uuid,
        hashes: &[String],
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut script = Script::one("DELETE FROM recovery_codes WHERE account_id = $1", values![id.to_string()]);
        for h in hashes {
            script.push(
                "INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)",
                values![id.to_string(), h.as_str()],
            );
        }
        self.write(script, events, at_ms).await
    }

    async fn use_recovery_code(&self, id: Uuid, hash: &str, at_ms: i64) -> StoreResult<bool> {
        let sql = "UPDATE recovery_codes SET used_at_ms = $3 \
                   WHERE account_id = $1 AND code_hash = $2 AND used_at_ms IS NULL";
        Ok(self.change(sql, values![id.to_string(), hash, at_ms]).await? == 1)
    }

    async fn unused_recovery_codes(&self, id: Uuid) -> StoreResult<i64> {
        let q = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1 AND used_at_ms IS NULL")
            .bind(id.to_string());
        Ok(self.read_one(q, |r| get::<i64>(r, "n")).await?.unwrap_or(0))
    }

    async fn change_customer_email(
        &self,
        id: Uuid,
        old_index: &str,
        new_index: &str,
        new_enc: &str,
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut script = Script::one(
            "UPDATE accounts SET email_index = $1, email_enc = $2, email_confirmed = 1, updated_at_ms = $3 WHERE id = $4",
            values![new_index, new_enc, at_ms, id.to_string()],
        );
        script.push(
            "UPDATE orders SET customer_email_index = $1 WHERE customer_email_index = $2",
            values![new_index, old_index],
        );
        // Everything of the customer follows them: standing, verifications, cards, data keys.
        for table in ["customers", "verifications", "cards", "standing_appeals"] {
            script.push(
                format!("UPDATE {table} SET email_index = $1 WHERE email_index = $2"),
                values![new_index, old_index],
            );
        }
        script.push(
            "UPDATE data_keys SET owner = $1 WHERE owner = $2",
            values![custos_app::keys::customer_owner(new_index), custos_app::keys::customer_owner(old_index)],
        );
        self.write(script, events, at_ms).await
    }
}
