//! What the repository modules share: reads, write transactions with their audit entries, outbox
//! rows, and the [`Store`] composition of every repository.

use crate::script::{values, Outcome, Script, Session};
use crate::{audit, map_err, SqlStore};
use custos_app::events::WebhookEvent;
use custos_app::ports::{Store, StoreResult};
use custos_app::StoreError;
use custos_domain::audit::AuditEvent;
use sqlx::any::AnyArguments;
use sqlx::any::AnyRow;
use sqlx::query::Query;
use sqlx::Any;
use uuid::Uuid;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()))
}

impl SqlStore {
    /// Every row of a read, mapped.
    pub(crate) async fn read_all<'q, T>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
        map: impl Fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        query.fetch_all(&self.read).await.map_err(map_err)?.iter().map(map).collect()
    }

    /// The row of a read, if any, mapped.
    pub(crate) async fn read_one<'q, T>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
        map: impl Fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        query.fetch_optional(&self.read).await.map_err(map_err)?.as_ref().map(map).transpose()
    }

    pub(crate) async fn session(&self) -> StoreResult<Session> {
        Session::begin(self.writer.as_ref(), &self.write, self.backend).await
    }

    /// Writes `statements` and their audit `events` in one transaction (two round trips).
    pub(crate) async fn write(&self, statements: Script, events: &[AuditEvent], at_ms: i64) -> StoreResult<()> {
        self.write_with(statements, events, at_ms).await.map(drop)
    }

    /// [`Self::write`], returning what each statement returned (the audit statements follow).
    pub(crate) async fn write_with(
        &self,
        statements: Script,
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<Vec<Outcome>> {
        if events.is_empty() {
            return self.session().await?.commit(statements).await;
        }
        let mut session = self.session().await?;
        let mut first = Script::default();
        audit::read_head(&mut first, self.for_update());
        let head = audit::head_of(&session.run(first).await?[0])?;
        let mut script = statements;
        audit::push(&mut script, head, events, at_ms)?;
        session.commit(script).await
    }

    /// Runs `statements`; if the first changed exactly one row, writes the audit `events` and
    /// commits (true), else rolls back (false). For changes that may find nothing to change.
    pub(crate) async fn write_if_one(
        &self,
        statements: Script,
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<bool> {
        let mut session = self.session().await?;
        if session.run(statements).await?[0].affected != 1 {
            session.rollback().await?;
            return Ok(false);
        }
        let mut head = Script::default();
        audit::read_head(&mut head, self.for_update());
        let head = audit::head_of(&session.run(head).await?[0])?;
        let mut last = Script::default();
        audit::push(&mut last, head, events, at_ms)?;
        session.commit(last).await?;
        Ok(true)
    }

    /// Whether the audit head is read with a transaction's first statements. On SQLite that
    /// saves a round trip (its single writer serialises anyway); on PostgreSQL the head's row
    /// lock serialises transactions, so it is taken as late as possible, just before the final
    /// statements.
    pub(crate) fn head_first(&self) -> bool {
        self.backend == crate::Backend::Sqlite
    }

    /// The audit head: from the first script's last outcome, or read now.
    pub(crate) async fn head_after(&self, session: &mut Session, first: &[Outcome]) -> StoreResult<(i64, String)> {
        if self.head_first() {
            return audit::head_of(first.last().ok_or_else(|| StoreError::Other("no audit head".into()))?);
        }
        let mut script = Script::default();
        audit::read_head(&mut script, self.for_update());
        audit::head_of(&session.run(script).await?[0])
    }

    /// Queues a webhook event in the transaction of the change it reports.
    pub(crate) fn outbox(script: &mut Script, event: &WebhookEvent, at_ms: i64) {
        script.push(
            "INSERT INTO outbox (id, event_type, payload, created_at_ms, attempts) VALUES ($1, $2, $3, $4, 0)",
            values![Uuid::now_v7().to_string(), event.event_type(), event.data_json(), at_ms],
        );
    }
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.as_str()
    }
}
