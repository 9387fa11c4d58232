//! Chainalysis KYT v2 and Address Screening (`vendor-apis/chainalysis.md`): a deposit or payout
//! is registered as a received or sent transfer, polled until `updatedAt` is set, and its
//! alerts give the band (the highest alert level) and the categories; an address is read from
//! the Entities API.

use crate::common::{
    self, number, poll, CallError, CheckError, ConfigError, Endpoint, Evidence, PollSettings, Step, Verdict,
};
use crate::credential::Secret;
use crate::mapping::{self, Vendor};
use custos_app::ports::{Direction, Transfer};
use custos_domain::risk::{Exposure, RiskBand};
use custos_domain::{Address, Network};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct ChainalysisConfig {
    pub name: String,
    /// `https://api.chainalysis.com`; KYT lives under `/api/kyt`, screening under `/api/risk`.
    pub base_url: String,
    pub api_key: Secret,
    pub poll: PollSettings,
    /// Register an address (`POST /v2/entities`) before reading it (required by old contracts).
    pub register_addresses: bool,
}

pub struct Chainalysis {
    name: String,
    source: Arc<str>,
    endpoint: Endpoint,
    api_key: Secret,
    poll: PollSettings,
    register_addresses: bool,
}

fn network_name(n: Network) -> &'static str {
    match n {
        Network::Bitcoin => "Bitcoin",
        Network::Ethereum => "Ethereum",
        Network::Tron => "Tron",
    }
}

/// Path segments we build from vendor or customer ids carry only these characters.
fn safe_segment(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .then_some(s)
}

impl Chainalysis {
    pub fn new(config: ChainalysisConfig) -> Result<Chainalysis, ConfigError> {
        Ok(Chainalysis {
            source: Arc::from(format!("{} (Chainalysis)", config.name)),
            name: config.name,
            endpoint: Endpoint::new(&config.base_url)?,
            api_key: config.api_key,
            poll: config.poll,
            register_addresses: config.register_addresses,
        })
    }

