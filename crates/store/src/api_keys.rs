//! The api keys repository.

use crate::base::*;
use crate::rows::{self};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;
use uuid::Uuid;

#[async_trait]
impl ApiKeyRepo for SqlStore {
    async fn insert_api_key(&self, key: &ApiKeyRecord, hash: &str, actor: &str) -> StoreResult<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        let script = Script::one(
            "INSERT INTO api_keys (id, name, key_hash, scopes, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
            values![key.id.to_string(), key.name.as_str(), hash, to_json(&scopes)?, key.created_at_ms],
        );
        let ev = custos_app::entries::api_key_created(actor, key, &scopes);
        self.write(script, &[ev], key.created_at_ms).await
    }

    async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.read_one(
            sqlx::query("SELECT id, name, scopes, created_at_ms, revoked_at_ms FROM api_keys WHERE key_hash = $1")
                .bind(hash),
            rows::api_key,
        )
        .await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        let q =
            sqlx::query("SELECT id, name, scopes, created_at_ms, revoked_at_ms FROM api_keys ORDER BY created_at_ms");
        self.read_all(q, rows::api_key).await
    }

    async fn revoke_api_key(&self, id: Uuid, actor: &str, at_ms: i64) -> StoreResult<bool> {
        let script = Script::one(
            "UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
            values![at_ms, id.to_string()],
        );
        self.write_if_one(script, &[custos_app::entries::api_key_revoked(actor, id)], at_ms).await
    }
}
