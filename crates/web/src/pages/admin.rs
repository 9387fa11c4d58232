//! The back-office's administration: staff accounts and roles, API keys, the audit log with
//! its verification, and the policy in force. Changes need a step-up.

use super::guard::Viewer;
use super::views::{self, render, unavailable, Frame};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use custos_app::model::Scope;
use custos_domain::access::Role;
use serde::Deserialize;
use uuid::Uuid;

/// What a form on an admin page reported.
#[derive(Default)]
pub struct Notice {
    pub error: Option<String>,
    pub done: Option<String>,
}

impl Notice {
    fn of<T, E: std::fmt::Display>(r: Result<T, E>, done: impl FnOnce(T) -> String) -> Notice {
        match r {
            Ok(v) => Notice { done: Some(done(v)), error: None },
            Err(e) => Notice { error: Some(e.to_string()), done: None },
        }
    }
}

/// Refuses a change without a recent step-up.
fn stepped_up(v: &Viewer) -> Result<(), &'static str> {
    match &v.auth {
        Some(a) if a.stepped_up => Ok(()),
        _ => Err(v.lang.t("step_up")),
    }
}

/// The text key of a role's name.
pub fn role_key(role: &str) -> &'static str {
    match role {
        "support" => "role_support",
        "auditor" => "role_auditor",
        "officer" => "role_officer",
        "senior_officer" => "role_senior_officer",
        "admin" => "role_admin",
        _ => "other",
    }
}

pub struct StaffRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub role_key: &'static str,
    pub mfa: bool,
    pub disabled: bool,
    pub manageable: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    f: Frame,
    n: Notice,
    staff: Vec<StaffRow>,
    /// The roles the viewer may give: (name, text key).
    roles: Vec<(&'static str, &'static str)>,
    /// The text key of what a step-up would allow here, when the viewer has none.
    needs_step_up: Option<&'static str>,
}

async fn staff_page(s: &AppState, v: &Viewer, n: Notice) -> Response {
    let Some(auth) = &v.auth else { return views::message(v.lang, StatusCode::UNAUTHORIZED, "expired") };
    let accounts = s.app.accounts();
    let list = match accounts.staff().await {
        Ok(l) => l,
        Err(e) => return unavailable(v, e),
    };
    let mine = auth.account.role.unwrap_or(Role::Support);
    let staff = list
        .iter()
        .map(|a| StaffRow {
            id: a.id.to_string(),
            // Whoever manages staff sees whom: colleagues' work addresses, not customers'.
            email: accounts.email_of(a).unwrap_or_else(|_| "***".into()),
            role: a.role.map_or("—", |r| r.as_str()),
            role_key: role_key(a.role.map_or("", |r| r.as_str())),
            mfa: a.mfa_enabled,
            disabled: a.disabled,
            manageable: a.id != auth.account.id && a.role.is_some_and(|r| mine.may_manage(r)),
        })
        .collect();
    let roles = Role::ALL.iter().filter(|r| mine.may_manage(**r)).map(|r| (r.as_str(), role_key(r.as_str()))).collect();
    let status = if n.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let needs_step_up = (!auth.stepped_up).then_some("step_up_staff");
    let page = StaffPage { f: Frame::new(v, true, "/office/staff"), n, staff, roles, needs_step_up };
    render(status, page)
}

pub async fn staff(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    staff_page(&s, &v, Notice::default()).await
}

#[derive(Deserialize)]
pub struct NewStaff {
    email: String,
    password: String,
    role: String,
}

pub async fn create_staff(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(f): Form<NewStaff>,
) -> Response {
    let result = async {
        stepped_up(&v)?;
        let role = Role::parse(&f.role).ok_or("unknown role")?;
        let admin = v.auth.as_ref().map(|a| &a.account);
        s.app.accounts().create_staff(&f.email, &f.password, role, admin).await.map_err(|e| e.to_string())
    }
    .await;
    let n = Notice::of(result, |a| format!("created; MFA is set up at the first login ({})", a.id));
    staff_page(&s, &v, n).await
}

#[derive(Deserialize)]
pub struct StaffChange {
    role: String,
    #[serde(default)]
    disabled: Option<String>,
}

pub async fn change_staff(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
    Form(f): Form<StaffChange>,
) -> Response {
    let result = async {
        stepped_up(&v)?;
        let id = Uuid::parse_str(&id).map_err(|_| "no such account".to_owned())?;
        let role = Role::parse(&f.role).ok_or("unknown role")?;
        let admin = v.auth.as_ref().ok_or("log in again")?;
        s.app.accounts().manage_staff(admin, id, role, f.disabled.is_some()).await.map_err(|e| e.to_string())
    }
    .await;
    staff_page(&s, &v, Notice::of(result, |_| "changed; the account's sessions were ended".into())).await
}

