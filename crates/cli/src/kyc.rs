//! `[kyc.sumsub]`: SumSub as the KYC provider. Without it, officers review verifications.

use custos_kyc::sumsub::{ClientSettings, DigestAlg, SumsubProvider, WebhookSettings};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KycConfig {
    /// SEC-14: while a requested verification is open, no new orders [default true] and no
    /// payouts [default true] for the customer.
    pub block_orders_while_open: Option<bool>,
    pub block_payouts_while_open: Option<bool>,
    pub sumsub: Option<SumsubConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SumsubConfig {
    /// Default https://api.sumsub.com (sandbox and production alike: the token decides).
    pub base_url: Option<String>,
    /// true for a `sbx:` token; a token of the other kind is refused at start.
    pub sandbox: bool,
    /// The app token, the secret key and the webhook secret: each from a file or an
    /// environment variable, never from this file.
    pub app_token_env: Option<String>,
    pub app_token_file: Option<PathBuf>,
    pub secret_key_env: Option<String>,
    pub secret_key_file: Option<PathBuf>,
    pub webhook_secret_env: Option<String>,
    pub webhook_secret_file: Option<PathBuf>,
    /// Accept SHA-1 webhook digests (legacy webhooks only).
    pub allow_sha1: bool,
    pub timeout_seconds: Option<u64>,
}

fn secret(what: &str, env: &Option<String>, file: &Option<PathBuf>) -> Result<String, String> {
    match (env, file) {
        (Some(v), None) => std::env::var(v).map_err(|_| format!("kyc.sumsub.{what}_env: {v} is not set")),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| format!("kyc.sumsub.{what}_file {}: {e}", f.display())),
        _ => Err(format!("kyc.sumsub: set exactly one of {what}_env and {what}_file")),
    }
}

impl KycConfig {
    pub fn rules(&self) -> custos_app::kyc::KycRules {
        let d = custos_app::kyc::KycRules::default();
        custos_app::kyc::KycRules {
            block_orders: self.block_orders_while_open.unwrap_or(d.block_orders),
            block_payouts: self.block_payouts_while_open.unwrap_or(d.block_payouts),
        }
    }

    pub fn build(&self) -> Result<Option<Arc<dyn custos_app::ports::KycProvider>>, String> {
        let Some(s) = &self.sumsub else { return Ok(None) };
        let client = ClientSettings {
            base_url: s.base_url.clone().unwrap_or_else(|| "https://api.sumsub.com".into()),
            app_token: secret("app_token", &s.app_token_env, &s.app_token_file)?,
            secret_key: secret("secret_key", &s.secret_key_env, &s.secret_key_file)?,
            sandbox: s.sandbox,
            timeout: Duration::from_secs(s.timeout_seconds.unwrap_or(30).clamp(1, 120)),
        };
        let mut webhook =
            WebhookSettings::new(secret("webhook_secret", &s.webhook_secret_env, &s.webhook_secret_file)?);
        if s.allow_sha1 {
            webhook.allowed.push(DigestAlg::Sha1);
        }
        Ok(Some(Arc::new(SumsubProvider::new(client, webhook).map_err(|e| e.to_string())?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sumsub_needs_its_three_secrets_from_outside_the_file_and_a_token_of_its_kind() {
        assert!(KycConfig::default().build().unwrap().is_none(), "no provider: officers review");
        let dir = std::env::temp_dir().join(format!("custos-kyc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, value) in [("token", "sbx:abc\n"), ("key", "k"), ("hook", "h")] {
            std::fs::write(dir.join(name), value).unwrap();
        }
        let cfg = |sandbox: bool| -> KycConfig {
            toml::from_str(&format!(
                "[sumsub]\nsandbox = {sandbox}\napp_token_file = {:?}\nsecret_key_file = {:?}\nwebhook_secret_file = {:?}\n",
                dir.join("token"),
                dir.join("key"),
                dir.join("hook")
            ))
            .unwrap()
        };
        assert!(cfg(true).build().unwrap().is_some());
        assert!(cfg(false).build().err().unwrap().contains("production"), "a sandbox token in production mode");
        let missing: KycConfig = toml::from_str("[sumsub]\nsandbox = true\n").unwrap();
        assert!(missing.build().err().unwrap().contains("app_token_env"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
