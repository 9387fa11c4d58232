//! CSV exports (issue 15, item 12): the case queue with the queue's own filters, and the audit
//! log by date, action and actor. Each export is written to the audit log before its first row,
//! with the filters it used, and streamed page by page, so a long export holds no more than a
//! page in memory. Cells that a spreadsheet would run as a formula are quoted as text.

use super::guard::Viewer;
use super::queue::{self, QueueParams};
use super::views::{self, unavailable};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use custos_app::model::QueueQuery;
use custos_domain::access::mask_email;
use custos_domain::network::NumberStyle;
use custos_domain::status::CaseStatus;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

const CSV: &str = "text/csv; charset=utf-8";

/// Rows read from the database per step of an export.
const PAGE: i64 = 500;

/// A cell as text a spreadsheet shows and never evaluates (OWASP: CSV injection).
fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// Rows as CSV bytes.
fn csv_bytes(rows: &[Vec<String>]) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(r.iter().map(|c| cell(c)));
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

const CASE_HEADER: [&str; 17] = [
    "case",
    "opened_at",
    "status",
    "outcome",
    "order",
    "external_id",
    "network",
    "asset",
    "amount",
    "score",
    "band",
    "categories",
    "customer",
    "assignee",
    "due_at",
    "answered_at",
    "review_due_at",
];

/// The queue as CSV: every case the queue's filters select (all pages), customers masked as on
/// the queue, amounts in whole units, times in UTC.
pub async fn cases(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(p): Query<QueueParams>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let now = s.app.now_ms();
    let query = QueueQuery { offset: 0, limit: PAGE, ..queue::query_of(&s, &p, &auth.actor(), now) };
    let filters = json!({"status": p.status, "action": p.action, "category": p.category, "network": p.network,
        "assignee": p.assignee, "overdue": p.overdue == "1", "answered": p.answered == "1", "search": !p.q.is_empty(),
        "sort": p.sort});
    // The search text may be an e-mail: the entry says only that there was one.
    if let Err(e) = s.app.audit(&auth.actor(), "export.cases", "export", "cases", filters).await {
        return unavailable(&v, e);
    }
    let names = queue::staff_names(&s.app.accounts().staff().await.unwrap_or_default(), &s);
    let first = csv_bytes(&[CASE_HEADER.iter().map(|h| h.to_string()).collect()]);
    let stream = futures_util::stream::unfold(Some((query, Some(first))), move |step| {
        let (s, names) = (s.clone(), names.clone());
        async move {
            let (mut query, header) = step?;
            if let Some(h) = header {
                return Some((Ok(h), Some((query, None))));
            }
            let page = match s.app.queries().queue(&query).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "a case export stopped");
                    return Some((Err(std::io::Error::other("the export stopped")), None));
                }
            };
            if page.rows.is_empty() {
                return None;
            }
            let rows: Vec<Vec<String>> = page.rows.iter().map(|r| case_row(&s, r, &names)).collect();
            let more = page.rows.len() as i64 == query.limit;
            query.offset += query.limit;
            Some((Ok::<_, std::io::Error>(csv_bytes(&rows)), more.then_some((query, None))))
        }
    });
    views::attachment(Body::from_stream(stream), CSV, &format!("custos-cases-{}.csv", views::day(now)))
}

fn case_row(s: &AppState, r: &custos_app::model::QueueRow, names: &HashMap<String, String>) -> Vec<String> {
    let customer = match &r.customer {
        Some((id, enc)) => s.app.accounts().open_email(*id, enc).map(|e| mask_email(&e)).unwrap_or_default(),
        None if r.has_customer_email => "not registered".to_owned(),
        None => String::new(),
    };
    let time = |ms: Option<i64>| ms.map(custos_domain::time::rfc3339).unwrap_or_default();
    vec![
        r.case.number.to_string(),
        time(Some(r.case.opened_at_ms)),
        match r.case.status {
            CaseStatus::Open => "open".into(),
            CaseStatus::Closed => "closed".into(),
        },
        r.case.action.as_str().into(),
        r.order_number.to_string(),
        r.external_id.clone().unwrap_or_default(),
        r.network.as_str().into(),
        r.asset.to_string(),
        r.amount.whole_units(r.asset, NumberStyle::PLAIN),
        r.score.map(|x| x.to_string()).unwrap_or_default(),
        r.band.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        r.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("; "),
        customer,
        r.case.assignee.as_deref().map(|a| queue::actor_name(a, names)).unwrap_or_default(),
        time(Some(r.case.due_at_ms)),
        time(r.answered_at_ms),
        time(r.review_due_at_ms),
    ]
}

/// The audit export's filters: UTC days (inclusive), an action or its prefix (`case.`), an actor.
#[derive(Deserialize, Default)]
pub struct AuditFilter {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
}

