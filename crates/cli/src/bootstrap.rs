//! Opens the database, loads labels, and assembles the application from the configuration.

use crate::config::Config;
use crate::progress;
use custos_app::repos::LabelRepo;
use custos_app::service::default_analyzer_timeout;
use custos_app::{AddressDeriver, App, AppParts, Clock, Store, SystemClock};
use custos_chain::DepositKey;
use custos_crypto::{FieldCipher, MasterKey};
use custos_domain::Network;
use custos_screening::import::{ofac, ImportResult};
use custos_screening::{BuiltinAnalyzer, LabelIndex, LabelIndexBuilder};
use custos_store::{ConnectOptions, SqlStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("custos.db").display())
}

/// Where the data lives and which database to use.
pub struct Location {
    pub data_dir: PathBuf,
    pub database_url: String,
}

impl Location {
    pub fn resolve(cfg: &Config, flag_dir: Option<PathBuf>, flag_url: Option<String>, default_dir: &str) -> Location {
        let data_dir = flag_dir.or_else(|| cfg.data_dir.clone()).unwrap_or_else(|| PathBuf::from(default_dir));
        let database_url =
            flag_url.or_else(|| cfg.database_url.clone()).unwrap_or_else(|| default_database_url(&data_dir));
        Location { data_dir, database_url }
    }
}

/// Connects, migrates, and on first start loads the bundled sanctions list.
pub async fn open_store(loc: &Location) -> Result<Arc<SqlStore>, String> {
    if loc.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&loc.data_dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", loc.data_dir.display()))?;
    }
    let store = SqlStore::connect(&loc.database_url, &ConnectOptions::default())
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", custos_store::redact(&loc.database_url)))?;
    store.migrate().await.map_err(|e| format!("migration failed: {e}"))?;
    ensure_default_labels(&store, &SystemClock).await?;
    Ok(Arc::new(store))
}

/// On first start, loads the bundled OFAC SDN list as the default sanctions source.
pub async fn ensure_default_labels(store: &dyn Store, clock: &dyn Clock) -> Result<(), String> {
    let stats = store.label_stats().await.map_err(|e| e.to_string())?;
    if stats.iter().any(|s| s.name == ofac::SOURCE) {
        return Ok(());
    }
    let bundled = ofac::bundled();
    let n = write_sources(store, &bundled, clock, false).await?;
    tracing::info!(labels = n, "loaded the bundled OFAC SDN list (snapshot 2024-09-27) as the default sanctions list");
    Ok(())
}

/// Writes every source of an import, replacing each; returns the number of labels written.
pub async fn write_sources(
    store: &dyn Store,
    result: &ImportResult,
    clock: &dyn Clock,
    show_progress: bool,
) -> Result<u64, String> {
    let bar = progress::bar(result.labels() as u64, "importing labels", show_progress);
    let mut written = 0u64;
    for s in &result.sources {
        let base = written;
        let at = clock.now_ms();
        let n = store
            .replace_label_source(&s.source, &s.labels, at, &|done| bar.set_position(base + done))
            .await
            .map_err(|e| format!("importing {}: {e}", s.source.name))?;
        written += n;
    }
    bar.finish_and_clear();
    Ok(written)
}

pub async fn load_index(store: &dyn Store) -> Result<LabelIndex, String> {
    let mut builder = LabelIndexBuilder::default();
    store.for_each_label(&mut |l| builder.add(l)).await.map_err(|e| format!("loading labels: {e}"))?;
    Ok(builder.build())
}

