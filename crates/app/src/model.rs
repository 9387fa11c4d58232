//! Records the use cases read and write through the store.

use custos_domain::audit::AuditEvent;
use custos_domain::consolidation::SweepCandidate;
use custos_domain::policy::{Action, Decision};
use custos_domain::risk::RiskReport;
use custos_domain::status::{CaseStatus, DecisionStatus, RefundStatus, ReplyStatus, TransferStatus};
use custos_domain::{Address, Amount, Asset, Network, OrderStatus, RiskCategory};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Scope {
    #[serde(rename = "screenings:create")]
    ScreeningsCreate,
    #[serde(rename = "orders:create")]
    OrdersCreate,
    #[serde(rename = "orders:read")]
    OrdersRead,
    #[serde(rename = "deposits:create")]
    DepositsCreate,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    #[serde(rename = "payouts:manage")]
    PayoutsManage,
    #[serde(rename = "cases:manage")]
    CasesManage,
    #[serde(rename = "requests:answer")]
    RequestsAnswer,
    #[serde(rename = "metrics:read")]
    MetricsRead,
}

impl Scope {
    /// Scopes that act on compliance work (cases, decisions, the customer's answers). They are
    /// never minted from the back-office (an admin takes no compliance decisions, SEC-3); only
    /// the operator, with `custos apikey create`, can give them to a key.
    pub fn is_compliance(self) -> bool {
        matches!(self, Scope::CasesManage | Scope::RequestsAnswer)
    }

    pub const ALL: [Scope; 9] = [
        Scope::ScreeningsCreate,
        Scope::OrdersCreate,
        Scope::OrdersRead,
        Scope::DepositsCreate,
        Scope::WebhooksManage,
        Scope::PayoutsManage,
        Scope::CasesManage,
        Scope::RequestsAnswer,
        Scope::MetricsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ScreeningsCreate => "screenings:create",
            Scope::OrdersCreate => "orders:create",
            Scope::OrdersRead => "orders:read",
            Scope::DepositsCreate => "deposits:create",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::PayoutsManage => "payouts:manage",
            Scope::CasesManage => "cases:manage",
            Scope::RequestsAnswer => "requests:answer",
            Scope::MetricsRead => "metrics:read",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s)
    }
}

/// What kind of actor the audit log names: `staff:<id>` and `customer:<id>` are people,
/// `api_key:<id>` is a machine of the exchange's integration, anything else the system itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Staff,
    Customer,
    ApiKey,
    System,
}

impl ActorKind {
    pub fn of(actor: &str) -> ActorKind {
        match actor.split_once(':').map(|(kind, _)| kind) {
            Some("staff") => ActorKind::Staff,
            Some("customer") => ActorKind::Customer,
            Some("api_key") => ActorKind::ApiKey,
            _ => ActorKind::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at_ms: i64,
    pub revoked: bool,
}

/// One attribution of an address, as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRecord {
    pub network: Network,
    /// Normalised address.
    pub address: String,
    pub category: RiskCategory,
    pub label: String,
    /// 0–100.
    pub confidence: u8,
}

/// A named set of labels replaced as a whole on re-import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelSource {
    /// Unique name, e.g. "ofac-sdn" or "graphsense:ransomware".
    pub name: String,
    /// "ofac", "tagpack" or "csv".
    pub kind: String,
    /// Licence and origin to show with the labels.
    pub attribution: String,
}

/// A label with the source it came from, as loaded into the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLabel {
    pub source: String,
    pub imported_at_ms: i64,
    pub record: LabelRecord,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelSourceStats {
    pub name: String,
    pub kind: String,
    pub attribution: String,
    pub imported_at_ms: i64,
    pub labels: u64,
}

/// A request to create an order, validated.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub external_id: Option<String>,
    pub customer_email: Option<String>,
    pub pay_network: Network,
    pub pay_asset: Asset,
    pub pay_amount: Amount,
    pub receive_network: Network,
    pub receive_asset: Asset,
    pub receive_amount: Amount,
    pub receive_address: Address,
}

