//! The cases repository.

use crate::base::*;
use crate::rows::{self, get, CASE_COLUMNS, DECISION_COLUMNS, REFUND_COLUMNS};
use crate::script::{values, Script};
use crate::SqlStore;
use async_trait::async_trait;
use custos_app::entries;
use custos_app::model::*;
use custos_app::repos::*;
use uuid::Uuid;

/// What is overdue: the rows due, and how one is marked as alerted.
pub(crate) struct Overdue {
    due: &'static str,
    mark: &'static str,
    what: entries::Overdue,
}

pub(crate) const OVERDUE_CASES: Overdue = Overdue {
    due: "SELECT id FROM cases WHERE status = 'open' AND overdue_alerted = 0 AND due_at_ms <= $1",
    mark: "UPDATE cases SET overdue_alerted = 1 WHERE id = $1 AND overdue_alerted = 0",
    what: entries::Overdue::Case,
};

pub(crate) const OVERDUE_REFUNDS: Overdue = Overdue {
    due: "SELECT id FROM refunds WHERE status = 'pending' AND overdue_alerted = 0 AND due_at_ms <= $1",
    mark: "UPDATE refunds SET overdue_alerted = 1 WHERE id = $1 AND overdue_alerted = 0",
    what: entries::Overdue::Refund,
};

impl SqlStore {
    /// Marks the rows of `what` past their due time as alerted, once each, and alerts the
    /// officers (webhook) with an audit entry.
    pub(crate) async fn alert_overdue(&self, what: &Overdue, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        let query = sqlx::query(what.due).bind(now_ms);
        let due: Vec<Uuid> = self.read_all(query, |r| rows::parse(r, "id")).await?;
        for id in &due {
            let mut script = Script::one(what.mark, values![id.to_string()]);
            let (audit, alert) = entries::overdue(what.what, *id);
            Self::outbox(&mut script, &alert, now_ms);
            self.write(script, &[audit], now_ms).await?;
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
            .bind(f.status.map(|s| s.as_str()).unwrap_or_default())
            .bind(action)
            .bind(f.due_before_ms.unwrap_or(i64::MAX))
            .bind(f.limit);
        self.read_all(query, rows::case).await
    }

    async fn queue(&self, query: &QueueQuery) -> StoreResult<QueuePage> {
        self.queue_page(query).await
    }

    async fn queue_counts(&self, now_ms: i64) -> StoreResult<QueueCounts> {
        self.queue_counts_at(now_ms).await
    }

    async fn case_figures(&self, since_ms: i64, now_ms: i64) -> StoreResult<CaseFiguresRaw> {
        self.case_figures_at(since_ms, now_ms).await
    }

    async fn case_action(&self, case_id: Uuid, action: &CaseAction, actor: &str, at_ms: i64) -> StoreResult<()> {
        let id = case_id.to_string();
        let mut script = match action {
            CaseAction::Assign { assignee } => {
                Script::one("UPDATE cases SET assignee = $1 WHERE id = $2", values![assignee.as_str(), id.as_str()])
            }
            CaseAction::Note { id: note, body_enc } => Script::one(
                "INSERT INTO case_notes (id, case_id, author, body_enc, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                values![note.to_string(), id.as_str(), actor, body_enc.as_str(), at_ms],
            ),
            CaseAction::Escalate => Script::one("UPDATE cases SET escalated = 1 WHERE id = $1", values![id.as_str()]),
            CaseAction::Close => Script::one(
                "UPDATE cases SET status = 'closed', closed_at_ms = $1 WHERE id = $2",
                values![at_ms, id.as_str()],
            ),
            CaseAction::Extend { due_at_ms, .. } => Script::one(
                "UPDATE cases SET due_at_ms = $1, overdue_alerted = 0 WHERE id = $2",
                values![*due_at_ms, id.as_str()],
            ),
        };
        let (audit, webhook) = entries::case_action(case_id, action, actor);
        Self::outbox(&mut script, &webhook, at_ms);
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

    async fn insert_decision(&self, d: &DecisionRecord, rationale_sha256: &str) -> StoreResult<()> {
        let script = Script::one(
            "INSERT INTO decisions (id, case_id, order_id, kind, status, params, requested_by, created_at_ms, \
             rationale_enc) VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8)",
            values![
                d.id.to_string(),
                d.case_id.to_string(),
                d.order_id.to_string(),
                d.kind.as_str(),
                to_json(&d.params)?,
                d.requested_by.as_str(),
                d.created_at_ms,
                d.rationale_enc.clone()
            ],
        );
        self.write(script, &[entries::decision_requested(d, rationale_sha256)], d.created_at_ms).await
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
