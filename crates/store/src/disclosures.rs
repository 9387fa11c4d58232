//! The register of authority requests (DISC-1).

use crate::base::*;
use crate::orders::{counter_of, push_counter};
use crate::rows::{bad, get, json, uuid, Columns};
use crate::script::{values, Script};
use crate::{audit, SqlStore};
use async_trait::async_trait;
use custos_app::model::AuthorityRequestRecord;
use custos_app::repos::*;
use custos_domain::audit::AuditEvent;
use custos_domain::disclosure::{AuthorityKind, DisclosureState};
use uuid::Uuid;

const COLUMNS: &str = "id, number, kind, state, emergency, freeze_requested, received_at_ms, due_at_ms, \
     non_disclosure_until_ms, details_enc, verification, approvals, pending_outcome, created_by, created_at_ms, \
     reminded_at_ms, overdue_alerted_at_ms, bundle_sha256";

fn state(row: &impl Columns, col: &str) -> Result<Option<DisclosureState>, StoreError> {
    get::<Option<String>>(row, col)?.map(|s| DisclosureState::parse(&s).ok_or_else(|| bad(col, s))).transpose()
}

fn record(row: &impl Columns) -> Result<AuthorityRequestRecord, StoreError> {
    let kind: String = get(row, "kind")?;
    let verification: Option<String> = get(row, "verification")?;
    Ok(AuthorityRequestRecord {
        id: uuid(row, "id")?,
        number: get(row, "number")?,
        kind: AuthorityKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        state: state(row, "state")?.ok_or_else(|| bad("state", "null"))?,
        emergency: get::<i64>(row, "emergency")? != 0,
        freeze_requested: get::<i64>(row, "freeze_requested")? != 0,
        received_at_ms: get(row, "received_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
        non_disclosure_until_ms: get(row, "non_disclosure_until_ms")?,
        details_enc: get(row, "details_enc")?,
        verification: verification.map(|v| serde_json::from_str(&v).map_err(|e| bad("verification", e))).transpose()?,
        approvals: json(row, "approvals")?,
        pending_outcome: state(row, "pending_outcome")?,
        created_by: get(row, "created_by")?,
        created_at_ms: get(row, "created_at_ms")?,
        reminded_at_ms: get(row, "reminded_at_ms")?,
        overdue_alerted_at_ms: get(row, "overdue_alerted_at_ms")?,
        bundle_sha256: get(row, "bundle_sha256")?,
    })
}

#[async_trait]
impl DisclosureRepo for SqlStore {
    async fn insert_authority_request(&self, r: &AuthorityRequestRecord, event: &AuditEvent) -> StoreResult<i64> {
        let mut session = self.session().await?;
        let mut first = Script::default();
        push_counter(&mut first, "authority_request_number", 1);
        if self.head_first() {
            audit::read_head(&mut first, self.for_update());
        }
        let out = session.run(first).await?;
        let number = counter_of(&out[0])?;
        let mut script = Script::one(
            format!(
                "INSERT INTO authority_requests ({COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, NULL, $12, $13, NULL, NULL, NULL)"
            ),
            values![
                r.id.to_string(),
                number,
                r.kind.as_str(),
                r.state.as_str(),
                i64::from(r.emergency),
                i64::from(r.freeze_requested),
                r.received_at_ms,
                r.due_at_ms,
                r.non_disclosure_until_ms,
                r.details_enc.as_str(),
                to_json(&r.approvals)?,
                r.created_by.as_str(),
                r.created_at_ms
            ],
        );
        let head = self.head_after(&mut session, &out).await?;
        audit::push(&mut script, head, std::slice::from_ref(event), r.created_at_ms)?;
        session.commit(script).await?;
        Ok(number)
    }

    async fn authority_request(&self, id: Uuid) -> StoreResult<Option<AuthorityRequestRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM authority_requests WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), record).await
    }

    async fn authority_requests(&self, limit: i64) -> StoreResult<Vec<AuthorityRequestRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM authority_requests ORDER BY number DESC LIMIT $1");
        self.read_all(sqlx::query(&sql).bind(limit), record).await
    }

    async fn change_authority_request(&self, c: &AuthorityRequestChange, events: &[AuditEvent]) -> StoreResult<bool> {
        let verification = c.verification.as_ref().map(to_json).transpose()?;
        let script = Script::one(
            "UPDATE authority_requests SET state = $1, approvals = $2, pending_outcome = $3, \
             verification = COALESCE($4, verification) WHERE id = $5 AND state = $6 AND approvals = $7",
            values![
                c.to.as_str(),
                to_json(&c.approvals)?,
                c.pending_outcome.map(|s| s.as_str().to_owned()),
                verification,
                c.id.to_string(),
                c.from.as_str(),
                to_json(&c.approvals_before)?
            ],
        );
        self.write_if_one(script, events, c.at_ms).await
    }

    async fn authority_requests_on_the_clock(
        &self,
        remind_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<AuthorityRequestRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM authority_requests WHERE state NOT IN ('rejected', 'closed') AND \
             ((reminded_at_ms IS NULL AND due_at_ms <= $1) OR (overdue_alerted_at_ms IS NULL AND due_at_ms <= $2)) \
             ORDER BY due_at_ms"
        );
        self.read_all(sqlx::query(&sql).bind(remind_before_ms).bind(now_ms), record).await
    }

    async fn claim_authority_clock(
        &self,
        id: Uuid,
        overdue: bool,
        event: &AuditEvent,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let column = if overdue { "overdue_alerted_at_ms" } else { "reminded_at_ms" };
        let script = Script::one(
            format!("UPDATE authority_requests SET {column} = $1 WHERE id = $2 AND {column} IS NULL"),
            values![at_ms, id.to_string()],
        );
        self.write_if_one(script, std::slice::from_ref(event), at_ms).await
    }

    async fn orders_touching(&self, value: &str) -> StoreResult<Vec<Uuid>> {
        // Every network, so that the (network, deposit address) index serves an address alone.
        let networks = custos_domain::Network::ALL.map(|n| format!("'{}'", n.as_str())).join(", ");
        let sql = format!(
            "SELECT id FROM orders WHERE pay_network IN ({networks}) AND deposit_address = $1 \
             UNION SELECT order_id AS id FROM deposits WHERE txid = $1 OR sources LIKE $2"
        );
        let q = sqlx::query(&sql).bind(value.to_owned()).bind(format!("%\"{value}\"%"));
        self.read_all(q, |r| uuid(r, "id")).await
    }

    async fn record_bundle(&self, id: Uuid, sha256: &str, events: &[AuditEvent], at_ms: i64) -> StoreResult<bool> {
        let script = Script::one(
            "UPDATE authority_requests SET bundle_sha256 = $1, state = 'produced' \
             WHERE id = $2 AND state IN ('approved', 'partly_approved', 'produced')",
            values![sha256, id.to_string()],
        );
        self.write_if_one(script, events, at_ms).await
    }
}

