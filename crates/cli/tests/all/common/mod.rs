//! Test harness: a real Custos on a fresh SQLite file or a fresh PostgreSQL database, with the
//! demo deposit keys, the bundled OFAC list, a few extra labels, and a clock tests can move.
//!
//! PostgreSQL: `CUSTOS_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/test).
//! Set it to `skip` to run only the SQLite half; the test command says so plainly.
#![allow(dead_code)]

use custos_app::model::{LabelRecord, LabelSource, Scope};
pub use custos_app::repos::*;
use custos_app::screening::Screener;
use custos_app::{App, AppParts, Clock, ManualClock, Store};
use custos_chain::DepositKey;
use custos_cli::bootstrap;
use custos_crypto::{FieldCipher, MasterKey};
use custos_domain::{Network, Policy, RiskCategory};
use custos_screening::BuiltinAnalyzer;
use custos_store::{ConnectOptions, SqlStore};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// 2026-01-01T00:00:00Z
pub const START_MS: i64 = 1_767_225_600_000;

/// Labelled test addresses (besides the bundled OFAC list).
pub const SANCTIONED_ETH: &str = "0x8589427373D6D84E98730D7795D8f6f8731FDA16"; // OFAC SDN (Tornado Cash)
pub const GAMBLING_ETH: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
pub const EXCHANGE_ETH: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
pub const MIXER_BTC: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
pub const CLEAN_ETH: &str = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB";
pub const CLEAN_BTC: &str = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";

pub fn postgres_base_url() -> Option<String> {
    let url =
        std::env::var("CUSTOS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    (url != "skip").then_some(url)
}

/// A database made for one test and dropped after it.
pub struct TestDb {
    pub url: String,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("custos-test-{tag}"));
                std::fs::create_dir_all(&dir).unwrap();
                let url = bootstrap::default_database_url(&dir);
                Some(TestDb { url, dir: Some(dir), pg: None })
            }
            Backend::Postgres => {
                let base = postgres_base_url()?;
                sqlx::any::install_default_drivers();
                let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is not reachable at {base} ({e}); set CUSTOS_TEST_POSTGRES_URL=skip to run only SQLite")
                });
                let name = format!("custos_t_{tag}");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
                let url = match base.rfind('/') {
                    Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
                        let query = base[i..].find('?').map(|q| &base[i + q..]).unwrap_or("");
                        format!("{}/{name}{query}", &base[..i])
                    }
                    _ => panic!("CUSTOS_TEST_POSTGRES_URL must name a database: {base}"),
                };
                Some(TestDb { url, dir: None, pg: Some((base, name)) })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((base, name)) = self.pg.take() {
            // Drop runs inside the test's runtime: do the async work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::AnyConnection::connect(&base).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await;
                    }
                });
            })
            .join();
        }
    }
}

/// Custos assembled for a test.
pub struct TestApp {
    pub backend: Backend,
    pub app: Arc<App>,
    pub store: Arc<SqlStore>,
    pub builtin: Arc<BuiltinAnalyzer>,
    pub clock: Arc<ManualClock>,
    pub master_key: MasterKey,
    pub db: Arc<TestDb>,
    /// Every e-mail Custos sent.
    pub mailer: Arc<custos_app::mail::MemoryMailer>,
}

pub struct Options {
    pub policy: Policy,
    pub networks: Vec<Network>,
    pub analyzer_timeout: Duration,
    pub monitoring: custos_app::monitoring::MonitoringRules,
    /// The KYC provider (SumSub pointed at a local fake), if any.
    pub kyc: Option<Arc<dyn custos_app::ports::KycProvider>>,
    pub deadlines: custos_app::service::Deadlines,
    /// Analyzers after the built-in one (vendors pointed at a local fake).
    pub vendors:
        Vec<(Arc<dyn custos_app::Analyzer>, custos_app::screening::CallSettings, custos_app::screening::RunRule)>,
    /// `[api] answers_by_key`: API keys may answer requests on the customer's behalf.
    pub answers_by_key: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            policy: Policy::default(),
            networks: Network::ALL.to_vec(),
            analyzer_timeout: Duration::from_secs(5),
            monitoring: Default::default(),
            vendors: Vec::new(),
            kyc: None,
            deadlines: Default::default(),
            answers_by_key: false,
        }
    }
}

