//! The case queue (issue 15): one statement per page, filtered, searched, sorted and counted in
//! the database, so that a queue of ten thousand open cases reads as fast as one of ten.

use crate::rows::{self, get, opt_uuid, parse};
use crate::SqlStore;
use custos_app::model::*;
use custos_app::repos::StoreResult;
use custos_domain::policy::Decision;
use custos_domain::Amount;

/// The queue's row: the case's columns, then the order's, the deposit's, its screening's, the
/// customer's account and their latest answer on the case. Unused conditions compare a
/// parameter with its "off" value, so one statement serves every combination of filters.
const QUEUE: &str = "SELECT c.id, c.number, c.order_id, c.deposit_id, c.action, c.status, c.reasons, \
     c.deadline_kind, c.opened_at_ms, c.due_at_ms, c.assignee, c.escalated, \
     o.number AS order_number, o.external_id, o.pay_network, o.pay_asset, o.pay_amount, \
     o.customer_email_index, d.amount AS deposit_amount, s.decision, \
     a.id AS account_id, a.email_enc AS account_email_enc, r.answered_at_ms, r.review_due_at_ms, \
     COUNT(*) OVER () AS total \
     FROM cases c \
     JOIN orders o ON o.id = c.order_id \
     LEFT JOIN deposits d ON d.id = c.deposit_id \
     LEFT JOIN screenings s ON s.id = d.screening_id \
     LEFT JOIN accounts a ON a.kind = 'customer' AND a.email_index = o.customer_email_index \
     LEFT JOIN (SELECT case_id, MAX(answered_at_ms) AS answered_at_ms, MAX(review_due_at_ms) AS review_due_at_ms \
                FROM customer_requests WHERE status = 'answered' AND answered_by LIKE 'customer:%' \
                GROUP BY case_id) r ON r.case_id = c.id \
     WHERE ($1 = '' OR c.status = $1) AND ($2 = '' OR c.action = $2) AND c.due_at_ms <= $3 \
       AND ($4 = '' OR o.pay_network = $4) AND ($5 = '' OR c.assignee = $5) \
       AND ($6 = '' OR s.decision LIKE $6) AND ($7 = 0 OR r.case_id IS NOT NULL) \
       AND ($8 < 0 OR c.number = $8 OR o.number = $8) \
       AND ($9 = '' OR o.external_id = $9 OR o.deposit_address = $9 OR EXISTS (SELECT 1 FROM deposits d2 \
            WHERE d2.order_id = o.id AND (d2.txid = $9 OR d2.sources LIKE $10))) \
       AND ($11 = '' OR o.customer_email_index = $11) AND c.number < $14";

fn order_by(sort: QueueSort) -> &'static str {
    match sort {
        QueueSort::Deadline => " ORDER BY c.due_at_ms, c.number",
        QueueSort::Newest => " ORDER BY c.number DESC",
        QueueSort::Oldest => " ORDER BY c.opened_at_ms, c.number",
        QueueSort::Score => " ORDER BY COALESCE(s.score_hundredths, -1) DESC, c.due_at_ms, c.number",
    }
}

fn queue_row(row: &sqlx::any::AnyRow) -> StoreResult<(QueueRow, i64)> {
    let decision: Option<String> = get(row, "decision")?;
    let decision: Option<Decision> =
        decision.map(|d| serde_json::from_str(&d)).transpose().map_err(|e| rows::bad("decision", e))?;
    let amount: Option<String> = get(row, "deposit_amount")?;
    let amount = match amount {
        Some(a) => a,
        None => get(row, "pay_amount")?,
    };
    let account_email: Option<String> = get(row, "account_email_enc")?;
    let customer = match (opt_uuid(row, "account_id")?, account_email) {
        (Some(id), Some(enc)) => Some((id, enc)),
        _ => None,
    };
    let mut categories: Vec<_> = decision.iter().flat_map(|d| d.categories.iter().map(|c| c.category)).collect();
    categories.dedup();
    let r = QueueRow {
        case: rows::case(row)?,
        order_number: get(row, "order_number")?,
        external_id: get(row, "external_id")?,
        network: parse(row, "pay_network")?,
        asset: parse(row, "pay_asset")?,
        amount: Amount::parse(&amount).map_err(|e| rows::bad("amount", e))?,
        band: decision.as_ref().map(|d| d.band),
        score: decision.as_ref().map(|d| d.score),
        categories,
        customer,
        has_customer_email: get::<Option<String>>(row, "customer_email_index")?.is_some(),
        answered_at_ms: get(row, "answered_at_ms")?,
        review_due_at_ms: get(row, "review_due_at_ms")?,
    };
    Ok((r, get(row, "total")?))
}

impl SqlStore {
    pub(crate) async fn queue_page(&self, q: &QueueQuery) -> StoreResult<QueuePage> {
        let sql = format!("{QUEUE}{} LIMIT $12 OFFSET $13", order_by(q.sort));
        let (number, text, email) = match &q.search {
            Some(QueueSearch::Number(n)) => (*n, String::new(), String::new()),
            Some(QueueSearch::Text(t)) => (-1, t.clone(), String::new()),
            Some(QueueSearch::EmailIndex(i)) => (-1, String::new(), i.clone()),
            None => (-1, String::new(), String::new()),
        };
        let source = if text.is_empty() { String::new() } else { format!("%\"{text}\"%") };
        let query = sqlx::query(&sql)
            .bind(q.status.map(|s| s.as_str()).unwrap_or_default())
            .bind(q.action.map(|a| a.as_str()).unwrap_or_default())
            .bind(q.due_before_ms.unwrap_or(i64::MAX))
            .bind(q.network.map(|n| n.as_str()).unwrap_or_default())
            .bind(q.assignee.clone().unwrap_or_default())
            .bind(q.category.map(|c| format!("%\"category\":\"{}\"%", c.as_str())).unwrap_or_default())
            .bind(i64::from(q.answered))
            .bind(number)
            .bind(text)
            .bind(source)
            .bind(email)
            .bind(q.limit)
            .bind(q.offset)
            .bind(q.before_number.unwrap_or(i64::MAX));
        let rows = self.read_all(query, queue_row).await?;
        let total = rows.first().map_or(0, |r| r.1);
        Ok(QueuePage { rows: rows.into_iter().map(|r| r.0).collect(), total })
    }

    pub(crate) async fn queue_counts_at(&self, now_ms: i64) -> StoreResult<QueueCounts> {
        let sql = "SELECT \
             COALESCE(SUM(CASE WHEN action = 'review' THEN 1 ELSE 0 END), 0) AS review, \
             COALESCE(SUM(CASE WHEN action = 'hold' THEN 1 ELSE 0 END), 0) AS hold, \
             COALESCE(SUM(CASE WHEN action = 'reject' THEN 1 ELSE 0 END), 0) AS reject, \
             COALESCE(SUM(CASE WHEN due_at_ms <= $1 THEN 1 ELSE 0 END), 0) AS overdue, \
             COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM customer_requests r WHERE r.case_id = c.id \
                 AND r.status = 'answered' AND r.answered_by LIKE 'customer:%') THEN 1 ELSE 0 END), 0) AS answered \
             FROM cases c WHERE status = 'open'";
        let counts = self
            .read_one(sqlx::query(sql).bind(now_ms), |r| {
                Ok(QueueCounts {
                    review: get(r, "review")?,
                    hold: get(r, "hold")?,
                    reject: get(r, "reject")?,
                    overdue: get(r, "overdue")?,
                    answered: get(r, "answered")?,
                })
            })
            .await?;
        Ok(counts.unwrap_or_default())
    }
}
