//! Rendering: the frame every page shares, plain-words formatting, and the small pages.

use super::i18n::Lang;
use super::viewer::{secure, Viewer, LANG_COOKIE};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use custos_domain::access::Permission;
use custos_domain::network::NumberStyle;
use custos_domain::{Amount, Asset};
use serde::Deserialize;

/// What the shared layout needs.
pub struct Frame {
    pub lang: Lang,
    pub csrf: String,
    pub office: bool,
    pub logged_in: bool,
    /// This page, for the language switch to come back to.
    pub back: String,
    pub nav: Vec<(&'static str, &'static str, &'static str)>,
    /// The server's time, for the pages' countdowns.
    pub now_ms: i64,
}

/// The menu: (link, text key, element id), each shown only with its permission.
const OFFICE_MENU: &[(&str, &str, &str, Permission)] = &[
    ("/office", "dashboard", "nav-queue", Permission::CasesRead),
    ("/office/overview", "overview", "nav-overview", Permission::CasesRead),
    ("/office/customers", "customers", "nav-customers", Permission::CustomersRead),
    ("/office/precheck", "precheck", "nav-precheck", Permission::AddressPrecheck),
    ("/office/audit", "audit", "nav-audit", Permission::AuditRead),
    ("/office/disclosures", "disclosures", "nav-disclosures", Permission::DisclosuresManage),
    ("/office/staff", "staff", "nav-staff", Permission::StaffManage),
    ("/office/apikeys", "api_keys", "nav-keys", Permission::ApiKeysManage),
    ("/office/policy", "policy", "nav-policy", Permission::PolicyRead),
    ("/office/chains", "chains", "nav-chains", Permission::CasesRead),
];

const CABINET_MENU: &[(&str, &str, &str)] = &[
    ("/cabinet", "orders", "nav-orders"),
    ("/cabinet/precheck", "precheck", "nav-precheck"),
    ("/cabinet/mfa", "security", "nav-security"),
    ("/cabinet/settings", "settings", "nav-settings"),
];

impl Frame {
    pub fn new(v: &Viewer, office: bool, back: &str) -> Frame {
        let logged_in = v.auth.as_ref().is_some_and(|a| a.is_full());
        let nav = match (&v.auth, office) {
            (Some(a), true) if logged_in => {
                OFFICE_MENU.iter().filter(|m| a.can(m.3)).map(|&(href, key, id, _)| (href, key, id)).collect()
            }
            (Some(_), false) if logged_in => CABINET_MENU.to_vec(),
            _ => Vec::new(),
        };
        Frame { lang: v.lang, csrf: v.csrf.clone(), office, logged_in, back: back.to_owned(), nav, now_ms: v.now_ms }
    }
}

pub fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message {
    f: Frame,
    key: &'static str,
    link: Option<(&'static str, &'static str)>,
}

/// A page with one sentence (and a link), outside any session.
pub fn message(lang: Lang, status: StatusCode, key: &'static str) -> Response {
    let f = Frame {
        lang,
        csrf: String::new(),
        office: false,
        logged_in: false,
        back: "/cabinet".into(),
        nav: vec![],
        now_ms: 0,
    };
    render(status, Message { f, key, link: None })
}

/// A page failed on our side: logged, and a plain "try later" for the reader.
pub fn unavailable(v: &Viewer, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a page failed");
    message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error")
}

/// A page with one sentence and a link onward, in the viewer's frame.
pub fn notice(f: Frame, status: StatusCode, key: &'static str, link: Option<(&'static str, &'static str)>) -> Response {
    render(status, Message { f, key, link })
}

#[derive(Template)]
#[template(path = "text.html")]
struct Text {
    f: Frame,
    text: String,
}

/// A page with one sentence that is not from the texts (an error's own words).
pub fn text_notice(f: Frame, status: StatusCode, text: String) -> Response {
    render(status, Text { f, text })
}

/// A file served to an officer (a document, an export, a bundle): an attachment with an ASCII
/// file name, in a sandbox, so that a crafted file cannot run in the back-office's origin, and
/// kept out of caches.
pub fn attachment(body: impl Into<axum::body::Body>, content_type: &str, file_name: &str) -> Response {
    let name: String = file_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let mut r = (StatusCode::OK, body.into()).into_response();
    let h = r.headers_mut();
    for (k, val) in [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_owned()),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ] {
        if let Ok(val) = val.parse() {
            h.insert(k, val);
        }
    }
    r
}

pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../static/app.css")).into_response()
}

pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../static/app.js")).into_response()
}

/// A deadline: the moment, and a countdown the page's script keeps current.
pub struct Due {
    pub when: String,
    pub left: String,
    pub ms: i64,
    pub overdue: bool,
}

