//! The application: one value holding the ports and the policy, with a method per use case.

use crate::accounts::records::AccountKind;
use crate::accounts::{Accounts, AuthSettings, Authenticated};
use crate::clock::Clock;
use crate::error::{AppError, ErrorCode};
use crate::model::*;
use crate::monitoring::MonitoringRules;
use crate::ports::{AddressDeriver, Mailer, Store};
use crate::ports::{Direction, Transfer};
use crate::repos::AuditRepo;
use crate::screening::{Occasion, ScreenRequest, Screener};
use custos_crypto::{Aad, FieldCipher};
use custos_domain::access::Permission;
use custos_domain::audit::{AuditEvent, ChainBreak, ChainVerifier};
use custos_domain::decision::{ApprovalRefusal, Approver};
use custos_domain::order::OrderEvent;
use custos_domain::policy::{Action, Reason};
use custos_domain::status::{CaseStatus, DecisionStatus, RefundStatus, ReplyStatus};
use custos_domain::OrderStatus;
use custos_domain::{Address, Amount, Network, Policy};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Policy deadlines (invariant 7), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// SLA-1: the automatic check.
    pub primary_check_ms: i64,
    /// SEC-15: the customer's KYC.
    pub kyc_ms: i64,
    /// SLA-2: the officer's review.
    pub review_ms: i64,
    /// REF-4: the refund after the decision.
    pub refund_ms: i64,
    /// SEC-15: after a missed KYC deadline the customer is restricted; this much later, suspended.
    pub suspend_after_ms: i64,
    /// An order still awaiting its deposit this long after creation expires (none: never).
    /// Its address stays watched; a late deposit is screened and gets a case.
    pub order_expiry_ms: Option<i64>,
}

impl Default for Deadlines {
    fn default() -> Self {
        const H: i64 = 3_600_000;
        Deadlines {
            primary_check_ms: 5 * 60_000,
            kyc_ms: 24 * H,
            review_ms: 48 * H,
            refund_ms: 24 * H,
            suspend_after_ms: 24 * H,
            order_expiry_ms: None,
        }
    }
}

/// What one run of the deadline job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineRun {
    /// KYC requests whose customer was restricted or suspended.
    pub requests_escalated: usize,
    /// Cases past their deadline, alerted once.
    pub cases_alerted: usize,
    /// Refunds not sent by their due time (REF-4), alerted once.
    pub refunds_alerted: usize,
    /// Verification documents of reviews already decided, deleted by the retention job (PD-3):
    /// normally none, as the decision deletes them.
    pub documents_purged: u64,
    /// Orders that expired without a deposit.
    pub orders_expired: usize,
}

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
    pub(crate) store: Arc<dyn Store>,
    pub(crate) screener: Screener,
    pub(crate) policy: Policy,
    pub(crate) policy_version: i64,
    pub(crate) derivers: HashMap<Network, Arc<dyn AddressDeriver>>,
    pub(crate) cipher: FieldCipher,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) deadlines: Deadlines,
    pub(crate) monitoring: MonitoringRules,
    pub(crate) accounts: Arc<Accounts>,
    pub(crate) kyc: Option<Arc<dyn crate::ports::KycProvider>>,
    pub(crate) kyc_rules: crate::kyc::KycRules,
    pub(crate) answers_by_key: bool,
    pub(crate) queries: crate::queries::Queries,
    pub(crate) appeals: crate::appeals::Appeals,
    pub(crate) keys: crate::keys::Keys,
    pub(crate) api_keys: crate::api_keys::ApiKeys,
    pub(crate) webhook_events: crate::webhooks::WebhookEvents,
    pub(crate) idempotency: crate::idempotency::Idempotency,
}

impl App {
    /// Validates the policy and records its version.
    pub async fn new(parts: AppParts) -> Result<App, AppError> {
        parts.policy.validate().map_err(|e| AppError::invalid(ErrorCode::InvalidPolicy, e))?;
        let document = serde_json::to_string(&parts.policy).map_err(|e| AppError::Internal(e.to_string()))?;
        let policy_version =
            parts.store.ensure_policy_version(&parts.policy.fingerprint(), &document, parts.clock.now_ms()).await?;
        let now = parts.clock.now_ms();
        let cipher = crate::keys::prepare(parts.store.as_ref(), parts.cipher, now).await?;
        let accounts = Arc::new(Accounts::new(
            crate::accounts::AccountRepos::of(&parts.store),
            cipher.clone(),
            parts.clock.clone(),
            parts.mailer,
            parts.auth,
        ));
        let appeals = crate::appeals::Appeals::new(
            crate::appeals::AppealRepos::of(&parts.store),
            cipher.clone(),
            parts.clock.clone(),
            parts.deadlines.review_ms,
            accounts.clone(),
        );
        let queries = crate::queries::Queries::new(crate::queries::QueryRepos::of(&parts.store), cipher.clone());
        let idempotency = crate::idempotency::Idempotency::new(parts.store.clone(), parts.clock.clone());
        let keys = crate::keys::Keys::new(crate::keys::KeyRepos::of(&parts.store), cipher.clone(), parts.clock.clone());
        let api_keys = crate::api_keys::ApiKeys::new(parts.store.clone(), parts.clock.clone());
        let webhook_events = crate::webhooks::WebhookEvents::new(parts.store.clone(), parts.clock.clone());
        Ok(App {
            api_keys,
            webhook_events,
            appeals,
            keys,
            queries,
            idempotency,
            accounts,
            kyc: parts.kyc,
            kyc_rules: parts.kyc_rules,
            answers_by_key: parts.answers_by_key,
            store: parts.store,
            screener: parts.screener,
            policy: parts.policy,
            policy_version,
            derivers: parts.derivers.into_iter().map(|d| (d.network(), d)).collect(),
            cipher,
            clock: parts.clock,
            deadlines: parts.deadlines,
            monitoring: parts.monitoring,
        })
    }

