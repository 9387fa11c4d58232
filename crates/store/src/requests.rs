//! The requests repository.

use crate::rows::{self, get, DOCUMENT_COLUMNS, REQUEST_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;
use uuid::Uuid;

#[async_trait]
impl RequestRepo for SqlStore {
    async fn documents_of_request(&self, request_id: Uuid) -> StoreResult<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {DOCUMENT_COLUMNS} FROM request_documents WHERE request_id = $1 ORDER BY created_at_ms, id"
        );
        self.read_all(sqlx::query(&sql).bind(request_id.to_string()), rows::document).await
    }

    async fn document(&self, id: Uuid) -> StoreResult<Option<(DocumentRecord, String)>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS}, content_enc FROM request_documents WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), |r| Ok((rows::document(r)?, get(r, "content_enc")?)))
            .await
    }

    async fn request_answer(&self, id: Uuid) -> StoreResult<Option<String>> {
        let q = sqlx::query("SELECT answer_enc FROM customer_requests WHERE id = $1").bind(id.to_string());
        Ok(self.read_one(q, |r| get::<Option<String>>(r, "answer_enc")).await?.flatten())
    }

    async fn requests_of_order(&self, order_id: Uuid) -> StoreResult<Vec<CustomerRequest>> {
        let sql =
            format!("SELECT {REQUEST_COLUMNS} FROM customer_requests WHERE order_id = $1 ORDER BY created_at_ms, id");
        self.read_all(sqlx::query(&sql).bind(order_id.to_string()), rows::request).await
    }

    async fn get_request(&self, id: Uuid) -> StoreResult<Option<CustomerRequest>> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM customer_requests WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::request).await
    }

    async fn overdue_requests(&self, now_ms: i64, level: i64) -> StoreResult<Vec<CustomerRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM customer_requests WHERE status = 'open' AND kind = 'kyc' \
             AND due_at_ms <= $1 AND escalation < $2 ORDER BY due_at_ms"
        );
        self.read_all(sqlx::query(&sql).bind(now_ms).bind(level), rows::request).await
    }

    async fn escalate_request(
        &self,
        id: Uuid,
        level: i64,
        customer: Option<(Uuid, CustomerStatus)>,
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut script =
            Script::one("UPDATE customer_requests SET escalation = $1 WHERE id = $2", values![level, id.to_string()]);
        if let Some((customer_id, status)) = customer {
            script.push(
                "UPDATE customers SET status = $1, updated_at_ms = $2 WHERE id = $3",
                values![status.as_str(), at_ms, customer_id.to_string()],
            );
        }
        let (events, alert) = custos_app::entries::request_overdue(id, level, customer);
        Self::outbox(&mut script, &alert, at_ms);
        self.write(script, &events, at_ms).await
    }
}
