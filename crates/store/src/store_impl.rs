//! The [`Store`] implementation shared by SQLite and PostgreSQL.

use crate::rows::{
    self, get, APPEAL_COLUMNS, CASE_COLUMNS, DECISION_COLUMNS, DEPOSIT_COLUMNS, DOCUMENT_COLUMNS, ORDER_COLUMNS,
    OUTBOX_COLUMNS, REFUND_COLUMNS, REQUEST_COLUMNS, SCREENING_COLUMNS,
};
use crate::script::{values, Outcome, Script, Session};
use crate::{audit, map_err, SqlStore};
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::ports::{Store, StoreResult};
use custos_app::StoreError;
use custos_domain::audit::{AuditEntry, AuditEvent};
use custos_domain::{Address, Network};
use futures_util::TryStreamExt;
use serde_json::json;
use sqlx::any::AnyArguments;
use sqlx::any::AnyRow;
use sqlx::query::Query;
use sqlx::{Any, Row};
use uuid::Uuid;

/// Rows per multi-row INSERT when importing labels (6 parameters each, well under SQLite's
/// limit of 32766 parameters per statement).
const LABEL_BATCH: usize = 500;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()))
}

/// What is overdue, and how it is alerted.
struct Overdue {
    due: &'static str,
    mark: &'static str,
    alert: &'static str,
    audit: &'static str,
    entity: &'static str,
}

const OVERDUE_CASES: Overdue = Overdue {
    due: "SELECT id FROM cases WHERE status = 'open' AND overdue_alerted = 0 AND due_at_ms <= $1",
    mark: "UPDATE cases SET overdue_alerted = 1 WHERE id = $1 AND overdue_alerted = 0",
    alert: "alert.case_overdue",
    audit: "case.overdue",
    entity: "case",
};

const OVERDUE_REFUNDS: Overdue = Overdue {
    due: "SELECT id FROM refunds WHERE status = 'pending' AND overdue_alerted = 0 AND due_at_ms <= $1",
    mark: "UPDATE refunds SET overdue_alerted = 1 WHERE id = $1 AND overdue_alerted = 0",
    alert: "alert.refund_overdue",
    audit: "refund.overdue",
    entity: "refund",
};

/// Increments a named counter and returns its new value; a new counter starts at `first`.
fn push_counter(script: &mut Script, name: &str, first: i64) {
    script.push(
        "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        values![name, first],
    );
}

fn counter_of(outcome: &Outcome) -> StoreResult<i64> {
    outcome
        .rows
        .first()
        .ok_or_else(|| StoreError::Other("a counter returned no value".into()))
        .and_then(|r| get(r, "value"))
}

fn label_insert_sql(rows: usize) -> std::borrow::Cow<'static, str> {
    let mut sql = String::with_capacity(70 + rows * 40);
    sql.push_str("INSERT INTO labels (source, network, address, category, label, confidence) VALUES ");
    for i in 0..rows {
        let b = i * 6;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(${},${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6));
    }
    sql.into()
}

