//! BitOK KYT Office (`vendor-apis/bitok.md`): HMAC-signed requests; a deposit is a registered
//! transfer (or a manual transfer check), polled until its exposure is checked, then its
//! exposure and risks are read; an address is a manual address check.

use crate::common::{
    self, number, poll, share, CallError, CheckError, ConfigError, Endpoint, Evidence, PollSettings, Step, Verdict,
};
use crate::credential::Secret;
use crate::mapping::{self, Vendor};
use base64::Engine;
use custos_app::ports::{Direction, Transfer};
use custos_domain::risk::{Exposure, RiskScore};
use custos_domain::{Address, Asset, Network};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::Arc;

/// `base64(HMAC-SHA256(secret, METHOD \n path?query \n timestamp [\n body]))`.
pub fn sign(secret: &str, method: &str, path_with_query: &str, timestamp_ms: &str, body: Option<&[u8]>) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(method.to_ascii_uppercase().as_bytes());
    mac.update(b"\n");
    mac.update(path_with_query.as_bytes());
    mac.update(b"\n");
    mac.update(timestamp_ms.as_bytes());
    if let Some(body) = body {
        mac.update(b"\n");
        mac.update(body);
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// How deposits are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferMode {
    /// `POST /v1/transfers/register/`, bound to the (opaque) customer.
    #[default]
    Register,
    /// `POST /v1/manual-checks/check-transfer/`, tied to no customer.
    Manual,
}

pub struct BitokConfig {
    pub name: String,
    pub base_url: String,
    pub key_id: String,
    pub secret: Secret,
    pub poll: PollSettings,
    pub transfer_mode: TransferMode,
}

pub struct Bitok {
    name: String,
    source: Arc<str>,
    endpoint: Endpoint,
    key_id: String,
    secret: Secret,
    poll: PollSettings,
    mode: TransferMode,
}

fn network_code(n: Network) -> &'static str {
    match n {
        Network::Bitcoin => "BTC",
        Network::Ethereum => "ETH",
        Network::Tron => "TRX",
    }
}

/// The token id BitOK expects: the token's contract, or `native`.
fn token_id(network: Network, asset: Asset) -> &'static str {
    match (network, asset) {
        (Network::Ethereum, Asset::Usdt) => "0xdac17f958d2ee523a2206206994597c13d831ec7",
        (Network::Ethereum, Asset::Usdc) => "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
        (Network::Tron, Asset::Usdt) => "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        (Network::Tron, Asset::Usdc) => "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8",
        _ => "native",
    }
}

impl Bitok {
    pub fn new(config: BitokConfig) -> Result<Bitok, ConfigError> {
        if config.key_id.trim().is_empty() {
            return Err(ConfigError::Missing { analyzer: config.name, field: "key_id" });
        }
        Ok(Bitok {
            source: Arc::from(format!("{} (BitOK)", config.name)),
            name: config.name,
            endpoint: Endpoint::new(&config.base_url)?,
            key_id: config.key_id,
            secret: config.secret,
            poll: config.poll,
            mode: config.transfer_mode,
        })
    }

    /// One signed call. The path gets its trailing slash (BitOK's paths all end with one).
    async fn call(&self, method: Method, path: &str, body: Option<Value>, ev: &Evidence) -> Result<Value, CallError> {
        let secret = self.secret.read().map_err(|e| CallError::Fatal(e.to_string()))?;
        let (p, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let mut path_with_query = if p.ends_with('/') { p.to_owned() } else { format!("{p}/") };
        if let Some(q) = query {
            path_with_query = format!("{path_with_query}?{q}");
        }
        let body = body.map(|b| serde_json::to_vec(&b).expect("JSON serialises"));
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis()).to_string();
        let signature = sign(&secret, method.as_str(), &path_with_query, &timestamp, body.as_deref());
        let label = format!("{method} {path_with_query}");
        let mut request = self
            .endpoint
            .client
            .request(method, self.endpoint.url(&path_with_query))
            .header("API-KEY-ID", &self.key_id)
            .header("API-TIMESTAMP", timestamp)
            .header("API-SIGNATURE", signature)
            .header("Accept", "application/json");
        if let Some(b) = body {
            request = request.header("Content-Type", "application/json").body(b);
        }
        self.endpoint.json(request, &label, ev).await
    }

    /// A POST that creates a check, asked again on retryable errors within the budget.
    async fn create(&self, path: &str, body: Value, ev: &Evidence) -> Result<Value, CheckError> {
        poll(&self.poll, "BitOK registration", || async {
            self.call(Method::POST, path, Some(body.clone()), ev).await.map(Step::Done)
        })
        .await
    }

    async fn get(&self, path: &str, ev: &Evidence) -> Result<Value, CheckError> {
        poll(&self.poll, "BitOK", || async { self.call(Method::GET, path, None, ev).await.map(Step::Done) }).await
    }

    async fn transfer_verdict(&self, t: &Transfer, ev: &Evidence) -> Result<Verdict, CheckError> {
        let direction = match t.direction {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        };
        let mut body = json!({
            "direction": direction,
            "network": network_code(t.network),
            "tx_hash": t.txid,
            "token_id": token_id(t.network, t.asset),
            "output_address": t.address.as_str(),
        });
        let (create_path, check_prefix) = match self.mode {
            TransferMode::Register => {
                body["client_id"] = t.customer_ref.as_deref().map_or(Value::Null, |c| json!(c));
                ("/v1/transfers/register/", "/v1/transfers")
            }
            TransferMode::Manual => ("/v1/manual-checks/check-transfer/", "/v1/manual-checks"),
        };
        let id = id_of(&self.create(create_path, body, ev).await?)?;
        let status_path = format!("{check_prefix}/{id}/");
        let state = poll(&self.poll, "BitOK check", || async {
            let v = self.call(Method::GET, &status_path, None, ev).await?;
            transfer_progress(&v, self.mode)
        })
        .await?;
        let mut verdict = base_verdict(&state, &id)?;
        let exposure_path = match self.mode {
            TransferMode::Register => format!("/v1/transfers/{id}/exposure/"),
            TransferMode::Manual => format!("/v1/manual-checks/{id}/transfer-exposure/"),
        };
        let exposure = self.get(&exposure_path, ev).await?;
        self.read_transfer_exposure(&exposure, &mut verdict);
        if self.mode == TransferMode::Register {
            let risks = self.get(&format!("/v1/transfers/{id}/risks/?page=1&page_size=100"), ev).await?;
            self.read_risks(&risks, &mut verdict);
        }
        Ok(verdict)
    }

