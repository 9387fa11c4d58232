//! Configuration: `custos.toml` (see custos.example.toml), then environment variables, then
//! command-line flags, each overriding the one before.

use custos_app::Deadlines;
use custos_domain::policy::{Action, BandActions, CategoryRule};
use custos_domain::risk::BandEdges;
use custos_domain::{Policy, RiskCategory};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub secrets: Secrets,
    pub deposit_keys: DepositKeys,
    pub api: Api,
    pub analyzers: Analyzers,
    pub deadlines: DeadlineHours,
    pub policy: PolicyOverrides,
    pub webhooks: Webhooks,
    pub monitoring: Monitoring,
    pub web: Web,
    pub mail: crate::mail::MailConfig,
    pub kyc: crate::kyc::KycConfig,
    pub privacy: Privacy,
    pub chains: crate::chains::ChainsConfig,
    pub consolidation: crate::chains::ConsolidationConfig,
    pub signer: crate::chains::SignerConfig,
}

/// Erasing customers (SEC-6, PD-3).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// AML records are kept this many years after a customer's last order before their
    /// personal data may be erased [default: 5].
    pub retention_years: Option<u32>,
}

impl Privacy {
    pub fn rules(&self) -> custos_app::keys::ErasureRules {
        let years = i64::from(self.retention_years.unwrap_or(5));
        custos_app::keys::ErasureRules { retention_ms: years * 365 * 86_400_000 }
    }
}

/// The cabinet and back-office: TLS, the public address and session lifetimes.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Web {
    /// The address people use, for links in e-mails (e.g. https://aml.example.com).
    pub public_url: Option<String>,
    /// PEM certificate chain and private key: Custos serves HTTPS itself.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// TLS ends at a reverse proxy in front of Custos, which listens on loopback only and takes
    /// the client's address from the last hop of X-Forwarded-For.
    pub behind_proxy: bool,
    /// The name authenticator apps show [default: Custos].
    pub issuer: Option<String>,
    pub staff_idle_minutes: Option<u32>,
    pub staff_session_hours: Option<u32>,
    pub customer_idle_minutes: Option<u32>,
    pub customer_session_hours: Option<u32>,
    /// Slow and greedy clients (plain HTTP and TLS alike).
    pub header_read_timeout_seconds: Option<u64>,
    pub idle_timeout_seconds: Option<u64>,
    pub max_connections_per_ip: Option<usize>,
    pub tls_handshake_timeout_seconds: Option<u64>,
    pub max_tls_handshakes: Option<usize>,
    /// Block explorers the back-office links to, per network (`bitcoin`, `ethereum`, `tron`).
    pub explorers: BTreeMap<String, Explorer>,
}

/// One network's explorer: URL templates with `{txid}` and `{address}`; "" turns a link off.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Explorer {
    pub tx: Option<String>,
    pub address: Option<String>,
}

impl Web {
    /// The public mainnet explorers, with what `[web.explorers]` changes.
    pub fn explorers(&self) -> Result<custos_web::Explorers, String> {
        let mut explorers = custos_web::Explorers::public_mainnets();
        for (name, e) in &self.explorers {
            let network: custos_domain::Network = name
                .parse()
                .map_err(|_| format!("[web.explorers.{name}]: the networks are bitcoin, ethereum and tron"))?;
            explorers.set(network, e.tx.as_deref(), e.address.as_deref())?;
        }
        Ok(explorers)
    }

