//! The subcommands other than `bench`.

use crate::bootstrap::{self, Location};
use crate::config::Config;
use crate::{
    ApikeyCommand, ConsolidateCommand, CustomerCommand, Global, KeysCommand, LabelsCommand, SignerCommand, UserCommand,
};
use custos_app::model::Scope;
use custos_app::repos::LabelRepo;
use custos_app::{Clock, SystemClock};
use custos_domain::access::Role;
use custos_domain::{Address, Network};
use custos_screening::import::{self, Format};
use std::path::Path;
use std::process::ExitCode;

const DEFAULT_DATA_DIR: &str = "./custos-data";
const DEMO_DATA_DIR: &str = "./custos-demo";

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Tagpack,
    Ofac,
    Csv,
}

fn location(cfg: &Config, g: &Global) -> Location {
    Location::resolve(cfg, g.data_dir.clone(), g.database_url.clone(), DEFAULT_DATA_DIR)
}

async fn listen(addr: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            format!("cannot listen on {addr}: the port is in use (another custos?); choose another with --listen")
        }
        _ => format!("cannot listen on {addr}: {e}"),
    })
}

async fn serve_until_ctrl_c(
    listener: tokio::net::TcpListener,
    rt: &bootstrap::Runtime,
    cfg: &Config,
) -> Result<ExitCode, String> {
    bootstrap::spawn_label_reloader(
        rt.store.clone(),
        rt.builtin.clone(),
        rt.app.clone(),
        cfg.monitoring.rescreen_days.unwrap_or(30),
    );
    if bootstrap::spawn_webhook_delivery(cfg, rt.store.clone())? {
        tracing::info!("delivering webhooks");
    }
    bootstrap::spawn_deadline_job(rt.app.clone());
    bootstrap::spawn_reseal(rt.app.clone(), !cfg.secrets.previous_keys.is_empty());
    let watchers = cfg.chains.spawn(&rt.app)?;
    if watchers > 0 {
        tracing::info!(watchers, "watching the chains for deposits");
    }
    let mut state = custos_web::AppState::new(rt.app.clone());
    state.max_body_bytes = cfg.api.max_body_bytes.unwrap_or(custos_web::DEFAULT_MAX_BODY_BYTES);
    state.trust_forwarded_for = cfg.web.behind_proxy;
    state.ethereum_tokens = std::sync::Arc::new(cfg.chains.ethereum_tokens()?);
    state.explorers = std::sync::Arc::new(cfg.web.explorers()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    let served = custos_web::serve(listener, state, cfg.web.limits()?, tls_acceptor(cfg)?, shutdown).await;
    served.map_err(|e| format!("server error: {e}"))?;
    rt.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The TLS acceptor when `[web] tls_cert` and `tls_key` are set.
fn tls_acceptor(cfg: &Config) -> Result<Option<custos_web::TlsAcceptor>, String> {
    match (&cfg.web.tls_cert, &cfg.web.tls_key) {
        (Some(cert), Some(key)) => custos_web::tls::acceptor(cert, key).map(Some).map_err(|e| e.to_string()),
        (None, None) => Ok(None),
        _ => Err("set both web.tls_cert and web.tls_key (or neither)".into()),
    }
}

/// SEC-5: without built-in TLS, plain HTTP is served on loopback only (behind a TLS proxy).
fn check_plain_http(cfg: &Config, addr: &std::net::SocketAddr) -> Result<(), String> {
    if cfg.web.tls_cert.is_none() && !addr.ip().is_loopback() {
        return Err(format!(
            "refusing to serve plain HTTP on {addr}: personal data must travel encrypted (SEC-5). Set [web] \
             tls_cert and tls_key, or listen on 127.0.0.1 behind a TLS reverse proxy ([web] behind_proxy = true)"
        ));
    }
    Ok(())
}

pub async fn serve(cfg: &Config, g: Global, listen_flag: Option<String>) -> Result<ExitCode, String> {
    let cipher = bootstrap::cipher(cfg, true)?;
    let loc = location(cfg, &g);
    let addr = listen_flag.or_else(|| cfg.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
    tls_acceptor(cfg)?;
    // Links in mails point where this server listens (unless [web] public_url says otherwise).
    let rt = bootstrap::runtime_at(cfg, &loc, cipher, &addr).await?;
    if rt.app.intake().configured_networks().is_empty() {
        tracing::warn!("no deposit key configured ([deposit_keys] or CUSTOS_XPUB_*): orders cannot be created");
    }
    let listener = listen(&addr).await?;
    check_plain_http(cfg, &listener.local_addr().map_err(|e| e.to_string())?)?;
    let scheme = if cfg.web.tls_cert.is_some() { "https" } else { "http" };
    tracing::info!(%addr, %scheme, database = %custos_store::redact(&loc.database_url), "custos is serving");
    serve_until_ctrl_c(listener, &rt, cfg).await
}

pub async fn demo(mut cfg: Config, g: Global, addr: String) -> Result<ExitCode, String> {
    // The port first: with it busy, nothing is created.
    let listener = listen(&addr).await?;
    let loc = Location::resolve(&cfg, g.data_dir.clone(), g.database_url.clone(), DEMO_DATA_DIR);
    std::fs::create_dir_all(&loc.data_dir).map_err(|e| format!("cannot create {}: {e}", loc.data_dir.display()))?;
    if cfg.secrets.master_key.is_none() {
        cfg.secrets.master_key = Some(demo_secret(&loc.data_dir, "demo-master.key", || {
            Ok(custos_crypto::MasterKey::generate().to_base64())
        })?);
    }
    let keys = &mut cfg.deposit_keys;
    keys.bitcoin.get_or_insert_with(|| custos_chain::demo::BITCOIN_ZPUB.into());
    keys.ethereum.get_or_insert_with(|| custos_chain::demo::ETHEREUM_XPUB.into());
    keys.tron.get_or_insert_with(|| custos_chain::demo::TRON_XPUB.into());
    let cipher = bootstrap::cipher(&cfg, true)?;
    let addr = listener.local_addr().map_or(addr, |a| a.to_string());
    let rt = bootstrap::runtime_at(&cfg, &loc, cipher, &addr).await?;
    let key = demo_api_key(&rt, &loc.data_dir).await?;
    let index = rt.builtin.index();
    println!("{}", "=".repeat(78));
    println!("  CUSTOS DEMO: DEMO ONLY, NOT FOR REAL FUNDS");
    println!("  Deposit addresses come from the PUBLIC BIP39 test mnemonic \"abandon ... about\":");
    println!("  anyone can spend what is sent to them.");
    println!("{}", "=".repeat(78));
    println!("data:      {} ({})", loc.data_dir.display(), custos_store::redact(&loc.database_url));
    println!("labels:    {} labelled addresses (bundled OFAC SDN list)", index.addresses());
    println!("listening: http://{addr}  (OpenAPI: http://{addr}/api/openapi.json)");
    println!("try:       curl -s -H \"Authorization: Bearer $KEY\" -H 'Content-Type: application/json' \\");
    println!("             -d '{{\"network\":\"ethereum\",\"address\":\"0x8589427373D6D84E98730D7795D8f6f8731FDA16\"}}' http://{addr}/api/v1/screenings");
    println!(
        "cabinet:   http://{addr}/cabinet  (customers register there; mails go to {})",
        loc.data_dir.join("mail").display()
    );
    println!("office:    http://{addr}/office   (staff; TOTP is set up at the first login)");
    for role in [Role::Admin, Role::SeniorOfficer, Role::Officer, Role::Support, Role::Auditor] {
        let email = format!("{}@demo.example", role.as_str().replace('_', "-"));
        let password =
            format!("demo {} {}", role.as_str().replace('_', " "), custos_crypto::new_token()[..12].to_lowercase());
        match rt.app.accounts().create_staff(&email, &password, role, None).await {
            // Quoted: the password has spaces.
            Ok(_) => println!("staff:     {email}  password: \"{password}\""),
            Err(_) => println!("staff:     {email}  (exists; its password was shown when it was made)"),
        }
    }
    println!("api key: {key}");
    serve_until_ctrl_c(listener, &rt, &cfg).await
}

/// The demo's API key: the one kept in the data directory while it still works, else a new one
/// (kept for the next start), so restarts do not pile up keys.
async fn demo_api_key(rt: &bootstrap::Runtime, dir: &std::path::Path) -> Result<String, String> {
    let path = dir.join("demo-api.key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        let k = k.trim();
        if rt.app.api_keys().authenticate(k).await.map_err(|e| e.to_string())?.is_some() {
            return Ok(k.to_owned());
        }
    }
    let (key, _) = rt.app.api_keys().create("demo", Scope::ALL.to_vec(), "cli").await.map_err(|e| e.to_string())?;
    write_private(&path, &key)?;
    Ok(key)
}

/// A secret of the demo kept in its data directory (only the owner may read it): read, or made
/// with `make` and written the first time.
fn demo_secret(
    dir: &std::path::Path,
    name: &str,
    make: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let path = dir.join(name);
    if let Ok(k) = std::fs::read_to_string(&path) {
        return Ok(k.trim().to_owned());
    }
    let key = make()?;
    write_private(&path, &key)?;
    Ok(key)
}

pub async fn migrate(cfg: &Config, g: Global) -> Result<ExitCode, String> {
    let loc = location(cfg, &g);
    let store = bootstrap::open_store(&loc).await?;
    println!("database {} is up to date", custos_store::redact(&loc.database_url));
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn screen(cfg: &Config, g: Global, network: &str, address: &str, json: bool) -> Result<ExitCode, String> {
    let network: Network = network.parse().map_err(|e| format!("{e}"))?;
    let address = Address::parse(network, address).map_err(|e| format!("{} ({})", e, e.code()))?;
    let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, false)?).await?;
    let s = rt.app.screening().screen_address(&address, "cli").await.map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&custos_web::body::Screening::from(&s)).unwrap_or_default());
    } else {
        let d = &s.decision;
        println!("address      {}", address.display());
        println!("network      {network}");
        println!("band         {}", d.band);
        println!("score        {}", d.score);
        println!("decision     {}{}", d.action, if d.requires_kyc { " (KYC required)" } else { "" });
        let cats: Vec<String> = d
            .categories
            .iter()
            .map(|c| format!("{} ({}, {})", c.category, if c.direct { "direct" } else { "indirect" }, c.exposure))
            .collect();
        println!("categories   {}", if cats.is_empty() { "none".to_owned() } else { cats.join(", ") });
        println!("policy       version {}", s.policy_version);
        println!("explanation  {}", d.explanation());
    }
    rt.store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn labels(cfg: &Config, g: Global, cmd: LabelsCommand) -> Result<ExitCode, String> {
    let store = bootstrap::open_store(&location(cfg, &g)).await?;
    match cmd {
        LabelsCommand::Import { paths, format } => {
            let format = format.map(|f| match f {
                FormatArg::Tagpack => Format::Tagpack,
                FormatArg::Ofac => Format::Ofac,
                FormatArg::Csv => Format::Csv,
            });
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || import::read(&paths, format))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            for p in &result.problems {
                eprintln!("skipped: {p}");
            }
            let written = bootstrap::write_sources(store.as_ref(), &result, &SystemClock, true).await?;
            println!(
                "imported {written} labels from {} source(s) in {:.1} s",
                result.sources.len(),
                started.elapsed().as_secs_f64()
            );
            if !result.problems.is_empty() {
                println!("skipped {} bad row(s), listed above with their line numbers", result.problems.len());
            }
            if !result.unsupported.is_empty() {
                let list: Vec<String> = result.unsupported.iter().map(|(c, n)| format!("{c} {n}")).collect();
                println!("not imported (networks Custos does not screen): {}", list.join(", "));
            }
        }
        LabelsCommand::Stats { json } => {
            let stats = store.label_stats().await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats).unwrap_or_default());
            } else {
                println!("{:<48} {:>8} {:>10}  imported at", "source", "kind", "labels");
                for s in &stats {
                    println!(
                        "{:<48} {:>8} {:>10}  {}",
                        s.name,
                        s.kind,
                        s.labels,
                        custos_web::dto::rfc3339(s.imported_at_ms)
                    );
                }
                let total: u64 = stats.iter().map(|s| s.labels).sum();
                println!("{} source(s), {total} labels", stats.len());
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn apikey(cfg: &Config, g: Global, cmd: ApikeyCommand) -> Result<ExitCode, String> {
    let ApikeyCommand::Create { name, scopes } = cmd;
    // Every scope is named: a key gets what its integration needs, never all by default.
    let scopes = scopes
        .iter()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| {
                let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope {s:?}: use one of {}", all.join(", "))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, false)?).await?;
    let (key, record) = rt.app.api_keys().create(&name, scopes, "cli").await.map_err(|e| e.to_string())?;
    let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
    println!(
        "created API key {} ({}) with scopes {}; it is shown only now:",
        record.name,
        record.id,
        scopes.join(", ")
    );
    println!("{key}");
    rt.store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn user(cfg: &Config, g: Global, cmd: UserCommand) -> Result<ExitCode, String> {
    let UserCommand::Create { email, role } = cmd;
    let role = custos_domain::access::Role::parse(&role).ok_or_else(|| {
        let all: Vec<&str> = custos_domain::access::Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role {role:?}: use one of {}", all.join(", "))
    })?;
    let password = match std::env::var("CUSTOS_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, true)?).await?;
    let created = rt.app.accounts().create_staff(&email, &password, role, None).await;
    rt.store.close().await;
    let account = created.map_err(|e| e.to_string())?;
    println!("created {} account {}; MFA is set up at the first login at /office/login", role.as_str(), account.id);
    Ok(ExitCode::SUCCESS)
}

pub async fn keys(cfg: &Config, g: Global, cmd: KeysCommand) -> Result<ExitCode, String> {
    if let KeysCommand::New = cmd {
        println!("{}", custos_crypto::MasterKey::generate().to_base64());
        return Ok(ExitCode::SUCCESS);
    }
    let cipher = bootstrap::cipher(cfg, true)?;
    let ids: Vec<String> = cipher.key_ids().into_iter().map(str::to_owned).collect();
    let rt = bootstrap::runtime(cfg, &location(cfg, &g), cipher).await?;
    let result = match cmd {
        KeysCommand::Rotate { batch } => {
            let bar = crate::progress::spinner("re-sealing");
            let report = rt.app.keys().reseal_all(batch, &|n| bar.set_position(n)).await;
            bar.finish_and_clear();
            report.map(|r| {
                println!(
                    "{} values examined, {} re-sealed under key {}, {} changed meanwhile, {} unreadable",
                    r.examined,
                    r.resealed,
                    ids[0],
                    r.raced,
                    r.unreadable.len()
                );
                for (column, row) in &r.unreadable {
                    println!("unreadable: {column} row {row}");
                }
                if r.unreadable.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(2)
                }
            })
        }
        KeysCommand::Status | KeysCommand::New => rt.app.keys().sealed_key_ids().await.map(|rows| {
            println!("{:<40} {:<10} {:>10}  key", "column", "key id", "values");
            for (column, id, n) in &rows {
                let role = match ids.iter().position(|k| k == id) {
                    Some(0) => "current",
                    Some(_) => "previous: run `custos keys rotate`",
                    None => "UNKNOWN: not configured, cannot be read",
                };
                println!("{column:<40} {id:<10} {n:>10}  {role}");
            }
            ExitCode::SUCCESS
        }),
    };
    rt.store.close().await;
    result.map_err(|e| e.to_string())
}

pub async fn customer(cfg: &Config, g: Global, cmd: CustomerCommand) -> Result<ExitCode, String> {
    let CustomerCommand::Erase { email, yes } = cmd;
    if !yes {
        return Err("erasing is irreversible: add --yes to erase this customer's personal data".into());
    }
    let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, true)?).await?;
    let result = rt.app.keys().erase_customer(&email, &cfg.privacy.rules(), "cli").await;
    rt.store.close().await;
    let keys = result.map_err(|e| e.to_string())?;
    println!("erased: {keys} data key(s) deleted; the customer's personal data can no longer be read");
    Ok(ExitCode::SUCCESS)
}

pub async fn consolidate(cfg: &Config, g: Global, cmd: ConsolidateCommand) -> Result<ExitCode, String> {
    let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, true)?).await?;
    let result = match cmd {
        ConsolidateCommand::Record { deposit, txid } => {
            rt.app.payouts().record_sweep(deposit, &txid, "cli").await.map_err(|e| e.to_string()).map(|new| {
                println!(
                    "{}",
                    if new { "recorded" } else { "nothing recorded: no such deposit, or it was swept already" }
                );
            })
        }
        ConsolidateCommand::Execute { wallet, gas_price_gwei } => {
            consolidation_execute(cfg, &rt, wallet, gas_price_gwei).await
        }
        ConsolidateCommand::Plan { network, wallet, gas_price_gwei, fee_rate } => match network.as_str() {
            "ethereum" => consolidation_plan(cfg, &rt, wallet, gas_price_gwei).await,
            "bitcoin" => bitcoin_consolidation_plan(cfg, &rt, wallet, fee_rate).await,
            other => Err(format!("consolidation of {other:?} is not supported: ethereum or bitcoin")),
        },
    };
    rt.store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

