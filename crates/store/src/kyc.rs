//! Verifications and the KYC provider's webhook inbox.

use crate::base::to_json;
use crate::rows::{self, VERIFICATION_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::events::WebhookEvent;
use custos_app::model::{VerificationFile, VerificationRecord};
use custos_app::repos::*;
use custos_domain::audit::AuditEvent;
use uuid::Uuid;

#[async_trait]
impl VerificationRepo for SqlStore {
    async fn insert_verification(&self, v: &VerificationRecord, actor: &str) -> StoreResult<()> {
        let events = [custos_app::entries::verification_requested(actor, v)];
        let script = Script::one(
            format!(
                "INSERT INTO verifications ({VERIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15)"
            ),
            values![
                v.id.to_string(),
                v.email_index.as_str(),
                v.customer_ref.as_str(),
                v.order_id.map(|o| o.to_string()),
                v.level.as_str(),
                v.provider.as_str(),
                v.state.as_str(),
                v.applicant_id.clone(),
                to_json(&v.reject_labels)?,
                v.comment_enc.clone(),
                v.last_event_at.as_str(),
                v.created_at_ms,
                v.updated_at_ms,
                v.due_at_ms,
                v.identity_name_hash.clone()
            ],
        );
        self.write(script, &events, v.created_at_ms).await
    }

    async fn find_verification(
        &self,
        applicant_id: &str,
        customer_ref: &str,
    ) -> StoreResult<Option<VerificationRecord>> {
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM verifications WHERE applicant_id = $1 OR customer_ref = $2 \
             ORDER BY CASE WHEN customer_ref = $2 THEN 0 ELSE 1 END, CASE WHEN applicant_id = $1 THEN 0 ELSE 1 END, \
             created_at_ms DESC LIMIT 1"
        );
        self.read_one(sqlx::query(&sql).bind(applicant_id).bind(customer_ref), rows::verification).await
    }

    async fn verifications_of(&self, email_index: &str) -> StoreResult<Vec<VerificationRecord>> {
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM verifications WHERE email_index = $1 ORDER BY created_at_ms DESC"
        );
        self.read_all(sqlx::query(&sql).bind(email_index), rows::verification).await
    }

    async fn update_verification(
        &self,
        v: &VerificationRecord,
        events: &[AuditEvent],
        suspend: bool,
        alert: Option<&WebhookEvent>,
        verify_cards: bool,
        at_ms: i64,
    ) -> StoreResult<()> {
        let mut script = Script::one(
            "UPDATE verifications SET state = $1, applicant_id = $2, reject_labels = $3, comment_enc = $4, \
             last_event_at = $5, updated_at_ms = $6, identity_name_hash = $7 WHERE id = $8",
            values![
                v.state.as_str(),
                v.applicant_id.clone(),
                to_json(&v.reject_labels)?,
                v.comment_enc.clone(),
                v.last_event_at.as_str(),
                at_ms,
                v.identity_name_hash.clone(),
                v.id.to_string()
            ],
        );
        if verify_cards {
            script.push(
                "UPDATE cards SET state = 'verified' WHERE email_index = $1 AND state = 'pending'",
                values![v.email_index.as_str()],
            );
        }
        if suspend {
            script.push(
                "INSERT INTO customers (id, email_index, status, created_at_ms, updated_at_ms) VALUES ($1, $2, 'suspended', $3, $3) \
                 ON CONFLICT (email_index) DO UPDATE SET status = 'suspended', updated_at_ms = $3",
                values![Uuid::now_v7().to_string(), v.email_index.as_str(), at_ms],
            );
        }
        if let Some(alert) = alert {
            Self::outbox(&mut script, alert, at_ms);
        }
        self.write(script, events, at_ms).await
    }

    async fn overdue_verifications(&self, now_ms: i64) -> StoreResult<Vec<VerificationRecord>> {
        let sql = format!(
            "SELECT {VERIFICATION_COLUMNS} FROM verifications WHERE state IN ('requested', 'resubmission') \
             AND due_at_ms <= $1 AND overdue_handled = 0 ORDER BY due_at_ms"
        );
        self.read_all(sqlx::query(&sql).bind(now_ms), rows::verification).await
    }

    async fn suspend_for_overdue_verification(&self, v: &VerificationRecord, at_ms: i64) -> StoreResult<bool> {
        let mut script = Script::one(
            "UPDATE verifications SET overdue_handled = 1 WHERE id = $1 AND overdue_handled = 0",
            values![v.id.to_string()],
        );
        script.push(
            "INSERT INTO customers (id, email_index, status, created_at_ms, updated_at_ms) VALUES ($1, $2, 'suspended', $3, $3) \
             ON CONFLICT (email_index) DO UPDATE SET status = 'suspended', updated_at_ms = $3",
            values![Uuid::now_v7().to_string(), v.email_index.as_str(), at_ms],
        );
        let (ev, alert) = custos_app::entries::verification_overdue(v);
        Self::outbox(&mut script, &alert, at_ms);
        self.write_if_one(script, &[ev], at_ms).await
    }

    async fn verified_identity_name_hash(&self, email_index: &str) -> StoreResult<Option<String>> {
        let q = sqlx::query(
            "SELECT identity_name_hash FROM verifications WHERE email_index = $1 AND state = 'verified' \
             AND identity_name_hash IS NOT NULL ORDER BY updated_at_ms DESC LIMIT 1",
        )
        .bind(email_index);
        self.read_one(q, |r| rows::get::<String>(r, "identity_name_hash")).await
    }

    async fn insert_verification_file(&self, f: &VerificationFile, content_enc: &str, actor: &str) -> StoreResult<()> {
        let script = Script::one(
            "INSERT INTO verification_files (id, verification_id, step, content_type, size_bytes, sha256, issued_on, \
             content_enc, created_at_ms, document_kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            values![
                f.id.to_string(),
                f.verification_id.to_string(),
                f.step.as_str(),
                f.content_type.as_str(),
                f.size_bytes,
                f.sha256.as_str(),
                f.issued_on.clone(),
                content_enc,
                f.created_at_ms,
                f.document_kind.clone()
            ],
        );
        let ev = custos_app::entries::verification_file_submitted(actor, f);
        self.write(script, &[ev], f.created_at_ms).await
    }

    async fn verification_files(&self, verification_id: Uuid) -> StoreResult<Vec<VerificationFile>> {
        let q = sqlx::query(
            "SELECT id, verification_id, step, content_type, size_bytes, sha256, issued_on, document_kind, created_at_ms \
             FROM verification_files WHERE verification_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(verification_id.to_string());
        self.read_all(q, rows::verification_file).await
    }

    async fn verification_file(&self, id: Uuid) -> StoreResult<Option<(VerificationFile, String)>> {
        let q = sqlx::query(
            "SELECT id, verification_id, step, content_type, size_bytes, sha256, issued_on, document_kind, created_at_ms, content_enc \
             FROM verification_files WHERE id = $1",
        )
        .bind(id.to_string());
        self.read_one(q, |r| Ok((rows::verification_file(r)?, rows::get(r, "content_enc")?))).await
    }

    async fn delete_verification_files(
        &self,
        verification_id: Uuid,
        steps: Option<&[custos_domain::kyc::Step]>,
        actor: &str,
        at_ms: i64,
    ) -> StoreResult<u64> {
        // A legal hold keeps them (issue 16): nothing is deleted, nor audited as deleted; the
        // retention job deletes them once it is released. The statement checks again, for a hold
        // placed meanwhile.
        const HELD: &str = "SELECT 1 FROM legal_holds h JOIN verifications v ON v.email_index = h.email_index \
             WHERE v.id = $1 AND h.released_at_ms IS NULL";
        if self.read_one(sqlx::query(HELD).bind(verification_id.to_string()), |_| Ok(())).await?.is_some() {
            return Ok(0);
        }
        let not_held = format!(" AND NOT EXISTS ({HELD})");
        let script = match steps {
            None => Script::one(
                format!("DELETE FROM verification_files WHERE verification_id = $1{not_held}"),
                values![verification_id.to_string()],
            ),
            Some(steps) => {
                let marks: Vec<String> = (2..steps.len() + 2).map(|i| format!("${i}")).collect();
                let mut params = values![verification_id.to_string()];
                params.extend(steps.iter().map(|s| crate::script::Value::from(s.as_str())));
                Script::one(
                    format!(
                        "DELETE FROM verification_files WHERE verification_id = $1 AND step IN ({}){not_held}",
                        marks.join(", ")
                    ),
                    params,
                )
            }
        };
        let ev = custos_app::entries::verification_files_deleted(actor, verification_id, steps);
        Ok(self.write_with(script, &[ev], at_ms).await?[0].affected)
    }

    async fn purge_decided_verification_files(&self, at_ms: i64) -> StoreResult<u64> {
        let q = sqlx::query(
            "SELECT f.id FROM verification_files f JOIN verifications v ON v.id = f.verification_id \
             WHERE v.state IN ('verified', 'failed') AND NOT EXISTS (SELECT 1 FROM legal_holds h \
             WHERE h.email_index = v.email_index AND h.released_at_ms IS NULL) ORDER BY f.id LIMIT 500",
        );
        let ids: Vec<String> = self.read_all(q, |r| rows::get::<String>(r, "id")).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let script = Script::one(
            format!("DELETE FROM verification_files WHERE id IN ({})", marks.join(", ")),
            ids.iter().map(|i| crate::script::Value::from(i.as_str())).collect(),
        );
        let ev = custos_app::entries::verification_files_purged(&ids);
        Ok(self.write_with(script, &[ev], at_ms).await?[0].affected)
    }

    async fn kyc_inbox_insert(
        &self,
        dedup_key: &str,
        provider: &str,
        event_type: &str,
        body_enc: &str,
        outcome: &str,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let script = Script::one(
            "INSERT INTO kyc_inbox (dedup_key, provider, event_type, body_enc, received_at_ms, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING",
            values![dedup_key, provider, event_type, body_enc, at_ms, outcome],
        );
        Ok(self.write_with(script, &[], at_ms).await?[0].affected == 1)
    }
}