impl Due {
    pub fn new(due_ms: i64, now_ms: i64, lang: Lang) -> Due {
        Due { when: when(due_ms), left: countdown(due_ms, now_ms, lang), ms: due_ms, overdue: due_ms <= now_ms }
    }
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

impl Back {
    pub fn to(path: &str) -> Back {
        Back { back: Some(path.to_owned()) }
    }
}

/// A `back` (return) parameter that carried a line break: refused outright (HTTP 400).
#[derive(Debug, PartialEq, Eq)]
pub struct BadBack;

/// Where a `back` parameter, already percent-decoded, may send the browser: a path of this site
/// under `prefix`, or (`None`) the default page. Only visible ASCII without `\\` is kept, so a
/// browser cannot read it as another origin (`//host`, `/\t/host`, `/\\host`) and it is always a
/// valid `Location`. A CR or LF is an error, never a header.
pub fn local_back(decoded: &str, prefix: &str) -> Result<Option<String>, BadBack> {
    if decoded.contains(['\r', '\n']) {
        return Err(BadBack);
    }
    let visible = decoded.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\');
    let ok = visible && decoded.starts_with(prefix) && decoded.starts_with('/') && !decoded.starts_with("//");
    Ok(ok.then(|| decoded.to_owned()))
}

/// The header's language switch: sets the language cookie, saves the choice with a customer's
/// account (their e-mails follow it), and goes back to a page of this site.
pub async fn set_language(
    axum::extract::State(s): axum::extract::State<crate::state::AppState>,
    axum::Extension(v): axum::Extension<Viewer>,
    Path(code): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::En);
    if let Some(auth) = v.auth.as_ref().filter(|a| a.is_full() && a.account.locale != lang.code()) {
        if let Err(e) = s.app.accounts().set_locale(auth, lang.code()).await {
            tracing::warn!(error = %e, "saving the language with the account failed");
        }
    }
    switch_language(lang, q)
}

/// Sets the language cookie and goes back to `back`, a page of this site (the cabinet else).
pub fn switch_language(lang: Lang, q: Back) -> Response {
    let Ok(back) = q.back.as_deref().map(|b| local_back(b, "/")).transpose() else {
        return message(lang, StatusCode::BAD_REQUEST, "bad_request");
    };
    let mut r = Redirect::to(back.flatten().as_deref().unwrap_or("/cabinet")).into_response();
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Secure; SameSite=Lax; Max-Age=31536000", lang.code());
    if let Ok(v) = cookie.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    secure(r)
}

/// `2026-01-01 12:00 UTC`.
/// The UTC day of a moment: `2026-12-31`.
pub fn day(ms: i64) -> String {
    custos_domain::time::rfc3339(ms)[..10].to_owned()
}

pub fn when(ms: i64) -> String {
    let s = custos_domain::time::rfc3339(ms);
    format!("{} {} UTC", &s[..10], s.get(11..16).unwrap_or(""))
}

/// One reason of a policy decision as staff read it: a sentence in their language, and beside
/// it what is not ours to translate (a label's name, the address, the analyzer, a rule's detail).
pub struct ReasonRow {
    /// The text key of the action this reason asks for.
    pub action: &'static str,
    pub text: String,
    pub label: Option<String>,
    pub address: Option<String>,
    pub analyzer: Option<String>,
    pub detail: Option<String>,
}

/// A decision's reasons, each as a row.
pub fn reason_rows(reasons: &[custos_domain::policy::Reason], lang: Lang) -> Vec<ReasonRow> {
    use custos_domain::policy::Reason;
    reasons
        .iter()
        .map(|r| {
            let row = |text: String| ReasonRow {
                action: r.action().as_str(),
                text,
                label: None,
                address: None,
                analyzer: None,
                detail: None,
            };
            match r {
                Reason::Band { band, score, analyzer, address, .. } => ReasonRow {
                    address: Some(address.to_string()),
                    analyzer: Some(analyzer.to_string()),
                    ..row(format!("{} {score} · {}", lang.t("rs_score"), lang.t(band_key(*band))))
                },
                Reason::Category { category, exposure, direct, analyzer, address, label, source, .. } => {
                    let how = lang.t(if *direct { "direct" } else { "indirect" });
                    let about = [label.as_deref().map(|l| format!("«{l}»")), source.as_deref().map(str::to_owned)];
                    let about: Vec<String> = about.into_iter().flatten().collect();
                    ReasonRow {
                        label: (!about.is_empty()).then(|| about.join(", ")),
                        address: Some(address.to_string()),
                        analyzer: Some(analyzer.to_string()),
                        ..row(format!("{}: {} {exposure}, {how}", lang.category(*category), lang.t("exposure")))
                    }
                }
                Reason::AnalyzerFailed { analyzer, address, error, .. } => ReasonRow {
                    address: Some(address.to_string()),
                    analyzer: Some(analyzer.to_string()),
                    detail: Some(error.clone()),
                    ..row(lang.t("rs_analyzer_failed").to_owned())
                },
                Reason::NoVerdict { .. } => row(lang.t("rs_no_verdict").to_owned()),
                Reason::Disagreement { higher, lower, margin, .. } => ReasonRow {
                    detail: Some(format!(
                        "{}: {} · {}: {}",
                        higher.analyzer,
                        higher.band.as_str(),
                        lower.analyzer,
                        lower.band.as_str()
                    )),
                    ..row(format!("{} {margin}", lang.t("rs_disagreement")))
                },
                Reason::Rule { rule, detail, .. } => {
                    ReasonRow { detail: Some(format!("{rule}: {detail}")), ..row(lang.t("rs_rule").to_owned()) }
                }
            }
        })
        .collect()
}