pub async fn signer(cfg: &Config, g: Global, cmd: SignerCommand) -> Result<ExitCode, String> {
    match cmd {
        SignerCommand::Import { out } => signer_import(cfg, &out),
        SignerCommand::Refund { refund } => {
            let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, true)?).await?;
            let result = match evm_signer(cfg) {
                Ok(signer) => rt.app.payouts().send_refund(refund, &signer, "signer").await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            rt.store.close().await;
            let sent = result?;
            println!("{}", sent.txid.unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        SignerCommand::Payout { order, gas_price_gwei } => {
            let gwei =
                gas_price_gwei.or(cfg.consolidation.ethereum.as_ref().and_then(|c| c.gas_price_gwei)).unwrap_or(20);
            let fees = custos_app::consolidation::EvmFees {
                gas_price_wei: u128::from(gwei) * 1_000_000_000,
                ..Default::default()
            };
            let rt = bootstrap::runtime(cfg, &location(cfg, &g), bootstrap::cipher(cfg, true)?).await?;
            let result = match evm_signer(cfg) {
                Ok(signer) => {
                    rt.app.payouts().send_payout(order, &signer, &fees, "signer").await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            rt.store.close().await;
            let done = result?;
            println!("order {} is {}", done.number, done.status);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Custos's signer from `[signer.ethereum]`, its key opened with the master key.
fn evm_signer(cfg: &Config) -> Result<custos_chain::signer::EvmSigner, String> {
    let s = cfg.signer.ethereum.as_ref().ok_or("no [signer.ethereum]: Custos's signer is off")?;
    let node = cfg.chains.ethereum.as_ref().ok_or("no [chains.ethereum]: the signer sends through its node")?;
    let sealed = std::fs::read_to_string(&s.key_file).map_err(|e| format!("signer.ethereum.key_file: {e}"))?;
    let xprv = bootstrap::cipher(cfg, true)?
        .decrypt(sealed.trim(), crate::chains::signer_aad("ethereum"))
        .map_err(|e| format!("signer.ethereum.key_file: {e}"))?;
    let account = custos_chain::signer::ExtendedPrivateKey::parse(&xprv).map_err(|e| e.to_string())?;
    Ok(custos_chain::signer::EvmSigner::new(account, s.gas_index.unwrap_or(1_000_000), node.source()?))
}

/// Seals an account key read from standard input.
fn signer_import(cfg: &Config, out: &std::path::Path) -> Result<ExitCode, String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the key: {e}"))?;
    let key = custos_chain::signer::ExtendedPrivateKey::parse(line.trim()).map_err(|e| e.to_string())?;
    let cipher = bootstrap::cipher(cfg, true)?;
    let sealed = cipher.encrypt(&key.encode(), crate::chains::signer_aad("ethereum"));
    write_private(out, &sealed)?;
    let first = key.derive_child(0).and_then(|k| k.derive_child(0)).map_err(|e| e.to_string())?.ethereum_address();
    println!("sealed into {}; its first deposit address (0/0) is {}", out.display(), first.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes a file only its owner may read (made so, never readable by others in between).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

async fn consolidation_execute(
    cfg: &Config,
    rt: &bootstrap::Runtime,
    wallet: Option<String>,
    gas_price_gwei: Option<u64>,
) -> Result<(), String> {
    let signer = evm_signer(cfg)?;
    let gas_wallet = signer.gas_wallet().map_err(|e| e.to_string())?;
    let (wallet, fees, tokens) = evm_plan_inputs(cfg, wallet, gas_price_gwei)?;
    let plan = rt
        .app
        .payouts()
        .plan_evm_consolidation(&wallet, &gas_wallet, &fees, &tokens)
        .await
        .map_err(|e| e.to_string())?;
    let sent = rt.app.payouts().execute_evm_plan(&plan, &signer, "signer").await.map_err(|e| e.to_string())?;
    for txid in &sent {
        println!("{txid}");
    }
    eprintln!("{} transaction(s) sent; {} deposit(s) left where they are", sent.len(), plan.excluded.len());
    Ok(())
}

type EvmPlanInputs =
    (Address, custos_app::consolidation::EvmFees, std::collections::BTreeMap<custos_domain::Asset, Address>);

/// The verified destination, the fees and the token contracts of an Ethereum plan.
fn evm_plan_inputs(cfg: &Config, wallet: Option<String>, gas_price_gwei: Option<u64>) -> Result<EvmPlanInputs, String> {
    let c =
        cfg.consolidation.ethereum.as_ref().ok_or("no [consolidation.ethereum]: name the verified wallets first")?;
    let parse = |a: &str, what: &str| Address::parse(Network::Ethereum, a).map_err(|e| format!("{what} {a}: {e}"));
    let verified: Vec<Address> =
        c.wallets.iter().map(|w| parse(w, "consolidation.ethereum.wallets:")).collect::<Result<_, _>>()?;
    let wallet = match wallet {
        Some(w) => {
            let w = parse(&w, "--wallet")?;
            if !verified.contains(&w) {
                return Err(format!(
                    "{} is not one of the verified wallets (consolidation.ethereum.wallets)",
                    w.as_str()
                ));
            }
            w
        }
        None => verified.first().cloned().ok_or("consolidation.ethereum.wallets is empty")?,
    };
    let gwei = gas_price_gwei.or(c.gas_price_gwei).unwrap_or(20);
    let fees =
        custos_app::consolidation::EvmFees { gas_price_wei: u128::from(gwei) * 1_000_000_000, ..Default::default() };
    let tokens = cfg.chains.ethereum_tokens()?;
    Ok((wallet, fees, tokens))
}

async fn consolidation_plan(
    cfg: &Config,
    rt: &bootstrap::Runtime,
    wallet: Option<String>,
    gas_price_gwei: Option<u64>,
) -> Result<(), String> {
    let (wallet, fees, tokens) = evm_plan_inputs(cfg, wallet, gas_price_gwei)?;
    let c = cfg.consolidation.ethereum.as_ref().ok_or("no [consolidation.ethereum]")?;
    let gas_wallet = c.gas_wallet.as_deref().ok_or("consolidation.ethereum.gas_wallet is not set")?;
    let gas_wallet =
        Address::parse(Network::Ethereum, gas_wallet).map_err(|e| format!("gas_wallet {gas_wallet}: {e}"))?;
    let plan = rt
        .app
        .payouts()
        .plan_evm_consolidation(&wallet, &gas_wallet, &fees, &tokens)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("{} transaction(s) to sign; {} deposit(s) left where they are", plan.requests.len(), plan.excluded.len());
    println!("{}", serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?);
    Ok(())
}

async fn bitcoin_consolidation_plan(
    cfg: &Config,
    rt: &bootstrap::Runtime,
    wallet: Option<String>,
    fee_rate: Option<u64>,
) -> Result<(), String> {
    let c = cfg.consolidation.bitcoin.as_ref().ok_or("no [consolidation.bitcoin]: name the verified wallets first")?;
    let parse = |a: &str| Address::parse(Network::Bitcoin, a).map_err(|e| format!("{a}: {e}"));
    let verified: Vec<Address> = c.wallets.iter().map(|w| parse(w)).collect::<Result<_, _>>()?;
    let wallet = match wallet {
        Some(w) => Some(parse(&w)?)
            .filter(|w| verified.contains(w))
            .ok_or_else(|| format!("{w} is not one of the verified wallets (consolidation.bitcoin.wallets)"))?,
        None => verified.first().cloned().ok_or("consolidation.bitcoin.wallets is empty")?,
    };
    let key = cfg.deposit_keys.bitcoin.as_deref().ok_or("no deposit_keys.bitcoin: the PSBT needs the deposit key")?;
    let key =
        custos_chain::DepositKey::parse(Network::Bitcoin, key).map_err(|e| format!("deposit_keys.bitcoin: {e}"))?;
    let plan = rt
        .app
        .payouts()
        .plan_bitcoin_consolidation(&wallet, fee_rate.or(c.fee_rate).unwrap_or(10))
        .await
        .map_err(|e| e.to_string())?;
    let inputs = plan
        .inputs
        .iter()
        .map(|i| {
            let address = parse(&i.address)?;
            Ok(custos_chain::psbt::Input {
                txid: i.txid.clone(),
                vout: i.vout,
                value: i.value,
                script_pubkey: address.script_pubkey().ok_or("an address without a script")?,
                public_key: key.public_key(i.derivation_index).map_err(|e| e.to_string())?,
                fingerprint: key.fingerprint_bytes(),
                index: i.derivation_index,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let psbt = if inputs.is_empty() {
        None
    } else {
        let script = wallet.script_pubkey().ok_or("the wallet has no output script")?;
        Some(custos_chain::psbt::to_base64(
            &custos_chain::psbt::build(&inputs, &script, plan.output_value).map_err(|e| e.to_string())?,
        ))
    };
    eprintln!("{} deposit output(s) to spend; {} left where they are", plan.inputs.len(), plan.excluded.len());
    let mut out = serde_json::to_value(&plan).map_err(|e| e.to_string())?;
    out["psbt"] = psbt.into();
    println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    Ok(())
}

pub async fn audit_verify(cfg: &Config, g: Global) -> Result<ExitCode, String> {
    let store = bootstrap::open_store(&location(cfg, &g)).await?;
    let outcome = custos_app::service::verify_audit(store.as_ref()).await.map_err(|e| e.to_string())?;
    store.close().await;
    match outcome {
        Ok(n) => {
            println!("audit log intact: {n} entries verified (at {})", custos_web::dto::rfc3339(SystemClock.now_ms()));
            Ok(ExitCode::SUCCESS)
        }
        Err(b) => {
            println!("audit log BROKEN: {b}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `custos bundle …`: verify a disclosure bundle, or print the key bundles are signed with.
pub fn bundle(cfg: &Config, c: crate::BundleCommand) -> Result<ExitCode, String> {
    use custos_crypto::bundle::{verify_bag, BagFile};
    match c {
        crate::BundleCommand::PublicKey => {
            let cipher = crate::bootstrap::cipher(cfg, true)?;
            println!("{}", cipher.bundle_public_keys()[0]);
            Ok(ExitCode::SUCCESS)
        }
        crate::BundleCommand::Verify { dir, public_key } => {
            let mut files = Vec::new();
            read_tree(&dir, &dir, &mut files)?;
            let trusted = match public_key {
                Some(k) => vec![k.trim().to_ascii_lowercase()],
                None => crate::bootstrap::cipher(cfg, true)?.bundle_public_keys(),
            };
            let files: Vec<BagFile> = files;
            let mut last = None;
            for key in &trusted {
                match verify_bag(&files, Some(key)) {
                    Ok(v) => {
                        println!("the bundle is intact and signed by {}", v.public_key);
                        println!("  {} payload files; SHA-256 of the tag manifest {}", v.payload_files, v.name);
                        for field in [
                            "External-Identifier",
                            "External-Description",
                            "Bagging-Time",
                            "Custos-Version",
                            "Audit-Chain-Head",
                        ] {
                            if let Some(value) = v.info.get(field) {
                                println!("  {field}: {value}");
                            }
                        }
                        return Ok(ExitCode::SUCCESS);
                    }
                    Err(e) => last = Some(e),
                }
            }
            let e = last.map(|e| e.to_string()).unwrap_or_else(|| "no key to check it against".into());
            eprintln!("error: the bundle does not verify: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Every file under `dir`, with its path relative to `root` (`/`-separated).
fn read_tree(root: &Path, dir: &Path, out: &mut Vec<custos_crypto::bundle::BagFile>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            read_tree(root, &path, out)?;
        } else {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let relative = path.strip_prefix(root).map_err(|e| e.to_string())?;
            let parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push(custos_crypto::bundle::BagFile { path: parts.join("/"), bytes });
        }
    }
    Ok(())
}
