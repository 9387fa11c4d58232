//! A local HTTP server that speaks the vendors' documented APIs with their documented payloads
//! (the vendors cannot be reached from here). Each route answers from a queue of canned
//! responses (the last one repeats), checks the vendor's authentication, and logs every call.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The shared vendor fixtures (`CUSTOS_SHARED_DIR`, else the folder beside the repository).
pub fn fixture(vendor: &str, name: &str) -> String {
    let shared = std::env::var("CUSTOS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = shared.join("vendor-apis/fixtures").join(vendor).join(format!("{name}.json"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set CUSTOS_SHARED_DIR to the shared folder)", path.display()))
}

/// The signing credentials of the BitOK vectors.
pub fn bitok_vectors() -> serde_json::Value {
    serde_json::from_str(&fixture("bitok", "signing_vectors")).unwrap()
}

#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub body: String,
    pub content_type: &'static str,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: impl Into<String>) -> Canned {
        Canned { status, body: body.into(), content_type: "application/json", delay: Duration::ZERO }
    }

    pub fn ok(body: impl Into<String>) -> Canned {
        Canned::json(200, body)
    }

    pub fn slow(mut self, delay: Duration) -> Canned {
        self.delay = delay;
        self
    }
}

/// How the server checks a caller.
#[derive(Clone)]
pub enum Auth {
    None,
    /// BitOK: API-KEY-ID and an HMAC signature over the request.
    Bitok {
        key_id: String,
        secret: Arc<Mutex<String>>,
    },
    /// A static key in a header (CoinKYT `X-API-Key`, Chainalysis `Token`).
    Header {
        name: &'static str,
        value: Arc<Mutex<String>>,
    },
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path_and_query: String,
    pub body: String,
}

#[derive(Default)]
struct Inner {
    routes: HashMap<(String, String), VecDeque<Canned>>,
    log: Vec<Logged>,
}

#[derive(Clone)]
pub struct FakeVendor {
    inner: Arc<Mutex<Inner>>,
    auth: Arc<Mutex<Auth>>,
    pub base_url: String,
}

impl FakeVendor {
    pub async fn start(auth: Auth) -> FakeVendor {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let auth = Arc::new(Mutex::new(auth));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (i, a) = (inner.clone(), auth.clone());
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (i, a) = (i.clone(), a.clone());
            async move { answer(&i, &a, method, uri, headers, body).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeVendor { inner, auth, base_url }
    }

    /// Queues answers for `METHOD path` (path without query).
    pub fn on(&self, method: &str, path: &str, answers: Vec<Canned>) -> &Self {
        self.inner.lock().unwrap().routes.insert((method.to_owned(), path.to_owned()), answers.into());
        self
    }

    pub fn log(&self) -> Vec<Logged> {
        self.inner.lock().unwrap().log.clone()
    }

    pub fn calls_to(&self, path_prefix: &str) -> usize {
        self.log().iter().filter(|l| l.path_and_query.starts_with(path_prefix)).count()
    }

    /// Changes the key the server expects (a rotation at the vendor).
    pub fn rotate(&self, new_secret: &str) {
        match &*self.auth.lock().unwrap() {
            Auth::Bitok { secret, .. } => *secret.lock().unwrap() = new_secret.to_owned(),
            Auth::Header { value, .. } => *value.lock().unwrap() = new_secret.to_owned(),
            Auth::None => {}
        }
    }
}

fn bitok_signature(secret: &str, method: &str, path_and_query: &str, ts: &str, body: &[u8]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut text = format!("{method}\n{path_and_query}\n{ts}").into_bytes();
    if !body.is_empty() {
        text.push(b'\n');
        text.extend_from_slice(body);
    }
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&text);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn answer(
    inner: &Mutex<Inner>,
    auth: &Mutex<Auth>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let authorised = match &*auth.lock().unwrap() {
        Auth::None => true,
        Auth::Bitok { key_id, secret } => {
            let expected = bitok_signature(
                &secret.lock().unwrap(),
                method.as_str(),
                &path_and_query,
                &header("API-TIMESTAMP"),
                &body,
            );
            header("API-KEY-ID") == *key_id && header("API-SIGNATURE") == expected
        }
        Auth::Header { name, value } => header(name) == *value.lock().unwrap(),
    };
    let canned = {
        let mut i = inner.lock().unwrap();
        i.log.push(Logged {
            method: method.to_string(),
            path_and_query: path_and_query.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        if !authorised {
            Some(Canned::json(401, r#"{"detail":"Invalid signature or key"}"#))
        } else {
            i.routes.get_mut(&(method.to_string(), uri.path().to_owned())).map(|q| {
                if q.len() > 1 {
                    q.pop_front().unwrap()
                } else {
                    q.front().unwrap().clone()
                }
            })
        }
    };
    let c = canned.unwrap_or_else(|| Canned::json(404, r#"{"detail":"Not Found"}"#));
    if !c.delay.is_zero() {
        tokio::time::sleep(c.delay).await;
    }
    (StatusCode::from_u16(c.status).unwrap(), [("content-type", c.content_type)], c.body).into_response()
}

/// Fast polling for tests: the flows are the same, the pauses are short.
pub fn quick_poll() -> custos_analyzers::PollSettings {
    custos_analyzers::PollSettings {
        first: Duration::from_millis(10),
        max: Duration::from_millis(40),
        budget: Duration::from_secs(3),
    }
}

pub fn address(network: custos_domain::Network, s: &str) -> custos_domain::Address {
    custos_domain::Address::parse(network, s).unwrap()
}

/// A deposit of USDT on Ethereum to our address, from one source.
pub fn eth_deposit(txid: &str) -> custos_app::ports::Transfer {
    use custos_domain::Network::Ethereum;
    custos_app::ports::Transfer {
        network: Ethereum,
        asset: custos_domain::Asset::Usdt,
        txid: txid.to_owned(),
        index: 3,
        amount: custos_domain::Amount(1_206_000_000),
        direction: custos_app::ports::Direction::Incoming,
        address: address(Ethereum, "0x98cb5718876aab18e3a8429a18ad543f6369a6f3"),
        counterparties: vec![address(Ethereum, "0x56eddb7aa87536c09ccc2793473599fd21a8b17f")],
        customer_ref: Some("c0ffee00c0ffee00c0ffee00c0ffee00".into()),
    }
}

/// The categories of a report as (category, exposure %, direct, vendor code), sorted.
pub fn findings(r: &custos_domain::RiskReport) -> Vec<(String, f64, bool, String)> {
    let mut v: Vec<_> = r
        .categories
        .iter()
        .map(|f| {
            (
                f.category.as_str().to_owned(),
                f.exposure.as_percent(),
                f.direct,
                f.vendor_code.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

pub fn error_of(r: &custos_domain::RiskReport) -> String {
    match &r.status {
        custos_domain::risk::ReportStatus::Failed { error } => error.clone(),
        custos_domain::risk::ReportStatus::Completed => panic!("expected a failed report, got {r:?}"),
    }
}
