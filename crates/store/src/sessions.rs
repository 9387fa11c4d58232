//! The [`SessionRepo`] implementation: sessions, single-use e-mail tokens and login throttling.

use crate::accounts::returned;
use crate::rows::{bad, get, uuid, Columns};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::accounts::records::*;
use custos_app::repos::*;
use uuid::Uuid;

const SESSION_COLUMNS: &str =
    "token_hash, account_id, stage, created_at_ms, last_seen_ms, expires_at_ms, step_up_at_ms, revoked_at_ms";

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

#[async_trait]
impl SessionRepo for SqlStore {
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

    async fn email_token_owner(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
        at_ms: i64,
    ) -> StoreResult<Option<Uuid>> {
        let sql = "SELECT account_id FROM email_tokens WHERE token_hash = $1 AND purpose = $2 \
                   AND used_at_ms IS NULL AND expires_at_ms > $3";
        let q = sqlx::query(sql).bind(token_hash).bind(purpose.as_str()).bind(at_ms);
        self.read_one(q, |r| uuid(r, "account_id")).await
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