fn event(
    actor: &str,
    action: &str,
    entity_type: &str,
    entity_id: impl ToString,
    data: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        actor: actor.to_owned(),
        action: action.to_owned(),
        entity_type: entity_type.to_owned(),
        entity_id: entity_id.to_string(),
        data,
    }
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

    async fn session(&self) -> StoreResult<Session> {
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
    fn head_first(&self) -> bool {
        self.backend == crate::Backend::Sqlite
    }

    /// The audit head: from the first script's last outcome, or read now.
    async fn head_after(&self, session: &mut Session, first: &[Outcome]) -> StoreResult<(i64, String)> {
        if self.head_first() {
            return audit::head_of(first.last().ok_or_else(|| StoreError::Other("no audit head".into()))?);
        }
        let mut script = Script::default();
        audit::read_head(&mut script, self.for_update());
        audit::head_of(&session.run(script).await?[0])
    }

    pub(crate) fn outbox(
        script: &mut Script,
        event_type: &str,
        payload: serde_json::Value,
        at_ms: i64,
    ) -> StoreResult<()> {
        script.push(
            "INSERT INTO outbox (id, event_type, payload, created_at_ms, attempts) VALUES ($1, $2, $3, $4, 0)",
            values![Uuid::now_v7().to_string(), event_type, to_json(&payload)?, at_ms],
        );
        Ok(())
    }

    async fn order_by_id(&self, id: Uuid) -> StoreResult<Option<OrderRecord>> {
        self.read_one(
            sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1")).bind(id.to_string()),
            rows::order,
        )
        .await
    }

    async fn screening_by_id(&self, id: Uuid) -> StoreResult<Option<ScreeningRecord>> {
        self.read_one(
            sqlx::query(&format!("SELECT {SCREENING_COLUMNS} FROM screenings WHERE id = $1")).bind(id.to_string()),
            rows::screening,
        )
        .await
    }

    fn push_screening(script: &mut Script, s: &ScreeningRecord) -> StoreResult<()> {
        script.push(
            "INSERT INTO screenings (id, kind, network, address, order_id, deposit_id, action, band, score_hundredths, \
             policy_version, decision, reports, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            values![
                s.id.to_string(),
                s.kind.as_str(),
                s.network.as_str(),
                s.address.as_str(),
                s.order_id.map(|u| u.to_string()),
                s.deposit_id.map(|u| u.to_string()),
                s.decision.action.as_str(),
                s.decision.band.as_str(),
                i64::from(s.decision.score.hundredths()),
                s.policy_version,
                to_json(&s.decision)?,
                to_json(&s.reports)?,
                s.created_at_ms,
            ],
        );
        Ok(())
    }

    /// Marks the rows of `what` past their due time as alerted, once each, and alerts the
    /// officers (webhook) with an audit entry.
    async fn alert_overdue(&self, what: &Overdue, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        let query = sqlx::query(what.due).bind(now_ms);
        let due: Vec<Uuid> = self.read_all(query, |r| rows::parse(r, "id")).await?;
        for id in &due {
            let mut script = Script::one(what.mark, values![id.to_string()]);
            Self::outbox(&mut script, what.alert, json!({"id": id, "entity": what.entity}), now_ms)?;
            self.write(script, &[event("system", what.audit, what.entity, id, json!({}))], now_ms).await?;
        }
        Ok(due)
    }

    /// Inserts a case and its webhook; returns its audit event.
    fn push_case(script: &mut Script, c: &CaseRecord) -> StoreResult<AuditEvent> {
        script.push(
            "INSERT INTO cases (id, number, order_id, deposit_id, action, status, reasons, deadline_kind, opened_at_ms, due_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            values![
                c.id.to_string(),
                c.number,
                c.order_id.to_string(),
                c.deposit_id.map(|u| u.to_string()),
                c.action.as_str(),
                c.status.as_str(),
                to_json(&c.reasons)?,
                c.deadline_kind.as_str(),
                c.opened_at_ms,
                c.due_at_ms,
            ],
        );
        let webhook = json!({"case_id": c.id, "number": c.number, "order_id": c.order_id, "action": c.action,
                             "deadline": {"kind": c.deadline_kind.as_str(), "due_at_ms": c.due_at_ms}});
        Self::outbox(script, "case.opened", webhook, c.opened_at_ms)?;
        Ok(event(
            "system",
            "case.opened",
            "case",
            c.id,
            json!({"number": c.number, "order_id": c.order_id, "action": c.action,
                   "deadline": c.deadline_kind.as_str(), "due_at_ms": c.due_at_ms}),
        ))
    }

    fn screening_event(actor: &str, s: &ScreeningRecord) -> AuditEvent {
        event(
            actor,
            "screening.completed",
            "screening",
            s.id,
            json!({
                "kind": s.kind.as_str(),
                "order_id": s.order_id,
                "deposit_id": s.deposit_id,
                "action": s.decision.action,
                "band": s.decision.band,
                "score": s.decision.score,
                "categories": s.decision.categories.iter().map(|c| c.category).collect::<Vec<_>>(),
                "policy_version": s.policy_version,
            }),
        )
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.as_str()
    }

    async fn ensure_policy_version(&self, fingerprint: &str, document: &str, at_ms: i64) -> StoreResult<i64> {
        let mut session = self.session().await?;
        // The head first: on PostgreSQL its lock orders concurrent servers, so the latest version
        // read next is current.
        let mut first = Script::default();
        audit::read_head(&mut first, self.for_update());
        first.push("SELECT version, fingerprint FROM policy_versions ORDER BY version DESC LIMIT 1", vec![]);
        let out = session.run(first).await?;
        let head = audit::head_of(&out[0])?;
        let next = match out[1].rows.first() {
            Some(r) if get::<String>(r, "fingerprint")? == fingerprint => {
                let version = get(r, "version")?;
                session.rollback().await?;
                return Ok(version);
            }
            Some(r) => get::<i64>(r, "version")? + 1,
            None => 1,
        };
        let mut script = Script::one(
            "INSERT INTO policy_versions (version, fingerprint, document, effective_at_ms) VALUES ($1, $2, $3, $4)",
            values![next, fingerprint, document, at_ms],
        );
        let ev = event("system", "policy.version_created", "policy_version", next, json!({"fingerprint": fingerprint}));
        audit::push(&mut script, head, &[ev], at_ms)?;
        session.commit(script).await?;
        Ok(next)
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord, hash: &str, actor: &str) -> StoreResult<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        let script = Script::one(
            "INSERT INTO api_keys (id, name, key_hash, scopes, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
            values![key.id.to_string(), key.name.as_str(), hash, to_json(&scopes)?, key.created_at_ms],
        );
        let ev = event(actor, "api_key.created", "api_key", key.id, json!({"name": key.name, "scopes": scopes}));
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
        self.write_if_one(script, &[event(actor, "api_key.revoked", "api_key", id, json!({}))], at_ms).await
    }

    async fn replace_label_source(
        &self,
        source: &LabelSource,
        labels: &[LabelRecord],
        at_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<u64> {
        let mut session = self.session().await?;
        let mut start = Script::one("DELETE FROM labels WHERE source = $1", values![source.name.as_str()]);
        start.push(
            "INSERT INTO label_sources (name, kind, attribution, imported_at_ms, label_count) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, attribution = excluded.attribution, \
             imported_at_ms = excluded.imported_at_ms, label_count = excluded.label_count",
            values![source.name.as_str(), source.kind.as_str(), source.attribution.as_str(), at_ms, labels.len() as i64],
        );
        session.run(start).await?;
        let full_chunk_sql = label_insert_sql(LABEL_BATCH);
        let mut done = 0u64;
        for chunk in labels.chunks(LABEL_BATCH) {
            let sql = if chunk.len() == LABEL_BATCH { full_chunk_sql.clone() } else { label_insert_sql(chunk.len()) };
            let mut values = Vec::with_capacity(chunk.len() * 6);
            for l in chunk {
                values.extend(values![
                    source.name.as_str(),
                    l.network.as_str(),
                    l.address.as_str(),
                    l.category.as_str(),
                    l.label.as_str(),
                    i64::from(l.confidence)
                ]);
            }
            session.run(Script::one(sql, values)).await?;
            done += chunk.len() as u64;
            progress(done);
        }
        // The audit head is locked only now, so that a long import does not hold up other writes.
        let mut head = Script::default();
        audit::read_head(&mut head, self.for_update());
        let head = audit::head_of(&session.run(head).await?[0])?;
        let ev = event(
            "cli",
            "labels.imported",
            "label_source",
            &source.name,
            json!({"kind": source.kind, "labels": labels.len()}),
        );
        let mut end = Script::default();
        audit::push(&mut end, head, &[ev], at_ms)?;
        session.commit(end).await?;
        Ok(done)
    }

    async fn for_each_label(&self, sink: &mut (dyn FnMut(StoredLabel) + Send)) -> StoreResult<u64> {
        let mut stream = sqlx::query(
            "SELECT l.source, s.imported_at_ms, l.network, l.address, l.category, l.label, l.confidence \
             FROM labels l JOIN label_sources s ON s.name = l.source",
        )
        .fetch(&self.read);
        let mut n = 0;
        while let Some(row) = stream.try_next().await.map_err(map_err)? {
            sink(StoredLabel {
                source: get(&row, "source")?,
                imported_at_ms: get(&row, "imported_at_ms")?,
                record: LabelRecord {
                    network: rows::parse(&row, "network")?,
                    address: get(&row, "address")?,
                    category: rows::parse(&row, "category")?,
                    label: get(&row, "label")?,
                    confidence: get::<i64>(&row, "confidence")?.clamp(0, 100) as u8,
                },
            });
            n += 1;
        }
        Ok(n)
    }

    async fn label_stats(&self) -> StoreResult<Vec<LabelSourceStats>> {
        let query =
            sqlx::query("SELECT name, kind, attribution, imported_at_ms, label_count FROM label_sources ORDER BY name");
        self.read_all(query, |r| {
            Ok(LabelSourceStats {
                name: get(r, "name")?,
                kind: get(r, "kind")?,
                attribution: get(r, "attribution")?,
                imported_at_ms: get(r, "imported_at_ms")?,
                labels: get::<i64>(r, "label_count")? as u64,
            })
        })
        .await
    }

    async fn labels_revision(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(imported_at_ms), 0) FROM label_sources")
            .fetch_one(&self.read)
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }

    async fn create_order(
        &self,
        w: &OrderWrite,
        derive: &(dyn Fn(u32) -> Result<Address, String> + Sync),
    ) -> StoreResult<OrderRecord> {
        let o = &w.order;
        let counter = format!("address_index:{}:{}", o.pay_network, w.key_fingerprint);
        let mut session = self.session().await?;
        let mut first = Script::default();
        push_counter(&mut first, "order_number", 100_001);
        push_counter(&mut first, &counter, 0);
        if self.head_first() {
            audit::read_head(&mut first, self.for_update());
        }
        let out = session.run(first).await?;
        let number = counter_of(&out[0])?;
        let mut next_index = counter_of(&out[1])?;
        // BIP32 skips the (astronomically rare) indices that give no valid key.
        let (index, address) = loop {
            let index = u32::try_from(next_index)
                .ok()
                .filter(|i| *i < 0x8000_0000)
                .ok_or_else(|| StoreError::Other("the deposit key's address indices are exhausted".into()))?;
            if let Ok(a) = derive(index) {
                break (index, a);
            }
            let mut again = Script::default();
            push_counter(&mut again, &counter, 0);
            next_index = counter_of(&session.run(again).await?[0])?;
        };
        let id = w.id.to_string();
        let head = self.head_after(&mut session, &out).await?;
        let mut script = Script::default();
        script.push(
            "INSERT INTO orders (id, number, external_id, status, pay_network, pay_asset, pay_amount, receive_network, \
             receive_asset, receive_amount, receive_address, deposit_address, deposit_index, customer_email_enc, \
             customer_email_index, created_by, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
            values![
                id.as_str(),
                number,
                o.external_id.clone(),
                custos_domain::OrderStatus::AwaitingDeposit.as_str(),
                o.pay_network.as_str(),
                o.pay_asset.as_str(),
                o.pay_amount.to_string(),
                o.receive_network.as_str(),
                o.receive_asset.as_str(),
                o.receive_amount.to_string(),
                o.receive_address.as_str(),
                address.as_str(),
                i64::from(index),
                w.customer_email_enc.clone(),
                w.customer_email_index.clone(),
                w.created_by.as_str(),
                w.at_ms,
            ],
        );
        if let Some(index) = &w.customer_email_index {
            script.push(
                "INSERT INTO customers (id, email_index, status, created_at_ms, updated_at_ms) VALUES ($1, $2, 'active', $3, $3) \
                 ON CONFLICT (email_index) DO NOTHING",
                values![Uuid::now_v7().to_string(), index.as_str(), w.at_ms],
            );
        }
        script.push(
            "INSERT INTO deposit_addresses (network, address, key_fingerprint, derivation_index, order_id, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            values![o.pay_network.as_str(), address.as_str(), w.key_fingerprint.as_str(), i64::from(index), id.as_str(), w.at_ms],
        );
        let ev = event(
            &w.created_by,
            "order.created",
            "order",
            &id,
            json!({"number": number, "pay_network": o.pay_network, "pay_asset": o.pay_asset,
                   "deposit_index": index, "key_fingerprint": w.key_fingerprint}),
        );
        audit::push(&mut script, head, &[ev], w.at_ms)?;
        let payload = json!({"order_id": id, "number": number, "status": "awaiting_deposit"});
        Self::outbox(&mut script, "order.created", payload, w.at_ms)?;
        session.commit(script).await?;
        Ok(OrderRecord {
            id: w.id,
            number,
            external_id: o.external_id.clone(),
            status: custos_domain::OrderStatus::AwaitingDeposit,
            pay_network: o.pay_network,
            pay_asset: o.pay_asset,
            pay_amount: o.pay_amount,
            receive_network: o.receive_network,
            receive_asset: o.receive_asset,
            receive_amount: o.receive_amount,
            receive_address: o.receive_address.as_str().to_owned(),
            deposit_address: address.as_str().to_owned(),
            deposit_index: index,
            has_customer_email: w.customer_email_enc.is_some(),
            customer_email_index: w.customer_email_index.clone(),
            created_at_ms: w.at_ms,
            updated_at_ms: w.at_ms,
        })
    }

    async fn get_order(&self, id: Uuid) -> StoreResult<Option<OrderView>> {
        let Some(order) = self.order_by_id(id).await? else { return Ok(None) };
        let key = id.to_string();
        let sql = format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE order_id = $1 ORDER BY received_at_ms, id");
        let deposits = self.read_all(sqlx::query(&sql).bind(&key), rows::deposit).await?;
        let sql = format!("SELECT {SCREENING_COLUMNS} FROM screenings WHERE order_id = $1 ORDER BY created_at_ms, id");
        let screenings = self.read_all(sqlx::query(&sql).bind(&key), rows::screening).await?;
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE order_id = $1 ORDER BY number");
        let cases = self.read_all(sqlx::query(&sql).bind(&key), rows::case).await?;
        Ok(Some(OrderView { order, deposits, screenings, cases }))
    }

    async fn deposit_target(
        &self,
        network: Network,
        address: &str,
        txid: &str,
        index: u32,
    ) -> StoreResult<(Option<OrderRecord>, bool)> {
        let columns = ORDER_COLUMNS.split(", ").map(|c| format!("o.{}", c.trim())).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM deposits WHERE network = $1 AND txid = $3 AND output_index = $4) AS recorded, {columns} \
             FROM (SELECT 1 AS one) x LEFT JOIN orders o ON o.pay_network = $1 AND o.deposit_address = $2"
        );
        let query = sqlx::query(&sql).bind(network.as_str()).bind(address).bind(txid).bind(i64::from(index));
        let found = self
            .read_one(query, |r| {
                let recorded = get::<i64>(r, "recorded")? > 0;
                let order = match get::<Option<String>>(r, "id")? {
                    Some(_) => Some(rows::order(r)?),
                    None => None,
                };
                Ok((order, recorded))
            })
            .await?;
        Ok(found.unwrap_or((None, false)))
    }

    async fn find_deposit(&self, network: Network, txid: &str, index: u32) -> StoreResult<Option<DepositOutcome>> {
        let sql =
            format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE network = $1 AND txid = $2 AND output_index = $3");
        let query = sqlx::query(&sql).bind(network.as_str()).bind(txid).bind(i64::from(index));
        let Some(deposit) = self.read_one(query, rows::deposit).await? else { return Ok(None) };
        let missing = |what: &str| StoreError::Other(format!("deposit {} has no {what}", deposit.id));
        let screening = self.screening_by_id(deposit.screening_id).await?.ok_or_else(|| missing("screening"))?;
        let order = self.order_by_id(deposit.order_id).await?.ok_or_else(|| missing("order"))?;
        let case = self
            .read_one(
                sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE deposit_id = $1"))
                    .bind(deposit.id.to_string()),
                rows::case,
            )
            .await?;
        Ok(Some(DepositOutcome { deposit, screening, order, case, created: false }))
    }

    async fn record_deposit(&self, w: &DepositWrite) -> StoreResult<DepositOutcome> {
        let d = &w.deposit;
        let at = d.received_at_ms;
        let mut session = self.session().await?;
        let mut first = Script::default();
        first.push(
            "INSERT INTO deposits (id, order_id, network, asset, address, txid, output_index, amount, sources, \
             confirmations, screening_id, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (network, txid, output_index) DO NOTHING",
            values![
                d.id.to_string(),
                d.order_id.to_string(),
                d.network.as_str(),
                d.asset.as_str(),
                d.address.as_str(),
                d.txid.as_str(),
                i64::from(d.index),
                d.amount.to_string(),
                to_json(&d.sources)?,
                d.confirmations.map(i64::from),
                d.screening_id.to_string(),
                at
            ],
        );
        first.push(
            format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{}", self.for_update()),
            values![d.order_id.to_string()],
        );
        if w.case.is_some() {
            push_counter(&mut first, "case_number", 1);
        }
        if self.head_first() {
            audit::read_head(&mut first, self.for_update());
        }
        let out = session.run(first).await?;
        if out[0].affected == 0 {
            // The same transfer was recorded concurrently: answer with that one, once it is
            // durable (and so visible to reads).
            session.rollback().await?;
            if let Some(writer) = &self.writer {
                writer.barrier().await?;
            }
            return self
                .find_deposit(d.network, &d.txid, d.index)
                .await?
                .ok_or_else(|| StoreError::Other("a conflicting deposit vanished".into()));
        }
        let row = out[1].rows.first().ok_or_else(|| StoreError::Other(format!("order {} vanished", d.order_id)))?;
        let mut order = rows::order(row)?;
        let mut case = w.case.clone();
        if let Some(c) = case.as_mut() {
            c.number = counter_of(&out[2])?;
        }
        let head = self.head_after(&mut session, &out).await?;
        let previous = order.status;
        order.status = previous.after_screening(w.screening.decision.action);
        order.updated_at_ms = at;

        let mut script = Script::default();
        script.push(
            "UPDATE orders SET status = $1, updated_at_ms = $2 WHERE id = $3",
            values![order.status.as_str(), at, order.id.to_string()],
        );
        Self::push_screening(&mut script, &w.screening)?;
        for source in &d.sources {
            script.push(
                "INSERT INTO deposit_sources (network, address, order_id, deposit_id, received_at_ms) VALUES ($1, $2, $3, $4, $5)",
                values![d.network.as_str(), source.as_str(), d.order_id.to_string(), d.id.to_string(), at],
            );
        }
        let mut events = vec![
            event(
                &w.actor,
                "deposit.received",
                "deposit",
                d.id,
                json!({"order_id": d.order_id, "network": d.network, "asset": d.asset, "txid": d.txid,
                       "index": d.index, "amount": d.amount, "sources": d.sources.len()}),
            ),
            Self::screening_event(&w.actor, &w.screening),
        ];
        if order.status != previous {
            events.push(event(
                "system",
                "order.status_changed",
                "order",
                order.id,
                json!({"from": previous, "to": order.status, "deposit_id": d.id}),
            ));
        }
        if let Some(c) = &case {
            events.push(Self::push_case(&mut script, c)?);
        }
        audit::push(&mut script, head, &events, at)?;
        let payload = json!({"order_id": order.id, "number": order.number, "deposit_id": d.id,
                             "status": order.status, "previous_status": previous, "decision": w.screening.decision.action});
        Self::outbox(&mut script, "deposit.screened", payload, at)?;
        session.commit(script).await?;
        Ok(DepositOutcome { deposit: d.clone(), screening: w.screening.clone(), order, case, created: true })
    }

    async fn apply_order_events(&self, w: &OrderEventWrite) -> StoreResult<OrderRecord> {
        let mut session = self.session().await?;
        let mut first = Script::one(
            format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{}", self.for_update()),
            values![w.order_id.to_string()],
        );
        if w.case.is_some() {
            push_counter(&mut first, "case_number", 1);
        }
        if self.head_first() {
            audit::read_head(&mut first, self.for_update());
        }
        let out = session.run(first).await?;
        let Some(row) = out[0].rows.first() else {
            session.rollback().await?;
            return Err(StoreError::Other(format!("order {} vanished", w.order_id)));
        };
        let mut order = rows::order(row)?;
        let previous = order.status;
        for e in &w.events {
            match order.status.apply(*e) {
                Ok(next) => order.status = next,
                Err(illegal) => {
                    session.rollback().await?;
                    return Err(StoreError::Conflict(illegal.to_string()));
                }
            }
        }
        order.updated_at_ms = w.at_ms;
        let mut case = w.case.clone();
        if let Some(c) = case.as_mut() {
            c.number = counter_of(&out[1])?;
        }
        let head = self.head_after(&mut session, &out).await?;
        let mut script = Script::one(
            "UPDATE orders SET status = $1, updated_at_ms = $2 WHERE id = $3",
            values![order.status.as_str(), w.at_ms, order.id.to_string()],
        );
        let action = if order.status == previous { "order.updated" } else { "order.status_changed" };
        let mut events = vec![event(
            &w.actor,
            action,
            "order",
            order.id,
            json!({"from": previous, "to": order.status, "events": w.events, "details": w.data}),
        )];
        if let Some(s) = &w.screening {
            Self::push_screening(&mut script, s)?;
            events.push(Self::screening_event(&w.actor, s));
        }
        if let Some(c) = &case {
            events.push(Self::push_case(&mut script, c)?);
        }
        if let Some((decision, approver)) = &w.executes {
            // Only a pending decision executes, once: a second approval finds nothing to update.
            script.push(
                "UPDATE decisions SET status = 'executed', approved_by = $1, decided_at_ms = $2 \
                 WHERE id = $3 AND status = 'pending'",
                values![approver.as_str(), w.at_ms, decision.to_string()],
            );
            events.push(event(&w.actor, "decision.executed", "decision", decision, json!({"approved_by": approver})));
        }
        if let Some(r) = &w.refund {
            script.push(
                "INSERT INTO refunds (id, order_id, deposit_id, decision_id, network, asset, to_address, amount, network_fee, \
                 status, created_at_ms, due_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11)",
                values![
                    r.id.to_string(),
                    r.order_id.to_string(),
                    r.deposit_id.to_string(),
                    r.decision_id.to_string(),
                    r.network.as_str(),
                    r.asset.as_str(),
                    r.to_address.as_str(),
                    r.amount.to_string(),
                    r.network_fee.to_string(),
                    r.created_at_ms,
                    r.due_at_ms
                ],
            );
            events.push(event(
                &w.actor,
                "refund.created",
                "refund",
                r.id,
                json!({"order_id": r.order_id, "deposit_id": r.deposit_id, "amount": r.amount,
                       "network_fee": r.network_fee, "due_at_ms": r.due_at_ms}),
            ));
        }
        if let Some((refund, txid)) = &w.refund_sent {
            script.push(
                "UPDATE refunds SET status = 'sent', txid = $1, sent_at_ms = $2 WHERE id = $3",
                values![txid.as_str(), w.at_ms, refund.to_string()],
            );
            events.push(event(&w.actor, "refund.sent", "refund", refund, json!({"txid": txid})));
        }
        if let Some(r) = &w.opens_request {
            script.push(
                "INSERT INTO customer_requests (id, case_id, order_id, customer_id, kind, status, message, message_enc, \
                 requested_by, created_at_ms, due_at_ms, escalation) VALUES ($1, $2, $3, (SELECT c.id FROM customers c \
                 JOIN orders o ON o.customer_email_index = c.email_index WHERE o.id = $3), $4, 'open', $5, $6, $7, $8, $9, 0)",
                values![
                    r.id.to_string(),
                    r.case_id.to_string(),
                    r.order_id.to_string(),
                    r.kind.as_str(),
                    r.message.as_str(),
                    r.sealed_message.clone(),
                    r.requested_by.as_str(),
                    r.created_at_ms,
                    r.due_at_ms
                ],
            );
            events.push(event(
                &w.actor,
                "request.opened",
                "customer_request",
                r.id,
                json!({"case_id": r.case_id, "kind": r.kind, "due_at_ms": r.due_at_ms}),
            ));
        }
        if let Some((request, answer_enc, review_due)) = &w.answers_request {
            script.push(
                "UPDATE customer_requests SET status = 'answered', answer_enc = $1, answered_at_ms = $2, review_due_at_ms = $3, \
                 answered_by = $4 WHERE id = $5",
                values![answer_enc.as_str(), w.at_ms, *review_due, w.actor.as_str(), request.to_string()],
            );
            events.push(event(
                &w.actor,
                "request.answered",
                "customer_request",
                request,
                json!({"review_due_at_ms": review_due}),
            ));
        }
        for (d, content_enc) in &w.documents {
            script.push(
                "INSERT INTO request_documents (id, request_id, file_name_enc, content_type, size_bytes, sha256, \
                 content_enc, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                values![
                    d.id.to_string(),
                    d.request_id.to_string(),
                    d.file_name_enc.as_str(),
                    d.content_type.as_str(),
                    d.size_bytes,
                    d.sha256.as_str(),
                    content_enc.as_str(),
                    d.created_at_ms
                ],
            );
            events.push(event(
                &w.actor,
                "document.uploaded",
                "request_document",
                d.id,
                json!({"request_id": d.request_id, "content_type": d.content_type, "size_bytes": d.size_bytes, "sha256": d.sha256}),
            ));
        }
        if let Some(c) = w.closes_case {
            script.push("UPDATE cases SET status = 'closed' WHERE id = $1", values![c.to_string()]);
            events.push(event(&w.actor, "case.closed", "case", c, json!({})));
        }
        audit::push(&mut script, head, &events, w.at_ms)?;
        let payload = json!({"order_id": order.id, "number": order.number, "status": order.status,
                             "previous_status": previous, "events": w.events, "details": w.data,
                             "case_id": case.as_ref().map(|c| c.id)});
        Self::outbox(&mut script, action, payload, w.at_ms)?;
        session.commit(script).await?;
        Ok(order)
    }

    async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRecord>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::case).await
    }

    async fn insert_appeal(&self, a: &AppealRecord, actor: &str) -> StoreResult<()> {
        let mut script = Script::default();
        // One open appeal per order: a second is a conflict, inside the same transaction.
        script.push(
            "INSERT INTO appeals (id, order_id, status, text_enc, outcome_enc, created_at_ms, due_at_ms) \
             SELECT $1, $2, $3, $4, NULL, $5, $6 WHERE NOT EXISTS \
             (SELECT 1 FROM appeals WHERE order_id = $2 AND status = 'open')",
            values![
                a.id.to_string(),
                a.order_id.to_string(),
                a.status.as_str(),
                a.text_enc.as_str(),
                a.created_at_ms,
                a.due_at_ms
            ],
        );
        let ev =
            event(actor, "appeal.opened", "appeal", a.id, json!({"order_id": a.order_id, "due_at_ms": a.due_at_ms}));
        if self.write_if_one(script, &[ev], a.created_at_ms).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict("this order already has an open appeal".into()))
        }
    }

    async fn appeals_of_order(&self, order_id: Uuid) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE order_id = $1 ORDER BY created_at_ms");
        self.read_all(sqlx::query(&sql).bind(order_id.to_string()), rows::appeal).await
    }

    async fn open_appeals(&self, limit: i64) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE status = 'open' ORDER BY due_at_ms LIMIT $1");
        self.read_all(sqlx::query(&sql).bind(limit), rows::appeal).await
    }

    async fn get_appeal(&self, id: Uuid) -> StoreResult<Option<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::appeal).await
    }

    async fn answer_appeal(&self, id: Uuid, outcome_enc: &str, actor: &str, at_ms: i64) -> StoreResult<bool> {
        let script = Script::one(
            "UPDATE appeals SET status = 'answered', outcome_enc = $1, answered_by = $2, answered_at_ms = $3 \
             WHERE id = $4 AND status = 'open'",
            values![outcome_enc, actor, at_ms, id.to_string()],
        );
        self.write_if_one(script, &[event(actor, "appeal.answered", "appeal", id, json!({}))], at_ms).await
    }

    async fn audit_of(&self, entity_ids: &[String], limit: i64) -> StoreResult<Vec<AuditEntry>> {
        if entity_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (2..entity_ids.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash FROM audit_log \
             WHERE entity_id IN ({}) ORDER BY seq LIMIT $1",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(limit);
        for id in entity_ids {
            query = query.bind(id.as_str());
        }
        self.read_all(query, rows::audit_entry).await
    }

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

    async fn orders_awaiting_deposit_before(&self, before_ms: i64) -> StoreResult<Vec<Uuid>> {
        let q = sqlx::query(
            "SELECT id FROM orders WHERE status = 'awaiting_deposit' AND created_at_ms < $1 ORDER BY created_at_ms LIMIT 1000",
        )
        .bind(before_ms);
        self.read_all(q, |r| rows::uuid(r, "id")).await
    }

    async fn orders_of_customer(&self, email_index: &str, limit: i64) -> StoreResult<Vec<OrderRecord>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE customer_email_index = $1 ORDER BY created_at_ms DESC, number DESC \
             LIMIT $2"
        );
        self.read_all(sqlx::query(&sql).bind(email_index).bind(limit), rows::order).await
    }

    async fn case_action(&self, case_id: Uuid, action: &CaseAction, actor: &str, at_ms: i64) -> StoreResult<()> {
        let id = case_id.to_string();
        let (script, name, data) = match action {
            CaseAction::Assign { assignee } => (
                Script::one("UPDATE cases SET assignee = $1 WHERE id = $2", values![assignee.as_str(), id.as_str()]),
                "case.assigned",
                json!({"assignee": assignee}),
            ),
            CaseAction::Note { id: note, body_enc } => (
                Script::one(
                    "INSERT INTO case_notes (id, case_id, author, body_enc, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                    values![note.to_string(), id.as_str(), actor, body_enc.as_str(), at_ms],
                ),
                "case.noted",
                json!({"note_id": note}),
            ),
            CaseAction::Escalate => (
                Script::one("UPDATE cases SET escalated = 1 WHERE id = $1", values![id.as_str()]),
                "case.escalated",
                json!({}),
            ),
            CaseAction::Close => (
                Script::one("UPDATE cases SET status = 'closed' WHERE id = $1", values![id.as_str()]),
                "case.closed",
                json!({}),
            ),
            CaseAction::Extend { due_at_ms, reason } => (
                Script::one(
                    "UPDATE cases SET due_at_ms = $1, overdue_alerted = 0 WHERE id = $2",
                    values![*due_at_ms, id.as_str()],
                ),
                "case.deadline_extended",
                json!({"due_at_ms": due_at_ms, "reason": reason}),
            ),
        };
        let mut script = script;
        Self::outbox(&mut script, name, json!({"case_id": case_id, "details": data}), at_ms)?;
        self.write(script, &[event(actor, name, "case", case_id, data)], at_ms).await
    }

    async fn alert_overdue_cases(&self, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        self.alert_overdue(&OVERDUE_CASES, now_ms).await
    }

    async fn alert_overdue_refunds(&self, now_ms: i64) -> StoreResult<Vec<Uuid>> {
        self.alert_overdue(&OVERDUE_REFUNDS, now_ms).await
    }

    async fn get_deposit(&self, id: Uuid) -> StoreResult<Option<DepositRecord>> {
        let sql = format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::deposit).await
    }

    async fn customer_deposits(&self, email_index: &str, since_ms: i64) -> StoreResult<Vec<DepositRecord>> {
        let columns = DEPOSIT_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns} FROM deposits d JOIN orders o ON o.id = d.order_id \
             WHERE o.customer_email_index = $1 AND d.received_at_ms >= $2"
        );
        self.read_all(sqlx::query(&sql).bind(email_index).bind(since_ms), rows::deposit).await
    }

    async fn orders_funded_by(
        &self,
        network: Network,
        source: &str,
        since_ms: i64,
    ) -> StoreResult<Vec<(Uuid, Option<String>)>> {
        let query = sqlx::query(
            "SELECT DISTINCT o.id, o.customer_email_index FROM deposit_sources s JOIN orders o ON o.id = s.order_id \
             WHERE s.network = $1 AND s.address = $2 AND s.received_at_ms >= $3",
        )
        .bind(network.as_str())
        .bind(source)
        .bind(since_ms);
        self.read_all(query, |r| Ok((rows::parse(r, "id")?, get(r, "customer_email_index")?))).await
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

    async fn deposits_since(&self, since_ms: i64) -> StoreResult<Vec<DepositRecord>> {
        let sql =
            format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE received_at_ms >= $1 ORDER BY received_at_ms, id");
        self.read_all(sqlx::query(&sql).bind(since_ms), rows::deposit).await
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
        let ev = event(
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

    async fn customer_status(&self, email_index: &str) -> StoreResult<Option<(Uuid, CustomerStatus)>> {
        let query = sqlx::query("SELECT id, status FROM customers WHERE email_index = $1").bind(email_index);
        self.read_one(query, |r| {
            let status = match get::<String>(r, "status")?.as_str() {
                "restricted" => CustomerStatus::Restricted,
                "suspended" => CustomerStatus::Suspended,
                _ => CustomerStatus::Active,
            };
            Ok((rows::parse(r, "id")?, status))
        })
        .await
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
        let mut events = vec![event("system", "request.overdue", "customer_request", id, json!({"escalation": level}))];
        if let Some((customer_id, status)) = customer {
            script.push(
                "UPDATE customers SET status = $1, updated_at_ms = $2 WHERE id = $3",
                values![status.as_str(), at_ms, customer_id.to_string()],
            );
            events.push(event("system", "customer.status_changed", "customer", customer_id, json!({"status": status})));
        }
        let payload = json!({"request_id": id, "escalation": level,
                             "customer": customer.map(|(c, s)| json!({"id": c, "status": s}))});
        Self::outbox(&mut script, "alert.kyc_overdue", payload, at_ms)?;
        self.write(script, &events, at_ms).await
    }

    async fn insert_screening(&self, screening: &ScreeningRecord, actor: &str) -> StoreResult<()> {
        let mut script = Script::default();
        Self::push_screening(&mut script, screening)?;
        self.write(script, &[Self::screening_event(actor, screening)], screening.created_at_ms).await
    }

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

    async fn outbox_due(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxEvent>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
             ORDER BY created_at_ms, id LIMIT $2"
        );
        self.read_all(sqlx::query(&sql).bind(now_ms).bind(limit), rows::outbox).await
    }

    async fn outbox_get(&self, id: Uuid) -> StoreResult<Option<OutboxEvent>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
        self.read_one(sqlx::query(&sql).bind(id.to_string()), rows::outbox).await
    }

    async fn outbox_record(&self, id: Uuid, record: &DeliveryRecord) -> StoreResult<()> {
        let id = id.to_string();
        let script = match record {
            DeliveryRecord::Delivered { at_ms } => Script::one(
                "UPDATE outbox SET status = 'delivered', delivered_at_ms = $1, attempts = attempts + 1, last_error = NULL \
                 WHERE id = $2",
                values![*at_ms, id],
            ),
            DeliveryRecord::Retry { next_at_ms, error } => Script::one(
                "UPDATE outbox SET next_attempt_at_ms = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3",
                values![*next_at_ms, error.as_str(), id],
            ),
            DeliveryRecord::Dead { error } => Script::one(
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $1 WHERE id = $2",
                values![error.as_str(), id],
            ),
        };
        self.session().await?.commit(script).await?;
        Ok(())
    }

    async fn outbox_replay(&self, id: Uuid, now_ms: i64, actor: &str) -> StoreResult<bool> {
        if self.outbox_get(id).await?.is_none() {
            return Ok(false);
        }
        let script = Script::one(
            "UPDATE outbox SET status = 'pending', next_attempt_at_ms = $1, attempts = 0, delivered_at_ms = NULL WHERE id = $2",
            values![now_ms, id.to_string()],
        );
        let ev = event(actor, "webhook.replayed", "outbox", id, json!({}));
        self.write(script, &[ev], now_ms).await?;
        Ok(true)
    }

    async fn append_audit(&self, ev: &AuditEvent, at_ms: i64) -> StoreResult<()> {
        self.write(Script::default(), std::slice::from_ref(ev), at_ms).await
    }

    async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let query = sqlx::query(
            "SELECT seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit);
        self.read_all(query, rows::audit_entry).await
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        self.read_one(sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1"), |r| {
            Ok((get(r, "seq")?, get(r, "hash")?))
        })
        .await
    }
}
