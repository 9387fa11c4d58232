//! The SumSub adapter, per `vendor-apis/sumsub.md`: requests signed with the app token's secret,
//! webhooks verified with the webhook secret before they are parsed, events read in both the old
//! and the 2025 shapes.

use custos_app::ports::{RemoteError, WebhookRefusal};
use custos_domain::kyc::VerificationState;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use std::time::Duration;

/// `X-App-Access-Sig`: lowercase hex HMAC-SHA256 of `ts + METHOD + path?query + body`.
pub fn sign(secret: &str, ts_secs: &str, method: &str, path_with_query: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(ts_secs.as_bytes());
    mac.update(method.to_ascii_uppercase().as_bytes());
    mac.update(path_with_query.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The webhook digest algorithms (`X-Payload-Digest-Alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl DigestAlg {
    pub fn parse(header: &str) -> Option<DigestAlg> {
        match header {
            "HMAC_SHA1_HEX" => Some(DigestAlg::Sha1),
            "HMAC_SHA256_HEX" => Some(DigestAlg::Sha256),
            "HMAC_SHA512_HEX" => Some(DigestAlg::Sha512),
            _ => None,
        }
    }
}

/// Why a webhook was refused. None of these is parsed further or changes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook has no X-Payload-Digest")]
    MissingDigest,
    #[error("the digest algorithm {0:?} is not allowed for this webhook")]
    AlgorithmNotAllowed(String),
    #[error("the webhook's digest does not match its body")]
    BadDigest,
    #[error("the webhook body is not a SumSub event: {0}")]
    Malformed(String),
}

/// What a webhook endpoint accepts.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub secret: String,
    /// The algorithm assumed when the header is missing (SHA-256 for new webhooks).
    pub default_alg: DigestAlg,
    /// Algorithms a request may name; SHA-1 only when the operator enabled legacy webhooks.
    pub allowed: Vec<DigestAlg>,
}

impl WebhookSettings {
    pub fn new(secret: impl Into<String>) -> WebhookSettings {
        WebhookSettings {
            secret: secret.into(),
            default_alg: DigestAlg::Sha256,
            allowed: vec![DigestAlg::Sha256, DigestAlg::Sha512],
        }
    }
}

fn verify_mac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    mac.verify_slice(expected).is_ok()
}

/// Checks a webhook's digest over the raw body, in constant time, before anything is parsed.
pub fn verify_webhook(
    settings: &WebhookSettings,
    body: &[u8],
    digest: Option<&str>,
    alg_header: Option<&str>,
) -> Result<(), WebhookError> {
    let digest = digest.ok_or(WebhookError::MissingDigest)?;
    let alg = match alg_header {
        None => settings.default_alg,
        Some(h) => DigestAlg::parse(h).ok_or_else(|| WebhookError::AlgorithmNotAllowed(h.to_owned()))?,
    };
    if !settings.allowed.contains(&alg) {
        return Err(WebhookError::AlgorithmNotAllowed(format!("{alg:?}")));
    }
    let expected = hex::decode(digest.trim()).map_err(|_| WebhookError::BadDigest)?;
    let secret = settings.secret.as_bytes();
    let ok = match alg {
        DigestAlg::Sha1 => verify_mac::<Hmac<Sha1>>(secret, body, &expected),
        DigestAlg::Sha256 => verify_mac::<Hmac<Sha256>>(secret, body, &expected),
        DigestAlg::Sha512 => verify_mac::<Hmac<Sha512>>(secret, body, &expected),
    };
    if ok {
        Ok(())
    } else {
        Err(WebhookError::BadDigest)
    }
}

/// `reviewResult` of an event or a status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResult {
    pub review_answer: Option<String>,
    pub review_reject_type: Option<String>,
    #[serde(default)]
    pub reject_labels: Vec<String>,
    /// May be shown to the customer.
    pub moderation_comment: Option<String>,
    /// Internal only: never shown to the customer.
    pub client_comment: Option<String>,
}

/// A webhook event (a flat object). Unknown fields are ignored; personal data fields are not
/// read at all.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub applicant_id: String,
    pub external_user_id: Option<String>,
    pub level_name: Option<String>,
    pub review_status: Option<String>,
    pub review_result: Option<ReviewResult>,
    /// `2025-03-05 04:41:48.704` (UTC): with the type and applicant, the deduplication key.
    pub created_at_ms: Option<String>,
    pub correlation_id: Option<String>,
}

/// The events Custos acts on; every other type is stored and ignored.
pub const HANDLED: &[&str] = &[
    "applicantCreated",
    "applicantPending",
    "applicantPrechecked",
    "applicantOnHold",
    "applicantReviewed",
    "applicantReset",
    "applicantPersonalInfoChanged",
    "applicantDeleted",
];

impl Event {
    pub fn parse(body: &[u8]) -> Result<Event, WebhookError> {
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))
    }

    /// Whether Custos acts on this type.
    pub fn is_handled(&self) -> bool {
        HANDLED.contains(&self.kind.as_str())
    }

    /// The key that makes a duplicate delivery a no-op.
    pub fn dedup_key(&self) -> String {
        format!("{}|{}|{}", self.applicant_id, self.kind, self.created_at_ms.as_deref().unwrap_or(""))
    }

    /// The state this event reports, from its review status (never from its type). A reset
    /// sends the customer back to the start.
    pub fn state(&self) -> Option<VerificationState> {
        if self.kind == "applicantReset" {
            return Some(VerificationState::Requested);
        }
        let result = self.review_result.clone().unwrap_or_default();
        VerificationState::from_sumsub(
            self.review_status.as_deref()?,
            result.review_answer.as_deref(),
            result.review_reject_type.as_deref(),
        )
    }
}

/// How the adapter reaches SumSub.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub base_url: String,
    pub app_token: String,
    pub secret_key: String,
    /// `true` for a `sbx:` token; a token of the other kind is refused.
    pub sandbox: bool,
    pub timeout: Duration,
}

/// A SumSub error (`{code, description, correlationId}`), or the transport's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("SumSub answered {status}: {description} (correlation id {correlation_id})")]
    Refused { status: u16, description: String, correlation_id: String },
    #[error("SumSub could not be reached: {0}")]
    Transport(String),
    #[error("SumSub answered something unexpected: {0}")]
    Unexpected(String),
}

/// Why the SumSub settings cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the SumSub app token is not a {environment} token (it must start with {prefix})")]
    WrongEnvironment { environment: &'static str, prefix: &'static str },
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

impl From<ApiError> for RemoteError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Refused { .. } => RemoteError::Refused(e.to_string()),
            ApiError::Transport(_) => RemoteError::Unavailable(e.to_string()),
            ApiError::Unexpected(_) => RemoteError::Malformed(e.to_string()),
        }
    }
}

/// The applicant's id and where its review stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub id: String,
    pub review_status: Option<String>,
    pub review_result: Option<ReviewResult>,
}

pub struct Client {
    settings: ClientSettings,
    http: reqwest::Client,
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Client {
    pub fn new(settings: ClientSettings) -> Result<Client, SettingsError> {
        let (prefix, environment) = if settings.sandbox { ("sbx:", "sandbox") } else { ("prd:", "production") };
        if !settings.app_token.starts_with(prefix) {
            return Err(SettingsError::WrongEnvironment { environment, prefix });
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| SettingsError::Client(e.to_string()))?;
        Ok(Client { settings, http })
    }

    /// One signed call; the body is serialised once, signed and sent as those bytes.
    async fn call(
        &self,
        method: reqwest::Method,
        path_with_query: &str,
        body: Option<serde_json::Value>,
        now_secs: i64,
    ) -> Result<serde_json::Value, ApiError> {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("JSON values serialise")).unwrap_or_default();
        let ts = now_secs.to_string();
        let sig = sign(&self.settings.secret_key, &ts, method.as_str(), path_with_query, &bytes);
        let url = format!("{}{path_with_query}", self.settings.base_url.trim_end_matches('/'));
        let response = self
            .http
            .request(method, url)
            .header("X-App-Token", &self.settings.app_token)
            .header("X-App-Access-Ts", ts)
            .header("X-App-Access-Sig", sig)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(bytes)
            .send()
            .await
            .map_err(|e| ApiError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| ApiError::Transport(e.to_string()))?;
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if !(200..300).contains(&status) {
            return Err(ApiError::Refused {
                status,
                description: value["description"].as_str().unwrap_or("no description").to_owned(),
                correlation_id: value["correlationId"].as_str().unwrap_or("-").to_owned(),
            });
        }
        Ok(value)
    }

    fn applicant(v: &serde_json::Value) -> Result<Applicant, ApiError> {
        let id = v["id"].as_str().ok_or_else(|| ApiError::Unexpected("an applicant without id".into()))?;
        let review = &v["review"];
        Ok(Applicant {
            id: id.to_owned(),
            review_status: review["reviewStatus"].as_str().map(str::to_owned),
            review_result: serde_json::from_value(review["reviewResult"].clone()).ok(),
        })
    }

    /// Creates the applicant for our opaque customer reference (never personal data).
    pub async fn create_applicant(
        &self,
        external_user_id: &str,
        level: &str,
        now_secs: i64,
    ) -> Result<Applicant, ApiError> {
        let path = format!("/resources/applicants?levelName={}", percent(level));
        let body = serde_json::json!({"externalUserId": external_user_id, "type": "individual"});
        Self::applicant(&self.call(reqwest::Method::POST, &path, Some(body), now_secs).await?)
    }

    /// A WebSDK token for the cabinet to embed, bound to one customer and level.
    pub async fn sdk_token(
        &self,
        external_user_id: &str,
        level: &str,
        ttl_secs: u32,
        now_secs: i64,
    ) -> Result<String, ApiError> {
        let body = serde_json::json!({"userId": external_user_id, "levelName": level, "ttlInSecs": ttl_secs});
        let v = self.call(reqwest::Method::POST, "/resources/accessTokens/sdk", Some(body), now_secs).await?;
        v["token"].as_str().map(str::to_owned).ok_or_else(|| ApiError::Unexpected("no token in the answer".into()))
    }

    /// The name on the applicant's verified document, looked up by our customer reference
    /// (`GET /resources/applicants/-;externalUserId=…/one`): the Latin transliteration when
    /// SumSub gives one, else the name as extracted. Not stored: the caller keeps a keyed hash.
    pub async fn identity_name(&self, external_user_id: &str, now_secs: i64) -> Result<Option<String>, ApiError> {
        let path = format!("/resources/applicants/-;externalUserId={}/one", percent(external_user_id));
        let v = self.call(reqwest::Method::GET, &path, None, now_secs).await?;
        let info = &v["info"];
        let part = |en: &str, plain: &str| {
            info[en]
                .as_str()
                .or_else(|| info[plain].as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let name: Vec<String> =
            [part("firstNameEn", "firstName"), part("lastNameEn", "lastName")].into_iter().flatten().collect();
        Ok((!name.is_empty()).then(|| name.join(" ")))
    }

    /// The review status of an applicant (after a missed webhook).
    pub async fn status(
        &self,
        applicant_id: &str,
        now_secs: i64,
    ) -> Result<(Option<String>, Option<ReviewResult>), ApiError> {
        let path = format!("/resources/applicants/{}/status", percent(applicant_id));
        let v = self.call(reqwest::Method::GET, &path, None, now_secs).await?;
        Ok((v["reviewStatus"].as_str().map(str::to_owned), serde_json::from_value(v["reviewResult"].clone()).ok()))
    }
}

/// SumSub as Custos's KYC provider: the API client and the webhook check together.
pub struct SumsubProvider {
    client: Client,
    webhook: WebhookSettings,
    /// How long a WebSDK token lives.
    pub token_ttl_secs: u32,
}

impl SumsubProvider {
    pub fn new(client: ClientSettings, webhook: WebhookSettings) -> Result<SumsubProvider, SettingsError> {
        Ok(SumsubProvider { client: Client::new(client)?, webhook, token_ttl_secs: 600 })
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[async_trait::async_trait]
impl custos_app::ports::KycProvider for SumsubProvider {
    fn name(&self) -> &str {
        "sumsub"
    }

    async fn create_applicant(&self, customer_ref: &str, level: &str) -> Result<String, RemoteError> {
        Ok(self.client.create_applicant(customer_ref, level, now_secs()).await?.id)
    }

    async fn sdk_token(&self, customer_ref: &str, level: &str) -> Result<String, RemoteError> {
        Ok(self.client.sdk_token(customer_ref, level, self.token_ttl_secs, now_secs()).await?)
    }

    async fn identity_name(&self, customer_ref: &str) -> Result<Option<String>, RemoteError> {
        Ok(self.client.identity_name(customer_ref, now_secs()).await?)
    }

    fn read_webhook(
        &self,
        body: &[u8],
        digest: Option<&str>,
        alg: Option<&str>,
    ) -> Result<custos_app::ports::KycEvent, WebhookRefusal> {
        verify_webhook(&self.webhook, body, digest, alg).map_err(|e| WebhookRefusal::Signature(e.to_string()))?;
        let ev = Event::parse(body).map_err(|e| WebhookRefusal::Malformed(e.to_string()))?;
        let result = ev.review_result.clone().unwrap_or_default();
        Ok(custos_app::ports::KycEvent {
            dedup_key: ev.dedup_key(),
            state: if ev.is_handled() { ev.state() } else { None },
            kind: ev.kind,
            applicant_id: ev.applicant_id,
            customer_ref: ev.external_user_id,
            reject_labels: result.reject_labels,
            // The moderation comment may be shown to the customer; the client comment never.
            customer_comment: result.moderation_comment,
            at: ev.created_at_ms.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_matches_the_contract() {
        assert_eq!(percent("kyc level+1@example"), "kyc%20level%2B1%40example");
        assert_eq!(percent("basic-kyc-level"), "basic-kyc-level");
    }

    #[test]
    fn tokens_of_the_wrong_environment_are_refused() {
        let s = |token: &str, sandbox| ClientSettings {
            base_url: "http://127.0.0.1:1".into(),
            app_token: token.into(),
            secret_key: "k".into(),
            sandbox,
            timeout: Duration::from_secs(1),
        };
        assert!(Client::new(s("prd:x", true)).is_err());
        assert!(Client::new(s("sbx:x", false)).is_err());
        assert!(Client::new(s("sbx:x", true)).is_ok());
    }
}