    async fn address_verdict(&self, address: &Address, ev: &Evidence) -> Result<Verdict, CheckError> {
        let body = json!({"network": network_code(address.network()), "address": address.as_str()});
        let created = self.create("/v1/manual-checks/check-address/", body, ev).await?;
        let id = id_of(&created)?;
        let path = format!("/v1/manual-checks/{id}/");
        let state = poll(&self.poll, "BitOK address check", || async {
            let v = self.call(Method::GET, &path, None, ev).await?;
            transfer_progress(&v, TransferMode::Manual)
        })
        .await?;
        let mut verdict = base_verdict(&state, &id)?;
        let exposure = self.get(&format!("/v1/manual-checks/{id}/address-exposure/"), ev).await?;
        if let Some(code) = exposure.get("entity_category").and_then(Value::as_str) {
            let name = exposure.get("entity_name").and_then(Value::as_str);
            self.add(&mut verdict, code, Exposure::FULL, true, name);
        }
        for e in exposure.get("exposure").and_then(Value::as_array).into_iter().flatten() {
            if let Some(code) = e.get("entity_category").and_then(Value::as_str) {
                let s = e.get("value_share").and_then(number).map_or(Exposure::FULL, share);
                self.add(&mut verdict, code, s, false, None);
            }
        }
        Ok(verdict)
    }

    fn add(&self, v: &mut Verdict, code: &str, s: Exposure, direct: bool, label: Option<&str>) {
        v.add(&self.source, mapping::category(Vendor::Bitok, code, None), code, s, direct, label);
    }

    /// `direct_interaction` is an object in BitOK's guide and an array in real clients (B1).
    fn read_transfer_exposure(&self, exposure: &Value, v: &mut Verdict) {
        let direct: Vec<&Value> = match exposure.get("direct_interaction") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => vec![],
        };
        for d in direct {
            if let Some(code) = d.get("entity_category").and_then(Value::as_str) {
                self.add(v, code, Exposure::FULL, true, d.get("entity_name").and_then(Value::as_str));
            }
        }
        for i in exposure.get("indirect_interaction").and_then(Value::as_array).into_iter().flatten() {
            if let Some(code) = i.get("entity_category").and_then(Value::as_str) {
                let s = i.get("value_share").and_then(number).map_or(Exposure::FULL, share);
                self.add(v, code, s, false, None);
            }
        }
    }

    /// The risk list: an array, or a page with `results` (the envelope is undocumented).
    fn read_risks(&self, risks: &Value, v: &mut Verdict) {
        let items = risks.as_array().or_else(|| risks.get("results").and_then(Value::as_array));
        for r in items.into_iter().flatten() {
            let Some(code) = r.get("entity_category").and_then(Value::as_str) else { continue };
            let direct = r.get("proximity").and_then(Value::as_str) == Some("direct");
            let s = r.get("value_share").and_then(number).map_or(Exposure::FULL, share);
            self.add(v, code, s, direct, None);
        }
    }
}

fn id_of(v: &Value) -> Result<String, CheckError> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .ok_or(CheckError::Malformed("BitOK answered without a usable check id".into()))
}

/// Whether a registered transfer or a manual check is done.
fn transfer_progress(v: &Value, mode: TransferMode) -> Result<Step<Value>, CallError> {
    if let Some(tx) = v.get("tx_status").or_else(|| v.pointer("/transfer/tx_status")).and_then(Value::as_str) {
        if matches!(tx, "not_found" | "error") {
            return Err(CallError::Fatal(format!("BitOK could not bind the transaction (tx_status {tx})")));
        }
    }
    let status = match mode {
        TransferMode::Register => v.pointer("/check_state/exposure"),
        TransferMode::Manual => v.get("check_status"),
    }
    .and_then(Value::as_str);
    match status {
        Some("checked") => Ok(Step::Done(v.clone())),
        Some("error") => Err(CallError::Fatal("BitOK's check ended in error".into())),
        Some(other) => Ok(Step::Pending(format!("check {other}"))),
        None => Err(CallError::Fatal("BitOK answered without a check status".into())),
    }
}

/// The level and score of a finished check; `risk_score` may be absent or null (B2).
fn base_verdict(state: &Value, id: &str) -> Result<Verdict, CheckError> {
    let level = state.get("risk_level").and_then(Value::as_str).ok_or("BitOK answered without a risk level")?;
    let raw = state.get("risk_score").and_then(number);
    let score = match raw {
        Some(r) => Some(
            RiskScore::from_percent(r * 100.0)
                .ok_or_else(|| CheckError::Malformed(format!("BitOK risk score {r} is outside 0–1")))?,
        ),
        None => None,
    };
    Ok(Verdict {
        level: Some(level.to_owned()),
        raw_score: raw.map(|r| r.to_string()),
        score,
        reference: Some(id.to_owned()),
        ..Verdict::default()
    })
}

common::vendor_analyzer!(Bitok, transfers);
