//! The case queue (issue 15): filtered, searched, sorted, cut and counted in the database on the
//! cases' own columns and indexes, so that a queue of ten thousand open cases reads about as fast
//! as one of ten.

use crate::rows::{self, get, opt_uuid, parse};
use crate::SqlStore;
use custos_app::model::*;
use custos_app::repos::StoreResult;
use custos_domain::policy::Decision;
use custos_domain::Amount;

/// The queue's row: the case's columns, then the order's, the deposit's, its screening's, the
/// customer's account and their latest answer on the case.
const COLUMNS: &str = "c.id, c.number, c.order_id, c.deposit_id, c.action, c.status, c.reasons, \
     c.deadline_kind, c.opened_at_ms, c.due_at_ms, c.assignee, c.escalated, \
     o.number AS order_number, o.external_id, o.pay_network, o.pay_asset, o.pay_amount, \
     o.customer_email_index, d.amount AS deposit_amount, s.decision, \
     a.id AS account_id, a.email_enc AS account_email_enc, \
     (SELECT MAX(r.answered_at_ms) FROM customer_requests r WHERE r.case_id = c.id AND r.status = 'answered' \
        AND r.answered_by LIKE 'customer:%') AS answered_at_ms, \
     (SELECT MAX(r.review_due_at_ms) FROM customer_requests r WHERE r.case_id = c.id AND r.status = 'answered' \
        AND r.answered_by LIKE 'customer:%') AS review_due_at_ms";

/// Every table a row of the queue reads.
const JOINS: &str = " FROM cases c JOIN orders o ON o.id = c.order_id \
     LEFT JOIN deposits d ON d.id = c.deposit_id LEFT JOIN screenings s ON s.id = d.screening_id \
     LEFT JOIN accounts a ON a.kind = 'customer' AND a.email_index = o.customer_email_index";

/// The categories a case's reasons name, once each, as the `cases.categories` column keeps them:
/// `,sanctions,gambling,` (`,` for none).
pub(crate) fn category_list(reasons: &[custos_domain::policy::Reason]) -> String {
    let mut names: Vec<&str> = reasons
        .iter()
        .filter_map(|r| match r {
            custos_domain::policy::Reason::Category { category, .. } => Some(category.as_str()),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names.iter().fold(",".to_owned(), |list, n| format!("{list}{n},"))
}

/// A parameter of the queue's statements.
#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

/// The tables and conditions that pick and order the queue's cases, with their parameters:
/// only the filters in use, so that the common queue (open cases by deadline) walks the
/// `(status, due_at_ms)` index.
fn selection(q: &QueueQuery) -> (String, Vec<Bind>) {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let mut add = |condition: &str, values: Vec<Bind>| {
        let mut c = condition.to_owned();
        for v in values {
            binds.push(v);
            c = c.replacen('?', &format!("${}", binds.len()), 1);
        }
        conditions.push(c);
    };
    if let Some(status) = q.status {
        add("c.status = ?", vec![Bind::Text(status.as_str().into())]);
    }
    if let Some(action) = q.action {
        add("c.action = ?", vec![Bind::Text(action.as_str().into())]);
    }
    if let Some(due) = q.due_before_ms {
        add("c.due_at_ms <= ?", vec![Bind::Int(due)]);
    }
    if let Some(network) = q.network {
        add("o.pay_network = ?", vec![Bind::Text(network.as_str().into())]);
    }
    if let Some(assignee) = &q.assignee {
        add("c.assignee = ?", vec![Bind::Text(assignee.clone())]);
    }
    // A category finds the cases opened because of it: one of the case's own reasons names it.
    if let Some(category) = q.category {
        add("c.categories LIKE ?", vec![Bind::Text(format!("%,{},%", category.as_str()))]);
    }
    if q.answered {
        add(
            "EXISTS (SELECT 1 FROM customer_requests r WHERE r.case_id = c.id AND r.status = 'answered' \
             AND r.answered_by LIKE 'customer:%')",
            vec![],
        );
    }
    // Each search finds its orders or cases by an index first.
    match &q.search {
        Some(QueueSearch::Number(n)) => add(
            "(c.number = ? OR c.order_id IN (SELECT id FROM orders WHERE number = ?))",
            vec![Bind::Int(*n), Bind::Int(*n)],
        ),
        // Every network, so that the (network, deposit address) index serves an address alone.
        Some(QueueSearch::Text(t)) => add(
            &format!(
                "c.order_id IN (SELECT id FROM orders WHERE external_id = ? UNION \
                 SELECT id FROM orders WHERE pay_network IN ({}) AND deposit_address = ? UNION \
                 SELECT order_id FROM deposits WHERE txid = ? OR sources LIKE ?)",
                custos_domain::Network::ALL.map(|n| format!("'{}'", n.as_str())).join(", ")
            ),
            vec![Bind::Text(t.clone()), Bind::Text(t.clone()), Bind::Text(t.clone()), Bind::Text(format!("%\"{t}\"%"))],
        ),
        Some(QueueSearch::EmailIndex(i)) => {
            add("c.order_id IN (SELECT id FROM orders WHERE customer_email_index = ?)", vec![Bind::Text(i.clone())])
        }
        None => {}
    }
    if let Some(n) = q.before_number {
        add("c.number < ?", vec![Bind::Int(n)]);
    }
    // The order is joined only when a filter reads it: the queue is counted, sorted and cut on
    // the cases' own columns and indexes.
    let order = q.network.is_some();
    let mut tables = String::from(" FROM cases c");
    if order {
        tables.push_str(" JOIN orders o ON o.id = c.order_id");
    }
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    (format!("{tables}{filter}"), binds)
}

fn bind<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        query = match b {
            Bind::Text(t) => query.bind(t),
            Bind::Int(i) => query.bind(i),
        };
    }
    query
}