/// What the store writes for a new order (ids and derived values filled in by the app).
#[derive(Debug, Clone)]
pub struct OrderWrite {
    pub id: Uuid,
    pub order: NewOrder,
    /// Encrypted e-mail envelope and its blind index, when given.
    pub customer_email_enc: Option<String>,
    pub customer_email_index: Option<String>,
    pub created_by: String,
    pub at_ms: i64,
    pub key_fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRecord {
    pub id: Uuid,
    pub number: i64,
    pub external_id: Option<String>,
    pub status: OrderStatus,
    pub pay_network: Network,
    pub pay_asset: Asset,
    pub pay_amount: Amount,
    pub receive_network: Network,
    pub receive_asset: Asset,
    pub receive_amount: Amount,
    /// Normalised.
    pub receive_address: String,
    /// Normalised.
    pub deposit_address: String,
    pub deposit_index: u32,
    pub has_customer_email: bool,
    /// The keyed hash identifying the customer (internal: never rendered).
    #[serde(skip)]
    pub customer_email_index: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An incoming transfer reported to Custos, validated.
#[derive(Debug, Clone)]
pub struct NewDeposit {
    pub network: Network,
    pub asset: Asset,
    pub address: Address,
    /// Normalised (lower-case hex).
    pub txid: String,
    pub index: u32,
    pub amount: Amount,
    pub sources: Vec<Address>,
    pub confirmations: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositRecord {
    pub id: Uuid,
    pub order_id: Uuid,
    pub network: Network,
    pub asset: Asset,
    pub address: String,
    pub txid: String,
    pub index: u32,
    pub amount: Amount,
    pub sources: Vec<String>,
    pub confirmations: Option<u32>,
    pub screening_id: Uuid,
    pub received_at_ms: i64,
}

/// What was screened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreeningKind {
    /// A pre-check of an address (PRE-1).
    Address,
    /// The sources of a deposit and its deposit address (RISK-1).
    Deposit,
    /// The destination of a payout (ADDR-4, ADDR-5).
    Payout,
}

impl ScreeningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScreeningKind::Address => "address",
            ScreeningKind::Deposit => "deposit",
            ScreeningKind::Payout => "payout",
        }
    }
}

/// One screening: the reports of every analyzer and the decision, replayable from its inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreeningRecord {
    pub id: Uuid,
    pub kind: ScreeningKind,
    pub network: Network,
    /// The subject: the screened address, or the deposit address.
    pub address: String,
    pub order_id: Option<Uuid>,
    pub deposit_id: Option<Uuid>,
    pub decision: Decision,
    pub reports: Vec<RiskReport>,
    pub policy_version: i64,
    pub created_at_ms: i64,
}

pub use custos_domain::deadline::DeadlineKind;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRecord {
    pub id: Uuid,
    pub number: i64,
    pub order_id: Uuid,
    pub deposit_id: Option<Uuid>,
    /// The action that opened it.
    pub action: Action,
    pub status: CaseStatus,
    pub reasons: Vec<custos_domain::policy::Reason>,
    pub deadline_kind: DeadlineKind,
    pub opened_at_ms: i64,
    pub due_at_ms: i64,
    pub assignee: Option<String>,
    pub escalated: bool,
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Any when `None`.
    pub status: Option<CaseStatus>,
    pub action: Option<Action>,
    /// Only cases due at or before this moment (the overdue, with now).
    pub due_before_ms: Option<i64>,
    pub limit: i64,
}

/// How the case queue is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueSort {
    /// The earliest deadline first (the overdue on top): the default work order.
    #[default]
    Deadline,
    /// The newest first (the highest number: numbers follow opening).
    Newest,
    Oldest,
    /// The highest risk score first.
    Score,
}

