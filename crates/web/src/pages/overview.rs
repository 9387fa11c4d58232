//! The back-office overview (issue 15, item 12): open cases by outcome and by category, cases
//! opened and closed per day, the share closed by their deadline and the median time to close,
//! and what is overdue. The charts are SVG drawn here; the page runs no script of its own.

use super::guard::Viewer;
use super::i18n::Lang;
use super::views::{self, render, unavailable, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use custos_domain::figures::DayFlow;

/// The days the overview looks back.
pub const DAYS: i64 = 30;

/// The chart's drawing area, in SVG units (the SVG scales to the page's width).
const WIDTH: i64 = 720;
const HEIGHT: i64 = 100;

/// One bar of a chart, placed.
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// The tooltip: the day and the number.
    pub title: String,
}

/// A row of a horizontal bar list: label, number, bar width in percent of the largest.
pub struct Row {
    pub label: String,
    pub href: String,
    pub count: i64,
    pub percent: i64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    f: Frame,
    days: i64,
    /// Open cases by outcome, linked to the queue filtered so.
    outcomes: Vec<Row>,
    categories: Vec<Row>,
    opened: Vec<Bar>,
    closed: Vec<Bar>,
    /// The largest number of a day, for the axis.
    peak: i64,
    first_day: String,
    last_day: String,
    opened_total: i64,
    closed_total: i64,
    /// "67%" or "—".
    in_time: String,
    /// "4 h 10 min" or "—".
    median: String,
    overdue_cases: i64,
    overdue_requests: i64,
    overdue_refunds: i64,
    /// A plain-text summary of the chart for screen readers.
    chart_summary: String,
}

/// Rows of a bar list, each bar in proportion to the largest.
fn rows(items: impl IntoIterator<Item = (String, String, i64)>) -> Vec<Row> {
    let items: Vec<_> = items.into_iter().collect();
    let max = items.iter().map(|i| i.2).max().unwrap_or(0).max(1);
    items.into_iter().map(|(label, href, count)| Row { label, href, count, percent: count * 100 / max }).collect()
}

/// Two bars a day, opened beside closed, scaled to the busiest day.
fn bars(days: &[DayFlow], lang: Lang) -> (Vec<Bar>, Vec<Bar>, i64) {
    let peak = days.iter().map(|d| d.opened.max(d.closed)).max().unwrap_or(0).max(1);
    let slot = WIDTH / days.len().max(1) as i64;
    let bar = |i: usize, n: i64, shift: i64, key: &str, d: &DayFlow| {
        let height = n * HEIGHT / peak;
        Bar {
            x: i as i64 * slot + shift,
            y: HEIGHT - height,
            width: (slot / 2 - 1).max(1),
            height,
            title: format!("{}: {n} {}", views::day(d.day_start_ms), lang.t(key)),
        }
    };
    let opened = days.iter().enumerate().map(|(i, d)| bar(i, d.opened, 0, "ov_opened", d)).collect();
    let closed = days.iter().enumerate().map(|(i, d)| bar(i, d.closed, slot / 2, "ov_closed", d)).collect();
    (opened, closed, peak)
}

pub async fn overview(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let now = s.app.now_ms();
    let figures = match s.app.queries().case_figures(now, DAYS).await {
        Ok(f) => f,
        Err(e) => return unavailable(&v, e),
    };
    let lang = v.lang;
    let outcomes = rows([
        (lang.t("review").to_owned(), "/office?action=review".to_owned(), figures.open.review),
        (lang.t("hold").to_owned(), "/office?action=hold".to_owned(), figures.open.hold),
        (lang.t("reject").to_owned(), "/office?action=reject".to_owned(), figures.open.reject),
    ]);
    let categories = rows(
        figures
            .open_by_category
            .iter()
            .map(|(c, n)| (lang.category(*c).to_owned(), format!("/office?category={}", c.as_str()), *n)),
    );
    let (opened, closed, peak) = bars(&figures.days, lang);
    let opened_total = figures.days.iter().map(|d| d.opened).sum();
    let closed_total = figures.days.iter().map(|d| d.closed).sum();
    let t = figures.timeliness;
    let page = OverviewPage {
        f: Frame::new(&v, true, "/office/overview"),
        days: DAYS,
        outcomes,
        categories,
        opened,
        closed,
        peak,
        first_day: figures.days.first().map(|d| views::day(d.day_start_ms)).unwrap_or_default(),
        last_day: figures.days.last().map(|d| views::day(d.day_start_ms)).unwrap_or_default(),
        opened_total,
        closed_total,
        in_time: t.percent_in_time().map_or_else(|| "—".into(), |p| format!("{p}%")),
        median: t.median_ms.map_or_else(|| "—".into(), |ms| views::duration(ms, lang)),
        overdue_cases: figures.open.overdue,
        overdue_requests: figures.overdue_requests,
        overdue_refunds: figures.overdue_refunds,
        chart_summary: format!(
            "{}: {opened_total} {}, {closed_total} {}",
            lang.t("ov_flow"),
            lang.t("ov_opened"),
            lang.t("ov_closed")
        ),
    };
    render(StatusCode::OK, page)
}