fn order_by(sort: QueueSort) -> &'static str {
    match sort {
        QueueSort::Deadline => " ORDER BY c.due_at_ms, c.number",
        QueueSort::Newest => " ORDER BY c.number DESC",
        QueueSort::Oldest => " ORDER BY c.opened_at_ms, c.number",
        QueueSort::Score => " ORDER BY COALESCE(c.score_hundredths, -1) DESC, c.due_at_ms, c.number",
    }
}

fn queue_row(row: &sqlx::any::AnyRow) -> StoreResult<QueueRow> {
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
    Ok(QueueRow {
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
    })
}

impl SqlStore {
    /// A page in two steps: the page's case ids with the total, then those cases with everything
    /// shown. When only the cases' indexed columns are filtered, the ids stop at the page and the
    /// total is read off an index; otherwise both come from one pass over the matching cases (a
    /// window over the small id rows), rather than two.
    pub(crate) async fn queue_page(&self, q: &QueueQuery) -> StoreResult<QueuePage> {
        let indexed = q.category.is_none()
            && q.network.is_none()
            && q.assignee.is_none()
            && !q.answered
            && q.search.is_none()
            && q.sort != QueueSort::Score;
        let (from, binds) = selection(q);
        let n = binds.len();
        let total_column = if indexed { "" } else { ", COUNT(*) OVER () AS total" };
        let ids_sql = format!("SELECT c.id{total_column}{from}{} LIMIT ${} OFFSET ${}", order_by(q.sort), n + 1, n + 2);
        let ids = bind(sqlx::query(&ids_sql), binds.clone()).bind(q.limit).bind(q.offset);
        let ids: Vec<(String, Option<i64>)> =
            self.read_all(ids, |r| Ok((get(r, "id")?, if indexed { None } else { Some(get(r, "total")?) }))).await?;
        let total = match ids.first() {
            Some((_, Some(total))) => *total,
            // Past the last page, or only indexed filters: the total by itself.
            _ if !ids.is_empty() || q.offset > 0 => {
                let count_sql = format!("SELECT COUNT(*) AS total{from}");
                let count = bind(sqlx::query(&count_sql), binds);
                self.read_one(count, |r| get::<i64>(r, "total")).await?.unwrap_or(0)
            }
            _ => 0,
        };
        if ids.is_empty() {
            return Ok(QueuePage { rows: Vec::new(), total });
        }
        let ids: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let rows_sql = format!("SELECT {COLUMNS}{JOINS} WHERE c.id IN ({})", placeholders.join(", "));
        let mut rows_query = sqlx::query(&rows_sql);
        for id in &ids {
            rows_query = rows_query.bind(id.clone());
        }
        let mut rows = self.read_all(rows_query, queue_row).await?;
        rows.sort_by_key(|r| ids.iter().position(|id| *id == r.case.id.to_string()));
        Ok(QueuePage { rows, total })
    }