impl QueueSort {
    pub const ALL: [QueueSort; 4] = [QueueSort::Deadline, QueueSort::Newest, QueueSort::Oldest, QueueSort::Score];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueSort::Deadline => "deadline",
            QueueSort::Newest => "newest",
            QueueSort::Oldest => "oldest",
            QueueSort::Score => "score",
        }
    }

    pub fn parse(s: &str) -> Option<QueueSort> {
        QueueSort::ALL.into_iter().find(|q| q.as_str() == s)
    }
}

/// What the queue's search box asks for, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueSearch {
    /// A case's or an order's number.
    Number(i64),
    /// An order's external id, a deposit's transaction id, or an address (the deposit address
    /// or a source), in its normalised form.
    Text(String),
    /// A customer's e-mail, by its blind index (never the e-mail itself).
    EmailIndex(String),
}

/// The case queue's filters, search, sort and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    /// Any when `None`.
    pub status: Option<CaseStatus>,
    pub action: Option<Action>,
    /// Cases opened because of this category (one of their reasons names it).
    pub category: Option<RiskCategory>,
    pub network: Option<Network>,
    /// Cases assigned to this actor (`staff:<id>`).
    pub assignee: Option<String>,
    /// Only cases due at or before this moment (the overdue, with now).
    pub due_before_ms: Option<i64>,
    /// Only cases where the customer answered a request, whose review is pending.
    pub answered: bool,
    pub search: Option<QueueSearch>,
    pub sort: QueueSort,
    /// Only cases numbered below this (a list's cursor, with the newest first).
    pub before_number: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// Orders for the API's list: filters, newest first, below a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderListQuery {
    pub external_id: Option<String>,
    pub status: Option<OrderStatus>,
    /// Created at or after.
    pub created_after_ms: Option<i64>,
    /// Created before.
    pub created_before_ms: Option<i64>,
    /// Only orders numbered below this (the cursor).
    pub before_number: Option<i64>,
    pub limit: i64,
}

/// One line of the queue: the case and what an officer needs to pick it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    pub case: CaseRecord,
    pub order_number: i64,
    pub external_id: Option<String>,
    pub network: Network,
    pub asset: Asset,
    /// The deposit's amount (the order's, for a case without a deposit).
    pub amount: Amount,
    pub band: Option<custos_domain::RiskBand>,
    pub score: Option<custos_domain::RiskScore>,
    /// The categories the case's screening found, once each.
    pub categories: Vec<RiskCategory>,
    /// The customer's account when they registered: its id and sealed e-mail.
    pub customer: Option<(Uuid, String)>,
    pub has_customer_email: bool,
    /// The customer's latest answer on the case, and when its review is due (SLA-2).
    pub answered_at_ms: Option<i64>,
    pub review_due_at_ms: Option<i64>,
}

/// What the store reads for the back-office overview.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFiguresRaw {
    /// Cases opened, and closed, per UTC day number (`ms / DAY_MS`) in the window.
    pub opened_per_day: Vec<(i64, i64)>,
    pub closed_per_day: Vec<(i64, i64)>,
    /// The cases closed in the window.
    pub closed: Vec<custos_domain::figures::CaseTimes>,
    /// Open cases by the categories they were opened for: each set of categories, how many.
    pub open_categories: Vec<(Vec<RiskCategory>, i64)>,
    /// Requests to customers still open past their deadline.
    pub overdue_requests: i64,
    /// Refunds not yet sent past their deadline (REF-4).
    pub overdue_refunds: i64,
}

/// The back-office overview (issue 15): open cases by outcome and category, the last days'
/// flow, how many closed by their deadline and how fast, and what is overdue.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFigures {
    pub open: QueueCounts,
    /// Open cases per category, the most first.
    pub open_by_category: Vec<(RiskCategory, i64)>,
    pub days: Vec<custos_domain::figures::DayFlow>,
    pub timeliness: custos_domain::figures::Timeliness,
    pub overdue_requests: i64,
    pub overdue_refunds: i64,
}