const HOLD_COLUMNS: &str = "id, email_index, customer_masked, reason_enc, created_by, created_at_ms, released_by, \
     released_at_ms, release_reason_enc";

fn hold(row: &impl Columns) -> Result<custos_app::model::LegalHoldRecord, StoreError> {
    Ok(custos_app::model::LegalHoldRecord {
        id: uuid(row, "id")?,
        email_index: get(row, "email_index")?,
        customer_masked: get(row, "customer_masked")?,
        reason_enc: get(row, "reason_enc")?,
        created_by: get(row, "created_by")?,
        created_at_ms: get(row, "created_at_ms")?,
        released_by: get(row, "released_by")?,
        released_at_ms: get(row, "released_at_ms")?,
        release_reason_enc: get(row, "release_reason_enc")?,
    })
}

#[async_trait]
impl HoldRepo for SqlStore {
    async fn insert_hold(&self, h: &custos_app::model::LegalHoldRecord, event: &AuditEvent) -> StoreResult<()> {
        let script = Script::one(
            format!("INSERT INTO legal_holds ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL)"),
            values![
                h.id.to_string(),
                h.email_index.as_str(),
                h.customer_masked.as_str(),
                h.reason_enc.as_str(),
                h.created_by.as_str(),
                h.created_at_ms
            ],
        );
        self.write(script, std::slice::from_ref(event), h.created_at_ms).await
    }

    async fn holds(&self, limit: i64) -> StoreResult<Vec<custos_app::model::LegalHoldRecord>> {
        let sql = format!(
            "SELECT {HOLD_COLUMNS} FROM legal_holds \
             ORDER BY CASE WHEN released_at_ms IS NULL THEN 0 ELSE 1 END, created_at_ms DESC LIMIT $1"
        );
        self.read_all(sqlx::query(&sql).bind(limit), hold).await
    }

    async fn release_hold(
        &self,
        id: Uuid,
        by: &str,
        reason_enc: &str,
        event: &AuditEvent,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let script = Script::one(
            "UPDATE legal_holds SET released_by = $1, released_at_ms = $2, release_reason_enc = $3 \
             WHERE id = $4 AND released_at_ms IS NULL",
            values![by, at_ms, reason_enc, id.to_string()],
        );
        self.write_if_one(script, std::slice::from_ref(event), at_ms).await
    }

    async fn held(&self, email_index: &str) -> StoreResult<bool> {
        let q = sqlx::query("SELECT COUNT(*) AS n FROM legal_holds WHERE email_index = $1 AND released_at_ms IS NULL");
        Ok(self.read_one(q.bind(email_index), |r| get::<i64>(r, "n")).await?.unwrap_or(0) > 0)
    }
}