    /// The open cases per queue, each count read off an index (cases by status and action, by
    /// status and deadline; answered requests by case).
    pub(crate) async fn queue_counts_at(&self, now_ms: i64) -> StoreResult<QueueCounts> {
        let by_action = sqlx::query("SELECT action, COUNT(*) AS n FROM cases WHERE status = 'open' GROUP BY action");
        let by_action: Vec<(String, i64)> = self.read_all(by_action, |r| Ok((get(r, "action")?, get(r, "n")?))).await?;
        let overdue = sqlx::query("SELECT COUNT(*) AS n FROM cases WHERE status = 'open' AND due_at_ms <= $1");
        let overdue = self.read_one(overdue.bind(now_ms), |r| get::<i64>(r, "n")).await?.unwrap_or(0);
        let answered = sqlx::query(
            "SELECT COUNT(DISTINCT r.case_id) AS n FROM customer_requests r JOIN cases c ON c.id = r.case_id \
             WHERE r.status = 'answered' AND r.answered_by LIKE 'customer:%' AND c.status = 'open'",
        );
        let answered = self.read_one(answered, |r| get::<i64>(r, "n")).await?.unwrap_or(0);
        let of = |action: &str| by_action.iter().find(|(a, _)| a == action).map_or(0, |(_, n)| *n);
        Ok(QueueCounts { review: of("review"), hold: of("hold"), reject: of("reject"), overdue, answered })
    }

    pub(crate) async fn case_figures_at(&self, since_ms: i64, now_ms: i64) -> StoreResult<CaseFiguresRaw> {
        use custos_domain::figures::{CaseTimes, DAY_MS};
        // Counted per day by the database: a month of cases is a handful of rows.
        let per_day = |column: &str| {
            format!(
                "SELECT {column} / {DAY_MS} AS day, COUNT(*) AS n FROM cases WHERE {column} >= $1 \
                 GROUP BY {column} / {DAY_MS}"
            )
        };
        let pair = |r: &sqlx::any::AnyRow| Ok((get::<i64>(r, "day")?, get::<i64>(r, "n")?));
        let sql = per_day("opened_at_ms");
        let opened_per_day = self.read_all(sqlx::query(&sql).bind(since_ms), pair).await?;
        let sql = per_day("closed_at_ms");
        let closed_per_day = self.read_all(sqlx::query(&sql).bind(since_ms), pair).await?;
        let closed = sqlx::query("SELECT opened_at_ms, due_at_ms, closed_at_ms FROM cases WHERE closed_at_ms >= $1");
        let closed = self
            .read_all(closed.bind(since_ms), |r| {
                Ok(CaseTimes {
                    opened_at_ms: get(r, "opened_at_ms")?,
                    due_at_ms: get(r, "due_at_ms")?,
                    closed_at_ms: get(r, "closed_at_ms")?,
                })
            })
            .await?;
        let open = sqlx::query("SELECT categories, COUNT(*) AS n FROM cases WHERE status = 'open' GROUP BY categories");
        let open_categories = self
            .read_all(open, |r| {
                let list: String = get(r, "categories")?;
                Ok((list.split(',').filter_map(|c| c.parse().ok()).collect(), get::<i64>(r, "n")?))
            })
            .await?;
        let count = |sql: &'static str| async move {
            let n = self.read_one(sqlx::query(sql).bind(now_ms), |r| get::<i64>(r, "n")).await?;
            Ok::<_, custos_app::repos::StoreError>(n.unwrap_or(0))
        };
        let overdue_requests =
            count("SELECT COUNT(*) AS n FROM customer_requests WHERE status = 'open' AND due_at_ms <= $1").await?;
        let overdue_refunds =
            count("SELECT COUNT(*) AS n FROM refunds WHERE status = 'pending' AND due_at_ms <= $1").await?;
        Ok(CaseFiguresRaw {
            opened_per_day,
            closed_per_day,
            closed,
            open_categories,
            overdue_requests,
            overdue_refunds,
        })
    }
}