/// A page of the queue and how many cases match in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueuePage {
    pub rows: Vec<QueueRow>,
    pub total: i64,
}

/// The open cases per queue, for the queue's tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub review: i64,
    pub hold: i64,
    pub reject: i64,
    pub overdue: i64,
    /// Answered by the customer, review pending.
    pub answered: i64,
}

/// What an officer asks to do on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseActionRequest {
    Assign(String),
    Note(String),
    Escalate,
    Close,
    /// SLA-2: more analysis is needed; the deadline moves by this many hours.
    Extend {
        hours: u32,
        reason: String,
    },
}

/// An officer's work on a case that does not move the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    Assign {
        assignee: String,
    },
    /// A note; the body is already encrypted.
    Note {
        id: Uuid,
        body_enc: String,
    },
    /// Raised to the MLRO; alerts the officers.
    Escalate,
    Close,
    /// The new deadline, and why (no personal data).
    Extend {
        due_at_ms: i64,
        reason: String,
    },
}

impl CaseRecord {
    /// A new open case; its number is allocated by the store.
    pub fn open(
        order_id: Uuid,
        deposit_id: Option<Uuid>,
        action: Action,
        reasons: Vec<custos_domain::policy::Reason>,
        deadline_kind: DeadlineKind,
        now_ms: i64,
        due_at_ms: i64,
    ) -> CaseRecord {
        CaseRecord {
            id: Uuid::now_v7(),
            number: 0,
            order_id,
            deposit_id,
            action,
            status: CaseStatus::Open,
            reasons,
            deadline_kind,
            opened_at_ms: now_ms,
            due_at_ms,
            assignee: None,
            escalated: false,
        }
    }
}

/// Everything the store writes, atomically, when a deposit is screened.
#[derive(Debug, Clone)]
pub struct DepositWrite {
    pub deposit: DepositRecord,
    pub screening: ScreeningRecord,
    /// Opened when the decision is not `proceed`.
    pub case: Option<CaseRecord>,
    pub actor: String,
}

/// What came of reporting a deposit.
#[derive(Debug, Clone, PartialEq)]
pub struct DepositOutcome {
    pub deposit: DepositRecord,
    pub screening: ScreeningRecord,
    pub order: OrderRecord,
    pub case: Option<CaseRecord>,
    /// False when the same (network, txid, index) had been reported before.
    pub created: bool,
}

/// An order with everything that happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderView {
    pub order: OrderRecord,
    pub deposits: Vec<DepositRecord>,
    pub screenings: Vec<ScreeningRecord>,
    pub cases: Vec<CaseRecord>,
}

/// The stored outcome of a request made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First time: process it, then call `idempotency_complete`.
    New,
    /// Done before with the same request: here is the response.
    Replay { status: u16, body: String },
    /// Another request with this key is being processed now.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// A standalone audit event with who and when.
#[derive(Debug, Clone)]
pub struct AuditWrite {
    pub at_ms: i64,
    pub event: AuditEvent,
}

/// Where a webhook event is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Given up (after the last retry, or refused for good by the receiver); can be replayed.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

/// An event of the transactional outbox, written with the state change it reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEvent {
    pub id: Uuid,
    pub event_type: String,
    /// The event's data as stored (compact JSON).
    pub payload: String,
    pub created_at_ms: i64,
    pub attempts: u32,
    pub status: DeliveryStatus,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
}

impl OutboxEvent {
    /// The body sent to the receiver, `{id, type, created_at, data}`: built from stored fields
    /// only, so every attempt sends exactly the same bytes.
    pub fn body(&self) -> String {
        let event_type = serde_json::to_string(&self.event_type).unwrap_or_else(|_| "\"\"".into());
        format!(
            "{{\"id\":\"{}\",\"type\":{event_type},\"created_at\":\"{}\",\"data\":{}}}",
            self.id,
            custos_domain::time::rfc3339(self.created_at_ms),
            self.payload
        )
    }
}

