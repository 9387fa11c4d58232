//! The cards repository.

use crate::rows::{self};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;

#[async_trait]
impl CardRepo for SqlStore {
    async fn insert_card(
        &self,
        c: &CardRecord,
        number_hash: &str,
        holder_enc: Option<&str>,
        actor: &str,
    ) -> StoreResult<CardRecord> {
        let script = Script::one(
            "INSERT INTO cards (id, email_index, number_hash, first6, last4, brand, holder_enc, order_id, state, \
             holder_check, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (email_index, number_hash) DO NOTHING",
            values![
                c.id.to_string(),
                c.email_index.as_str(),
                number_hash,
                c.first6.as_str(),
                c.last4.as_str(),
                c.brand.as_str(),
                holder_enc.map(str::to_owned),
                c.order_id.map(|o| o.to_string()),
                c.state.as_str(),
                c.holder_check.as_str(),
                c.created_at_ms
            ],
        );
        let ev = custos_app::entries::card_registered(actor, c);
        if !self.write_if_one(script, &[ev], c.created_at_ms).await? {
            let q = sqlx::query(
                "SELECT id, email_index, first6, last4, brand, order_id, state, holder_check, created_at_ms FROM cards \
                 WHERE email_index = $1 AND number_hash = $2",
            )
            .bind(c.email_index.as_str())
            .bind(number_hash);
            return self
                .read_one(q, rows::card)
                .await?
                .ok_or_else(|| StoreError::Other("a registered card vanished".into()));
        }
        Ok(c.clone())
    }

    async fn card_owners(&self, number_hash: &str, email_index: &str) -> StoreResult<Vec<String>> {
        let q = sqlx::query("SELECT DISTINCT email_index FROM cards WHERE number_hash = $1 AND email_index <> $2")
            .bind(number_hash)
            .bind(email_index);
        self.read_all(q, |r| rows::get::<String>(r, "email_index")).await
    }

    async fn cards_of(&self, email_index: &str) -> StoreResult<Vec<CardRecord>> {
        let q = sqlx::query(
            "SELECT id, email_index, first6, last4, brand, order_id, state, holder_check, created_at_ms FROM cards \
             WHERE email_index = $1 ORDER BY created_at_ms DESC",
        )
        .bind(email_index);
        self.read_all(q, rows::card).await
    }
}
