//! The free Chainalysis Sanctions Screening API (`vendor-apis/chainalysis.md` §4): sanctions
//! designations only. A match is direct `sanctions` exposure in the critical band; no match says
//! nothing about other risks, so the report is marked sanctions-only.

use crate::common::{self, poll, CheckError, ConfigError, Endpoint, Evidence, PollSettings, Step, Verdict};
use crate::credential::Secret;
use crate::mapping::{self, Vendor};
use custos_domain::risk::{Exposure, RiskScore};
use custos_domain::{Address, RiskCategory};
use serde_json::Value;
use std::sync::Arc;

pub struct SanctionsConfig {
    pub name: String,
    /// `https://public.chainalysis.com`.
    pub base_url: String,
    pub api_key: Secret,
    pub poll: PollSettings,
}

pub struct ChainalysisSanctions {
    name: String,
    source: Arc<str>,
    endpoint: Endpoint,
    api_key: Secret,
    poll: PollSettings,
}

impl ChainalysisSanctions {
    pub fn new(config: SanctionsConfig) -> Result<ChainalysisSanctions, ConfigError> {
        Ok(ChainalysisSanctions {
            source: Arc::from(format!("{} (Chainalysis sanctions)", config.name)),
            name: config.name,
            endpoint: Endpoint::new(&config.base_url)?,
            api_key: config.api_key,
            poll: config.poll,
        })
    }

    async fn address_verdict(&self, address: &Address, ev: &Evidence) -> Result<Verdict, CheckError> {
        let path = format!("/api/v1/address/{}", address.display());
        let body = poll(&self.poll, "Chainalysis sanctions screening", || async {
            let key = self.api_key.read().map_err(|e| common::CallError::Fatal(e.to_string()))?;
            let request = self.endpoint.client.get(self.endpoint.url(&path)).header("X-API-Key", key);
            self.endpoint.json(request, &format!("GET {path}"), ev).await.map(Step::Done)
        })
        .await?;
        let ids = body.get("identifications").and_then(Value::as_array).ok_or("answer has no identifications list")?;
        let mut v = Verdict { sanctions_only: true, ..Verdict::default() };
        for id in ids {
            let name = id.get("category").and_then(Value::as_str).unwrap_or("sanctions");
            // Every identification of this API is a sanctions designation, whatever its label.
            let category = match mapping::category(Vendor::Chainalysis, name, None) {
                RiskCategory::Unmapped => RiskCategory::Sanctions,
                c => c,
            };
            v.add(&self.source, category, name, Exposure::FULL, true, id.get("name").and_then(Value::as_str));
        }
        if !v.findings.is_empty() {
            v.level = Some("severe".into());
            v.score = Some(RiskScore::MAX);
        }
        Ok(v)
    }
}

common::vendor_analyzer!(ChainalysisSanctions);