    /// The connection limits, checked.
    pub fn limits(&self) -> Result<custos_web::Limits, String> {
        let d = custos_web::Limits::default();
        let seconds = |name: &str, v: Option<u64>, default: std::time::Duration, max: u64| match v {
            None => Ok(default),
            Some(s) if (1..=max).contains(&s) => Ok(std::time::Duration::from_secs(s)),
            Some(s) => Err(format!("[web] {name} = {s}: use 1 to {max} seconds")),
        };
        let limits = custos_web::Limits {
            header_read_timeout: seconds(
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
                d.header_read_timeout,
                120,
            )?,
            idle_timeout: seconds("idle_timeout_seconds", self.idle_timeout_seconds, d.idle_timeout, 3600)?,
            handshake_timeout: seconds(
                "tls_handshake_timeout_seconds",
                self.tls_handshake_timeout_seconds,
                d.handshake_timeout,
                120,
            )?,
            // Behind a proxy every connection comes from the proxy: no cap unless one is set.
            max_connections_per_ip: self.max_connections_per_ip.unwrap_or(if self.behind_proxy {
                0
            } else {
                d.max_connections_per_ip
            }),
            max_handshakes: match self.max_tls_handshakes {
                Some(0) => return Err("[web] max_tls_handshakes = 0: at least one handshake must run".into()),
                Some(n) => n,
                None => d.max_handshakes,
            },
        };
        Ok(limits)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Monitoring {
    /// After labels change, deposits of this many days are screened again.
    pub rescreen_days: Option<u32>,
    /// 0 turns the rule off.
    pub max_deposits_per_customer_24h: Option<u32>,
    pub max_value_per_customer_24h: BTreeMap<custos_domain::Asset, custos_domain::Amount>,
    pub structuring_thresholds: BTreeMap<custos_domain::Asset, custos_domain::Amount>,
    pub structuring_margin_percent: Option<u32>,
    pub structuring_count: Option<u32>,
    /// 0 turns the rule off.
    pub shared_source_customers: Option<u32>,
    pub flag_customers_under_investigation: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhooks {
    pub url: Option<String>,
    pub secrets: Vec<String>,
    pub allow_private_destinations: bool,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Secrets {
    pub master_key: Option<String>,
    pub previous_keys: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DepositKeys {
    pub bitcoin: Option<String>,
    pub ethereum: Option<String>,
    pub tron: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Api {
    pub max_body_bytes: Option<usize>,
    /// The integration mode in which API keys with `requests:answer` answer a customer's request
    /// on their behalf (off by default; such answers never count as the customer's own).
    pub answers_by_key: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Analyzers {
    /// The built-in analyzer's budget.
    pub timeout_seconds: Option<u64>,
    /// Vendor analyzers, in order (a second opinion follows the analyzer it names).
    pub vendors: Vec<crate::analyzers::VendorConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineHours {
    pub primary_check_minutes: Option<u32>,
    pub kyc_hours: Option<u32>,
    pub review_hours: Option<u32>,
    pub refund_hours: Option<u32>,
    pub suspend_after_hours: Option<u32>,
    /// An order without a deposit expires this long after creation [default: never].
    pub order_expiry_hours: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyOverrides {
    pub bands: Option<BandEdges>,
    pub band_actions: Option<BandActions>,
    pub analyzer_failure: Option<Action>,
    pub disagreement_margin_bands: Option<u8>,
    pub analyzer_disagreement: Option<Action>,
    pub categories: BTreeMap<RiskCategory, CategoryRule>,
}

impl Config {
    /// Reads the file at `path` (if any) and applies the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let mut cfg = match path {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("cannot read the config {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("config {}: {e}", p.display()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        let set = |target: &mut Option<String>, key: &str| {
            if let Some(v) = var(key).filter(|v| !v.is_empty()) {
                *target = Some(v);
            }
        };
        set(&mut self.listen, "CUSTOS_LISTEN");
        set(&mut self.database_url, "CUSTOS_DATABASE_URL");
        set(&mut self.secrets.master_key, "CUSTOS_MASTER_KEY");
        set(&mut self.deposit_keys.bitcoin, "CUSTOS_XPUB_BITCOIN");
        set(&mut self.deposit_keys.ethereum, "CUSTOS_XPUB_ETHEREUM");
        set(&mut self.deposit_keys.tron, "CUSTOS_XPUB_TRON");
        if let Some(v) = var("CUSTOS_DATA_DIR").filter(|v| !v.is_empty()) {
            self.data_dir = Some(v.into());
        }
        set(&mut self.webhooks.url, "CUSTOS_WEBHOOK_URL");
        set(&mut self.web.public_url, "CUSTOS_PUBLIC_URL");
        if let Some(v) = var("CUSTOS_TLS_CERT").filter(|v| !v.is_empty()) {
            self.web.tls_cert = Some(v.into());
        }
        if let Some(v) = var("CUSTOS_TLS_KEY").filter(|v| !v.is_empty()) {
            self.web.tls_key = Some(v.into());
        }
        if let Some(v) = var("CUSTOS_WEBHOOK_SECRETS").filter(|v| !v.is_empty()) {
            self.webhooks.secrets = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        if let Some(v) = var("CUSTOS_WEBHOOK_ALLOW_PRIVATE").filter(|v| !v.is_empty()) {
            self.webhooks.allow_private_destinations = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = var("CUSTOS_PREVIOUS_KEYS").filter(|v| !v.is_empty()) {
            self.secrets.previous_keys = v.split(',').map(|s| s.trim().to_owned()).collect();
        }
        let num = |key: &str| -> Result<Option<u64>, String> {
            var(key)
                .filter(|v| !v.is_empty())
                .map(|v| v.parse::<u64>().map_err(|_| format!("{key} must be a whole number, got {v:?}")))
                .transpose()
        };
        if let Some(n) = num("CUSTOS_MAX_BODY_BYTES")? {
            self.api.max_body_bytes = Some(n as usize);
        }
        if let Some(n) = num("CUSTOS_ANALYZER_TIMEOUT_SECONDS")? {
            self.analyzers.timeout_seconds = Some(n);
        }
        Ok(())
    }

    pub fn policy(&self) -> Result<Policy, String> {
        let mut p = Policy::default();
        if let Some(b) = self.policy.bands {
            p.bands = b;
        }
        if let Some(a) = self.policy.band_actions {
            p.band_actions = a;
        }
        if let Some(m) = self.policy.disagreement_margin_bands {
            p.disagreement_margin_bands = m;
        }
        if let Some(a) = self.policy.analyzer_disagreement {
            p.analyzer_disagreement = a;
        }
        if let Some(a) = self.policy.analyzer_failure {
            p.analyzer_failure = a;
        }
        let p = p.with_category_overrides(self.policy.categories.clone());
        p.validate().map_err(|e| format!("policy: {e}"))?;
        Ok(p)
    }

    /// Authentication settings: the defaults with the configured lifetimes.
    pub fn auth_settings(&self, listen: &str) -> Result<custos_app::accounts::AuthSettings, String> {
        let mut a = custos_app::accounts::AuthSettings::default();
        let w = &self.web;
        let scheme = if w.tls_cert.is_some() { "https" } else { "http" };
        a.public_url = w.public_url.clone().unwrap_or_else(|| format!("{scheme}://{listen}"));
        if let Some(i) = &w.issuer {
            a.issuer = i.clone();
        }
        let minutes = |v: Option<u32>, d: i64, what: &str, max: u32| -> Result<i64, String> {
            match v {
                None => Ok(d),
                Some(m) if (1..=max).contains(&m) => Ok(i64::from(m) * 60_000),
                Some(m) => Err(format!("web.{what} must be 1 to {max}, got {m}")),
            }
        };
        a.staff_idle_ms = minutes(w.staff_idle_minutes, a.staff_idle_ms, "staff_idle_minutes", 60)?;
        a.customer_idle_ms = minutes(w.customer_idle_minutes, a.customer_idle_ms, "customer_idle_minutes", 24 * 60)?;
        a.staff_absolute_ms = minutes(
            w.staff_session_hours.map(|h| h.saturating_mul(60)),
            a.staff_absolute_ms,
            "staff_session_hours",
            12 * 60,
        )?;
        a.customer_absolute_ms = minutes(
            w.customer_session_hours.map(|h| h.saturating_mul(60)),
            a.customer_absolute_ms,
            "customer_session_hours",
            30 * 24 * 60,
        )?;
        Ok(a)
    }

    pub fn monitoring_rules(&self) -> custos_app::monitoring::MonitoringRules {
        let d = custos_app::monitoring::MonitoringRules::default();
        let m = &self.monitoring;
        let limit = |v: Option<u32>, default: Option<u32>| match v {
            Some(0) => None,
            Some(n) => Some(n),
            None => default,
        };
        custos_app::monitoring::MonitoringRules {
            max_deposits_per_customer_24h: limit(m.max_deposits_per_customer_24h, d.max_deposits_per_customer_24h),
            max_value_per_customer_24h: m.max_value_per_customer_24h.clone(),
            structuring_thresholds: m.structuring_thresholds.clone(),
            structuring_margin_percent: m.structuring_margin_percent.unwrap_or(d.structuring_margin_percent),
            structuring_count: m.structuring_count.unwrap_or(d.structuring_count),
            shared_source_customers: limit(m.shared_source_customers, d.shared_source_customers),
            flag_customers_under_investigation: m
                .flag_customers_under_investigation
                .unwrap_or(d.flag_customers_under_investigation),
        }
    }

    pub fn deadlines(&self) -> Deadlines {
        let d = Deadlines::default();
        const H: i64 = 3_600_000;
        let h = &self.deadlines;
        Deadlines {
            primary_check_ms: h.primary_check_minutes.map_or(d.primary_check_ms, |m| i64::from(m) * 60_000),
            kyc_ms: h.kyc_hours.map_or(d.kyc_ms, |x| i64::from(x) * H),
            review_ms: h.review_hours.map_or(d.review_ms, |x| i64::from(x) * H),
            refund_ms: h.refund_hours.map_or(d.refund_ms, |x| i64::from(x) * H),
            suspend_after_ms: h.suspend_after_hours.map_or(d.suspend_after_ms, |x| i64::from(x) * H),
            order_expiry_ms: h.order_expiry_hours.map(|x| i64::from(x) * H),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_domain::Network;

    #[test]
    fn the_example_config_parses_and_names_every_environment_variable() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../custos.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let cfg: Config = toml::from_str(&text).unwrap();
        assert!(cfg.policy().is_ok());
        for var in [
            "CUSTOS_LISTEN",
            "CUSTOS_DATA_DIR",
            "CUSTOS_DATABASE_URL",
            "CUSTOS_MASTER_KEY",
            "CUSTOS_PREVIOUS_KEYS",
            "CUSTOS_XPUB_BITCOIN",
            "CUSTOS_XPUB_ETHEREUM",
            "CUSTOS_XPUB_TRON",
            "CUSTOS_MAX_BODY_BYTES",
            "CUSTOS_ANALYZER_TIMEOUT_SECONDS",
            "CUSTOS_CONFIG",
            "CUSTOS_PUBLIC_URL",
            "CUSTOS_TLS_CERT",
            "CUSTOS_TLS_KEY",
        ] {
            assert!(text.contains(var), "custos.example.toml does not mention {var}");
        }
    }

    #[test]
    fn issue_15_explorer_links_follow_the_config() {
        let cfg: Config = toml::from_str(
            "[web.explorers.ethereum]\ntx = \"https://sepolia.etherscan.io/tx/{txid}\"\n[web.explorers.tron]\naddress = \"\"\n",
        )
        .unwrap();
        let e = cfg.web.explorers().unwrap();
        assert_eq!(e.tx(Network::Ethereum, "0xab").unwrap(), "https://sepolia.etherscan.io/tx/0xab");
        assert_eq!(e.address(Network::Ethereum, "0xab").unwrap(), "https://etherscan.io/address/0xab", "kept");
        assert_eq!(e.address(Network::Tron, "T9yD"), None, "turned off");
        let bad: Config = toml::from_str("[web.explorers.dogecoin]\ntx = \"https://x/{txid}\"\n").unwrap();
        assert!(bad.web.explorers().unwrap_err().contains("bitcoin, ethereum and tron"));
        let bad: Config = toml::from_str("[web.explorers.bitcoin]\ntx = \"https://x/tx\"\n").unwrap();
        assert!(bad.web.explorers().unwrap_err().contains("{txid} once"));
    }

    #[test]
    fn environment_overrides_the_file_and_bad_numbers_are_refused() {
        let mut cfg: Config = toml::from_str("listen = \"0.0.0.0:1\"\n").unwrap();
        cfg.apply_env(|k| (k == "CUSTOS_LISTEN").then(|| "127.0.0.1:2".to_owned())).unwrap();
        assert_eq!(cfg.listen.as_deref(), Some("127.0.0.1:2"));
        let err = cfg.apply_env(|k| (k == "CUSTOS_MAX_BODY_BYTES").then(|| "lots".to_owned())).unwrap_err();
        assert!(err.contains("CUSTOS_MAX_BODY_BYTES"));
    }

    #[test]
    fn policy_overrides_merge_and_unsafe_ones_are_refused() {
        let cfg: Config = toml::from_str(
            "[policy.band_actions]\nmedium = \"proceed\"\n[policy.categories.gambling]\ndirect = \"review\"\nindirect = \"review\"\nindirect_min_percent = 10\n",
        )
        .unwrap();
        let p = cfg.policy().unwrap();
        assert_eq!(p.band_actions.medium, Action::Proceed);
        assert_eq!(p.band_actions.high, Action::Hold);
        assert_eq!(p.categories[&RiskCategory::Gambling].direct, Action::Review);
        let unsafe_cfg: Config = toml::from_str("[policy]\nanalyzer_failure = \"proceed\"\n").unwrap();
        assert!(unsafe_cfg.policy().is_err());
        assert!(toml::from_str::<Config>("[policy]\nbogus = 1\n").is_err(), "unknown keys are errors, not ignored");
    }
}
