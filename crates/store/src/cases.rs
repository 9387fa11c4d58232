//! The cases repository.

use crate::base::*;
use crate::rows::{self, get, CASE_COLUMNS, DECISION_COLUMNS, REFUND_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::events::{self, WebhookEvent};
use custos_app::model::*;
use custos_app::repos::*;
use custos_domain::audit::AuditEvent;
use serde_json::json;
use uuid::Uuid;

/// What is overdue, and how it is alerted.
pub(crate) struct Overdue {
    due: &'static str,
    mark: &'static str,
    alert: fn(events::Overdue) -> WebhookEvent,
    audit: &'static str,
    entity: &'static str,
}

pub(crate) const OVERDUE_CASES: Overdue = Overdue {
    due: "SELECT id FROM cases WHERE status = 'open' AND overdue_alerted = 0 AND due_at_ms <= $1",
    mark: "UPDATE cases SET overdue_alerted = 1 WHERE id = $1 AND overdue_alerted = 0",
    alert: WebhookEvent::CaseOverdue,
    audit: "case.overdue",
    entity: "case",
};

pub(crate) const OVERDUE_REFUNDS: Overdue = Overdue {
    due: "SELECT id FROM refunds WHERE status = 'pending' AND overdue_alerted = 0 AND due_at_ms <= $1",
    mark: "UPDATE refunds SET overdue_alerted = 1 WHERE id = $1 AND overdue_alerted = 0",
    alert: WebhookEvent::RefundOverdue,
    audit: "refund.overdue",
    entity: "refund",
};

impl SqlStore {
    /// Marks the rows of `what` past their due time as alerted, once each, and alerts the
    /// officers (webhook) with an audit entry.
    pub(crate) async fn alert_overdue(&self, what: &Overdue, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        let query = sqlx::query(what.due).bind(now_ms);
        let due: Vec<Uuid> = self.read_all(query, |r| rows::parse(r, "id")).await?;
        for id in &due {
            let mut script = Script::one(what.mark, values![id.to_string()]);
            Self::outbox(&mut script, &(what.alert)(events::Overdue { id: *id, entity: what.entity }), now_ms);
            self.write(script, &[AuditEvent::new("system", what.audit, what.entity, id, json!({}))], now_ms).await?;
        }
        Ok(due)
    }
}

#[async_trait]
impl CaseRepo for SqlStore {
    async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRecord>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::case).await
    }

    async fn list_cases(&self, f: &CaseFilter) -> StoreResult<Vec<CaseRecord>> {
        // Unused conditions compare a column with itself, so that one statement serves all.
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE ($1 = '' OR status = $1) AND ($2 = '' OR action = $2) \
             AND due_at_ms <= $3 ORDER BY due_at_ms, number LIMIT $4"
        );
        let action = f.action.map(|a| a.as_str().to_owned()).unwrap_or_default();
        let query = sqlx::query(&sql)
            .bind(f.status.clone().unwrap_or_default())
            .bind(action)
            .bind(f.due_before_ms.unwrap_or(i64::MAX))
            .bind(f.limit);
        self.read_all(query, rows::case).await
    }

    async fn case_action(&self, case_id: Uuid, action: &CaseAction, actor: &str, at_ms: i64) -> StoreResult<()> {
        let id = case_id.to_string();
        let change = |details| events::CaseChange { case_id, details };
        let (mut script, webhook) = match action {
            CaseAction::Assign { assignee } => (
                Script::one("UPDATE cases SET assignee = $1 WHERE id = $2", values![assignee.as_str(), id.as_str()]),
                WebhookEvent::CaseAssigned(events::CaseChange {
                    case_id,
                    details: events::Assigned { assignee: assignee.clone() },
                }),
            ),
            CaseAction::Note { id: note, body_enc } => (
                Script::one(
                    "INSERT INTO case_notes (id, case_id, author, body_enc, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                    values![note.to_string(), id.as_str(), actor, body_enc.as_str(), at_ms],
                ),
                WebhookEvent::CaseNoted(events::CaseChange { case_id, details: events::Noted { note_id: *note } }),
            ),
            CaseAction::Escalate => (
                Script::one("UPDATE cases SET escalated = 1 WHERE id = $1", values![id.as_str()]),
                WebhookEvent::CaseEscalated(change(events::NoDetails {})),
            ),
            CaseAction::Close => (
                Script::one("UPDATE cases SET status = 'closed' WHERE id = $1", values![id.as_str()]),
                WebhookEvent::CaseClosed(change(events::NoDetails {})),
            ),
            CaseAction::Extend { due_at_ms, reason } => (
                Script::one(
                    "UPDATE cases SET due_at_ms = $1, overdue_alerted = 0 WHERE id = $2",
                    values![*due_at_ms, id.as_str()],
                ),
                WebhookEvent::CaseDeadlineExtended(events::CaseChange {
                    case_id,
                    details: events::DeadlineExtended { due_at_ms: *due_at_ms, reason: reason.clone() },
                }),
            ),
        };
        Self::outbox(&mut script, &webhook, at_ms);
        let audit = AuditEvent::new(actor, webhook.event_type(), "case", case_id, webhook.data()["details"].take());
        self.write(script, &[audit], at_ms).await
    }

    async fn alert_overdue_cases(&self, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        self.alert_overdue(&OVERDUE_CASES, now_ms).await
    }

    async fn alert_overdue_refunds(&self, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        self.alert_overdue(&OVERDUE_REFUNDS, now_ms).await
    }

    async fn open_cases_of_customer(&self, email_index: &str, except: Uuid) -> StoreResult<i64> {
        let query = sqlx::query(
            "SELECT COUNT(*) AS n FROM cases c JOIN orders o ON o.id = c.order_id \
             WHERE o.customer_email_index = $1 AND c.status = 'open' AND o.id <> $2",
        )
        .bind(email_index)
        .bind(except.to_string());
        Ok(self.read_one(query, |r| get::<i64>(r, "n")).await?.unwrap_or(0))
    }

    async fn insert_decision(&self, d: &DecisionRecord) -> StoreResult<()> {
        let script = Script::one(
            "INSERT INTO decisions (id, case_id, order_id, kind, status, params, requested_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)",
            values![
                d.id.to_string(),
                d.case_id.to_string(),
                d.order_id.to_string(),
                d.kind.as_str(),
                to_json(&d.params)?,
                d.requested_by.as_str(),
                d.created_at_ms
            ],
        );
        let ev = AuditEvent::new(
            &d.requested_by,
            "decision.requested",
            "decision",
            d.id,
            json!({"case_id": d.case_id, "kind": d.kind}),
        );
        self.write(script, &[ev], d.created_at_ms).await
    }

    async fn get_decision(&self, id: Uuid) -> StoreResult<Option<DecisionRecord>> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::decision).await
    }

    async fn decisions_of_case(&self, case_id: Uuid) -> StoreResult<Vec<DecisionRecord>> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE case_id = $1 ORDER BY created_at_ms, id");
        self.read_all(sqlx::query(&sql).bind(case_id.to_string()), rows::decision).await
    }

    async fn get_refund(&self, id: Uuid) -> StoreResult<Option<RefundRecord>> {
        let sql = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::refund).await
    }
}