    /// Accounts, sessions and MFA.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Appeals of an order's outcome and of a customer's standing.
    pub fn appeals(&self) -> &crate::appeals::Appeals {
        &self.appeals
    }

    /// Key management: re-sealing, other processes' data keys, erasure.
    pub fn keys(&self) -> &crate::keys::Keys {
        &self.keys
    }

    /// API keys: made by the operator or an admin, checked on every API request.
    pub fn api_keys(&self) -> &crate::api_keys::ApiKeys {
        &self.api_keys
    }

    /// The webhook outbox's events, for the API.
    pub fn webhook_events(&self) -> &crate::webhooks::WebhookEvents {
        &self.webhook_events
    }

    /// The API's idempotency keys.
    pub fn idempotency(&self) -> &crate::idempotency::Idempotency {
        &self.idempotency
    }

    /// The read models of the pages and the API.
    pub fn queries(&self) -> &crate::queries::Queries {
        &self.queries
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn policy_version(&self) -> i64 {
        self.policy_version
    }

    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn configured_networks(&self) -> Vec<Network> {
        let mut n: Vec<_> = self.derivers.keys().copied().collect();
        n.sort();
        n
    }

    /// PRE-1's self-service limit: counts a customer's pre-check, and says whether it is within
    /// `per_hour` in the last hour.
    pub async fn allow_customer_precheck(&self, customer: Uuid, per_hour: i64) -> Result<bool, AppError> {
        const HOUR: i64 = 3_600_000;
        let key = format!("precheck:{customer}");
        Ok(self.store.throttle_failure(&key, self.clock.now_ms(), HOUR, per_hour + 1, HOUR).await? == 0)
    }

    /// PRE-1: screens one address with every analyzer, decides, and records the screening.
    pub async fn screen_address(&self, address: &Address, actor: &str) -> Result<ScreeningRecord, AppError> {
        let screening = self.evaluate(Occasion::Address, address, std::slice::from_ref(address)).await;
        self.store.insert_screening(&screening, actor).await?;
        Ok(screening)
    }

    /// Screens addresses and decides without recording (the CLI's `screen` and the benchmark).
    pub async fn evaluate(&self, occasion: Occasion, subject: &Address, addresses: &[Address]) -> ScreeningRecord {
        self.evaluate_request(ScreenRequest { occasion, addresses, transfer: None }, subject).await
    }

    /// The analyzers' metrics (calls, errors, latency, cost, cache hits, breaker state).
    pub fn analyzer_metrics(&self) -> Vec<crate::screening::AnalyzerMetrics> {
        self.screener.metrics()
    }

    async fn evaluate_request(&self, request: ScreenRequest<'_>, subject: &Address) -> ScreeningRecord {
        let id = Uuid::now_v7();
        let mut reports = self.screener.screen(request).await;
        // The vendors' raw answers are evidence: kept, but only encrypted.
        for (i, report) in reports.iter_mut().enumerate() {
            if let Some(vendor) = report.vendor.as_mut() {
                if let Some(raw) = vendor.raw_payload.take() {
                    let column = format!("evidence:{i}");
                    let row = id.to_string();
                    vendor.evidence =
                        Some(self.cipher.encrypt(&raw, Aad { table: "screenings", column: &column, row: &row }));
                }
            }
        }
        let decision = self.policy.decide(&reports);
        let kind = match request.occasion {
            Occasion::Address => ScreeningKind::Address,
            Occasion::Deposit | Occasion::Rescreen => ScreeningKind::Deposit,
            Occasion::Payout | Occasion::Refund => ScreeningKind::Payout,
        };
        ScreeningRecord {
            id,
            kind,
            network: subject.network(),
            address: subject.as_str().to_owned(),
            order_id: None,
            deposit_id: None,
            decision,
            reports,
            policy_version: self.policy_version,
            created_at_ms: self.clock.now_ms(),
        }
    }

    /// ADDR-1: creates an order with a deposit address no other order has.
    pub async fn create_order(&self, order: NewOrder, actor: &str) -> Result<OrderRecord, AppError> {
        if !order.pay_asset.is_on(order.pay_network) {
            return Err(AppError::invalid(
                ErrorCode::AssetNotOnNetwork,
                format!("{} is not paid on {}", order.pay_asset, order.pay_network),
            ));
        }
        if !order.receive_asset.is_on(order.receive_network) {
            return Err(AppError::invalid(
                ErrorCode::AssetNotOnNetwork,
                format!("{} is not received on {}", order.receive_asset, order.receive_network),
            ));
        }
        let deriver = self.derivers.get(&order.pay_network).cloned().ok_or_else(|| {
            AppError::conflict(
                ErrorCode::NetworkNotConfigured,
                format!("no deposit key is configured for {}; orders paid on it cannot be created", order.pay_network),
            )
        })?;
        let id = Uuid::now_v7();
        let row = id.to_string();
        let (customer_email_enc, customer_email_index) = match &order.customer_email {
            Some(email) => {
                let normalized = email.trim().to_lowercase();
                let aad = Aad { table: "orders", column: "customer_email", row: &row };
                let index = self.cipher.blind_index("customer_email", &normalized);
                (Some(self.sealer_for(Some(&index)).await?.seal_str(&normalized, aad)), Some(index))
            }
            None => (None, None),
        };
        self.check_kyc_restriction(customer_email_index.as_deref(), false).await?;
        if let Some(index) = &customer_email_index {
            // SEC-14: a customer with an overdue KYC request may not start new exchanges.
            if let Some((_, status)) = self.store.customer_status(index).await? {
                if status != CustomerStatus::Active {
                    return Err(AppError::conflict(
                        ErrorCode::CustomerRestricted,
                        format!("this customer is {} until their KYC request is completed", status.as_str()),
                    ));
                }
            }
        }
        let write = OrderWrite {
            id,
            order,
            customer_email_enc,
            customer_email_index,
            created_by: actor.to_owned(),
            at_ms: self.clock.now_ms(),
            key_fingerprint: deriver.fingerprint().to_owned(),
        };
        let derive = move |i: u32| deriver.derive(i);
        Ok(self.store.create_order(&write, &derive).await?)
    }

    /// FLOW-1 and RISK-1: records a deposit, screens its sources and the deposit address,
    /// decides, moves the order and opens a case, all at once. Idempotent on
    /// (network, txid, index), also under concurrent duplicates.
    pub async fn report_deposit(&self, deposit: NewDeposit, actor: &str) -> Result<DepositOutcome, AppError> {
        let (order, recorded) =
            self.store.deposit_target(deposit.network, deposit.address.as_str(), &deposit.txid, deposit.index).await?;
        if recorded {
            if let Some(existing) = self.store.find_deposit(deposit.network, &deposit.txid, deposit.index).await? {
                return Ok(existing);
            }
        }
        let order = order.ok_or_else(|| {
            AppError::not_found(
                ErrorCode::UnknownDepositAddress,
                format!("{} is not the deposit address of any order", deposit.address),
            )
        })?;
        if order.pay_asset != deposit.asset {
            return Err(AppError::conflict(
                ErrorCode::AssetMismatch,
                format!("order {} is paid in {}, but the deposit is {}", order.number, order.pay_asset, deposit.asset),
            ));
        }
        // A deposit to an expired order is still screened, and officers get a case for it.
        let late = !order.status.accepts_deposits();
        let mut addresses: Vec<Address> = Vec::with_capacity(deposit.sources.len() + 1);
        for a in deposit.sources.iter().chain(std::iter::once(&deposit.address)) {
            if !addresses.contains(a) {
                addresses.push(a.clone());
            }
        }
        let deposit_id = Uuid::now_v7();
        let transfer = Transfer {
            network: deposit.network,
            asset: deposit.asset,
            txid: deposit.txid.clone(),
            index: deposit.index,
            amount: deposit.amount,
            direction: Direction::Incoming,
            address: deposit.address.clone(),
            counterparties: deposit.sources.clone(),
            customer_ref: Some(self.customer_ref(&order)),
        };
        let request = ScreenRequest { occasion: Occasion::Deposit, addresses: &addresses, transfer: Some(&transfer) };
        let mut screening = self.evaluate_request(request, &deposit.address).await;
        screening.order_id = Some(order.id);
        screening.deposit_id = Some(deposit_id);
        let now = self.clock.now_ms();
        // MON-1: the monitoring rules beside the analyzers.
        for hit in self
            .monitoring
            .check(self.store.as_ref(), self.store.as_ref(), &order, &deposit, &screening.reports, now)
            .await?
        {
            screening.decision.add_rule_hit(hit.rule, hit.detail, Action::Review);
        }
        if late {
            let detail =
                format!("order {} had expired: the funds wait for an officer (refund to the source)", order.number);
            screening.decision.add_rule_hit("late_deposit", detail, Action::Review);
        }
        let case = (screening.decision.action > Action::Proceed).then(|| {
            let (deadline_kind, window) = match screening.decision.action {
                Action::Review => (DeadlineKind::Review, self.deadlines.review_ms),
                _ => (DeadlineKind::Kyc, self.deadlines.kyc_ms),
            };
            CaseRecord::open(
                order.id,
                Some(deposit_id),
                screening.decision.action,
                screening.decision.reasons.clone(),
                deadline_kind,
                now,
                now + window,
            )
        });
        let record = DepositRecord {
            id: deposit_id,
            order_id: order.id,
            network: deposit.network,
            asset: deposit.asset,
            address: deposit.address.as_str().to_owned(),
            txid: deposit.txid,
            index: deposit.index,
            amount: deposit.amount,
            sources: deposit.sources.iter().map(|a| a.as_str().to_owned()).collect(),
            confirmations: deposit.confirmations,
            screening_id: screening.id,
            received_at_ms: now,
        };
        let write = DepositWrite { deposit: record, screening, case, actor: actor.to_owned() };
        Ok(self.store.record_deposit(&write).await?)
    }

    /// The customer as vendors that profile users see them: a keyed hash, stable per customer
    /// (per order when the customer is anonymous), never personal data.
    fn customer_ref(&self, order: &OrderRecord) -> String {
        match &order.customer_email_index {
            Some(index) => self.cipher.blind_index("vendor_customer_ref", index)[..32].to_owned(),
            None => order.id.simple().to_string(),
        }
    }

    /// ADDR-4, ADDR-5: asks to pay an accepted (or released) order out. The destination is
    /// screened first; unless it is clean the payout is blocked, the order goes to review and a
    /// case opens with the screening as its evidence.
    pub async fn request_payout(
        &self,
        order_id: Uuid,
        actor: &str,
    ) -> Result<(OrderRecord, ScreeningRecord, Option<CaseRecord>), AppError> {
        let order = self.queries.order(order_id).await?.order;
        if !matches!(order.status, OrderStatus::Accepted | OrderStatus::Released) {
            return Err(AppError::conflict(
                ErrorCode::OrderNotPayable,
                format!("order {} is {}; only accepted or released orders are paid out", order.number, order.status),
            ));
        }
        self.check_kyc_restriction(order.customer_email_index.as_deref(), true).await?;
        let destination = Address::parse(order.receive_network, &order.receive_address)
            .map_err(|e| AppError::Internal(format!("stored receive address: {e}")))?;
        let mut screening = self.evaluate(Occasion::Payout, &destination, std::slice::from_ref(&destination)).await;
        screening.order_id = Some(order.id);
        let now = self.clock.now_ms();
        let blocked = screening.decision.action > Action::Proceed;
        let case = blocked.then(|| {
            CaseRecord::open(
                order.id,
                None,
                screening.decision.action,
                screening.decision.reasons.clone(),
                DeadlineKind::Review,
                now,
                now + self.deadlines.review_ms,
            )
        });
        let mut events = vec![OrderEvent::PayoutRequested];
        if blocked {
            events.push(OrderEvent::PayoutBlocked);
        }
        let write = OrderEventWrite {
            data: json!({"payout": if blocked { "blocked" } else { "pending" }, "screening_id": screening.id,
                         "decision": screening.decision.action}),
            screening: Some(screening.clone()),
            case: case.clone(),
            ..OrderEventWrite::new(order.id, events, actor, now)
        };
        let order = self.store.apply_order_events(&write).await?;
        Ok((order, screening, case))
    }

    /// Records that the payout is on chain.
    pub async fn complete_payout(&self, order_id: Uuid, txid: &str, actor: &str) -> Result<OrderRecord, AppError> {
        self.queries.order(order_id).await?;
        let write = OrderEventWrite {
            data: json!({"payout_txid": txid}),
            ..OrderEventWrite::new(order_id, vec![OrderEvent::PayoutCompleted], actor, self.clock.now_ms())
        };
        Ok(self.store.apply_order_events(&write).await?)
    }

    /// A case an officer may still act on.
    async fn open_case(&self, id: Uuid) -> Result<CaseRecord, AppError> {
        let case = self.queries.case(id).await?;
        if case.status != CaseStatus::Open {
            return Err(AppError::conflict(ErrorCode::CaseClosed, format!("case {} is {}", case.number, case.status)));
        }
        Ok(case)
    }

    /// An officer decides on an open case. Freezing acts at once. A release acts at once for a
    /// review case, but a release of a held or rejected (high or critical) deposit and every
    /// refund wait for a second officer (four-eyes, `approve_decision`).
    pub async fn decide(
        &self,
        case_id: Uuid,
        request: DecisionRequest,
        actor: &str,
    ) -> Result<DecisionRecord, AppError> {
        let case = self.open_case(case_id).await?;
        let order = self.queries.order(case.order_id).await?.order;
        let (kind, params) = match &request {
            DecisionRequest::Release => (DecisionKind::Release, DecisionParams::None {}),
            DecisionRequest::Freeze => (DecisionKind::Freeze, DecisionParams::None {}),
            DecisionRequest::Refund { to_address, network_fee } => {
                (DecisionKind::Refund, DecisionParams::Refund(self.plan_refund(&case, to_address, *network_fee).await?))
            }
        };
        // Refuse now what the lifecycle will not allow, with the reason.
        order
            .status
            .apply(Self::decision_event(kind))
            .map_err(|e| AppError::conflict(ErrorCode::IllegalTransition, e.to_string()))?;
        let now = self.clock.now_ms();
        let decision = DecisionRecord {
            id: Uuid::now_v7(),
            case_id,
            order_id: order.id,
            kind,
            status: DecisionStatus::Pending,
            params,
            requested_by: actor.to_owned(),
            approved_by: None,
            created_at_ms: now,
            decided_at_ms: None,
        };
        let four_eyes = kind.needs_second_officer(case.action);
        if four_eyes && ActorKind::of(actor) != ActorKind::Staff {
            return Err(AppError::forbidden(
                ErrorCode::FourEyesNeedsStaff,
                "a refund, or a release of held or rejected funds, is decided by a named officer in the \
                 back-office and approved by another: an API key cannot make it",
            ));
        }
        self.store.insert_decision(&decision).await?;
        if four_eyes {
            return Ok(decision);
        }
        self.execute(decision, actor).await
    }

    /// A second officer approves a pending decision, which then takes effect. Only a person
    /// can: a member of staff whose role approves, with a fresh step-up, who did not ask for it.
    /// No API key approves, whatever its scopes (there is no API route for it).
    pub async fn approve_decision(&self, id: Uuid, approver: &Authenticated) -> Result<DecisionRecord, AppError> {
        let refused = |refusal| match refusal {
            ApprovalRefusal::NotPermitted => {
                AppError::forbidden(ErrorCode::ApprovalNotPermitted, "your role may not approve decisions")
            }
            ApprovalRefusal::StepUpRequired => {
                AppError::forbidden(ErrorCode::StepUpRequired, "enter your code again to approve a decision")
            }
            ApprovalRefusal::SamePerson => AppError::conflict(
                ErrorCode::FourEyes,
                "a second officer, not the one who asked, must approve this decision",
            ),
            ApprovalRefusal::NotDecidedByStaff => AppError::conflict(
                ErrorCode::FourEyes,
                "this decision was asked for by an API key, not an officer: decide it again in the back-office",
            ),
        };
        let person = Approver {
            is_staff: approver.account.kind == AccountKind::Staff,
            may_approve: approver.can(Permission::DecisionsApprove),
            stepped_up: approver.stepped_up,
        };
        person.check().map_err(refused)?;
        let actor = approver.actor();
        let actor = actor.as_str();
        let decision = self
            .store
            .get_decision(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::DecisionNotFound, format!("no decision {id}")))?;
        if decision.status != DecisionStatus::Pending {
            return Err(AppError::conflict(
                ErrorCode::DecisionNotPending,
                format!("decision {id} is {}", decision.status),
            ));
        }
        let decided_by_staff = ActorKind::of(&decision.requested_by) == ActorKind::Staff;
        person.check_for(decision.requested_by == actor, decided_by_staff).map_err(refused)?;
        self.execute(decision, actor).await
    }

