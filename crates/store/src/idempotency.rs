//! The idempotency repository.

use crate::rows::get;
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;

#[async_trait]
impl IdempotencyRepo for SqlStore {
    async fn idempotency_begin(&self, key: &str, request_hash: &str, at_ms: i64) -> StoreResult<IdempotencyBegin> {
        let mut script = Script::one(
            "INSERT INTO idempotency_keys (key, request_hash, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            values![key, request_hash, at_ms],
        );
        script
            .push("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE key = $1", values![key]);
        let out = self.session().await?.commit(script).await?;
        if out[0].affected == 1 {
            return Ok(IdempotencyBegin::New);
        }
        let Some(row) = out[1].rows.first() else { return Ok(IdempotencyBegin::InProgress) };
        if get::<String>(row, "request_hash")? != request_hash {
            return Ok(IdempotencyBegin::Mismatch);
        }
        Ok(match (get::<Option<i64>>(row, "status_code")?, get::<Option<String>>(row, "response_body")?) {
            (Some(status), Some(body)) => {
                // The first response may describe writes still waiting for their group's fsync.
                if let Some(writer) = &self.writer {
                    writer.barrier().await?;
                }
                IdempotencyBegin::Replay { status: status as u16, body }
            }
            _ => IdempotencyBegin::InProgress,
        })
    }

    async fn idempotency_complete(&self, key: &str, status: u16, body: &str) -> StoreResult<()> {
        let script = Script::one(
            "UPDATE idempotency_keys SET status_code = $1, response_body = $2 WHERE key = $3",
            values![i64::from(status), body, key],
        );
        self.session().await?.commit(script).await?;
        Ok(())
    }

    async fn idempotency_abandon(&self, key: &str) -> StoreResult<()> {
        self.session().await?.commit(Script::one("DELETE FROM idempotency_keys WHERE key = $1", values![key])).await?;
        Ok(())
    }
}
