//! The orders repository.

use crate::base::*;
use crate::rows::{self, get, CASE_COLUMNS, DEPOSIT_COLUMNS, ORDER_COLUMNS, SCREENING_COLUMNS};
use crate::script::{values, Outcome, Script};
use crate::{audit, SqlStore};
use async_trait::async_trait;
use custos_app::effects::{self, Effect, OrderEventWrite};
use custos_app::model::*;
use custos_app::repos::*;
use custos_domain::audit::AuditEvent;
use custos_domain::{Address, Network};
use uuid::Uuid;

/// Increments a named counter and returns its new value; a new counter starts at `first`.
pub(crate) fn push_counter(script: &mut Script, name: &str, first: i64) {
    script.push(
        "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        values![name, first],
    );
}

pub(crate) fn counter_of(outcome: &Outcome) -> StoreResult<i64> {
    outcome
        .rows
        .first()
        .ok_or_else(|| StoreError::Other("a counter returned no value".into()))
        .and_then(|r| get(r, "value"))
}

impl SqlStore {
    pub(crate) async fn order_by_id(&self, id: Uuid) -> StoreResult<Option<OrderRecord>> {
        self.read_one(
            sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1")).bind(id.to_string()),
            rows::order,
        )
        .await
    }

    pub(crate) async fn screening_by_id(&self, id: Uuid) -> StoreResult<Option<ScreeningRecord>> {
        self.read_one(
            sqlx::query(&format!("SELECT {SCREENING_COLUMNS} FROM screenings WHERE id = $1")).bind(id.to_string()),
            rows::screening,
        )
        .await
    }

    pub(crate) fn push_screening(script: &mut Script, s: &ScreeningRecord) -> StoreResult<()> {
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

    /// Inserts a case and its webhook; returns its audit event.
    pub(crate) fn push_case(script: &mut Script, c: &CaseRecord) -> StoreResult<AuditEvent> {
        script.push(
            // The score of the deposit's screening (written before the case) goes with the case,
            // for the queue's sort by risk.
            "INSERT INTO cases (id, number, order_id, deposit_id, action, status, reasons, deadline_kind, opened_at_ms, due_at_ms, \
             categories, score_hundredths) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT s.score_hundredths \
             FROM deposits d JOIN screenings s ON s.id = d.screening_id WHERE d.id = $4))",
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
                crate::queue::category_list(&c.reasons),
            ],
        );
        let (audit, webhook) = effects::case_opened(c);
        Self::outbox(script, &webhook, c.opened_at_ms);
        Ok(audit)
    }
}

#[async_trait]
impl OrderRepo for SqlStore {
    async fn create_order(
        &self,
        w: &OrderWrite,
        derive: &(dyn Fn(u32) -> Result<Address, custos_app::ports::DeriveError> + Sync),
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
        let order = OrderRecord {
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
        };
        let (ev, created) = effects::order_created(&w.created_by, &order, index, &w.key_fingerprint);
        audit::push(&mut script, head, &[ev], w.at_ms)?;
        Self::outbox(&mut script, &created, w.at_ms);
        session.commit(script).await?;
        Ok(order)
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
        let (mut events, screened) = effects::deposit_screened(&w.actor, d, &w.screening, &order, previous);
        if let Some(c) = &case {
            events.push(Self::push_case(&mut script, c)?);
        }
        audit::push(&mut script, head, &events, at)?;
        Self::outbox(&mut script, &screened, at);
        session.commit(script).await?;
        Ok(DepositOutcome { deposit: d.clone(), screening: w.screening.clone(), order, case, created: true })
    }