    pub async fn get_refund(&self, id: Uuid) -> Result<RefundRecord, AppError> {
        self.store
            .get_refund(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::RefundNotFound, format!("no refund {id}")))
    }

    /// Records that a refund is on chain.
    pub async fn refund_sent(&self, refund_id: Uuid, txid: &str, actor: &str) -> Result<RefundRecord, AppError> {
        let refund = self.get_refund(refund_id).await?;
        let write = OrderEventWrite {
            data: json!({"refund_id": refund.id, "refund_txid": txid}),
            refund_sent: Some((refund.id, txid.to_owned())),
            ..OrderEventWrite::new(refund.order_id, vec![OrderEvent::RefundSent], actor, self.clock.now_ms())
        };
        self.store.apply_order_events(&write).await?;
        Ok(RefundRecord { status: RefundStatus::Sent, txid: Some(txid.to_owned()), ..refund })
    }

    fn decision_event(kind: DecisionKind) -> OrderEvent {
        match kind {
            DecisionKind::Release => OrderEvent::Released,
            DecisionKind::Refund => OrderEvent::RefundApproved,
            DecisionKind::Freeze => OrderEvent::Frozen,
        }
    }

    /// REF-2, REF-3: a refund of the case's deposit to one of its sources, less the network fee.
    async fn plan_refund(
        &self,
        case: &CaseRecord,
        to_address: &str,
        network_fee: Amount,
    ) -> Result<RefundRecord, AppError> {
        let deposit_id = case
            .deposit_id
            .ok_or_else(|| AppError::conflict(ErrorCode::NoDeposit, "this case has no deposit to refund"))?;
        let deposit = self
            .store
            .get_deposit(deposit_id)
            .await?
            .ok_or_else(|| AppError::Internal("the case's deposit is missing".into()))?;
        let view = self.queries.order(case.order_id).await?;
        let screening = view
            .screenings
            .iter()
            .find(|s| s.id == deposit.screening_id)
            .ok_or_else(|| AppError::Internal("the deposit's screening is missing".into()))?;
        // What can be refunded depends on the deposit (its network, its sources): a conflict
        // with the case, not a malformed request.
        let to = Address::parse(deposit.network, to_address).map_err(|e| {
            AppError::conflict(ErrorCode::RefundRefused, format!("to_address is no {} address: {e}", deposit.network))
        })?;
        let amount = custos_domain::refund::refund_amount(
            deposit.amount,
            network_fee,
            to.as_str(),
            &deposit.sources,
            &screening.decision.categories,
        )
        .map_err(|e| AppError::conflict(ErrorCode::RefundRefused, e.to_string()))?;
        // ADDR-4: the destination is screened again now, with the labels of today.
        let check = self.evaluate(Occasion::Refund, &to, std::slice::from_ref(&to)).await;
        if let Some(c) =
            check.decision.categories.iter().find(|c| custos_domain::refund::NEVER_REFUNDED.contains(&c.category))
        {
            return Err(AppError::conflict(
                ErrorCode::RefundRefused,
                format!("the refund destination now has {} exposure: freeze and report instead", c.category),
            ));
        }
        // REF-2: and only after the customer's KYC and Source of Funds have been answered on this
        // case, by the customer themselves (an answer an API key sent on their behalf is not theirs).
        let requests = self.store.requests_of_order(case.order_id).await?;
        for kind in [RequestKind::Kyc, RequestKind::SourceOfFunds] {
            let answered = requests.iter().any(|r| r.case_id == case.id && r.kind == kind && r.answered_by_customer());
            if !answered {
                return Err(AppError::conflict(
                    ErrorCode::KycSofRequired,
                    format!(
                        "a refund needs the customer's answered {} request on this case first (REF-2)",
                        kind.as_str()
                    ),
                ));
            }
        }
        let now = self.clock.now_ms();
        Ok(RefundRecord {
            id: Uuid::now_v7(),
            order_id: case.order_id,
            deposit_id,
            decision_id: Uuid::nil(),
            network: deposit.network,
            asset: deposit.asset,
            to_address: to.as_str().to_owned(),
            amount,
            network_fee,
            status: RefundStatus::Pending,
            txid: None,
            created_at_ms: now,
            due_at_ms: now + self.deadlines.refund_ms,
        })
    }

    async fn execute(&self, decision: DecisionRecord, approver: &str) -> Result<DecisionRecord, AppError> {
        let now = self.clock.now_ms();
        let refund = match (decision.kind, &decision.params) {
            (DecisionKind::Refund, DecisionParams::Refund(planned)) => {
                // REF-4: due 24 h after the decision takes effect.
                Some(RefundRecord {
                    decision_id: decision.id,
                    created_at_ms: now,
                    due_at_ms: now + self.deadlines.refund_ms,
                    ..planned.clone()
                })
            }
            (DecisionKind::Refund, DecisionParams::None {}) => {
                return Err(AppError::Internal(format!("refund decision {} carries no refund", decision.id)))
            }
            _ => None,
        };
        let write = OrderEventWrite {
            data: json!({"decision_id": decision.id, "decision": decision.kind.as_str(), "case_id": decision.case_id}),
            executes: Some((decision.id, approver.to_owned())),
            refund,
            closes_case: Some(decision.case_id),
            ..OrderEventWrite::new(decision.order_id, vec![Self::decision_event(decision.kind)], approver, now)
        };
        self.store.apply_order_events(&write).await?;
        Ok(DecisionRecord {
            status: DecisionStatus::Executed,
            approved_by: Some(approver.to_owned()),
            decided_at_ms: Some(now),
            ..decision
        })
    }

    /// Asks the customer for KYC, Source of Funds or more information, with a deadline (SEC-15:
    /// 24 h). A case in review goes back to the customer.
    pub async fn request_from_customer(
        &self,
        case_id: Uuid,
        kind: RequestKind,
        message: &str,
        actor: &str,
    ) -> Result<CustomerRequest, AppError> {
        let case = self.open_case(case_id).await?;
        custos_domain::text::check_text("message", message, 2000)
            .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e))?;
        let message = message.trim();
        let order = self.queries.order(case.order_id).await?.order;
        let message = match kind {
            // The Source-of-Funds questionnaire: the order's amount, the origin of the funds,
            // supporting documents; then the officer's own words.
            RequestKind::SourceOfFunds => format!(
                "Source of Funds for order {} ({} {} in base units). 1) Where do these funds come from \
                 (salary, savings, sale of assets, business income, other)? 2) Please attach supporting \
                 documents (bank statement, payslip, sale contract). {message}",
                order.number, order.pay_amount, order.pay_asset
            ),
            _ => message.to_owned(),
        };
        let now = self.clock.now_ms();
        let id = Uuid::now_v7();
        let row = id.to_string();
        let sealer = self.sealer_for(order.customer_email_index.as_deref()).await?;
        let sealed_message =
            sealer.seal_str(&message, Aad { table: "customer_requests", column: "message", row: &row });
        let request = CustomerRequest {
            id,
            case_id,
            order_id: order.id,
            customer_id: None,
            kind,
            status: ReplyStatus::Open,
            message,
            sealed_message: None,
            requested_by: actor.to_owned(),
            created_at_ms: now,
            due_at_ms: now + self.deadlines.kyc_ms,
            answered_at_ms: None,
            answered_by: None,
            review_due_at_ms: None,
            escalation: 0,
        };
        let events = match order.status {
            OrderStatus::InReview | OrderStatus::UnderReview => vec![OrderEvent::MoreInformationRequested],
            _ => vec![],
        };
        // The store keeps the message sealed only.
        let stored =
            CustomerRequest { message: String::new(), sealed_message: Some(sealed_message), ..request.clone() };
        let write = OrderEventWrite {
            data: json!({"request_id": request.id, "request": kind.as_str()}),
            opens_request: Some(stored),
            ..OrderEventWrite::new(order.id, events, actor, now)
        };
        self.store.apply_order_events(&write).await?;
        if let Some(index) = &order.customer_email_index {
            // The request stands whether or not the mail goes out; the cabinet shows it too.
            let body = format!(
                "We need information from you about order {} before {} (UTC). Log in to your personal \
                 cabinet to see the request and answer it.",
                order.number,
                custos_domain::time::rfc3339(request.due_at_ms)
            );
            if let Err(e) = self.accounts.notify_customer(index, "information needed for your order", &body).await {
                tracing::warn!(error = %e, request = %request.id, "could not e-mail the customer about a request");
            }
        }
        Ok(request)
    }

    /// The customer's answer (through the integrator's API); stored encrypted. Its review is
    /// due within 48 h (SLA-2); a held order goes to review.
    pub async fn answer_request(&self, id: Uuid, answer: &str, actor: &str) -> Result<CustomerRequest, AppError> {
        self.answer_request_with(id, answer, Vec::new(), actor).await
    }

    /// Answers a request with documents (checked, encrypted, stored with the answer in one
    /// transaction).
    pub async fn answer_request_with(
        &self,
        id: Uuid,
        answer: &str,
        files: Vec<crate::documents::Upload>,
        actor: &str,
    ) -> Result<CustomerRequest, AppError> {
        let request = self
            .store
            .get_request(id)
            .await?
            .map(|r| self.queries.opened(r))
            .ok_or_else(|| AppError::not_found(ErrorCode::RequestNotFound, format!("no request {id}")))?;
        if request.status != ReplyStatus::Open {
            return Err(AppError::conflict(ErrorCode::RequestAnswered, format!("request {id} is {}", request.status)));
        }
        match ActorKind::of(actor) {
            ActorKind::Customer => {}
            ActorKind::ApiKey if self.answers_by_key => {}
            ActorKind::ApiKey => {
                return Err(AppError::forbidden(
                    ErrorCode::AnswersByKeyDisabled,
                    "only the customer answers a request, in the cabinet; answering through the API is an \
                     integration mode the operator must enable ([api] answers_by_key)",
                ))
            }
            ActorKind::Staff | ActorKind::System => {
                return Err(AppError::forbidden(
                    ErrorCode::AnswerNeedsCustomer,
                    "only the customer answers their request",
                ))
            }
        }
        custos_domain::text::check_text("answer", answer, 20_000)
            .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e))?;
        let order = self.queries.order(request.order_id).await?.order;
        let now = self.clock.now_ms();
        let review_due = now + self.deadlines.review_ms;
        let row = id.to_string();
        let sealer = self.sealer_for(order.customer_email_index.as_deref()).await?;
        let sealed = sealer.seal_str(answer, Aad { table: "customer_requests", column: "answer", row: &row });
        let events = match order.status {
            OrderStatus::OnHoldAwaitingCustomer | OrderStatus::Rejected => vec![OrderEvent::CustomerAnswered],
            _ => vec![],
        };
        let documents = crate::documents::seal(&sealer, id, files, now)?;
        let write = OrderEventWrite {
            data: json!({"request_id": id, "review_due_at_ms": review_due, "documents": documents.len()}),
            answers_request: Some((id, sealed, review_due)),
            documents,
            ..OrderEventWrite::new(order.id, events, actor, now)
        };
        self.store.apply_order_events(&write).await?;
        Ok(CustomerRequest {
            status: ReplyStatus::Answered,
            answered_at_ms: Some(now),
            answered_by: Some(actor.to_owned()),
            review_due_at_ms: Some(review_due),
            ..request
        })
    }

    /// A customer's answer to a request, decrypted for an officer; the view is an audit event.
    pub async fn read_answer(&self, id: Uuid, actor: &str) -> Result<Option<String>, AppError> {
        let Some(sealed) = self.store.request_answer(id).await? else { return Ok(None) };
        let row = id.to_string();
        let answer = self
            .cipher
            .decrypt(&sealed, Aad { table: "customer_requests", column: "answer", row: &row })
            .map_err(|e| AppError::Internal(e.to_string()))?;
        self.audit(actor, "personal_data.viewed", "customer_request", &row, json!({"field": "answer"})).await?;
        Ok(Some(answer))
    }

    /// The documents of a request (names still encrypted).
    pub async fn documents_of_request(&self, request_id: Uuid) -> Result<Vec<DocumentRecord>, AppError> {
        Ok(self.store.documents_of_request(request_id).await?)
    }

    /// A document's name as officers see and download it: cleaned of invisible and control
    /// characters, with the extension of its sniffed type.
    pub fn document_name(&self, d: &DocumentRecord) -> String {
        let row = d.id.to_string();
        let stored = self
            .cipher
            .decrypt(&d.file_name_enc, crate::documents::aad("file_name", &row))
            .unwrap_or_else(|_| "document".into());
        crate::documents::display_name(&stored, &d.content_type)
    }

    /// A document's content for an officer; each opening is an audit event.
    pub async fn open_document(&self, id: Uuid, actor: &str) -> Result<(DocumentRecord, Vec<u8>), AppError> {
        let (record, sealed) = self
            .store
            .document(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::DocumentNotFound, format!("no document {id}")))?;
        let row = id.to_string();
        let bytes = self
            .cipher
            .decrypt_bytes(&sealed, crate::documents::aad("content", &row))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        self.audit(actor, "personal_data.viewed", "request_document", &row, json!({"sha256": record.sha256})).await?;
        Ok((record, bytes))
    }

    /// An officer's work on an open case: assign, note (stored encrypted), escalate, close.
    pub async fn case_action(
        &self,
        case_id: Uuid,
        action: CaseActionRequest,
        actor: &str,
    ) -> Result<CaseRecord, AppError> {
        let case = self.open_case(case_id).await?;
        let action = match action {
            CaseActionRequest::Assign(assignee) => {
                custos_domain::text::check_text("assignee", &assignee, 100)
                    .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e))?;
                let assignee = assignee.trim();
                CaseAction::Assign { assignee: assignee.to_owned() }
            }
            CaseActionRequest::Note(body) => {
                custos_domain::text::check_text("note", &body, 10_000)
                    .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e))?;
                let id = Uuid::now_v7();
                let row = id.to_string();
                CaseAction::Note {
                    id,
                    body_enc: self.cipher.encrypt(&body, Aad { table: "case_notes", column: "body", row: &row }),
                }
            }
            CaseActionRequest::Escalate => CaseAction::Escalate,
            CaseActionRequest::Close => CaseAction::Close,
            CaseActionRequest::Extend { hours, reason } => {
                if !(1..=24 * 14).contains(&hours) || custos_domain::text::check_text("reason", &reason, 500).is_err() {
                    return Err(AppError::invalid(
                        ErrorCode::InvalidField,
                        "extend: hours 1 to 336 and a reason of 1 to 500 characters",
                    ));
                }
                CaseAction::Extend {
                    due_at_ms: case.due_at_ms + i64::from(hours) * 3_600_000,
                    reason: reason.trim().to_owned(),
                }
            }
        };
        self.store.case_action(case_id, &action, actor, self.clock.now_ms()).await?;
        self.queries.case(case_id).await
    }

    /// The deadline job (SEC-14, SEC-15): a KYC request not answered in time restricts the
    /// customer, and `suspend_after` later suspends them; each step alerts the officers.
    /// Returns how many requests were escalated.
    pub async fn enforce_deadlines(&self) -> Result<DeadlineRun, AppError> {
        let now = self.clock.now_ms();
        let mut escalated = 0;
        for (level, status, due_before) in [
            (2, CustomerStatus::Suspended, now - self.deadlines.suspend_after_ms),
            (1, CustomerStatus::Restricted, now),
        ] {
            for r in self.store.overdue_requests(due_before, level).await? {
                self.store.escalate_request(r.id, level, r.customer_id.map(|c| (c, status)), now).await?;
                escalated += 1;
            }
        }
        escalated += self.enforce_kyc_deadlines().await?;
        // SLA-2, invariant 7: a case past its deadline alerts the officers, once.
        let cases_alerted = self.store.alert_overdue_cases(now).await?.len();
        let refunds_alerted = self.store.alert_overdue_refunds(now).await?.len();
        let documents_purged = self.store.purge_decided_verification_files(now).await?;
        let mut orders_expired = 0;
        if let Some(expiry) = self.deadlines.order_expiry_ms {
            for id in self.store.orders_awaiting_deposit_before(now - expiry).await? {
                let write = OrderEventWrite::new(id, vec![OrderEvent::Expired], "system", now);
                match self.store.apply_order_events(&write).await {
                    Ok(_) => orders_expired += 1,
                    // A deposit arrived meanwhile: the order no longer expires.
                    Err(crate::StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(DeadlineRun {
            requests_escalated: escalated,
            cases_alerted,
            refunds_alerted,
            documents_purged,
            orders_expired,
        })
    }

    /// Opens a review case on an order for rules found outside a screening (a shared card, a
    /// reorganisation), leaving its status as it is; `rules` are (rule, detail).
    pub(crate) async fn open_rule_case(
        &self,
        order_id: Uuid,
        deposit_id: Option<Uuid>,
        rules: Vec<(&str, String)>,
        data: serde_json::Value,
        actor: &str,
    ) -> Result<(), AppError> {
        let now = self.clock.now_ms();
        let reasons = rules
            .into_iter()
            .map(|(rule, detail)| Reason::Rule { action: Action::Review, rule: rule.into(), detail })
            .collect();
        let case = CaseRecord::open(
            order_id,
            deposit_id,
            Action::Review,
            reasons,
            DeadlineKind::Review,
            now,
            now + self.deadlines.review_ms,
        );
        let write = OrderEventWrite { data, case: Some(case), ..OrderEventWrite::new(order_id, vec![], actor, now) };
        self.store.apply_order_events(&write).await?;
        Ok(())
    }

    /// MON-1: screens again the deposits of the last `window_ms` (after the labels changed).
    /// A deposit whose decision is now more severe gets a new screening and a review case, and
    /// its order is escalated where the lifecycle allows. Returns the number flagged.
    pub async fn rescreen_recent(&self, window_ms: i64) -> Result<usize, AppError> {
        let now = self.clock.now_ms();
        let mut flagged = 0;
        for deposit in self.store.deposits_since(now - window_ms).await? {
            // Compared with the most severe screening on record for the deposit, so that a
            // deposit is flagged once per worsening, not at every pass.
            let view = self.queries.order(deposit.order_id).await?;
            let Some(worst) =
                view.screenings.iter().filter(|s| s.deposit_id == Some(deposit.id)).map(|s| s.decision.action).max()
            else {
                continue;
            };
            let mut addresses = Vec::with_capacity(deposit.sources.len() + 1);
            for raw in deposit.sources.iter().chain(std::iter::once(&deposit.address)) {
                if let Ok(a) = Address::parse(deposit.network, raw) {
                    if !addresses.contains(&a) {
                        addresses.push(a);
                    }
                }
            }
            let Some(subject) = addresses.last().cloned() else { continue };
            let mut screening = self.evaluate(Occasion::Rescreen, &subject, &addresses).await;
            let action = screening.decision.action;
            if action <= worst {
                continue;
            }
            screening.order_id = Some(deposit.order_id);
            screening.deposit_id = Some(deposit.id);
            let status = view.order.status;
            let events = match status.apply(OrderEvent::Screened(action)) {
                Ok(next) if next != status => vec![OrderEvent::Screened(action)],
                _ => vec![],
            };
            let case = CaseRecord::open(
                deposit.order_id,
                Some(deposit.id),
                action,
                screening.decision.reasons.clone(),
                DeadlineKind::Review,
                now,
                now + self.deadlines.review_ms,
            );
            let write = OrderEventWrite {
                data: json!({"rescreened_deposit": deposit.id, "previous_decision": worst, "decision": action}),
                screening: Some(screening),
                case: Some(case),
                ..OrderEventWrite::new(deposit.order_id, events, "system", now)
            };
            self.store.apply_order_events(&write).await?;
            flagged += 1;
        }
        Ok(flagged)
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
        let event = AuditEvent::new(actor, action, entity_type, entity_id, data);
        Ok(self.store.append_audit(&event, self.clock.now_ms()).await?)
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
