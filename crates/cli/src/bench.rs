//! `custos bench`: screening throughput in process, and the whole pipeline through HTTP.

use crate::bootstrap::{self, Location};
use crate::config::Config;
use crate::Global;
use clap::Subcommand;
use custos_app::model::Scope;
use custos_app::model::StoredLabel;
use custos_chain::DepositKey;
use custos_domain::{Address, Network, Policy};
use custos_screening::builtin::screen_with;
use custos_screening::import::{self, ofac, Format, ImportResult};
use custos_screening::LabelIndexBuilder;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// In-process address screenings per second on one core: parse the address, look it up in the
    /// label index, decide by the policy
    Screen {
        /// GraphSense TagPacks to load beside the bundled OFAC list (a directory or file)
        #[arg(long, value_name = "PATH")]
        tagpacks: Option<PathBuf>,
        /// Screenings per round
        #[arg(long, default_value_t = 2_000_000)]
        iterations: usize,
        /// Rounds; the median round is reported (wall-clock time on a shared machine varies)
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// The cabinet and the back-office: logins (Argon2id and a new session) and page views
    /// with a session (the case queue, a customer's orders)
    Pages {
        /// Logins to time
        #[arg(long, default_value_t = 40)]
        logins: usize,
        /// Page views per page
        #[arg(long, default_value_t = 2_000)]
        views: usize,
        /// Open cases in the queue (one order and a rejected deposit each, of 100 customers)
        #[arg(long, default_value_t = 200)]
        cases: usize,
        /// Concurrent clients for page views
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Orders and deposits through the HTTP API (screening, decision, durable commit)
    Pipeline {
        /// Concurrent clients
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Deposits to report (one order each)
        #[arg(long, default_value_t = 5_000)]
        deposits: usize,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// The Ethereum watcher on a local anvil node: deposits per second, and the delay from a
    /// block to its deposits screened and credited, with many watched addresses
    Watch {
        /// Watched addresses (one order each)
        #[arg(long, default_value_t = 10_000)]
        addresses: usize,
        /// Deposits in each block
        #[arg(long, default_value_t = 50)]
        per_block: usize,
        /// Blocks
        #[arg(long, default_value_t = 10)]
        blocks: usize,
        /// The anvil binary [default: CUSTOS_ANVIL, or .tools/node_modules/.bin/anvil]
        #[arg(long, value_name = "PATH")]
        anvil: Option<PathBuf>,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cfg: &Config, g: Global, cmd: BenchCommand) -> Result<ExitCode, String> {
    match cmd {
        BenchCommand::Screen { tagpacks, iterations, rounds, json } => {
            screen(tagpacks, iterations.max(1), rounds.max(1), json).await
        }
        BenchCommand::Pages { logins, views, cases, concurrency, json } => {
            pages(cfg, g, logins.max(1), views.max(1), cases, concurrency.max(1), json).await
        }
        BenchCommand::Pipeline { concurrency, deposits, json } => {
            pipeline(cfg, g, concurrency.max(1), deposits.max(1), json).await
        }
        BenchCommand::Watch { addresses, per_block, blocks, anvil, json } => {
            crate::bench_watch::watch(cfg, g, addresses.max(1), per_block.max(1), blocks.max(1), anvil, json).await
        }
    }
}

fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn screen(tagpacks: Option<PathBuf>, iterations: usize, rounds: usize, json: bool) -> Result<ExitCode, String> {
    let started = Instant::now();
    let mut data = ofac::bundled();
    if let Some(p) = tagpacks {
        let more = tokio::task::spawn_blocking(move || import::read(&[p], Some(Format::Tagpack)))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        data.sources.extend(more.sources);
    }
    let load_s = started.elapsed().as_secs_f64();
    let (index, samples) = build_index(&data);
    let rss = rss_mb();
    let policy = Policy::default();
    // One thread does all the work: the figure is per core.
    let (mut rates, flagged) = tokio::task::spawn_blocking(move || {
        let mut rates = Vec::with_capacity(rounds);
        let mut flagged = 0usize;
        for _ in 0..rounds {
            let t = Instant::now();
            for i in 0..iterations {
                let (network, raw) = &samples[i % samples.len()];
                let Ok(address) = Address::parse(*network, raw) else { continue };
                let report = screen_with(&index, &address);
                let decision = policy.decide(std::slice::from_ref(&report));
                flagged += usize::from(decision.action > custos_domain::Action::Proceed);
            }
            rates.push(iterations as f64 / t.elapsed().as_secs_f64());
        }
        (rates, std::hint::black_box(flagged))
    })
    .await
    .map_err(|e| e.to_string())?;
    rates.sort_by(f64::total_cmp);
    let (median, low, high) = (rates[rates.len() / 2], rates[0], rates[rates.len() - 1]);
    let labels = data.labels();
    let flagged_share = flagged as f64 / (iterations * rounds) as f64;
    if json {
        let out = json!({"bench": "screen", "screenings_per_sec": median.round(), "min_per_sec": low.round(),
            "max_per_sec": high.round(), "rounds": rounds, "iterations_per_round": iterations, "labels": labels,
            "load_seconds": load_s, "rss_mb": rss, "flagged_share": flagged_share});
        println!("{out}");
    } else {
        println!("custos bench screen (one core; parse + index lookup + policy decision)");
        println!("  labels loaded        {labels:>12}   (in {load_s:.1} s)");
        println!("  rounds x screenings  {:>12}", format!("{rounds} x {iterations}"));
        println!("  screenings / second  {median:>12.0}   (median; rounds ranged {low:.0} to {high:.0})");
        println!("  per screening        {:>12.0} ns", 1e9 / median);
        println!("  flagged              {:>11.1} %", 100.0 * flagged_share);
        if let Some(r) = rss {
            println!("  RSS with index       {r:>10.0} MB");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds an index from imported sources; the sample is half labelled addresses, half fresh
/// (unlabelled) deposit-style addresses, across the three networks.
fn build_index(data: &ImportResult) -> (custos_screening::LabelIndex, Vec<(Network, String)>) {
    let mut builder = LabelIndexBuilder::default();
    let mut labelled = Vec::new();
    for s in &data.sources {
        for (i, l) in s.labels.iter().enumerate() {
            if i % 7 == 0 && labelled.len() < 50_000 {
                labelled.push((l.network, raw_form(l.network, &l.address)));
            }
            builder.add(StoredLabel { source: s.source.name.clone(), imported_at_ms: 0, record: l.clone() });
        }
    }
    let mut samples = labelled;
    let n = samples.len().max(1_000);
    let keys = [
        DepositKey::parse(Network::Bitcoin, custos_chain::demo::BITCOIN_ZPUB),
        DepositKey::parse(Network::Ethereum, custos_chain::demo::ETHEREUM_XPUB),
        DepositKey::parse(Network::Tron, custos_chain::demo::TRON_XPUB),
    ];
    for i in 0..n {
        if let Ok(k) = &keys[i % 3] {
            if let Ok(a) = k.address(10_000 + i as u32) {
                samples.push((a.network(), a.display()));
            }
        }
    }
    // Interleave labelled and clean ones.
    let half = samples.len() / 2;
    let (a, b) = samples.split_at(half);
    let mixed = a.iter().zip(b).flat_map(|(x, y)| [x.clone(), y.clone()]).collect();
    (builder.build(), mixed)
}

/// The form a client sends (EIP-55 on Ethereum), so that parsing is measured as in production.
fn raw_form(network: Network, normalized: &str) -> String {
    Address::parse(network, normalized).map(|a| a.display()).unwrap_or_else(|_| normalized.to_owned())
}

async fn pipeline(
    cfg: &Config,
    g: Global,
    concurrency: usize,
    deposits: usize,
    json_out: bool,
) -> Result<ExitCode, String> {
    let (rt, base, scratch) = scratch_server(cfg, &g).await?;
    let database = rt.store.backend_kind().as_str();
    let (key, _) = rt.app.api_keys().create("bench", Scope::ALL.to_vec(), "cli").await.map_err(|e| e.to_string())?;

    // Sources: nine clean addresses in ten, one sanctioned.
    let clean = DepositKey::parse(Network::Ethereum, custos_chain::demo::ETHEREUM_XPUB).map_err(|e| e.to_string())?;
    let sanctioned: Vec<String> = ofac::bundled().sources[0]
        .labels
        .iter()
        .filter(|l| l.network == Network::Ethereum)
        .map(|l| l.address.clone())
        .collect();
    // Each customer pays from a wallet of their own (a shared one is a monitoring pattern).
    let sources: Arc<Vec<String>> = Arc::new(
        (0..deposits as u32)
            .map(|i| {
                if i % 10 == 9 {
                    sanctioned[i as usize % sanctioned.len()].clone()
                } else {
                    clean.address(1_000_000 + i).map(|a| a.display()).unwrap_or_default()
                }
            })
            .collect(),
    );
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().map_err(|e| e.to_string())?;
    let next = Arc::new(AtomicUsize::new(0));
    let bar = crate::progress::bar(deposits as u64, "deposits", !json_out);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, key, next, sources, bar) =
            (client.clone(), base.clone(), key.clone(), next.clone(), sources.clone(), bar.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= deposits {
                    return Ok::<_, String>(latencies);
                }
                let order: serde_json::Value = client
                    .post(format!("{base}/api/v1/orders"))
                    .bearer_auth(&key)
                    .json(&json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000000000000000000"},
                                  "receive": {"network": "bitcoin", "asset": "BTC", "amount": "5000000", "address": "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"}}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                let address = order["deposit"]["address"].as_str().ok_or("order without deposit address")?.to_owned();
                let txid = format!("0x{}", custos_crypto::sha256_hex(format!("bench-{}-{i}", std::process::id()).as_bytes()));
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/v1/deposits"))
                    .bearer_auth(&key)
                    .json(&json!({"network": "ethereum", "asset": "ETH", "address": address, "txid": txid, "index": 0,
                                  "amount": "1000000000000000000", "sources": [sources[i % sources.len()]]}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if resp.status() != reqwest::StatusCode::CREATED {
                    return Err(format!("deposit answered {}: {}", resp.status(), resp.text().await.unwrap_or_default()));
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                bar.inc(1);
            }
        }));
    }
    let mut latencies = Vec::with_capacity(deposits);
    for w in workers {
        latencies.extend(w.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let per_sec = deposits as f64 / elapsed;
    let (p50, p99) = percentiles(latencies);
    if json_out {
        println!(
            "{}",
            json!({"bench": "pipeline", "database": database, "deposits": deposits, "concurrency": concurrency,
            "deposits_per_sec": per_sec.round(), "p50_ms": p50, "p99_ms": p99, "seconds": elapsed})
        );
    } else {
        println!("custos bench pipeline ({database}, concurrency {concurrency}; each deposit follows its own order)");
        println!("  deposits             {deposits:>10}");
        println!("  elapsed              {elapsed:>10.2} s");
        println!("  deposits / second    {per_sec:>10.0}   (orders are created at the same rate)");
        println!("  decision latency p50 {p50:>10.2} ms");
        println!("  decision latency p99 {p99:>10.2} ms");
    }
    rt.store.close().await;
    if g.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(ExitCode::SUCCESS)
}

/// The median and the 99th percentile of latencies in milliseconds.
fn percentiles(mut latencies: Vec<f64>) -> (f64, f64) {
    if latencies.is_empty() {
        return (0.0, 0.0);
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    (pct(0.50), pct(0.99))
}

/// A scratch Custos with the Ethereum demo key, served on a random port.
async fn scratch_server(cfg: &Config, g: &Global) -> Result<(bootstrap::Runtime, String, PathBuf), String> {
    let scratch = std::env::temp_dir().join(format!("custos-bench-{}", std::process::id()));
    let loc =
        Location::resolve(cfg, Some(g.data_dir.clone().unwrap_or_else(|| scratch.clone())), g.database_url.clone(), "");
    let mut cfg = Config::default();
    cfg.secrets.master_key = Some(custos_crypto::MasterKey::generate().to_base64());
    cfg.deposit_keys.ethereum = Some(custos_chain::demo::ETHEREUM_XPUB.into());
    let rt = bootstrap::runtime(&cfg, &loc, bootstrap::cipher(&cfg, true)?).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The benchmark's clients all come from loopback: no per-address cap.
    let limits = custos_web::Limits { max_connections_per_ip: 0, ..Default::default() };
    let state = custos_web::AppState::new(rt.app.clone());
    tokio::spawn(custos_web::serve(listener, state, limits, None, std::future::pending()));
    Ok((rt, format!("http://{addr}"), scratch))
}

/// GETs `path` `views` times from `concurrency` clients with `cookie`; returns the latencies.
async fn views_of(
    client: &reqwest::Client,
    url: String,
    cookie: String,
    views: usize,
    concurrency: usize,
) -> Result<(Vec<f64>, f64), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, cookie, next) = (client.clone(), url.clone(), cookie.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < views {
                let t = Instant::now();
                let r = client.get(&url).header("cookie", &cookie).send().await.map_err(|e| e.to_string())?;
                if r.status() != reqwest::StatusCode::OK {
                    return Err(format!("{url} answered {}", r.status()));
                }
                r.bytes().await.map_err(|e| e.to_string())?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::with_capacity(views);
    for w in workers {
        all.extend(w.await.map_err(|e| e.to_string())??);
    }
    Ok((all, started.elapsed().as_secs_f64()))
}

/// One order with a deposit from `sanctioned`: a rejected deposit and an open case. The orders
/// belong to a hundred customers, the first of them the one who logs in.
async fn open_case(app: &custos_app::App, sanctioned: &str, i: usize) -> Result<(), String> {
    let address = |a: &str| custos_domain::Address::parse(Network::Ethereum, a).map_err(|e| e.to_string());
    let order = app
        .intake()
        .create_order(
            custos_app::model::NewOrder {
                external_id: Some(format!("bench-{i}")),
                customer_email: Some(match i % 100 {
                    0 => "bench.customer@example.com".into(),
                    n => format!("bench.customer{n}@example.com"),
                }),
                pay_network: Network::Ethereum,
                pay_asset: custos_domain::Asset::Eth,
                pay_amount: custos_domain::Amount(1_000_000),
                receive_network: Network::Ethereum,
                receive_asset: custos_domain::Asset::Eth,
                receive_amount: custos_domain::Amount(900_000),
                receive_address: address(sanctioned)?,
            },
            "bench",
        )
        .await
        .map_err(|e| e.to_string())?;
    let deposit = custos_app::model::NewDeposit {
        network: Network::Ethereum,
        asset: custos_domain::Asset::Eth,
        address: address(&order.deposit_address)?,
        txid: format!("0x{}", custos_crypto::sha256_hex(format!("pages-{i}").as_bytes())),
        index: 0,
        amount: custos_domain::Amount(1_000_000),
        sources: vec![address(sanctioned)?],
        confirmations: None,
    };
    app.intake().report_deposit(deposit, "bench").await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn pages(
    cfg: &Config,
    g: Global,
    logins: usize,
    views: usize,
    cases: usize,
    concurrency: usize,
    json_out: bool,
) -> Result<ExitCode, String> {
    use custos_app::accounts::records::AccountKind;
    let (rt, base, scratch) = scratch_server(cfg, &g).await?;
    let database = rt.store.backend_kind().as_str();
    let accounts = rt.app.accounts();
    let password = "bench passphrase for custos 42";
    let fail = |e: custos_app::accounts::AuthError| e.to_string();
    accounts.register_customer("bench.customer@example.com", password, "en").await.map_err(fail)?;
    accounts
        .create_staff("bench.officer@example.com", password, custos_domain::access::Role::Officer, None)
        .await
        .map_err(fail)?;
    // The queue: orders of the customer with rejected deposits (a sanctioned source).
    let sanctioned = ofac::bundled().sources[0]
        .labels
        .iter()
        .find(|l| l.network == Network::Ethereum)
        .map(|l| l.address.clone())
        .ok_or("no sanctioned Ethereum address")?;
    // Made by eight clients at once, as orders arrive.
    let bar = crate::progress::bar(cases as u64, "cases", !json_out);
    let next = Arc::new(AtomicUsize::new(0));
    let mut makers = Vec::new();
    for _ in 0..8 {
        let (app, next, bar, sanctioned) = (rt.app.clone(), next.clone(), bar.clone(), sanctioned.clone());
        makers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cases {
                    return Ok::<_, String>(());
                }
                open_case(&app, &sanctioned, i).await?;
                bar.inc(1);
            }
        }));
    }
    for m in makers {
        m.await.map_err(|e| e.to_string())??;
    }
    bar.finish_and_clear();

    // Logins: one after another, as a person logs in (Argon2id dominates).
    let mut login_ms = Vec::with_capacity(logins);
    let mut token = String::new();
    for _ in 0..logins {
        let t = Instant::now();
        let (tk, _) = accounts
            .login(AccountKind::Customer, "bench.customer@example.com", password, "127.0.0.1", None)
            .await
            .map_err(fail)?;
        login_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        token = tk;
    }
    // The officer's session (MFA enrolled) for the queue.
    let (staff_token, _) = accounts
        .login(AccountKind::Staff, "bench.officer@example.com", password, "127.0.0.1", None)
        .await
        .map_err(fail)?;
    let auth = accounts.session(&staff_token).await.map_err(|e| e.to_string())?.ok_or("no staff session")?;
    let setup = accounts.begin_mfa(&auth).await.map_err(fail)?;
    let secret = custos_crypto::totp::base32_decode(&setup.secret_base32).ok_or("bad TOTP secret")?;
    let now = rt.app.now_ms();
    let code = format!("{:06}", custos_crypto::totp::code_at(&secret, custos_crypto::totp::step_of(now), 6));
    let (staff_token, _) = accounts.confirm_mfa(&auth, &staff_token, &code, "127.0.0.1").await.map_err(fail)?;

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().map_err(|e| e.to_string())?;
    let staff_cookie = format!("__Host-custos_staff={staff_token}");
    let (queue, queue_s) =
        views_of(&client, format!("{base}/office"), staff_cookie.clone(), views, concurrency).await?;
    // The queue searched (one transaction id; the customer's e-mail, which matches every case)
    // and filtered and sorted on a deep page.
    let txid = format!("0x{}", custos_crypto::sha256_hex(format!("pages-{}", cases / 2).as_bytes()));
    let searched = [format!("{base}/office?q={txid}"), format!("{base}/office?q=bench.customer%40example.com")];
    let filtered =
        format!("{base}/office?status=open&action=reject&category=sanctions&network=ethereum&sort=score&page=3");
    let (mut search, mut search_s) = (Vec::new(), 0.0);
    for url in searched {
        let (t, s) = views_of(&client, url, staff_cookie.clone(), views / 2, concurrency).await?;
        search.extend(t);
        search_s += s;
    }
    let (filter, filter_s) = views_of(&client, filtered, staff_cookie.clone(), views, concurrency).await?;
    let (overview, overview_s) =
        views_of(&client, format!("{base}/office/overview"), staff_cookie.clone(), views, concurrency).await?;
    // The whole queue as CSV, streamed: a few exports, one at a time.
    const EXPORTS: usize = 3;
    let (export, _) =
        views_of(&client, format!("{base}/office/cases.csv?status=any"), staff_cookie, EXPORTS, 1).await?;
    let (orders, orders_s) =
        views_of(&client, format!("{base}/cabinet"), format!("__Host-custos_customer={token}"), views, concurrency)
            .await?;
    let (login_p50, login_p99) = percentiles(login_ms);
    let (queue_p50, queue_p99) = percentiles(queue);
    let (search_p50, search_p99) = percentiles(search);
    let (filter_p50, filter_p99) = percentiles(filter);
    let (orders_p50, orders_p99) = percentiles(orders);
    let (overview_p50, overview_p99) = percentiles(overview);
    let overview_rate = views as f64 / overview_s;
    let (export_p50, export_max) = (percentiles(export.clone()).0, export.iter().cloned().fold(0.0, f64::max));
    let (queue_rate, orders_rate) = (views as f64 / queue_s, views as f64 / orders_s);
    let (search_rate, filter_rate) = ((views / 2 * 2) as f64 / search_s, views as f64 / filter_s);
    if json_out {
        println!(
            "{}",
            json!({"bench": "pages", "database": database, "cases": cases, "concurrency": concurrency,
                   "login_p50_ms": login_p50, "login_p99_ms": login_p99,
                   "queue_per_sec": queue_rate.round(), "queue_p50_ms": queue_p50, "queue_p99_ms": queue_p99,
                   "queue_search_per_sec": search_rate.round(), "queue_search_p50_ms": search_p50,
                   "queue_search_p99_ms": search_p99, "queue_filter_per_sec": filter_rate.round(),
                   "queue_filter_p50_ms": filter_p50, "queue_filter_p99_ms": filter_p99,
                   "orders_per_sec": orders_rate.round(), "orders_p50_ms": orders_p50, "orders_p99_ms": orders_p99,
                   "overview_per_sec": overview_rate.round(), "overview_p50_ms": overview_p50,
                   "overview_p99_ms": overview_p99, "export_cases_p50_ms": export_p50, "export_cases_max_ms": export_max})
        );
    } else {
        println!("custos bench pages ({database}; {cases} open cases of 100 customers, concurrency {concurrency})");
        println!("  login (Argon2id + session)  p50 {login_p50:>8.1} ms   p99 {login_p99:>8.1} ms");
        println!("  /office queue     {queue_rate:>8.0} pages/s   p50 {queue_p50:>8.1} ms   p99 {queue_p99:>8.1} ms");
        println!(
            "    searched        {search_rate:>8.0} pages/s   p50 {search_p50:>8.1} ms   p99 {search_p99:>8.1} ms"
        );
        println!(
            "    filtered, p. 3  {filter_rate:>8.0} pages/s   p50 {filter_p50:>8.1} ms   p99 {filter_p99:>8.1} ms"
        );
        println!(
            "  /office/overview  {overview_rate:>8.0} pages/s   p50 {overview_p50:>8.1} ms   p99 {overview_p99:>8.1} ms"
        );
        println!("  cases.csv (all {cases})          p50 {export_p50:>8.1} ms   max {export_max:>8.1} ms");
        println!(
            "  /cabinet orders   {orders_rate:>8.0} pages/s   p50 {orders_p50:>8.1} ms   p99 {orders_p99:>8.1} ms"
        );
    }
    rt.store.close().await;
    if g.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(ExitCode::SUCCESS)
}