pub fn demo_key(network: Network) -> DepositKey {
    let k = match network {
        Network::Bitcoin => custos_chain::demo::BITCOIN_ZPUB,
        Network::Ethereum => custos_chain::demo::ETHEREUM_XPUB,
        Network::Tron => custos_chain::demo::TRON_XPUB,
    };
    DepositKey::parse(network, k).unwrap()
}

pub async fn open(url: &str) -> Arc<SqlStore> {
    let store = SqlStore::connect(url, &ConnectOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

impl TestApp {
    /// `None` when PostgreSQL is skipped.
    pub async fn new(backend: Backend) -> Option<TestApp> {
        Self::with(backend, Options::default()).await
    }

    pub async fn with(backend: Backend, opts: Options) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        let store = open(&db.url).await;
        let clock = Arc::new(ManualClock::new(START_MS));
        bootstrap::ensure_default_labels(store.as_ref(), clock.as_ref()).await.unwrap();
        add_labels(
            store.as_ref(),
            "test-desk",
            &[
                (Network::Ethereum, GAMBLING_ETH, RiskCategory::Gambling),
                (Network::Ethereum, EXCHANGE_ETH, RiskCategory::Exchange),
                (Network::Bitcoin, MIXER_BTC, RiskCategory::MixingService),
            ],
            clock.now_ms(),
        )
        .await;
        let master_key = MasterKey::generate();
        let t = Self::assemble(backend, Arc::new(db), store, clock, (master_key, vec![]), opts).await;
        Some(t)
    }

    async fn assemble(
        backend: Backend,
        db: Arc<TestDb>,
        store: Arc<SqlStore>,
        clock: Arc<ManualClock>,
        keys: (MasterKey, Vec<MasterKey>),
        opts: Options,
    ) -> TestApp {
        Self::try_assemble(backend, db, store, clock, keys, opts).await.unwrap()
    }

    async fn try_assemble(
        backend: Backend,
        db: Arc<TestDb>,
        store: Arc<SqlStore>,
        clock: Arc<ManualClock>,
        (master_key, previous_keys): (MasterKey, Vec<MasterKey>),
        opts: Options,
    ) -> Result<TestApp, String> {
        let builtin = Arc::new(BuiltinAnalyzer::new(bootstrap::load_index(store.as_ref()).await.unwrap()));
        let mailer = Arc::new(custos_app::mail::MemoryMailer::default());
        let app = App::new(AppParts {
            store: store.clone(),
            screener: {
                let mut list: Vec<(Arc<dyn custos_app::Analyzer>, _, _)> = vec![(
                    builtin.clone(),
                    custos_app::screening::CallSettings::uncached(opts.analyzer_timeout),
                    custos_app::screening::RunRule::default(),
                )];
                list.extend(opts.vendors);
                Screener::new(clock.clone(), list).unwrap()
            },
            policy: opts.policy,
            derivers: opts
                .networks
                .iter()
                .map(|&n| Arc::new(demo_key(n)) as Arc<dyn custos_app::AddressDeriver>)
                .collect(),
            cipher: FieldCipher::new(master_key.clone(), previous_keys),
            clock: clock.clone(),
            deadlines: opts.deadlines,
            monitoring: opts.monitoring,
            auth: Default::default(),
            mailer: mailer.clone(),
            kyc: opts.kyc,
            kyc_rules: Default::default(),
            answers_by_key: opts.answers_by_key,
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(TestApp { backend, app: Arc::new(app), store, builtin, clock, master_key, db, mailer })
    }

    /// The same database opened again, as after a restart.
    pub async fn restart(self, opts: Options) -> TestApp {
        let TestApp { backend, store, clock, master_key, db, .. } = self;
        store.close().await;
        let store = open(&db.url).await;
        Self::assemble(backend, db, store, clock, (master_key, vec![]), opts).await
    }

    /// The same database opened again with other master keys (a rotation: `current` seals,
    /// `previous` still open).
    pub async fn restart_with_keys(self, current: MasterKey, previous: Vec<MasterKey>) -> TestApp {
        self.try_restart_with_keys(current, previous).await.unwrap()
    }

    /// [`Self::restart_with_keys`], telling why the application does not start.
    pub async fn try_restart_with_keys(self, current: MasterKey, previous: Vec<MasterKey>) -> Result<TestApp, String> {
        let TestApp { backend, store, clock, db, .. } = self;
        store.close().await;
        let store = open(&db.url).await;
        Self::try_assemble(backend, db, store, clock, (current, previous), Options::default()).await
    }

    /// Starts the HTTP API on a random port; returns its base URL and a key with every scope.
    pub async fn serve(&self) -> (String, String) {
        let (key, _) = self.app.api_keys().create("test", Scope::ALL.to_vec(), "test").await.unwrap();
        (self.serve_only().await, key)
    }

    pub async fn serve_only(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = custos_web::AppState::new(self.app.clone());
        // The tests' clients all come from loopback, many at once: no per-address cap here (the
        // limits have tests of their own).
        let limits = custos_web::Limits { max_connections_per_ip: 0, ..Default::default() };
        tokio::spawn(custos_web::serve(listener, state, limits, None, std::future::pending()));
        format!("http://{addr}")
    }
}

pub async fn add_labels(store: &dyn Store, source: &str, labels: &[(Network, &str, RiskCategory)], at_ms: i64) {
    let records: Vec<LabelRecord> = labels
        .iter()
        .map(|(n, a, c)| LabelRecord {
            network: *n,
            address: custos_domain::Address::parse(*n, a).unwrap().as_str().to_owned(),
            category: *c,
            label: format!("{source} {c}"),
            confidence: 90,
        })
        .collect();
    let src = LabelSource { name: source.into(), kind: "csv".into(), attribution: "tests".into() };
    store.replace_label_source(&src, &records, at_ms, &|_| {}).await.unwrap();
}

/// Declares a test that runs on SQLite and on PostgreSQL:
/// `both!(name, |t: TestApp| async move { ... });` makes `name::sqlite` and `name::postgres`;
/// `both!(name, options = Options { .. }, |t| ...)` starts them with other options.
#[macro_export]
macro_rules! both {
    ($name:ident, options = $opts:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::common::TestApp::with($crate::common::Backend::Sqlite, $opts).await.unwrap();
                let db = t.db.clone();
                ($body)(t).await;
                drop(db);
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::common::TestApp::with($crate::common::Backend::Postgres, $opts).await {
                    Some(t) => {
                        let db = t.db.clone();
                        ($body)(t).await;
                        drop(db);
                    }
                    None => eprintln!("PostgreSQL skipped (CUSTOS_TEST_POSTGRES_URL=skip)"),
                }
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::common::TestApp::new($crate::common::Backend::Sqlite).await.unwrap();
                // The body may capture only some fields of `t`: keep the database alive.
                let db = t.db.clone();
                ($body)(t).await;
                drop(db);
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::common::TestApp::new($crate::common::Backend::Postgres).await {
                    Some(t) => {
                        let db = t.db.clone();
                        ($body)(t).await;
                        drop(db);
                    }
                    None => eprintln!("PostgreSQL skipped (CUSTOS_TEST_POSTGRES_URL=skip)"),
                }
            }
        }
    };
}

/// POSTs JSON with a bearer key; returns the status and the JSON body (null if none).
pub async fn post(
    c: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    key: &str,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let r = c.post(url).bearer_auth(key).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// A server process that is killed (SIGKILL) when the test ends, however it ends.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// GETs JSON with a bearer key.
pub async fn get(c: &reqwest::Client, url: impl reqwest::IntoUrl, key: &str) -> serde_json::Value {
    c.get(url).bearer_auth(key).send().await.unwrap().json().await.unwrap()
}

/// The TOTP code of a base32 secret at a moment.
pub fn totp_code(secret_b32: &str, now_ms: i64) -> String {
    use custos_crypto::totp;
    let secret = totp::base32_decode(secret_b32).unwrap();
    format!("{:06}", totp::code_at(&secret, totp::step_of(now_ms), totp::DIGITS))
}

/// Logs in with a password and sets up TOTP; returns the full session's token and the secret.
pub async fn enrol(
    t: &TestApp,
    kind: custos_app::accounts::records::AccountKind,
    email: &str,
    password: &str,
    ip: &str,
) -> (String, String) {
    use custos_app::Clock;
    let accounts = t.app.accounts();
    let (token, _) = accounts.login(kind, email, password, ip, None).await.unwrap();
    let auth = accounts.session(&token).await.unwrap().unwrap();
    let setup = accounts.begin_mfa(&auth).await.unwrap();
    let code = totp_code(&setup.secret_base32, t.clock.now_ms());
    let (token, _) = accounts.confirm_mfa(&auth, &token, &code, ip).await.unwrap();
    (token, setup.secret_base32)
}

/// A member of staff with this role, logged in with MFA and freshly stepped up: the person a
/// decision or its approval needs.
pub async fn officer(
    t: &TestApp,
    email: &str,
    role: custos_domain::access::Role,
) -> custos_app::accounts::Authenticated {
    use custos_app::Clock;
    let password = "violet tractor 42 umbrella";
    t.app.accounts().create_staff(email, password, role, None).await.unwrap();
    let (token, secret) =
        enrol(t, custos_app::accounts::records::AccountKind::Staff, email, password, "127.0.0.1").await;
    t.clock.advance_ms(30_000);
    let auth = t.app.accounts().session(&token).await.unwrap().unwrap();
    let code = totp_code(&secret, t.clock.now_ms());
    t.app.accounts().step_up(&auth, &token, &code, "127.0.0.1").await.unwrap();
    t.app.accounts().session(&token).await.unwrap().unwrap()
}

/// The customer account of `email` (registered and confirmed here) as the audit actor the
/// cabinet answers with.
pub async fn customer_actor(t: &TestApp, email: &str) -> String {
    let accounts = t.app.accounts();
    accounts.register_customer(email, "violet tractor 42 umbrella", "en").await.unwrap();
    let all = t.store.list_accounts(custos_app::accounts::records::AccountKind::Customer).await.unwrap();
    let account = all.into_iter().find(|a| accounts.email_of(a).is_ok_and(|e| e == email)).unwrap();
    format!("customer:{}", account.id)
}

/// An ETH order (of `email`, if given) and its deposit of `amount` wei from `source`; `seed`
/// makes the transaction id. Returns the order and the deposit's answer.
pub async fn order_with_deposit(
    c: &reqwest::Client,
    base: &str,
    key: &str,
    email: Option<&str>,
    source: &str,
    seed: u8,
) -> (serde_json::Value, serde_json::Value) {
    let mut body = serde_json::json!({
        "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000000"},
        "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}});
    if let Some(e) = email {
        body["customer_email"] = e.into();
    }
    let (status, order) = post(c, format!("{base}/api/v1/orders"), key, body).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{order}");
    let (_, deposit) = post(
        c,
        format!("{base}/api/v1/deposits"),
        key,
        serde_json::json!({"network": "ethereum", "asset": "ETH", "address": order["deposit"]["address"], "index": 0,
               "amount": "1000000", "txid": format!("0x{}", format!("{seed:02x}").repeat(32)), "sources": [source]}),
    )
    .await;
    (order, deposit)
}

/// A small PNG with a text chunk carrying personal data.
pub fn png_with_text() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    };
    let mut ihdr = 800u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&600u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend(chunk(b"IHDR", &ihdr));
    b.extend(chunk(b"tEXt", b"GPS\0home of Rita Ivanova"));
    b.extend(chunk(b"IDAT", b"passport pixels"));
    b.extend(chunk(b"IEND", b""));
    b
}

/// An ETH → BTC order of `email` (the customer), as the exchange would create it.
pub fn new_order(email: &str) -> custos_app::model::NewOrder {
    custos_app::model::NewOrder {
        external_id: None,
        customer_email: Some(email.into()),
        pay_network: Network::Ethereum,
        pay_asset: custos_domain::Asset::Eth,
        pay_amount: custos_domain::Amount(1000),
        receive_network: Network::Bitcoin,
        receive_asset: custos_domain::Asset::Btc,
        receive_amount: custos_domain::Amount(10),
        receive_address: custos_domain::Address::parse(Network::Bitcoin, CLEAN_BTC).unwrap(),
    }
}

// People over HTTP: staff and customers with their session cookie.

pub const PASSWORD: &str = "violet tractor 42 umbrella";

/// A decision's rationale, as an officer writes it.
pub const WHY: &str = "Checked the sources and the customer's answers.";

/// [`WHY`], parsed.
pub fn why() -> custos_domain::decision::Rationale {
    custos_domain::decision::Rationale::parse(WHY).unwrap()
}
pub const IP: &str = "127.0.0.1";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A logged-in member of staff (or customer) over HTTP.
pub struct Person {
    pub cookie: String,
    pub token: String,
    pub secret: String,
}

impl Person {
    /// The `Cookie` header of this person's session.
    pub fn cookie_header(&self) -> String {
        format!("{}={}", self.cookie, self.token)
    }

    pub fn csrf(&self) -> String {
        custos_crypto::derive_token(&self.token, "csrf")
    }

    pub async fn get(&self, c: &reqwest::Client, url: String) -> (reqwest::StatusCode, String) {
        let r = c.get(url).header("cookie", format!("{}={}", self.cookie, self.token)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A page as a browser whose language switch says Russian reads it.
    pub async fn get_ru(&self, c: &reqwest::Client, url: String) -> String {
        let cookie = format!("{}; custos_lang=ru", self.cookie_header());
        c.get(url).header("cookie", cookie).send().await.unwrap().text().await.unwrap()
    }

    /// A form's fields with this session's CSRF token.
    fn form(&self, fields: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut form = vec![("csrf".to_owned(), self.csrf())];
        form.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        form
    }

    pub async fn post(
        &self,
        c: &reqwest::Client,
        url: String,
        fields: &[(&str, &str)],
    ) -> (reqwest::StatusCode, String) {
        let r = c.post(url).header("cookie", self.cookie_header()).form(&self.form(fields)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

impl Person {
    /// Posts a form as a browser does: a redirect after it (post, then redirect) is followed
    /// with a GET; the final status and page.
    pub async fn submit(
        &self,
        c: &reqwest::Client,
        url: String,
        fields: &[(&str, &str)],
    ) -> (reqwest::StatusCode, String) {
        let r = c.post(&url).header("cookie", self.cookie_header()).form(&self.form(fields)).send().await.unwrap();
        if !r.status().is_redirection() {
            return (r.status(), r.text().await.unwrap());
        }
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let next = r.url().join(&location).unwrap();
        let r = c.get(next).header("cookie", self.cookie_header()).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

pub async fn staff(t: &TestApp, email: &str, role: custos_domain::access::Role) -> Person {
    t.app.accounts().create_staff(email, PASSWORD, role, None).await.unwrap();
    let (token, secret) = enrol(t, custos_app::accounts::records::AccountKind::Staff, email, PASSWORD, IP).await;
    Person { cookie: "__Host-custos_staff".into(), token, secret }
}

/// A customer registered, with the e-mail confirmed from the mail's link, and logged in.
pub async fn confirmed_customer_session(t: &TestApp, email: &str) -> Person {
    let accounts = t.app.accounts();
    accounts.register_customer(email, PASSWORD, "en").await.unwrap();
    let link = t.mailer.last_to(email).unwrap().body;
    accounts.confirm_email(link.split("token=").nth(1).unwrap().split_whitespace().next().unwrap()).await.unwrap();
    let kind = custos_app::accounts::records::AccountKind::Customer;
    let token = accounts.login(kind, email, PASSWORD, IP, None).await.unwrap().0;
    Person { cookie: "__Host-custos_customer".into(), token, secret: String::new() }
}

/// A customer registered and logged in (no MFA).
pub async fn customer_session(t: &TestApp, email: &str) -> Person {
    let accounts = t.app.accounts();
    accounts.register_customer(email, PASSWORD, "en").await.unwrap();
    let kind = custos_app::accounts::records::AccountKind::Customer;
    let token = accounts.login(kind, email, PASSWORD, IP, None).await.unwrap().0;
    Person { cookie: "__Host-custos_customer".into(), token, secret: String::new() }
}

pub async fn step_up(t: &TestApp, c: &reqwest::Client, base: &str, p: &Person) {
    use custos_app::Clock;
    t.clock.advance_ms(30_000);
    let code = totp_code(&p.secret, t.clock.now_ms());
    let (status, _) = p.post(c, format!("{base}/office/stepup"), &[("code", &code), ("back", "/office")]).await;
    assert!(status.is_redirection(), "step-up: {status}");
}

pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    html.split(start).nth(1).and_then(|r| r.split(end).next()).unwrap_or("")
}
