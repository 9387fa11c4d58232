//! The [`AccountStore`] implementation: accounts, recovery codes, sessions, e-mail tokens and
//! login throttling.

use crate::rows::{bad, get, uuid, Columns};
use crate::script::{values, Outcome, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::accounts::records::*;
use custos_app::ports::{AccountStore, StoreResult};
use custos_app::StoreError;
use custos_domain::access::Role;
use custos_domain::audit::AuditEvent;
use uuid::Uuid;

const ACCOUNT_COLUMNS: &str = "id, kind, email_index, email_enc, role, password_hash, totp_secret_enc, mfa_enabled, \
     totp_last_step, email_confirmed, locale, disabled, failed_logins, locked_until_ms, created_at_ms, updated_at_ms";

const SESSION_COLUMNS: &str =
    "token_hash, account_id, stage, created_at_ms, last_seen_ms, expires_at_ms, step_up_at_ms, revoked_at_ms";

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
    })
}

fn session(row: &impl Columns) -> Result<SessionRecord, StoreError> {
    let stage: String = get(row, "stage")?;
    Ok(SessionRecord {
        token_hash: get(row, "token_hash")?,
        account_id: uuid(row, "account_id")?,
        stage: SessionStage::parse(&stage).ok_or_else(|| bad("session stage", &stage))?,
        created_at_ms: get(row, "created_at_ms")?,
        last_seen_ms: get(row, "last_seen_ms")?,
        expires_at_ms: get(row, "expires_at_ms")?,
        step_up_at_ms: get(row, "step_up_at_ms")?,
        revoked: get::<Option<i64>>(row, "revoked_at_ms")?.is_some(),
    })
}

/// The first returned row's `col`.
fn returned(outcomes: &[Outcome], col: &str) -> StoreResult<Option<i64>> {
    outcomes.first().and_then(|o| o.rows.first()).map(|r| get(r, col)).transpose()
}

impl SqlStore {
    /// Runs one statement without audit events; returns the rows it changed.
    async fn change(&self, sql: &'static str, values: Vec<crate::script::Value>) -> StoreResult<u64> {
        Ok(self.write_with(Script::one(sql, values), &[], 0).await?[0].affected)
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn insert_account(&self, a: &AccountRecord, events: &[AuditEvent]) -> StoreResult<()> {
        let script = Script::one(
            format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16)"
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
                a.updated_at_ms
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
             updated_at_ms = $11 WHERE id = $1",
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
                at_ms
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

    async fn insert_session(&self, s: &SessionRecord, replaces: Option<&str>) -> StoreResult<()> {
        let mut script = Script::default();
        if let Some(old) = replaces {
            script.push(
                "UPDATE sessions SET revoked_at_ms = $2 WHERE token_hash = $1 AND revoked_at_ms IS NULL",
                values![old, s.created_at_ms],
            );
        }
        script.push(
            format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"),
            values![
                s.token_hash.as_str(),
                s.account_id.to_string(),
                s.stage.as_str(),
                s.created_at_ms,
                s.last_seen_ms,
                s.expires_at_ms,
                s.step_up_at_ms
            ],
        );
        self.write(script, &[], s.created_at_ms).await
    }

    async fn get_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1");
        self.read_one(sqlx::query(&sql).bind(token_hash), session).await
    }

    async fn touch_session(&self, token_hash: &str, at_ms: i64) -> StoreResult<()> {
        let sql = "UPDATE sessions SET last_seen_ms = $2 WHERE token_hash = $1 AND last_seen_ms < $2";
        self.change(sql, values![token_hash, at_ms]).await.map(drop)
    }

    async fn step_up_session(&self, token_hash: &str, at_ms: i64) -> StoreResult<()> {
        let sql = "UPDATE sessions SET step_up_at_ms = $2 WHERE token_hash = $1";
        self.change(sql, values![token_hash, at_ms]).await.map(drop)
    }

    async fn revoke_session(&self, token_hash: &str, at_ms: i64) -> StoreResult<()> {
        let sql = "UPDATE sessions SET revoked_at_ms = $2 WHERE token_hash = $1 AND revoked_at_ms IS NULL";
        self.change(sql, values![token_hash, at_ms]).await.map(drop)
    }

    async fn revoke_sessions_of(&self, id: Uuid, except: Option<&str>, at_ms: i64) -> StoreResult<u64> {
        let sql = "UPDATE sessions SET revoked_at_ms = $2 \
                   WHERE account_id = $1 AND revoked_at_ms IS NULL AND token_hash <> $3";
        self.change(sql, values![id.to_string(), at_ms, except.unwrap_or("")]).await
    }

    async fn insert_email_token(
        &self,
        token_hash: &str,
        id: Uuid,
        purpose: EmailPurpose,
        expires_at_ms: i64,
        data_enc: Option<&str>,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO email_tokens (token_hash, account_id, purpose, expires_at_ms, data_enc) \
                   VALUES ($1, $2, $3, $4, $5)";
        let data = data_enc.map(str::to_owned);
        self.change(sql, values![token_hash, id.to_string(), purpose.as_str(), expires_at_ms, data]).await.map(drop)
    }

    async fn take_email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
        at_ms: i64,
    ) -> StoreResult<Option<(Uuid, Option<String>)>> {
        let out = self
            .write_with(
                Script::one(
                    "UPDATE email_tokens SET used_at_ms = $3 WHERE token_hash = $1 AND purpose = $2 \
                     AND used_at_ms IS NULL AND expires_at_ms > $3 RETURNING account_id, data_enc",
                    values![token_hash, purpose.as_str(), at_ms],
                ),
                &[],
                at_ms,
            )
            .await?;
        out.first().and_then(|o| o.rows.first()).map(|r| Ok((uuid(r, "account_id")?, get(r, "data_enc")?))).transpose()
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

    async fn throttle_failure(
        &self,
        key: &str,
        at_ms: i64,
        window_ms: i64,
        limit: i64,
        lock_ms: i64,
    ) -> StoreResult<i64> {
        // A window that has passed starts again with this failure.
        let out = self
            .write_with(
                Script::one(
                    "INSERT INTO login_throttle (key, window_start_ms, failures, locked_until_ms) \
                     VALUES ($1, $2, 1, CASE WHEN $4 <= 1 THEN $2 + $5 ELSE 0 END) \
                     ON CONFLICT (key) DO UPDATE SET \
                     window_start_ms = CASE WHEN login_throttle.window_start_ms + $3 <= $2 THEN $2 \
                         ELSE login_throttle.window_start_ms END, \
                     failures = CASE WHEN login_throttle.window_start_ms + $3 <= $2 THEN 1 \
                         ELSE login_throttle.failures + 1 END, \
                     locked_until_ms = CASE WHEN (CASE WHEN login_throttle.window_start_ms + $3 <= $2 THEN 1 \
                         ELSE login_throttle.failures + 1 END) >= $4 THEN $2 + $5 \
                         ELSE login_throttle.locked_until_ms END \
                     RETURNING locked_until_ms",
                    values![key, at_ms, window_ms, limit, lock_ms],
                ),
                &[],
                at_ms,
            )
            .await?;
        Ok(returned(&out, "locked_until_ms")?.filter(|&l| l > at_ms).unwrap_or(0))
    }

    async fn throttle_locked_until(&self, key: &str) -> StoreResult<i64> {
        let q = sqlx::query("SELECT locked_until_ms FROM login_throttle WHERE key = $1").bind(key);
        Ok(self.read_one(q, |r| get::<i64>(r, "locked_until_ms")).await?.unwrap_or(0))
    }
}