/// Resets a staff member's MFA (a lost device).
pub async fn reset_mfa(State(s): State<AppState>, Extension(v): Extension<Viewer>, Path(id): Path<String>) -> Response {
    let result = async {
        stepped_up(&v)?;
        let id = Uuid::parse_str(&id).map_err(|_| "no such account".to_owned())?;
        let admin = v.auth.as_ref().ok_or("log in again")?;
        s.app.accounts().reset_staff_mfa(admin, id).await.map_err(|e| e.to_string())
    }
    .await;
    staff_page(&s, &v, Notice::of(result, |_| "MFA reset: it is set up again at the next login".into())).await
}

/// Sends a staff member a link to set a new password (a forgotten one).
pub async fn reset_password(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        stepped_up(&v)?;
        let id = Uuid::parse_str(&id).map_err(|_| "no such account".to_owned())?;
        let admin = v.auth.as_ref().ok_or("log in again")?;
        s.app.accounts().send_staff_password_reset(admin, id).await.map_err(|e| e.to_string())
    }
    .await;
    staff_page(&s, &v, Notice::of(result, |_| v.lang.t("reset_sent").into())).await
}

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "apikeys.html")]
struct KeysPage {
    f: Frame,
    n: Notice,
    keys: Vec<KeyRow>,
    scopes: Vec<&'static str>,
    /// A key just created, shown this once.
    new_key: Option<String>,
    /// The text key of what a step-up would allow here, when the viewer has none.
    needs_step_up: Option<&'static str>,
}

async fn keys_page(s: &AppState, v: &Viewer, n: Notice, new_key: Option<String>) -> Response {
    let keys = match s.app.api_keys().list().await {
        Ok(k) => k,
        Err(e) => return unavailable(v, e),
    };
    let keys = keys
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name,
            scopes: k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            created: views::when(k.created_at_ms),
            revoked: k.revoked,
        })
        .collect();
    let status = if n.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = KeysPage {
        f: Frame::new(v, true, "/office/apikeys"),
        n,
        keys,
        // Integration scopes only: compliance scopes are the operator's to grant (SEC-3).
        scopes: Scope::ALL.iter().filter(|s| !s.is_compliance()).map(|s| s.as_str()).collect(),
        new_key,
        needs_step_up: (!v.auth.as_ref().is_some_and(|a| a.stepped_up)).then_some("step_up_keys"),
    };
    render(status, page)
}

pub async fn api_keys(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    keys_page(&s, &v, Notice::default(), None).await
}

pub async fn create_api_key(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let name = fields.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let scopes: Vec<Scope> = fields.iter().filter(|(k, _)| k == "scope").filter_map(|(_, v)| Scope::parse(v)).collect();
    let actor = v.auth.as_ref().map(|a| a.actor()).unwrap_or_default();
    let result = match stepped_up(&v) {
        Ok(()) => s.app.api_keys().create(&name, scopes, &actor).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_owned()),
    };
    match result {
        Ok((key, record)) => {
            let n = Notice {
                done: Some(format!("created {}: copy the key now, it is not shown again", record.name)),
                error: None,
            };
            keys_page(&s, &v, n, Some(key)).await
        }
        Err(e) => keys_page(&s, &v, Notice { error: Some(e), done: None }, None).await,
    }
}

pub async fn revoke_api_key(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Path(id): Path<String>,
) -> Response {
    let actor = v.auth.as_ref().map(|a| a.actor()).unwrap_or_default();
    let result = async {
        stepped_up(&v)?;
        let id = Uuid::parse_str(&id).map_err(|_| "no such key".to_owned())?;
        s.app.api_keys().revoke(id, &actor).await.map_err(|e| e.to_string())
    }
    .await;
    keys_page(&s, &v, Notice::of(result, |_| "revoked".into()), None).await
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    /// The event in words (where it has them), and its code.
    pub event: Option<&'static str>,
    pub action: String,
    pub entity: String,
    pub data: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    f: Frame,
    n: Notice,
    entries: Vec<AuditRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Show the entries up to this sequence number (the newest when absent).
    before: Option<i64>,
}

const AUDIT_PAGE: i64 = 50;

async fn audit_page(s: &AppState, v: &Viewer, before: Option<i64>, n: Notice) -> Response {
    let (entries, older) = match s.app.queries().audit_page(before, AUDIT_PAGE).await {
        Ok(page) => (page.entries, page.older),
        Err(e) => return unavailable(v, e),
    };
    let names = super::queue::staff_names(&s.app.accounts().staff().await.unwrap_or_default(), s);
    let restricted = super::export::hides_restricted(v);
    let entries = entries
        .into_iter()
        .rev()
        .filter(|e| !restricted(e))
        .map(|e| AuditRow {
            seq: e.seq,
            at: views::when(e.at_ms),
            actor: super::queue::actor_name(&e.actor, &names),
            event: v.lang.event(&e.action),
            action: e.action,
            entity: format!("{} {}", e.entity_type, e.entity_id),
            data: e.data,
        })
        .collect();
    let page = AuditPage { f: Frame::new(v, true, "/office/audit"), n, entries, older };
    render(StatusCode::OK, page)
}

