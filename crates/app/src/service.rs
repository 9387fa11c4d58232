//! The application: the services, each holding only the repositories it uses, built from one
//! store and handed out to the web layer and the CLI.

use crate::accounts::{Accounts, AuthSettings};
use crate::api_keys::ApiKeys;
use crate::appeals::Appeals;
use crate::cases::{CaseRepos, Cases};
use crate::clock::Clock;
use crate::context::Context;
use crate::deadlines::{DeadlineJob, DeadlineRepos};
use crate::error::{AppError, ErrorCode};
use crate::idempotency::Idempotency;
use crate::intake::{Intake, IntakeRepos};
use crate::keys::Keys;
use crate::kyc::{Kyc, KycRepos};
use crate::monitoring::MonitoringRules;
use crate::payouts::{PayoutRepos, Payouts};
use crate::ports::{AddressDeriver, Mailer, Store};
use crate::queries::Queries;
use crate::repos::AuditRepo;
use crate::requests::{RequestRepos, Requests};
use crate::screening::{Screener, Screening};
use crate::webhooks::WebhookEvents;
use custos_crypto::FieldCipher;
use custos_domain::audit::{ChainBreak, ChainVerifier};
use custos_domain::Policy;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub use crate::deadlines::{DeadlineRun, Deadlines};

/// What an [`App`] is built from.
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub screener: Screener,
    pub policy: Policy,
    pub derivers: Vec<Arc<dyn AddressDeriver>>,
    pub cipher: FieldCipher,
    pub clock: Arc<dyn Clock>,
    pub deadlines: Deadlines,
    pub monitoring: MonitoringRules,
    pub auth: AuthSettings,
    pub mailer: Arc<dyn Mailer>,
    /// The KYC provider; without one, officers review verifications themselves.
    pub kyc: Option<Arc<dyn crate::ports::KycProvider>>,
    pub kyc_rules: crate::kyc::KycRules,
    /// The integration mode in which API keys may answer a customer's request on their behalf
    /// (`[api] answers_by_key`, off by default). Such answers are labelled and never count as
    /// the customer's own (REF-2).
    pub answers_by_key: bool,
}

pub struct App {
    store: Arc<dyn Store>,
    cx: Context,
    screening: Arc<Screening>,
    accounts: Arc<Accounts>,
    queries: Arc<Queries>,
    intake: Intake,
    cases: Cases,
    payouts: Payouts,
    requests: Requests,
    kyc: Kyc,
    deadline_job: DeadlineJob,
    appeals: Appeals,
    disclosures: crate::disclosures::Disclosures,
    keys: Keys,
    api_keys: ApiKeys,
    webhook_events: WebhookEvents,
    idempotency: Idempotency,
}

impl App {
    /// Validates the policy, records its version, and builds the services, each with the
    /// repositories it uses.
    pub async fn new(parts: AppParts) -> Result<App, AppError> {
        parts.policy.validate().map_err(|e| AppError::invalid(ErrorCode::InvalidPolicy, e))?;
        let document = serde_json::to_string(&parts.policy).map_err(|e| AppError::Internal(e.to_string()))?;
        let policy_version =
            parts.store.ensure_policy_version(&parts.policy.fingerprint(), &document, parts.clock.now_ms()).await?;
        let store = parts.store;
        let clock = parts.clock;
        let cipher = crate::keys::prepare(store.as_ref(), parts.cipher, clock.now_ms()).await?;
        let cx = Context::new(cipher.clone(), clock.clone(), parts.deadlines, store.clone(), store.clone());
        let accounts = Arc::new(Accounts::new(
            crate::accounts::AccountRepos::of(&store),
            cipher.clone(),
            clock.clone(),
            parts.mailer,
            parts.auth,
        ));
        let queries = Arc::new(Queries::new(crate::queries::QueryRepos::of(&store), cipher.clone()));
        let screening = Arc::new(Screening::new(
            parts.screener,
            parts.policy,
            policy_version,
            store.clone(),
            queries.clone(),
            cx.clone(),
        ));
        let kyc =
            Kyc::new(KycRepos::of(&store), parts.kyc, parts.kyc_rules, queries.clone(), accounts.clone(), cx.clone());
        Ok(App {
            intake: Intake::new(
                IntakeRepos::of(&store),
                parts.derivers,
                parts.monitoring,
                screening.clone(),
                kyc.gate(),
                cx.clone(),
            ),
            cases: Cases::new(CaseRepos::of(&store), screening.clone(), queries.clone(), cx.clone()),
            payouts: Payouts::new(PayoutRepos::of(&store), screening.clone(), queries.clone(), kyc.gate(), cx.clone()),
            requests: Requests::new(
                RequestRepos::of(&store),
                queries.clone(),
                accounts.clone(),
                parts.answers_by_key,
                cx.clone(),
            ),
            deadline_job: DeadlineJob::new(DeadlineRepos::of(&store), cx.clone()),
            appeals: Appeals::new(crate::appeals::AppealRepos::of(&store), accounts.clone(), cx.clone()),
            disclosures: crate::disclosures::Disclosures::new(&store, queries.clone(), cx.clone()),
            keys: Keys::new(crate::keys::KeyRepos::of(&store), cipher.clone(), clock.clone()),
            api_keys: ApiKeys::new(store.clone(), clock.clone()),
            webhook_events: WebhookEvents::new(store.clone(), clock.clone()),
            idempotency: Idempotency::new(store.clone(), clock),
            kyc,
            screening,
            queries,
            accounts,
            store,
            cx,
        })
    }

