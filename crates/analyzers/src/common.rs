//! What the vendor adapters share: one HTTP call with its failure class, polling with backoff
//! within the check's budget, the evidence trail, and turning a verdict into a report.

use custos_domain::risk::{CategoryFinding, Exposure, ReportStatus, RiskBand, RiskReport, RiskScore, VendorDetail};
use custos_domain::{Address, RiskCategory};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a vendor call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Network error, 429 or 5xx: worth asking again within the budget.
    #[error("{0}")]
    Retryable(String),
    /// 404: not found, or (for some vendors) not calculated yet.
    #[error("{0}")]
    NotFound(String),
    /// Anything else (auth, validation, garbage): asking again will not help.
    #[error("{0}")]
    Fatal(String),
}

/// Why a check gave no verdict. The failed report says it, and the policy sends the operation
/// to review.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The vendor refused the call or failed for good.
    #[error("{0}")]
    Refused(String),
    /// The check did not finish within its budget (SLA-1).
    #[error("{what} not complete within {budget_s} s ({last})")]
    OutOfTime { what: String, budget_s: u64, last: String },
    /// The answer lacks what it must carry, or carries what cannot be read.
    #[error("{0}")]
    Malformed(String),
}

impl From<&str> for CheckError {
    fn from(why: &str) -> CheckError {
        CheckError::Malformed(why.to_owned())
    }
}

/// Why an adapter cannot be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("analyzer {analyzer}: {field} is required")]
    Missing { analyzer: String, field: &'static str },
    #[error("vendor base URL \"{0}\" must start with https:// (or http:// for a local test server)")]
    BaseUrl(String),
    #[error("HTTP client: {0}")]
    Client(String),
}

/// How often and how long a pending check is asked about again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// The first pause; each later pause is half as long again, up to `max`.
    pub first: Duration,
    pub max: Duration,
    /// The whole check's budget (SLA-1); past it the check fails (and the policy reviews).
    pub budget: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings { first: Duration::from_secs(2), max: Duration::from_secs(20), budget: Duration::from_secs(270) }
    }
}

/// One step of a poll loop.
pub enum Step<T> {
    Done(T),
    /// Not ready yet (the reason is shown if the budget runs out).
    Pending(String),
}

/// Runs `step` until it is done, fails for good, or the budget runs out. Retryable errors
/// count as pending.
pub async fn poll<T, F, Fut>(settings: &PollSettings, what: &str, mut step: F) -> Result<T, CheckError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Step<T>, CallError>>,
{
    let started = Instant::now();
    let mut pause = settings.first;
    loop {
        let last = match step().await {
            Ok(Step::Done(v)) => return Ok(v),
            Ok(Step::Pending(why)) => why,
            Err(CallError::Retryable(why)) => why,
            Err(CallError::NotFound(why)) | Err(CallError::Fatal(why)) => return Err(CheckError::Refused(why)),
        };
        if started.elapsed() + pause > settings.budget {
            return Err(CheckError::OutOfTime { what: what.to_owned(), budget_s: settings.budget.as_secs(), last });
        }
        tokio::time::sleep(pause).await;
        pause = (pause + pause / 2).min(settings.max);
    }
}

/// A vendor's HTTP endpoint.
#[derive(Clone)]
pub struct Endpoint {
    pub client: reqwest::Client,
    /// Without a trailing slash.
    pub base: String,
}

impl Endpoint {
    pub fn new(base_url: &str) -> Result<Endpoint, ConfigError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ConfigError::BaseUrl(base_url.to_owned()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("custos/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Endpoint { client, base })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and reads a JSON answer, recording it as evidence.
    pub async fn json(
        &self,
        request: reqwest::RequestBuilder,
        label: &str,
        evidence: &Evidence,
    ) -> Result<Value, CallError> {
        let response =
            request.send().await.map_err(|e| CallError::Retryable(format!("{label}: {}", without_url(&e))))?;
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = response.text().await.map_err(|e| CallError::Retryable(format!("{label}: {}", without_url(&e))))?;
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        evidence.record(label, status, parsed.clone().unwrap_or_else(|| Value::String(truncate(&body, 2_000))));
        let detail = || {
            parsed
                .as_ref()
                .and_then(|v| v.get("detail").or_else(|| v.get("message")).or_else(|| v.get("error")))
                .and_then(Value::as_str)
                .map(|s| truncate(s, 200))
                .unwrap_or_default()
        };
        match status {
            200..=299 => match parsed {
                Some(v) if is_json || v.is_object() || v.is_array() => Ok(v),
                _ => Err(CallError::Fatal(format!("{label}: the vendor answered malformed JSON"))),
            },
            404 => Err(CallError::NotFound(detail())),
            429 => Err(CallError::Retryable(format!("{label}: rate limited (HTTP 429)"))),
            500..=599 => Err(CallError::Retryable(format!("{label}: vendor error HTTP {status}"))),
            401 | 403 => {
                Err(CallError::Fatal(format!("{label}: refused (HTTP {status}) {}", detail()).trim_end().to_owned()))
            }
            _ => Err(CallError::Fatal(format!("{label}: HTTP {status} {}", detail()).trim_end().to_owned())),
        }
    }
}

/// The error without the URL (which may carry query parameters).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "broken answer"
    } else {
        "request failed"
    };
    kind.to_owned()
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Every answer of one check, in order: the raw evidence kept (encrypted) with the screening.
#[derive(Default)]
pub struct Evidence(std::sync::Mutex<Vec<Value>>);

impl Evidence {
    fn record(&self, call: &str, status: u16, body: Value) {
        self.0.lock().expect("evidence lock").push(json!({"call": call, "status": status, "body": body}));
    }

