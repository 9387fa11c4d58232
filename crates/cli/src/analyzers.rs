//! `[[analyzers.vendors]]`: which vendor analyzers run beside the built-in one, with their
//! credentials (from a file or the environment), budgets, costs and run rules.

use custos_analyzers::bitok::{Bitok, BitokConfig, TransferMode};
use custos_analyzers::chainalysis::{Chainalysis, ChainalysisConfig};
use custos_analyzers::coinkyt::{Coinkyt, CoinkytConfig};
use custos_analyzers::sanctions::{ChainalysisSanctions, SanctionsConfig};
use custos_analyzers::{PollSettings, Secret};
use custos_app::ports::Analyzer;
use custos_app::screening::{BreakerSettings, CallSettings, Occasion, RunRule, SecondOpinion};
use custos_domain::risk::RiskBand;
use custos_domain::{Amount, Asset};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorKind {
    Bitok,
    Coinkyt,
    Chainalysis,
    ChainalysisSanctions,
}

impl VendorKind {
    fn name(self) -> &'static str {
        match self {
            VendorKind::Bitok => "bitok",
            VendorKind::Coinkyt => "coinkyt",
            VendorKind::Chainalysis => "chainalysis",
            VendorKind::ChainalysisSanctions => "chainalysis_sanctions",
        }
    }

    fn default_base_url(self) -> &'static str {
        match self {
            VendorKind::Bitok => "https://kyt-api.bitok.org",
            VendorKind::Coinkyt => "https://explorer.coinkyt.com/openapi",
            VendorKind::Chainalysis => "https://api.chainalysis.com",
            VendorKind::ChainalysisSanctions => "https://public.chainalysis.com",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorConfig {
    pub kind: VendorKind,
    pub name: Option<String>,
    pub base_url: Option<String>,
    /// BitOK's key id (not secret).
    pub key_id: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub secret_env: Option<String>,
    pub timeout_seconds: Option<u64>,
    /// What one check costs, as a decimal in the operator's currency ("0.15").
    pub cost: Option<String>,
    pub cache_minutes: Option<u64>,
    pub breaker_failures: Option<u32>,
    pub breaker_open_seconds: Option<u64>,
    pub occasions: Option<Vec<Occasion>>,
    #[serde(default)]
    pub min_amount: BTreeMap<Asset, Amount>,
    pub second_opinion_after: Option<String>,
    pub second_opinion_band: Option<RiskBand>,
    /// BitOK: `register` (default) or `manual`.
    pub transfer_mode: Option<String>,
    /// CoinKYT: also read `/v1/transfer`.
    #[serde(default)]
    pub transfer_check: bool,
    /// Chainalysis: register an address before reading it.
    #[serde(default)]
    pub register_addresses: bool,
}

/// Cost "0.15" → 150000 millionths.
fn cost_micros(s: &str) -> Result<u64, String> {
    let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if whole.is_empty() || frac.len() > 6 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(format!("cost \"{s}\" must be a decimal like \"0.15\" (at most 6 decimals)"));
    }
    let whole: u64 = whole.parse().map_err(|_| format!("cost \"{s}\" is too large"))?;
    let frac: u64 = format!("{frac:0<6}").parse().unwrap_or(0);
    Ok(whole * 1_000_000 + frac)
}

pub type Configured = (Arc<dyn Analyzer>, CallSettings, RunRule);

impl VendorConfig {
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.kind.name().to_owned())
    }

    fn secret(&self, name: &str) -> Result<Secret, String> {
        let secret = match (&self.secret_file, &self.secret_env) {
            (Some(f), None) => Secret::file(f),
            (None, Some(v)) => Secret::env(v),
            _ => return Err(format!("analyzer {name}: set exactly one of secret_file and secret_env")),
        };
        // Refuse to start without a usable credential rather than fail every check later.
        secret.read().map_err(|e| format!("analyzer {name}: {e}"))?;
        Ok(secret)
    }

    pub fn timeout(&self) -> Result<Duration, String> {
        let t = self.timeout_seconds.unwrap_or(120);
        if !(1..=300).contains(&t) {
            return Err(format!("analyzer {}: timeout_seconds must be 1 to 300 (SLA-1)", self.name()));
        }
        Ok(Duration::from_secs(t))
    }

    pub fn build(&self) -> Result<Configured, String> {
        let name = self.name();
        let timeout = self.timeout()?;
        // The adapter's own polling ends a little before the hard budget, so its failure says why.
        let poll = PollSettings { budget: timeout.mul_f64(0.9), ..PollSettings::default() };
        let base_url = self.base_url.clone().unwrap_or_else(|| self.kind.default_base_url().to_owned());
        let secret = self.secret(&name)?;
        let analyzer: Arc<dyn Analyzer> = match self.kind {
            VendorKind::Bitok => Arc::new(
                Bitok::new(BitokConfig {
                    name: name.clone(),
                    base_url,
                    key_id: self.key_id.clone().unwrap_or_default(),
                    secret,
                    poll,
                    transfer_mode: match self.transfer_mode.as_deref() {
                        None | Some("register") => TransferMode::Register,
                        Some("manual") => TransferMode::Manual,
                        Some(other) => {
                            return Err(format!("analyzer {name}: transfer_mode \"{other}\" is not register or manual"))
                        }
                    },
                })
                .map_err(|e| e.to_string())?,
            ),
            VendorKind::Coinkyt => Arc::new(
                Coinkyt::new(CoinkytConfig {
                    name: name.clone(),
                    base_url,
                    api_key: secret,
                    poll,
                    transfer_check: self.transfer_check,
                })
                .map_err(|e| e.to_string())?,
            ),
            VendorKind::Chainalysis => Arc::new(
                Chainalysis::new(ChainalysisConfig {
                    name: name.clone(),
                    base_url,
                    api_key: secret,
                    poll,
                    register_addresses: self.register_addresses,
                })
                .map_err(|e| e.to_string())?,
            ),
            VendorKind::ChainalysisSanctions => Arc::new(
                ChainalysisSanctions::new(SanctionsConfig { name: name.clone(), base_url, api_key: secret, poll })
                    .map_err(|e| e.to_string())?,
            ),
        };
        let settings = CallSettings {
            timeout,
            cost_micros: self
                .cost
                .as_deref()
                .map(cost_micros)
                .transpose()
                .map_err(|e| format!("analyzer {name}: {e}"))?
                .unwrap_or(0),
            breaker: BreakerSettings {
                failures: self.breaker_failures.unwrap_or(5).max(1),
                open_for: Duration::from_secs(self.breaker_open_seconds.unwrap_or(60)),
            },
            cache_ttl: Duration::from_secs(self.cache_minutes.unwrap_or(15) * 60),
        };
        let second_opinion = match (&self.second_opinion_after, self.second_opinion_band) {
            (None, None) => None,
            (Some(after), band) => {
                Some(SecondOpinion { after: after.clone(), band_at_least: band.unwrap_or(RiskBand::Medium) })
            }
            (None, Some(_)) => return Err(format!("analyzer {name}: second_opinion_band needs second_opinion_after")),
        };
        let rule = RunRule {
            // Vendors are paid: by default they are not called again for every label change.
            occasions: self
                .occasions
                .clone()
                .unwrap_or_else(|| vec![Occasion::Address, Occasion::Deposit, Occasion::Payout, Occasion::Refund]),
            min_amount: self.min_amount.clone(),
            second_opinion,
        };
        Ok((analyzer, settings, rule))
    }
}