    /// Orders, deposits and the chain watchers.
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// Screening addresses and transfers; the policy in force.
    pub fn screening(&self) -> &Screening {
        &self.screening
    }

    /// Cases and decisions.
    pub fn cases(&self) -> &Cases {
        &self.cases
    }

    /// Payouts, refunds and consolidation.
    pub fn payouts(&self) -> &Payouts {
        &self.payouts
    }

    /// Requests to the customer and their answers.
    pub fn requests(&self) -> &Requests {
        &self.requests
    }

    /// Verifying customers (KYC).
    pub fn kyc(&self) -> &Kyc {
        &self.kyc
    }

    /// The deadline job.
    pub fn deadline_job(&self) -> &DeadlineJob {
        &self.deadline_job
    }

    /// Accounts, sessions and MFA.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Appeals of an order's outcome and of a customer's standing.
    pub fn appeals(&self) -> &Appeals {
        &self.appeals
    }

    /// The register of authority requests (DISC-1): restricted records.
    pub fn disclosures(&self) -> &crate::disclosures::Disclosures {
        &self.disclosures
    }

    /// Key management: re-sealing, other processes' data keys, erasure.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// API keys: made by the operator or an admin, checked on every API request.
    pub fn api_keys(&self) -> &ApiKeys {
        &self.api_keys
    }

    /// The webhook outbox's events, for the API.
    pub fn webhook_events(&self) -> &WebhookEvents {
        &self.webhook_events
    }

    /// The API's idempotency keys.
    pub fn idempotency(&self) -> &Idempotency {
        &self.idempotency
    }

    /// The read models of the pages and the API.
    pub fn queries(&self) -> &Queries {
        &self.queries
    }

    pub fn policy(&self) -> &Policy {
        self.screening.policy()
    }

    pub fn policy_version(&self) -> i64 {
        self.screening.policy_version()
    }

    pub fn deadlines(&self) -> Deadlines {
        self.cx.deadlines
    }

    pub fn now_ms(&self) -> i64 {
        self.cx.now_ms()
    }

    /// PRE-1's self-service limit: counts a customer's pre-check, and says whether it is within
    /// `per_hour` in the last hour.
    pub async fn allow_customer_precheck(&self, customer: Uuid, per_hour: i64) -> Result<bool, AppError> {
        const HOUR: i64 = 3_600_000;
        let key = format!("precheck:{customer}");
        Ok(self.store.throttle_failure(&key, self.cx.now_ms(), HOUR, per_hour + 1, HOUR).await? == 0)
    }

    /// Walks the whole audit chain; returns the number of entries checked or the first break.
    pub async fn verify_audit(&self) -> Result<Result<u64, ChainBreak>, AppError> {
        verify_audit(self.store.as_ref()).await
    }

    /// Records an audit event on its own (for actions with no other state change).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        data: serde_json::Value,
    ) -> Result<(), AppError> {
        self.cx.audit(actor, action, entity_type, entity_id, data).await
    }
}

/// Verifies the audit chain of a store, page by page.
pub async fn verify_audit(store: &dyn AuditRepo) -> Result<Result<u64, ChainBreak>, AppError> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if let Err(b) = verifier.check(e) {
                return Ok(Err(b));
            }
        }
    }
    let head = store.audit_head().await?;
    Ok(verifier.finish(head.as_ref().map(|(s, h)| (*s, h.as_str()))))
}

/// The timeout given to each analyzer call.
pub fn default_analyzer_timeout() -> Duration {
    Duration::from_secs(30)
}