/// What became of one delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryRecord {
    Delivered { at_ms: i64 },
    Retry { next_at_ms: i64, error: String },
    Dead { error: String },
}

/// A document a customer uploaded with an answer. Its name and content are encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub id: Uuid,
    pub request_id: Uuid,
    pub file_name_enc: String,
    /// Sniffed from the content: application/pdf, image/png or image/jpeg.
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at_ms: i64,
}

pub use custos_domain::decision::DecisionKind;

/// What an officer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionRequest {
    Release,
    Freeze,
    /// To one of the deposit's source addresses, less the network fee.
    Refund {
        to_address: String,
        network_fee: Amount,
    },
}

/// An officer's decision; `pending` until a second officer approves it (four-eyes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub id: Uuid,
    pub case_id: Uuid,
    pub order_id: Uuid,
    pub kind: DecisionKind,
    pub status: DecisionStatus,
    pub params: DecisionParams,
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub created_at_ms: i64,
    pub decided_at_ms: Option<i64>,
    /// Why the officer decided so, encrypted (`decisions.rationale`); none on decisions made
    /// before a rationale was required. Read with `Cases::rationale`.
    #[serde(skip)]
    pub rationale_enc: Option<String>,
}

/// What a decision carries beside its kind: a refund names its plan (destination, amount, fee),
/// kept with the decision until it takes effect. Stored as JSON: `{}`, or the refund's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DecisionParams {
    Refund(RefundRecord),
    None {},
}

impl DecisionParams {
    pub fn refund(&self) -> Option<&RefundRecord> {
        match self {
            DecisionParams::Refund(r) => Some(r),
            DecisionParams::None {} => None,
        }
    }
}

/// A refund to one of the deposit's source addresses (REF-2..REF-4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub id: Uuid,
    pub order_id: Uuid,
    pub deposit_id: Uuid,
    pub decision_id: Uuid,
    pub network: Network,
    pub asset: Asset,
    pub to_address: String,
    pub amount: Amount,
    pub network_fee: Amount,
    pub status: RefundStatus,
    pub txid: Option<String>,
    pub created_at_ms: i64,
    pub due_at_ms: i64,
}

pub use custos_domain::request::RequestKind;

/// A request to the customer, with its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerRequest {
    pub id: Uuid,
    pub case_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub kind: RequestKind,
    pub status: ReplyStatus,
    /// What the customer is asked (shown to them), opened for whoever may read it.
    pub message: String,
    /// The message as the store keeps it, sealed with the customer's data key (personal data);
    /// requests made before it was sealed have only `message`.
    #[serde(skip)]
    pub sealed_message: Option<String>,
    pub requested_by: String,
    pub created_at_ms: i64,
    pub due_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    /// Who answered: the customer (`customer:<id>`), or an API key of the exchange's integration
    /// (only with `[api] answers_by_key`), which never counts as the customer's own answer.
    pub answered_by: Option<String>,
    /// When an officer must have reviewed the answer (SLA-2).
    pub review_due_at_ms: Option<i64>,
    /// 0: on time; 1: overdue, customer restricted; 2: customer suspended.
    pub escalation: i64,
}

impl CustomerRequest {
    /// Answered by the customer themselves (in the cabinet), not by a key on their behalf: only
    /// such an answer counts for the refund and release rules (REF-2).
    pub fn answered_by_customer(&self) -> bool {
        self.status == ReplyStatus::Answered
            && self.answered_by.as_deref().is_some_and(|a| ActorKind::of(a) == ActorKind::Customer)
    }
}

/// A customer's standing (SEC-14, SEC-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Active,
    /// KYC overdue: no new orders until it passes.
    Restricted,
    /// KYC long overdue: the service is suspended.
    Suspended,
}