/// SLA-1: the analyzers that run first and the second opinions after them fit in the primary
/// check's budget.
pub fn check_budget(list: &[Configured], primary_check: Duration) -> Result<(), String> {
    let stage = |second: bool| {
        list.iter().filter(|(_, _, r)| r.second_opinion.is_some() == second).map(|(_, s, _)| s.timeout).max()
    };
    let total = stage(false).unwrap_or_default() + stage(true).unwrap_or_default();
    if total > primary_check {
        return Err(format!(
            "the analyzers may take {} s (first checks plus second opinions), more than the primary check's {} s (SLA-1): lower their timeout_seconds",
            total.as_secs(),
            primary_check.as_secs()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Vec<VendorConfig> {
        let cfg: crate::config::Config = toml::from_str(toml_text).unwrap();
        cfg.analyzers.vendors
    }

    #[test]
    fn a_vendor_needs_a_readable_credential_and_a_budget_within_sla_1() {
        let dir = std::env::temp_dir().join(format!("custos-vendor-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("coinkyt.key");
        std::fs::write(&key, "k-123\n").unwrap();
        let text = format!(
            "[[analyzers.vendors]]\nkind = \"bitok\"\nkey_id = \"id\"\nsecret_file = \"{0}\"\ntimeout_seconds = 200\ncost = \"0.1\"\n\
             min_amount = {{ USDT = \"100000000\" }}\n\
             [[analyzers.vendors]]\nkind = \"coinkyt\"\nsecret_file = \"{0}\"\ntimeout_seconds = 120\nsecond_opinion_after = \"bitok\"\n",
            key.display()
        );
        let vendors = parse(&text);
        let built: Vec<Configured> = vendors.iter().map(|v| v.build().unwrap()).collect();
        assert_eq!(built[0].1.cost_micros, 100_000);
        assert_eq!(built[0].2.min_amount[&Asset::Usdt], Amount(100_000_000));
        assert_eq!(built[1].2.second_opinion.as_ref().unwrap().band_at_least, RiskBand::Medium);
        // 200 s first plus 120 s second opinion outlast the 5-minute primary check.
        let err = check_budget(&built, Duration::from_secs(300)).unwrap_err();
        assert!(err.contains("320 s") && err.contains("SLA-1"), "{err}");
        assert!(check_budget(&built, Duration::from_secs(320)).is_ok());

        let missing = parse("[[analyzers.vendors]]\nkind = \"coinkyt\"\nsecret_env = \"CUSTOS_TEST_NO_SUCH_KEY\"\n");
        assert!(missing[0].build().err().unwrap().contains("CUSTOS_TEST_NO_SUCH_KEY is not set"));
        let both = parse(&format!(
            "[[analyzers.vendors]]\nkind = \"coinkyt\"\nsecret_env = \"X\"\nsecret_file = \"{}\"\n",
            key.display()
        ));
        assert!(both[0].build().err().unwrap().contains("exactly one"));
        let slow = parse(&format!(
            "[[analyzers.vendors]]\nkind = \"coinkyt\"\nsecret_file = \"{}\"\ntimeout_seconds = 301\n",
            key.display()
        ));
        assert!(slow[0].build().err().unwrap().contains("1 to 300"));
        let unknown: Result<crate::config::Config, _> = toml::from_str("[[analyzers.vendors]]\nkind = \"elliptic\"\n");
        assert!(unknown.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn costs_are_exact_decimals() {
        assert_eq!(cost_micros("0.15"), Ok(150_000));
        assert_eq!(cost_micros("2"), Ok(2_000_000));
        assert_eq!(cost_micros("1.000001"), Ok(1_000_001));
        assert!(cost_micros("0.1234567").is_err());
        assert!(cost_micros("-1").is_err());
        assert!(cost_micros("abc").is_err());
    }
}
