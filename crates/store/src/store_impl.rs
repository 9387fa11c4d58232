//! The [`Store`] implementation shared by SQLite and PostgreSQL.

use crate::rows::{self, get, CASE_COLUMNS, DEPOSIT_COLUMNS, ORDER_COLUMNS, SCREENING_COLUMNS};
use crate::{audit, map_err, SqlStore};
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::ports::{Store, StoreResult};
use custos_app::StoreError;
use custos_domain::audit::{AuditEntry, AuditEvent};
use custos_domain::{Address, Network};
use futures_util::TryStreamExt;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

/// Rows per multi-row INSERT when importing labels (6 parameters each, well under SQLite's
/// limit of 32766 parameters per statement).
const LABEL_BATCH: usize = 500;

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()))
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
    async fn begin(&self) -> StoreResult<Transaction<'static, Any>> {
        self.write.begin().await.map_err(map_err)
    }

    /// Increments a named counter and returns its new value; a new counter starts at `first`.
    async fn next_counter(&self, tx: &mut Transaction<'static, Any>, name: &str, first: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO counters (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .bind(name)
        .bind(first)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(row.get(0))
    }

    async fn outbox(
        &self,
        tx: &mut Transaction<'static, Any>,
        event_type: &str,
        payload: serde_json::Value,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO outbox (id, event_type, payload, created_at_ms, attempts) VALUES ($1, $2, $3, $4, 0)")
            .bind(Uuid::now_v7().to_string())
            .bind(event_type)
            .bind(to_json(&payload)?)
            .bind(at_ms)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn order_by_id(&self, id: Uuid) -> StoreResult<Option<OrderRecord>> {
        sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::order)
            .transpose()
    }

    async fn screening_by_id(&self, id: Uuid) -> StoreResult<Option<ScreeningRecord>> {
        sqlx::query(&format!("SELECT {SCREENING_COLUMNS} FROM screenings WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::screening)
            .transpose()
    }

    async fn insert_screening_tx(&self, tx: &mut Transaction<'static, Any>, s: &ScreeningRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO screenings (id, kind, network, address, order_id, deposit_id, action, band, score_hundredths, \
             policy_version, decision, reports, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(s.id.to_string())
        .bind(s.kind.as_str())
        .bind(s.network.as_str())
        .bind(&s.address)
        .bind(s.order_id.map(|u| u.to_string()))
        .bind(s.deposit_id.map(|u| u.to_string()))
        .bind(s.decision.action.as_str())
        .bind(s.decision.band.as_str())
        .bind(i64::from(s.decision.score.hundredths()))
        .bind(s.policy_version)
        .bind(to_json(&s.decision)?)
        .bind(to_json(&s.reports)?)
        .bind(s.created_at_ms)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(())
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
        for _ in 0..3 {
            let mut tx = self.begin().await?;
            let latest = sqlx::query("SELECT version, fingerprint FROM policy_versions ORDER BY version DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            let next = match &latest {
                Some(r) if r.get::<String, _>(1) == fingerprint => return Ok(r.get(0)),
                Some(r) => r.get::<i64, _>(0) + 1,
                None => 1,
            };
            let inserted = sqlx::query(
                "INSERT INTO policy_versions (version, fingerprint, document, effective_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (version) DO NOTHING",
            )
            .bind(next)
            .bind(fingerprint)
            .bind(document)
            .bind(at_ms)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
            if inserted == 0 {
                // Another server recorded a version at the same moment; look again.
                tx.rollback().await.map_err(map_err)?;
                continue;
            }
            let ev =
                event("system", "policy.version_created", "policy_version", next, json!({"fingerprint": fingerprint}));
            audit::append(&mut tx, &[ev], at_ms, self.for_update()).await?;
            tx.commit().await.map_err(map_err)?;
            return Ok(next);
        }
        Err(StoreError::Conflict("could not record the policy version".into()))
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord, hash: &str, actor: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query("INSERT INTO api_keys (id, name, key_hash, scopes, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(key.id.to_string())
            .bind(&key.name)
            .bind(hash)
            .bind(to_json(&scopes)?)
            .bind(key.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let ev = event(actor, "api_key.created", "api_key", key.id, json!({"name": key.name, "scopes": scopes}));
        audit::append(&mut tx, &[ev], key.created_at_ms, self.for_update()).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query("SELECT id, name, scopes, created_at_ms, revoked_at_ms FROM api_keys WHERE key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.read)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::api_key)
            .transpose()
    }

    async fn replace_label_source(
        &self,
        source: &LabelSource,
        labels: &[LabelRecord],
        at_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM labels WHERE source = $1")
            .bind(&source.name)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO label_sources (name, kind, attribution, imported_at_ms, label_count) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, attribution = excluded.attribution, \
             imported_at_ms = excluded.imported_at_ms, label_count = excluded.label_count",
        )
        .bind(&source.name)
        .bind(&source.kind)
        .bind(&source.attribution)
        .bind(at_ms)
        .bind(labels.len() as i64)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut done = 0u64;
        for chunk in labels.chunks(LABEL_BATCH) {
            let mut sql = String::with_capacity(60 + chunk.len() * 40);
            sql.push_str("INSERT INTO labels (source, network, address, category, label, confidence) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 6;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${},${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6));
            }
            let mut q = sqlx::query(&sql);
            for l in chunk {
                q = q
                    .bind(&source.name)
                    .bind(l.network.as_str())
                    .bind(&l.address)
                    .bind(l.category.as_str())
                    .bind(&l.label)
                    .bind(i64::from(l.confidence));
            }
            q.execute(&mut *tx).await.map_err(map_err)?;
            done += chunk.len() as u64;
            progress(done);
        }
        let ev = event(
            "cli",
            "labels.imported",
            "label_source",
            &source.name,
            json!({"kind": source.kind, "labels": labels.len()}),
        );
        audit::append(&mut tx, &[ev], at_ms, self.for_update()).await?;
        tx.commit().await.map_err(map_err)?;
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
        sqlx::query("SELECT name, kind, attribution, imported_at_ms, label_count FROM label_sources ORDER BY name")
            .fetch_all(&self.read)
            .await
            .map_err(map_err)?
            .iter()
            .map(|r| {
                Ok(LabelSourceStats {
                    name: get(r, "name")?,
                    kind: get(r, "kind")?,
                    attribution: get(r, "attribution")?,
                    imported_at_ms: get(r, "imported_at_ms")?,
                    labels: get::<i64>(r, "label_count")? as u64,
                })
            })
            .collect()
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
        let mut tx = self.begin().await?;
        let number = self.next_counter(&mut tx, "order_number", 100_001).await?;
        let counter = format!("address_index:{}:{}", o.pay_network, w.key_fingerprint);
        // BIP32 skips the (astronomically rare) indices that give no valid key.
        let (index, address) = loop {
            let index = self.next_counter(&mut tx, &counter, 0).await?;
            let index = u32::try_from(index)
                .ok()
                .filter(|i| *i < 0x8000_0000)
                .ok_or_else(|| StoreError::Other("the deposit key's address indices are exhausted".into()))?;
            if let Ok(a) = derive(index) {
                break (index, a);
            }
        };
        let id = w.id.to_string();
        sqlx::query(
            "INSERT INTO orders (id, number, external_id, status, pay_network, pay_asset, pay_amount, receive_network, \
             receive_asset, receive_amount, receive_address, deposit_address, deposit_index, customer_email_enc, \
             customer_email_index, created_by, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
        )
        .bind(&id)
        .bind(number)
        .bind(&o.external_id)
        .bind(custos_domain::OrderStatus::AwaitingDeposit.as_str())
        .bind(o.pay_network.as_str())
        .bind(o.pay_asset.as_str())
        .bind(o.pay_amount.to_string())
        .bind(o.receive_network.as_str())
        .bind(o.receive_asset.as_str())
        .bind(o.receive_amount.to_string())
        .bind(o.receive_address.as_str())
        .bind(address.as_str())
        .bind(i64::from(index))
        .bind(&w.customer_email_enc)
        .bind(&w.customer_email_index)
        .bind(&w.created_by)
        .bind(w.at_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO deposit_addresses (network, address, key_fingerprint, derivation_index, order_id, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(o.pay_network.as_str())
        .bind(address.as_str())
        .bind(&w.key_fingerprint)
        .bind(i64::from(index))
        .bind(&id)
        .bind(w.at_ms)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let ev = event(
            &w.created_by,
            "order.created",
            "order",
            &id,
            json!({"number": number, "pay_network": o.pay_network, "pay_asset": o.pay_asset,
                   "deposit_index": index, "key_fingerprint": w.key_fingerprint}),
        );
        audit::append(&mut tx, &[ev], w.at_ms, self.for_update()).await?;
        self.outbox(
            &mut tx,
            "order.created",
            json!({"order_id": id, "number": number, "status": "awaiting_deposit"}),
            w.at_ms,
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
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
            created_at_ms: w.at_ms,
            updated_at_ms: w.at_ms,
        })
    }

    async fn get_order(&self, id: Uuid) -> StoreResult<Option<OrderView>> {
        let Some(order) = self.order_by_id(id).await? else { return Ok(None) };
        let key = id.to_string();
        let fetch = |sql: String| {
            let key = key.clone();
            async move { sqlx::query(&sql).bind(key).fetch_all(&self.read).await.map_err(map_err) }
        };
        let deposits =
            fetch(format!("SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE order_id = $1 ORDER BY received_at_ms, id"))
                .await?
                .iter()
                .map(rows::deposit)
                .collect::<StoreResult<Vec<_>>>()?;
        let screenings =
            fetch(format!("SELECT {SCREENING_COLUMNS} FROM screenings WHERE order_id = $1 ORDER BY created_at_ms, id"))
                .await?
                .iter()
                .map(rows::screening)
                .collect::<StoreResult<Vec<_>>>()?;
        let cases = fetch(format!("SELECT {CASE_COLUMNS} FROM cases WHERE order_id = $1 ORDER BY number"))
            .await?
            .iter()
            .map(rows::case)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(OrderView { order, deposits, screenings, cases }))
    }

    async fn find_order_by_deposit_address(&self, network: Network, address: &str) -> StoreResult<Option<OrderRecord>> {
        sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE pay_network = $1 AND deposit_address = $2"))
            .bind(network.as_str())
            .bind(address)
            .fetch_optional(&self.read)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::order)
            .transpose()
    }

    async fn find_deposit(&self, network: Network, txid: &str, index: u32) -> StoreResult<Option<DepositOutcome>> {
        let row: Option<AnyRow> = sqlx::query(&format!(
            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE network = $1 AND txid = $2 AND output_index = $3"
        ))
        .bind(network.as_str())
        .bind(txid)
        .bind(i64::from(index))
        .fetch_optional(&self.read)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let deposit = rows::deposit(&row)?;
        let missing = |what: &str| StoreError::Other(format!("deposit {} has no {what}", deposit.id));
        let screening = self.screening_by_id(deposit.screening_id).await?.ok_or_else(|| missing("screening"))?;
        let order = self.order_by_id(deposit.order_id).await?.ok_or_else(|| missing("order"))?;
        let case = sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE deposit_id = $1"))
            .bind(deposit.id.to_string())
            .fetch_optional(&self.read)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(rows::case)
            .transpose()?;
        Ok(Some(DepositOutcome { deposit, screening, order, case, created: false }))
    }

    async fn record_deposit(&self, w: &DepositWrite) -> StoreResult<DepositOutcome> {
        let d = &w.deposit;
        let at = d.received_at_ms;
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO deposits (id, order_id, network, asset, address, txid, output_index, amount, sources, \
             confirmations, screening_id, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (network, txid, output_index) DO NOTHING",
        )
        .bind(d.id.to_string())
        .bind(d.order_id.to_string())
        .bind(d.network.as_str())
        .bind(d.asset.as_str())
        .bind(&d.address)
        .bind(&d.txid)
        .bind(i64::from(d.index))
        .bind(d.amount.to_string())
        .bind(to_json(&d.sources)?)
        .bind(d.confirmations.map(i64::from))
        .bind(d.screening_id.to_string())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if inserted == 0 {
            // The same transfer was recorded concurrently: answer with that one.
            tx.rollback().await.map_err(map_err)?;
            return self
                .find_deposit(d.network, &d.txid, d.index)
                .await?
                .ok_or_else(|| StoreError::Other("a conflicting deposit vanished".into()));
        }
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{}", self.for_update()))
            .bind(d.order_id.to_string())
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut order = rows::order(&row)?;
        let previous = order.status;
        order.status = previous.after_screening(w.screening.decision.action);
        order.updated_at_ms = at;
        sqlx::query("UPDATE orders SET status = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(order.status.as_str())
            .bind(at)
            .bind(order.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        self.insert_screening_tx(&mut tx, &w.screening).await?;
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
        let mut case = w.case.clone();
        if let Some(c) = case.as_mut() {
            c.number = self.next_counter(&mut tx, "case_number", 1).await?;
            sqlx::query(
                "INSERT INTO cases (id, number, order_id, deposit_id, action, status, reasons, deadline_kind, opened_at_ms, due_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(c.id.to_string())
            .bind(c.number)
            .bind(c.order_id.to_string())
            .bind(c.deposit_id.map(|u| u.to_string()))
            .bind(c.action.as_str())
            .bind(&c.status)
            .bind(to_json(&c.reasons)?)
            .bind(c.deadline_kind.as_str())
            .bind(c.opened_at_ms)
            .bind(c.due_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            events.push(event(
                "system",
                "case.opened",
                "case",
                c.id,
                json!({"number": c.number, "order_id": c.order_id, "action": c.action,
                       "deadline": c.deadline_kind.as_str(), "due_at_ms": c.due_at_ms}),
            ));
        }
        audit::append(&mut tx, &events, at, self.for_update()).await?;
        let payload = json!({"order_id": order.id, "number": order.number, "deposit_id": d.id,
                             "status": order.status, "previous_status": previous, "decision": w.screening.decision.action});
        self.outbox(&mut tx, "deposit.screened", payload, at).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(DepositOutcome { deposit: d.clone(), screening: w.screening.clone(), order, case, created: true })
    }

    async fn insert_screening(&self, screening: &ScreeningRecord, actor: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.insert_screening_tx(&mut tx, screening).await?;
        audit::append(&mut tx, &[Self::screening_event(actor, screening)], screening.created_at_ms, self.for_update())
            .await?;
        tx.commit().await.map_err(map_err)
    }

    async fn idempotency_begin(&self, key: &str, request_hash: &str, at_ms: i64) -> StoreResult<IdempotencyBegin> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (key, request_hash, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(request_hash)
        .bind(at_ms)
        .execute(&self.write)
        .await
        .map_err(map_err)?
        .rows_affected();
        if inserted == 1 {
            return Ok(IdempotencyBegin::New);
        }
        let row = sqlx::query("SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.write)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(IdempotencyBegin::InProgress) };
        if get::<String>(&row, "request_hash")? != request_hash {
            return Ok(IdempotencyBegin::Mismatch);
        }
        Ok(match (get::<Option<i64>>(&row, "status_code")?, get::<Option<String>>(&row, "response_body")?) {
            (Some(status), Some(body)) => IdempotencyBegin::Replay { status: status as u16, body },
            _ => IdempotencyBegin::InProgress,
        })
    }

    async fn idempotency_complete(&self, key: &str, status: u16, body: &str) -> StoreResult<()> {
        sqlx::query("UPDATE idempotency_keys SET status_code = $1, response_body = $2 WHERE key = $3")
            .bind(i64::from(status))
            .bind(body)
            .bind(key)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn idempotency_abandon(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .execute(&self.write)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn append_audit(&self, ev: &AuditEvent, at_ms: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        audit::append(&mut tx, std::slice::from_ref(ev), at_ms, self.for_update()).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query(
            "SELECT seq, at_ms, actor, action, entity_type, entity_id, data, prev_hash, hash FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: get(r, "seq")?,
                at_ms: get(r, "at_ms")?,
                actor: get(r, "actor")?,
                action: get(r, "action")?,
                entity_type: get(r, "entity_type")?,
                entity_id: get(r, "entity_id")?,
                data: get(r, "data")?,
                prev_hash: get(r, "prev_hash")?,
                hash: get(r, "hash")?,
            })
        })
        .collect()
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.read)
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}