    fn take(&self) -> Option<String> {
        let calls = std::mem::take(&mut *self.0.lock().expect("evidence lock"));
        (!calls.is_empty()).then(|| Value::Array(calls).to_string())
    }
}

/// The normalised verdict an adapter builds before it becomes a report.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The vendor's level as sent.
    pub level: Option<String>,
    /// The vendor's score as sent, and its normalised 0–100 value.
    pub raw_score: Option<String>,
    pub score: Option<RiskScore>,
    pub findings: Vec<CategoryFinding>,
    pub reference: Option<String>,
    pub sanctions_only: bool,
}

impl Verdict {
    /// Adds a finding; a category seen twice keeps its strongest exposure.
    pub fn add(
        &mut self,
        source: &Arc<str>,
        category: RiskCategory,
        code: &str,
        share: Exposure,
        direct: bool,
        label: Option<&str>,
    ) {
        if let Some(f) = self
            .findings
            .iter_mut()
            .find(|f| f.category == category && f.direct == direct && f.vendor_code.as_deref() == Some(code))
        {
            f.exposure = f.exposure.max(share);
            return;
        }
        self.findings.push(CategoryFinding {
            category,
            exposure: share,
            direct,
            label: label.filter(|l| !l.is_empty()).map(Arc::from),
            source: Some(source.clone()),
            vendor_code: Some(code.to_owned()),
            confidence: None,
        });
    }
}

/// A 0–1 fraction as an exposure share.
pub fn share(fraction: f64) -> Exposure {
    Exposure::from_percent(fraction * 100.0)
}

/// A number the vendor may send as a number or as a decimal string.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

/// Builds the report of a check.
pub fn report(
    analyzer: &str,
    subject: &Address,
    txid: Option<&str>,
    result: Result<Verdict, CheckError>,
    evidence: &Evidence,
) -> RiskReport {
    let raw_payload = evidence.take();
    let mut r = match result {
        Err(error) => RiskReport::failed(analyzer.to_owned(), subject, error.to_string()),
        Ok(v) => {
            let mut r = RiskReport::new(analyzer.to_owned(), subject, ReportStatus::Completed);
            r.band = v.level.as_deref().and_then(RiskBand::from_vendor_level);
            r.score = v.score;
            r.categories = v.findings;
            r.sanctions_only = v.sanctions_only;
            r.vendor = Some(VendorDetail {
                level: v.level,
                raw_score: v.raw_score,
                reference: v.reference,
                evidence: None,
                raw_payload: None,
            });
            r
        }
    };
    r.txid = txid.map(str::to_owned);
    r.vendor.get_or_insert_with(VendorDetail::default).raw_payload = raw_payload;
    r
}

/// The analyzer port of a vendor adapter, from its `address_verdict` and, with `transfers`,
/// its `transfer_verdict`: each check collects its evidence and becomes one report.
macro_rules! vendor_analyzer {
    ($adapter:ty $(, $transfers:ident)?) => {
        #[async_trait::async_trait]
        impl custos_app::ports::Analyzer for $adapter {
            fn name(&self) -> &str {
                &self.name
            }

            async fn screen_address(&self, address: &custos_domain::Address) -> custos_domain::RiskReport {
                let ev = $crate::common::Evidence::default();
                let result = self.address_verdict(address, &ev).await;
                $crate::common::report(&self.name, address, None, result, &ev)
            }

            $(
                #[doc = concat!("Screens ", stringify!($transfers), " too.")]
                fn screens_transfers(&self) -> bool {
                    true
                }

                async fn screen_transfer(&self, transfer: &custos_app::ports::Transfer) -> custos_domain::RiskReport {
                    let ev = $crate::common::Evidence::default();
                    let result = self.transfer_verdict(transfer, &ev).await;
                    $crate::common::report(&self.name, &transfer.address, Some(&transfer.txid), result, &ev)
                }
            )?
        }
    };
}
pub(crate) use vendor_analyzer;