pub async fn audit(
    State(s): State<AppState>,
    Extension(v): Extension<Viewer>,
    Query(q): Query<AuditQuery>,
) -> Response {
    audit_page(&s, &v, q.before, Notice::default()).await
}

/// Verifies the whole hash chain, as `custos audit verify` does.
pub async fn verify_audit(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let n = match s.app.verify_audit().await {
        Ok(Ok(count)) => {
            Notice { done: Some(format!("the audit log is intact: {count} entries verified")), error: None }
        }
        Ok(Err(br)) => Notice { error: Some(format!("the audit log is broken: {br}")), done: None },
        Err(e) => return unavailable(&v, e),
    };
    if let Some(auth) = &v.auth {
        let _ = s
            .app
            .audit(
                &auth.actor(),
                "audit.verified",
                "audit_log",
                "chain",
                serde_json::json!({"intact": n.error.is_none()}),
            )
            .await;
    }
    audit_page(&s, &v, None, n).await
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    f: Frame,
    version: i64,
    /// (band key, scores from, scores below, action key)
    bands: Vec<(&'static str, String, String, &'static str)>,
    /// (category, direct action key, indirect action key, indirect exposure from)
    categories: Vec<(&'static str, &'static str, &'static str, String)>,
    analyzer_failure: &'static str,
    disagreement_margin_bands: u8,
    analyzer_disagreement: &'static str,
}

/// The policy in force, as tables an officer and an auditor read.
pub async fn policy(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    use custos_domain::RiskBand;
    let p = s.app.policy();
    let edges = [
        (RiskBand::Low, "0.00".to_owned(), p.bands.medium_from.to_string()),
        (RiskBand::Medium, p.bands.medium_from.to_string(), p.bands.high_from.to_string()),
        (RiskBand::High, p.bands.high_from.to_string(), p.bands.critical_from.to_string()),
        (RiskBand::Critical, p.bands.critical_from.to_string(), "100.00".to_owned()),
    ];
    let bands = edges
        .into_iter()
        .map(|(band, from, to)| (views::band_key(band), from, to, p.band_actions.for_band(band).as_str()))
        .collect();
    let categories = p
        .categories
        .iter()
        .map(|(c, rule)| {
            (v.lang.category(*c), rule.direct.as_str(), rule.indirect.as_str(), rule.indirect_min.to_string())
        })
        .collect();
    let page = PolicyPage {
        f: Frame::new(&v, true, "/office/policy"),
        version: s.app.policy_version(),
        bands,
        categories,
        analyzer_failure: p.analyzer_failure.as_str(),
        disagreement_margin_bands: p.disagreement_margin_bands,
        analyzer_disagreement: p.analyzer_disagreement.as_str(),
    };
    render(StatusCode::OK, page)
}

/// A watched transfer as the page shows it: (block, txid:index, amount, address, status key).
type TransferRow = (u64, String, String, String, &'static str);

#[derive(Template)]
#[template(path = "chains.html")]
struct ChainsPage {
    f: Frame,
    /// (network, its name's text key, newest block kept, its transfers).
    networks: Vec<(&'static str, &'static str, Option<u64>, Vec<TransferRow>)>,
}

/// What the chain watchers saw: the newest block each keeps, and the latest transfers to our
/// addresses with their state.
pub async fn chains(State(s): State<AppState>, Extension(v): Extension<Viewer>) -> Response {
    let mut networks = Vec::new();
    for network in custos_domain::Network::ALL {
        let (head, transfers) = match s.app.queries().chain_watch(network, 100).await {
            Ok(w) => (w.newest_block, w.transfers),
            Err(e) => {
                tracing::error!(error = %e, "chain watcher state could not be read");
                return views::message(v.lang, StatusCode::SERVICE_UNAVAILABLE, "error");
            }
        };
        let rows = transfers
            .into_iter()
            .map(|t| {
                let status = match t.status.as_str() {
                    "pending" => "transfer_pending",
                    "credited" => "transfer_credited",
                    "dropped" => "transfer_dropped",
                    "reverted" => "transfer_reverted",
                    _ => "transfer_refused",
                };
                (
                    t.block_number,
                    format!("{}:{}", t.txid, t.index),
                    views::amount(t.amount, t.asset, v.lang),
                    t.address,
                    status,
                )
            })
            .collect();
        networks.push((network.as_str(), views::network_key(network), head, rows));
    }
    render(StatusCode::OK, ChainsPage { f: Frame::new(&v, true, "/office/chains"), networks })
}