/// Whether an audit entry is about a restricted record (an authority request) that `v` may not
/// see: for them it does not exist, in the log's page and its export alike (DISC-1).
pub(super) fn hides_restricted(v: &Viewer) -> impl Fn(&custos_domain::audit::AuditEntry) -> bool + Send + Sync + use<> {
    let sees = v.auth.as_ref().is_some_and(custos_app::disclosures::Disclosures::visible_to);
    move |e| !sees && custos_app::disclosures::is_restricted(&e.entity_type)
}

/// Midnight UTC of a `YYYY-MM-DD` day.
pub(super) fn day_start(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-').map(|p| p.parse::<i32>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// The audit log as CSV, oldest first: sequence, time, actor (a member of staff by name beside
/// the id), action, entity, data and hash, so the chain can be checked from the file.
pub async fn audit(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(f): Query<AuditFilter>,
) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let bound = |text: &str, end: bool| match text.trim() {
        "" => Ok(None),
        t => day_start(t).map(|ms| Some(if end { ms + custos_domain::figures::DAY_MS } else { ms })).ok_or(()),
    };
    let (Ok(from), Ok(to)) = (bound(&f.from, false), bound(&f.to, true)) else {
        return views::message(v.lang, StatusCode::UNPROCESSABLE_ENTITY, "bad_dates");
    };
    let filters = json!({"from": f.from, "to": f.to, "action": f.action, "actor": f.actor});
    if let Err(e) = s.app.audit(&auth.actor(), "export.audit", "export", "audit_log", filters).await {
        return unavailable(&v, e);
    }
    let names = queue::staff_names(&s.app.accounts().staff().await.unwrap_or_default(), &s);
    let header = ["seq", "at", "actor", "actor_name", "action", "entity_type", "entity_id", "data", "hash"];
    let first = csv_bytes(&[header.iter().map(|h| h.to_string()).collect()]);
    let (action, actor) = (f.action.trim().to_owned(), f.actor.trim().to_owned());
    let restricted = std::sync::Arc::new(hides_restricted(&v));
    let now = s.app.now_ms();
    let stream = futures_util::stream::unfold(Some((0i64, Some(first))), move |step| {
        let (s, names, action, actor, restricted) =
            (s.clone(), names.clone(), action.clone(), actor.clone(), restricted.clone());
        async move {
            let (after, header) = step?;
            if let Some(h) = header {
                return Some((Ok(h), Some((after, None))));
            }
            let entries = match s.app.queries().audit_after(after, PAGE).await {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::error!(error = %e, "an audit export stopped");
                    return Some((Err(std::io::Error::other("the export stopped")), None));
                }
            };
            let last = entries.last()?.seq;
            let past_end = to.is_some_and(|t| entries.last().is_some_and(|e| e.at_ms >= t));
            let rows: Vec<Vec<String>> = entries
                .iter()
                .filter(|e| !restricted(e))
                .filter(|e| from.is_none_or(|f| e.at_ms >= f) && to.is_none_or(|t| e.at_ms < t))
                .filter(|e| action.is_empty() || e.action.starts_with(action.as_str()))
                .filter(|e| actor.is_empty() || e.actor == actor || names.get(&e.actor).is_some_and(|n| *n == actor))
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        custos_domain::time::rfc3339(e.at_ms),
                        e.actor.clone(),
                        names.get(&e.actor).cloned().unwrap_or_default(),
                        e.action.clone(),
                        e.entity_type.clone(),
                        e.entity_id.clone(),
                        e.data.clone(),
                        e.hash.clone(),
                    ]
                })
                .collect();
            let more = entries.len() as i64 == PAGE && !past_end;
            Some((Ok::<_, std::io::Error>(csv_bytes(&rows)), more.then_some((last, None))))
        }
    });
    views::attachment(Body::from_stream(stream), CSV, &format!("custos-audit-{}.csv", views::day(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_kept_as_text() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        for risky in ["+1", "-1", "@SUM(A1)", "\tx"] {
            assert!(cell(risky).starts_with('\''), "{risky:?}");
        }
        assert_eq!(cell("0x8589427373D6D84E98730D7795D8f6f8731FDA16"), "0x8589427373D6D84E98730D7795D8f6f8731FDA16");
        let bytes = csv_bytes(&[vec!["a,b".into(), "say \"hi\"".into()]]);
        assert_eq!(&bytes[..], b"\"a,b\",\"say \"\"hi\"\"\"\n");
    }

    #[test]
    fn days_are_read_as_utc_midnights() {
        assert_eq!(day_start("2026-12-07"), Some(1_796_601_600_000));
        for bad in ["", "2026-13-01", "2026-02-30", "07.12.2026", "2026-12"] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }
}