/// The field cipher: the configured master key, or for commands that never touch personal data,
/// a throwaway one.
pub fn cipher(cfg: &Config, required: bool) -> Result<FieldCipher, String> {
    match cfg.secrets.master_key.as_deref() {
        Some(k) => {
            let current =
                MasterKey::from_base64(k).map_err(|e| format!("secrets.master_key (CUSTOS_MASTER_KEY): {e}"))?;
            let previous = cfg
                .secrets
                .previous_keys
                .iter()
                .map(|k| MasterKey::from_base64(k).map_err(|e| format!("secrets.previous_keys: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(FieldCipher::new(current, previous))
        }
        None if required => Err("no master key: set secrets.master_key in the config or CUSTOS_MASTER_KEY \
             (32 random bytes in base64, e.g. `openssl rand -base64 32`); the server refuses to start without one"
            .into()),
        None => Ok(FieldCipher::ephemeral()),
    }
}

pub fn derivers(cfg: &Config) -> Result<Vec<Arc<dyn AddressDeriver>>, String> {
    let mut out: Vec<Arc<dyn AddressDeriver>> = Vec::new();
    let keys = [
        (Network::Bitcoin, &cfg.deposit_keys.bitcoin),
        (Network::Ethereum, &cfg.deposit_keys.ethereum),
        (Network::Tron, &cfg.deposit_keys.tron),
    ];
    for (network, key) in keys {
        if let Some(k) = key.as_deref().filter(|k| !k.trim().is_empty()) {
            let key = DepositKey::parse(network, k).map_err(|e| format!("deposit_keys.{network}: {e}"))?;
            out.push(Arc::new(key));
        }
    }
    Ok(out)
}

/// Everything a running Custos holds.
pub struct Runtime {
    pub store: Arc<SqlStore>,
    pub builtin: Arc<BuiltinAnalyzer>,
    pub app: Arc<App>,
}

pub async fn runtime(cfg: &Config, loc: &Location, cipher: FieldCipher) -> Result<Runtime, String> {
    runtime_at(cfg, loc, cipher, cfg.listen.as_deref().unwrap_or("127.0.0.1:8080")).await
}

/// The runtime of a server listening on `listen`: mails link there unless `[web] public_url`
/// names the address people use.
pub async fn runtime_at(cfg: &Config, loc: &Location, cipher: FieldCipher, listen: &str) -> Result<Runtime, String> {
    let store = open_store(loc).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let index = load_index(store.as_ref()).await?;
    tracing::info!(addresses = index.addresses(), labels = index.labels(), "label index loaded");
    let builtin = Arc::new(BuiltinAnalyzer::new(index));
    let timeout = cfg.analyzers.timeout_seconds.map_or_else(default_analyzer_timeout, Duration::from_secs);
    if timeout.is_zero() || timeout > Duration::from_secs(300) {
        return Err(
            "analyzers.timeout_seconds must be 1 to 300: the primary check takes at most 5 minutes (SLA-1)".into()
        );
    }
    let policy = cfg.policy()?;
    // Labels reload in place; the in-memory index needs no cache.
    let builtin_settings = custos_app::screening::CallSettings::uncached(timeout);
    let mut analyzers: Vec<crate::analyzers::Configured> =
        vec![(builtin.clone(), builtin_settings, custos_app::screening::RunRule::default())];
    for vendor in &cfg.analyzers.vendors {
        analyzers.push(vendor.build()?);
        tracing::info!(analyzer = %vendor.name(), "vendor analyzer configured");
    }
    let deadlines = cfg.deadlines();
    crate::analyzers::check_budget(&analyzers, Duration::from_millis(deadlines.primary_check_ms as u64))?;
    let screener = custos_app::screening::Screener::new(clock.clone(), analyzers)
        .map_err(|e| e.to_string())?
        .with_band_edges(policy.bands);
    let (mailer, mail_route) = cfg.mail.build(&loc.data_dir)?;
    tracing::info!("{mail_route}");
    let app = App::new(AppParts {
        store: store.clone(),
        screener,
        policy,
        derivers: derivers(cfg)?,
        cipher,
        clock,
        deadlines,
        monitoring: cfg.monitoring_rules(),
        auth: cfg.auth_settings(listen)?,
        mailer,
        kyc: cfg.kyc.build()?,
        kyc_rules: cfg.kyc.rules(),
        answers_by_key: cfg.api.answers_by_key,
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(Runtime { store, builtin, app: Arc::new(app) })
}

/// Reloads the label index when another process imported labels, then screens recent deposits
/// again (MON-1).
pub fn spawn_label_reloader(store: Arc<SqlStore>, builtin: Arc<BuiltinAnalyzer>, app: Arc<App>, rescreen_days: u32) {
    tokio::spawn(async move {
        let mut seen = store.labels_revision().await.unwrap_or(0);
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            match store.labels_revision().await {
                Ok(rev) if rev != seen => match load_index(store.as_ref()).await {
                    Ok(index) => {
                        tracing::info!(addresses = index.addresses(), "labels changed: index reloaded");
                        builtin.replace(index);
                        seen = rev;
                        match app.screening().rescreen_recent(i64::from(rescreen_days) * 86_400_000).await {
                            Ok(0) => {}
                            Ok(n) => {
                                tracing::warn!(deposits = n, "re-screening flagged past deposits: review cases opened")
                            }
                            Err(e) => tracing::warn!(error = %e, "re-screening failed"),
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not reload labels"),
                },
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not check for new labels"),
            }
        }
    });
}

/// Starts delivering the outbox to the configured webhook receiver, if there is one.
pub fn spawn_webhook_delivery(cfg: &Config, store: Arc<SqlStore>) -> Result<bool, String> {
    let Some(url) = cfg.webhooks.url.as_deref().filter(|u| !u.trim().is_empty()) else { return Ok(false) };
    let timeout = Duration::from_secs(cfg.webhooks.timeout_seconds.unwrap_or(10));
    let sender = custos_webhook::HttpWebhookSender::new(
        url,
        cfg.webhooks.secrets.clone(),
        cfg.webhooks.allow_private_destinations,
        timeout,
    )
    .map_err(|e| format!("webhooks: {e}"))?;
    let deliverer = custos_app::webhooks::Deliverer::new(store, Arc::new(sender), Arc::new(SystemClock));
    tokio::spawn(async move {
        loop {
            match deliverer.deliver_due().await {
                Ok(pass) if pass.delivered + pass.retrying + pass.dead > 0 => {
                    tracing::info!(delivered = pass.delivered, retrying = pass.retrying, dead = pass.dead, "webhooks");
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    Ok(true)
}

/// After a master-key rotation (previous keys configured), re-seals in the background what is
/// still under an older key.
pub fn spawn_reseal(app: Arc<App>, has_previous_keys: bool) {
    if !has_previous_keys {
        return;
    }
    tokio::spawn(async move {
        match app.keys().reseal_all(200, &|_| {}).await {
            Ok(r) if r.unreadable.is_empty() => {
                tracing::info!(examined = r.examined, resealed = r.resealed, "values re-sealed under the current key")
            }
            Ok(r) => tracing::error!(
                unreadable = r.unreadable.len(),
                "some sealed values open with no configured key; see `custos keys status`"
            ),
            Err(e) => tracing::warn!(error = %e, "re-sealing stopped; run `custos keys rotate`"),
        }
    });
}

/// Enforces customer deadlines (SEC-14, SEC-15) every 30 s.
pub fn spawn_deadline_job(app: Arc<App>) {
    tokio::spawn(async move {
        loop {
            // Data keys another process made or erased.
            if let Err(e) = app.keys().refresh_data_keys().await {
                tracing::warn!(error = %e, "data keys could not be refreshed");
            }
            match app.deadline_job().enforce_deadlines().await {
                Ok(run) if run == Default::default() => {}
                Ok(run) => tracing::warn!(
                    requests = run.requests_escalated,
                    cases = run.cases_alerted,
                    refunds = run.refunds_alerted,
                    documents_purged = run.documents_purged,
                    "deadline job: customers restricted or suspended, overdue cases alerted, decided reviews' documents deleted"
                ),
                Err(e) => tracing::warn!(error = %e, "deadline job"),
            }
            // DISC-1's statutory clock: reminders and overdue alerts to the MLRO, by mail.
            match app.disclosures().run_clocks(app.accounts()).await {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "authority requests: reminders or overdue alerts mailed"),
                Err(e) => tracing::warn!(error = %e, "authority requests' clock"),
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    });
}