/// A span of time in days, hours and minutes: `3 d 4 h`, `5 h 10 min`, `7 min`.
pub fn duration(ms: i64, lang: Lang) -> String {
    let minutes = ms / 60_000;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let (ud, uh, um) = (lang.t("unit_d"), lang.t("unit_h"), lang.t("unit_min"));
    match (d, h) {
        (0, 0) => format!("{m} {um}"),
        (0, h) => format!("{h} {uh} {m} {um}"),
        (d, h) => format!("{d} {ud} {h} {uh}"),
    }
}

/// A countdown in words: `23 h 12 min` (`23 ч 12 мин`), or how long ago, when overdue. The
/// page's script keeps it current with the same units (`data-h`, `data-min` on the body).
pub fn countdown(due_ms: i64, now_ms: i64, lang: Lang) -> String {
    let minutes = (due_ms - now_ms).abs() / 60_000;
    let (h, m) = (minutes / 60, minutes % 60);
    let (uh, um) = (lang.t("unit_h"), lang.t("unit_min"));
    let span = if h > 0 { format!("{h} {uh} {m} {um}") } else { format!("{m} {um}") };
    if due_ms >= now_ms {
        span
    } else {
        format!("−{span}")
    }
}

/// An amount in base units shown in whole units in the reader's language: `1.5 ETH`,
/// `3,000 USDT` (`3 000 USDT` in Russian).
pub fn amount(value: Amount, asset: Asset, lang: Lang) -> String {
    let style = match lang {
        Lang::En => NumberStyle::ENGLISH,
        Lang::Ru => NumberStyle::RUSSIAN,
    };
    value.in_whole_units(asset, style)
}

/// The text key of a network's name.
pub fn network_key(network: custos_domain::Network) -> &'static str {
    match network {
        custos_domain::Network::Bitcoin => "net_bitcoin",
        custos_domain::Network::Ethereum => "net_ethereum",
        custos_domain::Network::Tron => "net_tron",
    }
}

/// The text key of a risk band.
pub fn band_key(band: custos_domain::RiskBand) -> &'static str {
    match band {
        custos_domain::RiskBand::Low => "band_low",
        custos_domain::RiskBand::Medium => "band_medium",
        custos_domain::RiskBand::High => "band_high",
        custos_domain::RiskBand::Critical => "band_critical",
    }
}

/// A QR code of `data` as an inline SVG element (no XML prolog), scaled by its box; empty if
/// the data cannot fit in a QR code.
pub fn qr_svg(data: &str) -> String {
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::new(data.as_bytes()) else { return String::new() };
    let image = code.render::<svg::Color>().min_dimensions(180, 180).quiet_zone(true).build();
    match image.find("<svg") {
        Some(i) => image[i..].to_owned(),
        None => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_in_whole_units_without_floats() {
        assert_eq!(amount(Amount(1_500_000_000_000_000_000), Asset::Eth, Lang::En), "1.5 ETH");
        assert_eq!(amount(Amount(1), Asset::Btc, Lang::En), "0.00000001 BTC");
        assert_eq!(amount(Amount(2_000_000), Asset::Usdt, Lang::En), "2 USDT");
        assert_eq!(amount(Amount(3_000_250_000), Asset::Usdt, Lang::En), "3,000.25 USDT");
        assert_eq!(amount(Amount(3_000_250_000), Asset::Usdt, Lang::Ru), "3\u{a0}000,25 USDT");
    }

    #[test]
    fn a_qr_code_is_an_inline_svg_of_the_data() {
        let svg = qr_svg("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.25");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("<path"), "{svg}");
        assert_ne!(svg, qr_svg("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.26"));
    }

    #[test]
    fn countdowns_read_as_time_left_or_overdue() {
        assert_eq!(countdown(3_600_000 * 23 + 12 * 60_000, 0, Lang::En), "23 h 12 min");
        assert_eq!(countdown(0, 5 * 60_000, Lang::En), "−5 min");
        assert_eq!(countdown(3_600_000 * 23 + 12 * 60_000, 0, Lang::Ru), "23 ч 12 мин");
    }
}