    async fn call_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        ev: &Evidence,
    ) -> Result<Value, CallError> {
        let key = self.api_key.read().map_err(|e| CallError::Fatal(e.to_string()))?;
        let mut request = self
            .endpoint
            .client
            .request(method.clone(), self.endpoint.url(path))
            .header("Token", key)
            .header("Accept", "application/json");
        if let Some(b) = body {
            request = request.json(b);
        }
        self.endpoint.json(request, &format!("{method} {path}"), ev).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>, ev: &Evidence) -> Result<Value, CheckError> {
        poll(&self.poll, "Chainalysis", || async {
            self.call_once(method.clone(), path, body.as_ref(), ev).await.map(Step::Done)
        })
        .await
    }

    async fn transfer_verdict(&self, t: &Transfer, ev: &Evidence) -> Result<Verdict, CheckError> {
        let user = t.customer_ref.as_deref().and_then(safe_segment).unwrap_or("unattributed");
        let body = json!({
            "network": network_name(t.network),
            "asset": t.asset.as_str(),
            "transferReference": format!("{}:{}", t.txid, t.address.display()),
            "direction": match t.direction { Direction::Incoming => "received", Direction::Outgoing => "sent" },
        });
        let registered =
            self.call(Method::POST, &format!("/api/kyt/v2/users/{user}/transfers"), Some(body), ev).await?;
        let id = registered
            .get("externalId")
            .and_then(Value::as_str)
            .and_then(safe_segment)
            .ok_or("Chainalysis answered without a usable externalId")?
            .to_owned();
        let summary_path = format!("/api/kyt/v2/transfers/{id}");
        let summary = poll(&self.poll, "Chainalysis KYT transfer", || async {
            let v = self.call_once(Method::GET, &summary_path, None, ev).await?;
            Ok(if v.get("updatedAt").is_some_and(|u| !u.is_null()) {
                Step::Done(v)
            } else {
                Step::Pending("updatedAt is still null".into())
            })
        })
        .await?;
        let alerts = self.call(Method::GET, &format!("{summary_path}/alerts"), None, ev).await?;
        let alerts =
            alerts.get("alerts").and_then(Value::as_array).ok_or("Chainalysis alerts answer has no alerts list")?;
        let usd = summary.get("usdAmount").and_then(number).filter(|u| *u > 0.0);
        let mut v = Verdict { reference: Some(id), ..Verdict::default() };
        // No alerts after processing is the lowest band; otherwise the highest alert decides.
        let mut worst: Option<(RiskBand, String)> = None;
        for a in alerts {
            let level = a.get("alertLevel").and_then(Value::as_str).unwrap_or_default();
            match RiskBand::from_vendor_level(level) {
                Some(b) if worst.as_ref().is_none_or(|(w, _)| b > *w) => worst = Some((b, level.to_owned())),
                Some(_) => {}
                None => {
                    return Err(CheckError::Malformed(format!(
                        "Chainalysis alert level \"{level}\" is not one we know"
                    )))
                }
            }
            let name = a.get("category").and_then(Value::as_str).unwrap_or("");
            let id = a.get("categoryId").and_then(Value::as_i64);
            let code = id.map_or_else(|| name.to_owned(), |i| format!("{i}:{name}"));
            let direct =
                a.get("exposureType").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case("direct"));
            let s = match (a.get("alertAmount").and_then(number), usd) {
                (Some(amount), Some(total)) if !direct => Exposure::from_percent(amount / total * 100.0),
                _ => Exposure::FULL,
            };
            let category = mapping::category(Vendor::Chainalysis, name, id);
            v.add(&self.source, category, &code, s, direct, a.get("service").and_then(Value::as_str));
        }
        v.level = Some(worst.map_or_else(|| "none".to_owned(), |(_, l)| l));
        Ok(v)
    }

    async fn address_verdict(&self, address: &Address, ev: &Evidence) -> Result<Verdict, CheckError> {
        let shown = address.display();
        if self.register_addresses {
            self.call(Method::POST, "/api/risk/v2/entities", Some(json!({"address": shown})), ev).await?;
        }
        let path = format!("/api/risk/v2/entities/{shown}");
        let entity = poll(&self.poll, "Chainalysis address screening", || async {
            let v = self.call_once(Method::GET, &path, None, ev).await?;
            Ok(match v.get("status").and_then(Value::as_str) {
                Some("COMPLETE") => Step::Done(v),
                other => Step::Pending(format!("status {}", other.unwrap_or("missing"))),
            })
        })
        .await?;
        let risk = entity.get("risk").and_then(Value::as_str).ok_or("Chainalysis answered without a risk level")?;
        let mut v = Verdict { level: Some(risk.to_owned()), ..Verdict::default() };
        let cluster = entity.get("cluster").filter(|c| c.is_object()).into_iter();
        let identifications = entity.get("addressIdentifications").and_then(Value::as_array).into_iter().flatten();
        for e in cluster.chain(identifications) {
            if let Some(name) = e.get("category").and_then(Value::as_str) {
                let category = mapping::category(Vendor::Chainalysis, name, None);
                v.add(&self.source, category, name, Exposure::FULL, true, e.get("name").and_then(Value::as_str));
            }
        }
        let exposures: Vec<(&str, f64)> = entity
            .get("exposures")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e.get("category")?.as_str()?, e.get("value").and_then(number)?)))
            .collect();
        let total: f64 = exposures.iter().map(|(_, value)| value.max(0.0)).sum();
        for (name, value) in exposures {
            if total > 0.0 && value > 0.0 {
                let category = mapping::category(Vendor::Chainalysis, name, None);
                v.add(&self.source, category, name, Exposure::from_percent(value / total * 100.0), false, None);
            }
        }
        Ok(v)
    }
}

common::vendor_analyzer!(Chainalysis, transfers);