impl CustomerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Restricted => "restricted",
            CustomerStatus::Suspended => "suspended",
        }
    }
}

/// A customer's appeal of their account's suspension or restriction (SEC-17); an officer
/// answers and may reinstate them. Both texts are encrypted with the customer's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandingAppealRecord {
    pub id: Uuid,
    pub email_index: String,
    pub status: ReplyStatus,
    pub text_enc: String,
    pub outcome_enc: Option<String>,
    pub reinstated: bool,
    pub created_at_ms: i64,
    pub due_at_ms: i64,
    pub answered_by: Option<String>,
    pub answered_at_ms: Option<i64>,
}

/// A customer's appeal of a decision on their order, answered by an officer within the review
/// deadline. Both texts are encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealRecord {
    pub id: Uuid,
    pub order_id: Uuid,
    pub status: ReplyStatus,
    pub text_enc: String,
    pub outcome_enc: Option<String>,
    pub created_at_ms: i64,
    pub due_at_ms: i64,
    pub answered_by: Option<String>,
    pub answered_at_ms: Option<i64>,
}

/// A verification requested of a customer (KYC), done by a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    pub id: Uuid,
    /// The customer (blind index of the e-mail).
    pub email_index: String,
    /// What the provider knows the customer by: opaque, never personal data.
    pub customer_ref: String,
    pub order_id: Option<Uuid>,
    pub level: String,
    pub provider: String,
    pub state: custos_domain::kyc::VerificationState,
    pub applicant_id: Option<String>,
    /// The provider's reasons for a rejection (codes, no personal data).
    pub reject_labels: Vec<String>,
    /// What the customer is told to fix, encrypted.
    pub comment_enc: Option<String>,
    /// The provider's time of the event that set the state; an older event never overrides it.
    pub last_event_at: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub due_at_ms: i64,
    /// KYC-4: the name on the verified identity document, as a keyed hash of
    /// [`custos_domain::kyc::person_name_key`] (the name itself is not kept).
    pub identity_name_hash: Option<String>,
}

/// A bank card a customer pays with (KYC-4): only its ends and brand are kept, and a keyed hash
/// to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardRecord {
    pub id: Uuid,
    #[serde(skip)]
    pub email_index: String,
    pub first6: String,
    pub last4: String,
    pub brand: custos_domain::kyc::CardBrand,
    pub order_id: Option<Uuid>,
    pub state: custos_domain::status::CardState,
    /// How the holder's name compared with the verified identity.
    pub holder_check: custos_domain::status::HolderCheck,
    pub created_at_ms: i64,
}

/// A document submitted for a verification an officer reviews; deleted when the review ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationFile {
    pub id: Uuid,
    pub verification_id: Uuid,
    pub step: custos_domain::kyc::Step,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// KYC-3: the proof of address's issue date.
    pub issued_on: Option<String>,
    /// KYC-1/KYC-3: which accepted document the customer says it is.
    pub document_kind: Option<String>,
    pub created_at_ms: i64,
}

// Records the ports carry for the consolidation, key and watcher use cases.

/// A deposit not swept yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub deposit_id: Uuid,
    pub asset: Asset,
    pub address: String,
    pub amount: Amount,
    pub txid: String,
    /// The output index (Bitcoin) or the transfer's index.
    pub index: u32,
    /// The deposit address's receive index below the configured key.
    pub derivation_index: Option<u32>,
    pub state: SweepCandidate,
}

/// An encrypted column: where it is, and the names its values are bound to (their AAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The row's key column (also the AAD's row).
    pub key: &'static str,
    pub column: &'static str,
    /// The column name in the AAD.
    pub aad_column: &'static str,
    /// A JSON list of screening reports whose vendors' evidence is sealed
    /// (`[i].vendor.evidence`, bound to `evidence:<i>`).
    pub json_reports: bool,
}

