//! CoinKYT Explorer API (`vendor-apis/coinkyt.md`): API-key GET checks of a transaction (the
//! score), optionally of the transfer to our address, and of an address. A 404 usually means
//! "still calculating" and is asked again with backoff until the budget runs out.

use crate::common::{
    self, number, poll, share, CallError, CheckError, ConfigError, Endpoint, Evidence, PollSettings, Step, Verdict,
};
use crate::credential::Secret;
use crate::mapping::{self, Vendor};
use custos_app::ports::{Direction, Transfer};
use custos_domain::risk::{Exposure, RiskScore};
use custos_domain::{Address, Asset, Network};
use serde_json::Value;
use std::sync::Arc;

pub struct CoinkytConfig {
    pub name: String,
    pub base_url: String,
    pub api_key: Secret,
    pub poll: PollSettings,
    /// Also read `/v1/transfer` for the entities behind our own output (a second paid check).
    pub transfer_check: bool,
}

pub struct Coinkyt {
    name: String,
    source: Arc<str>,
    endpoint: Endpoint,
    api_key: Secret,
    poll: PollSettings,
    transfer_check: bool,
}

fn blockchain(n: Network) -> &'static str {
    match n {
        Network::Bitcoin => "btc",
        Network::Ethereum => "eth",
        Network::Tron => "trx",
    }
}

/// The empty string for a native coin.
fn token(asset: Asset) -> &'static str {
    match asset {
        Asset::Usdt => "USDT",
        Asset::Usdc => "USDC",
        _ => "",
    }
}

/// What a 404 means: the address has no history at all (final), or not yet calculated.
const EMPTY_ADDRESS: &str = "Empty address";

impl Coinkyt {
    pub fn new(config: CoinkytConfig) -> Result<Coinkyt, ConfigError> {
        Ok(Coinkyt {
            source: Arc::from(format!("{} (CoinKYT)", config.name)),
            name: config.name,
            endpoint: Endpoint::new(&config.base_url)?,
            api_key: config.api_key,
            poll: config.poll,
            transfer_check: config.transfer_check,
        })
    }

    async fn get_once(&self, path: &str, query: &[(&str, &str)], ev: &Evidence) -> Result<Value, CallError> {
        let key = self.api_key.read().map_err(|e| CallError::Fatal(e.to_string()))?;
        let request = self
            .endpoint
            .client
            .get(self.endpoint.url(path))
            .query(query)
            .header("X-API-Key", key)
            .header("Accept", "application/json");
        match self.endpoint.json(request, &format!("GET {path}"), ev).await {
            Err(CallError::Fatal(m)) if m.contains("HTTP 403") => {
                Err(CallError::Fatal(format!("{m}: CoinKYT has no checks left or the licence expired")))
            }
            other => other,
        }
    }

    /// Asks until there is an answer; a 404 is "not calculated yet" unless the address is empty.
    async fn get(&self, path: &str, query: &[(&str, &str)], ev: &Evidence) -> Result<Option<Value>, CheckError> {
        poll(&self.poll, "CoinKYT check", || async {
            match self.get_once(path, query, ev).await {
                Ok(v) => Ok(Step::Done(Some(v))),
                Err(CallError::NotFound(detail)) if detail == EMPTY_ADDRESS => Ok(Step::Done(None)),
                Err(CallError::NotFound(detail)) => {
                    Ok(Step::Pending(if detail.is_empty() { "not found yet".into() } else { detail }))
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn transfer_verdict(&self, t: &Transfer, ev: &Evidence) -> Result<Verdict, CheckError> {
        let query =
            [("blockchain", blockchain(t.network)), ("transaction", t.txid.as_str()), ("token", token(t.asset))];
        let tx = self.get("/v1/transaction", &query, ev).await?.ok_or("CoinKYT does not know this transaction")?;
        let mut v = self.scored(&tx)?;
        let side = match t.direction {
            Direction::Incoming => "from_entity",
            Direction::Outgoing => "to_entity",
        };
        self.read_entities(&tx, side, &mut v);
        if self.transfer_check {
            let mut q = vec![
                ("blockchain", blockchain(t.network)),
                ("transaction", t.txid.as_str()),
                ("output_address", t.address.as_str()),
                ("token", token(t.asset)),
            ];
            if let Some(input) = t.counterparties.first() {
                q.push(("input_address", input.as_str()));
            }
            if let Some(transfer) = self.get("/v1/transfer", &q, ev).await? {
                self.read_entities(&transfer, side, &mut v);
            }
        }
        Ok(v)
    }

    async fn address_verdict(&self, address: &Address, ev: &Evidence) -> Result<Verdict, CheckError> {
        let query = [("blockchain", blockchain(address.network())), ("address", address.as_str()), ("token", "")];
        let Some(info) = self.get("/v1/address", &query, ev).await? else {
            // No history at all: CoinKYT cannot rate it; that is "unknown", never "none".
            return Ok(Verdict { level: Some("undefined".into()), ..Verdict::default() });
        };
        let mut v = self.scored(&info)?;
        if let Some(code) = info.get("type").and_then(Value::as_str) {
            let name = info.get("name").and_then(Value::as_str);
            self.add(&mut v, code, Exposure::FULL, true, name);
        }
        self.read_entities(&info, "", &mut v);
        Ok(v)
    }

    /// The score (a decimal string, 0–1) and grade; a missing score is an error, not "low".
    fn scored(&self, body: &Value) -> Result<Verdict, CheckError> {
        let raw = body.get("risk_score").filter(|v| !v.is_null()).ok_or("CoinKYT answered without a risk score")?;
        let fraction =
            number(raw).ok_or_else(|| CheckError::Malformed(format!("CoinKYT risk score {raw} is not a number")))?;
        let score = RiskScore::from_percent(fraction * 100.0)
            .ok_or_else(|| CheckError::Malformed(format!("CoinKYT risk score {fraction} is outside 0–1")))?;
        let grade = body.get("risk_score_grade").and_then(Value::as_str).unwrap_or("undefined");
        Ok(Verdict {
            level: Some(grade.to_owned()),
            raw_score: Some(raw.as_str().map_or_else(|| raw.to_string(), str::to_owned)),
            score: Some(score),
            reference: body.get("id").and_then(Value::as_str).map(str::to_owned),
            ..Verdict::default()
        })
    }

    /// The counterparty's entities (`side`, direct) and the indirect sources of funds.
    fn read_entities(&self, body: &Value, side: &str, v: &mut Verdict) {
        if !side.is_empty() {
            for e in body.get(side).and_then(Value::as_array).into_iter().flatten() {
                if let Some(code) = entity_code(e) {
                    self.add(v, &code, Exposure::FULL, true, e.get("name").and_then(Value::as_str));
                }
            }
        }
        for i in body.get("indirects").and_then(Value::as_array).into_iter().flatten() {
            if let Some(code) = entity_code(i) {
                let s = i.get("total_count_coef").and_then(number).map_or(Exposure::FULL, share);
                self.add(v, &code, s, false, i.get("type_label").and_then(Value::as_str));
            }
        }
    }

    fn add(&self, v: &mut Verdict, code: &str, s: Exposure, direct: bool, label: Option<&str>) {
        v.add(&self.source, mapping::category(Vendor::Coinkyt, code, None), code, s, direct, label);
    }
}

/// The entity code; without one, its label (which maps to `unmapped`, shown as sent).
fn entity_code(e: &Value) -> Option<String> {
    e.get("type").and_then(Value::as_str).or_else(|| e.get("type_label").and_then(Value::as_str)).map(str::to_owned)
}

common::vendor_analyzer!(Coinkyt, transfers);