    async fn apply_order_events(&self, w: &OrderEventWrite) -> StoreResult<OrderRecord> {
        let mut session = self.session().await?;
        let mut first = Script::one(
            format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{}", self.for_update()),
            values![w.order_id.to_string()],
        );
        if w.opened_case().is_some() {
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
                    return Err(StoreError::IllegalTransition(illegal));
                }
            }
        }
        order.updated_at_ms = w.at_ms;
        let mut case = w.opened_case().cloned();
        if let Some(c) = case.as_mut() {
            c.number = counter_of(&out[1])?;
        }
        let head = self.head_after(&mut session, &out).await?;
        let mut script = Script::one(
            "UPDATE orders SET status = $1, updated_at_ms = $2 WHERE id = $3",
            values![order.status.as_str(), w.at_ms, order.id.to_string()],
        );
        let case_id = case.as_ref().map(|c| c.id);
        let (entry, webhook) = effects::order_changed(&w.actor, &order, previous, &w.events, &w.data, case_id);
        let mut events = vec![entry];
        for effect in &w.effects {
            match effect {
                Effect::OpenCase(_) => {
                    if let Some(c) = &case {
                        events.push(Self::push_case(&mut script, c)?);
                    }
                    continue;
                }
                Effect::RecordScreening(s) => Self::push_screening(&mut script, s)?,
                Effect::ExecuteDecision { decision_id, approver } => script.push(
                    "UPDATE decisions SET status = 'executed', approved_by = $1, decided_at_ms = $2 \
                     WHERE id = $3 AND status = 'pending'",
                    values![approver.as_str(), w.at_ms, decision_id.to_string()],
                ),
                Effect::CreateRefund(r) => script.push(
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
                ),
                Effect::RefundSent { refund_id, txid } => script.push(
                    "UPDATE refunds SET status = 'sent', txid = $1, sent_at_ms = $2 WHERE id = $3",
                    values![txid.as_str(), w.at_ms, refund_id.to_string()],
                ),
                Effect::CloseCase(c) => {
                    script.push(
                        "UPDATE cases SET status = 'closed', closed_at_ms = $1 WHERE id = $2",
                        values![w.at_ms, c.to_string()],
                    )
                }
                Effect::OpenRequest(r) => script.push(
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
                ),
                Effect::AnswerRequest { request_id, answer_enc, review_due_at_ms } => script.push(
                    "UPDATE customer_requests SET status = 'answered', answer_enc = $1, answered_at_ms = $2, \
                     review_due_at_ms = $3, answered_by = $4 WHERE id = $5",
                    values![answer_enc.as_str(), w.at_ms, *review_due_at_ms, w.actor.as_str(), request_id.to_string()],
                ),
                Effect::AddDocument { document: d, content_enc } => script.push(
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
                ),
            }
            events.push(effect.audit(&w.actor));
        }
        audit::push(&mut script, head, &events, w.at_ms)?;
        Self::outbox(&mut script, &webhook, w.at_ms);
        session.commit(script).await?;
        Ok(order)
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

    async fn list_orders(&self, q: &OrderListQuery) -> StoreResult<Vec<OrderRecord>> {
        // Unused conditions compare a parameter with its "off" value.
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE ($1 = '' OR external_id = $1) AND ($2 = '' OR status = $2) \
             AND created_at_ms >= $3 AND created_at_ms < $4 AND number < $5 ORDER BY number DESC LIMIT $6"
        );
        let query = sqlx::query(&sql)
            .bind(q.external_id.clone().unwrap_or_default())
            .bind(q.status.map(|s| s.as_str()).unwrap_or_default())
            .bind(q.created_after_ms.unwrap_or(i64::MIN))
            .bind(q.created_before_ms.unwrap_or(i64::MAX))
            .bind(q.before_number.unwrap_or(i64::MAX))
            .bind(q.limit);
        self.read_all(query, rows::order).await
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

    async fn deposits_since(&self, since_ms: i64) -> StoreResult<Vec<DepositRecord>> {
        let sql =
            format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE received_at_ms >= $1 ORDER BY received_at_ms, id");
        self.read_all(sqlx::query(&sql).bind(since_ms), rows::deposit).await
    }

    async fn insert_screening(&self, screening: &ScreeningRecord, actor: &str) -> StoreResult<()> {
        let mut script = Script::default();
        Self::push_screening(&mut script, screening)?;
        self.write(script, &[effects::screening_completed(actor, screening)], screening.created_at_ms).await
    }
}