/// A key as `data_keys` keeps it: wrapped by the master key, bound to its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: String,
    /// "index", or "customer:<e-mail blind index>".
    pub owner: String,
    /// `None` once erased.
    pub wrapped: Option<String>,
    pub created_at_ms: i64,
    pub erased_at_ms: Option<i64>,
}

/// A transfer the watcher keeps, from first sight to credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedTransfer {
    pub network: Network,
    pub txid: String,
    pub index: u32,
    pub asset: Asset,
    pub address: String,
    pub sources: Vec<String>,
    pub amount: Amount,
    pub block_number: u64,
    pub block_hash: String,
    pub status: TransferStatus,
    pub deposit_id: Option<Uuid>,
}

/// An authority request (DISC-1) as stored: who asks and the scope are sealed (they name the
/// authority and customers); kind, state and dates are plain for the register and its clocks.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorityRequestRecord {
    pub id: Uuid,
    /// The register's number, from 1.
    pub number: i64,
    pub kind: custos_domain::disclosure::AuthorityKind,
    pub state: custos_domain::disclosure::DisclosureState,
    pub emergency: bool,
    pub freeze_requested: bool,
    pub received_at_ms: i64,
    pub due_at_ms: i64,
    /// The customer may not be told before this moment (and in practice is never told).
    pub non_disclosure_until_ms: Option<i64>,
    /// [`custos_domain::disclosure::Details`] as sealed JSON (AAD `authority_requests/details/<id>`).
    pub details_enc: String,
    pub verification: Option<custos_domain::disclosure::Verification>,
    /// Who approved so far (`staff:<id>`), and the outcome the first approver chose.
    pub approvals: Vec<String>,
    pub pending_outcome: Option<custos_domain::disclosure::DisclosureState>,
    pub created_by: String,
    pub created_at_ms: i64,
    /// The statutory clock: when the reminder, and the overdue alert, went out.
    pub reminded_at_ms: Option<i64>,
    pub overdue_alerted_at_ms: Option<i64>,
    /// The SHA-256 naming the last bundle produced (of its signed tag manifest).
    pub bundle_sha256: Option<String>,
}

/// A legal hold over a customer (issue 16): while active, nothing of theirs is erased or
/// deleted. The reasons are sealed (AAD `legal_holds/reason/<id>`, `legal_holds/release_reason/<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHoldRecord {
    pub id: Uuid,
    pub email_index: String,
    /// The customer's e-mail masked, for the register (`an***@ex***.com`).
    pub customer_masked: String,
    pub reason_enc: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub released_by: Option<String>,
    pub released_at_ms: Option<i64>,
    pub release_reason_enc: Option<String>,
}

#[cfg(test)]
mod decision_params_tests {
    use super::*;

    /// The JSON the decisions table has held since refunds were planned: `{}` for a release or
    /// a freeze, the refund's own fields for a refund.
    #[test]
    fn decision_params_read_and_write_the_stored_json() {
        assert_eq!(serde_json::from_str::<DecisionParams>("{}").unwrap(), DecisionParams::None {});
        assert_eq!(serde_json::to_string(&DecisionParams::None {}).unwrap(), "{}");
        let refund = RefundRecord {
            id: Uuid::nil(),
            order_id: Uuid::nil(),
            deposit_id: Uuid::nil(),
            decision_id: Uuid::nil(),
            network: Network::Ethereum,
            asset: Asset::Eth,
            to_address: "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359".into(),
            amount: Amount(997_900),
            network_fee: Amount(2100),
            status: RefundStatus::Pending,
            txid: None,
            created_at_ms: 1,
            due_at_ms: 2,
        };
        let stored = serde_json::to_value(&refund).unwrap();
        assert_eq!(stored["status"], "pending");
        assert_eq!(stored["amount"], "997900");
        let read: DecisionParams = serde_json::from_value(stored).unwrap();
        assert_eq!(read.refund(), Some(&refund));
    }
}
