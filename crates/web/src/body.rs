//! The API's response bodies: typed, serialised as they are, and described by the schemas
//! derived from the same types (`utoipa::ToSchema`), so that what the OpenAPI document says a
//! response holds and what the server sends cannot drift apart.
//!
//! Fields of the domain's own types (statuses, networks, amounts, scores) carry the schema of
//! their values (`schema_with`): the names each type serialises to, from the domain's lists.

use crate::dto::rfc3339;
use custos_app::model::*;
use custos_domain::policy::{Action, Reason};
use custos_domain::risk::{ReportStatus, RiskBand, RiskReport, RiskScore};
use custos_domain::status::{CardState, CaseStatus, DecisionStatus, HolderCheck, RefundStatus, ReplyStatus};
use custos_domain::{Address, Amount, Asset, Exposure, Network, OrderStatus, RiskCategory};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::ToSchema;
use uuid::Uuid;

/// A schema written as JSON Schema.
fn schema(v: Value) -> Schema {
    serde_json::from_value(v).expect("a JSON Schema the OpenAPI types read")
}

fn names(values: impl IntoIterator<Item = &'static str>, nullable: bool) -> Schema {
    let values: Vec<&str> = values.into_iter().collect();
    if nullable {
        schema(
            json!({"type": ["string", "null"], "enum": values.into_iter().map(Value::from).chain([Value::Null]).collect::<Vec<_>>()}),
        )
    } else {
        schema(json!({"type": "string", "enum": values}))
    }
}

macro_rules! named {
    ($($fn:ident: $values:expr;)+) => {
        $(fn $fn() -> Schema {
            names($values, false)
        })+
    };
}

named! {
    order_status: OrderStatus::ALL.iter().map(|s| s.as_str());
    network: Network::ALL.iter().map(|n| n.as_str());
    asset: Asset::ALL.iter().map(|a| a.as_str());
    band: RiskBand::ALL.iter().map(|b| b.as_str());
    action: Action::ALL.iter().map(|a| a.as_str());
    category: RiskCategory::ALL.iter().map(|c| c.as_str());
    case_status: CaseStatus::ALL.iter().map(|s| s.as_str());
    decision_status: DecisionStatus::ALL.iter().map(|s| s.as_str());
    refund_status: RefundStatus::ALL.iter().map(|s| s.as_str());
    reply_status: ReplyStatus::ALL.iter().map(|s| s.as_str());
    card_state: CardState::ALL.iter().map(|s| s.as_str());
    holder_check: HolderCheck::ALL.iter().map(|s| s.as_str());
    card_brand: custos_domain::kyc::CardBrand::ALL.iter().map(|b| b.as_str());
    request_kind: RequestKind::ALL.iter().map(|k| k.as_str());
    deadline_kind: [DeadlineKind::Kyc, DeadlineKind::Review].into_iter().map(DeadlineKind::as_str);
    decision_kind: [DecisionKind::Release, DecisionKind::Refund, DecisionKind::Freeze].into_iter().map(DecisionKind::as_str);
    delivery_status: [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Dead].into_iter().map(DeliveryStatus::as_str);
    report_status: ["completed", "failed"];
}

fn nullable_band() -> Schema {
    names(RiskBand::ALL.iter().map(|b| b.as_str()), true)
}

fn score() -> Schema {
    schema(json!({"type": "number", "minimum": 0, "maximum": 100}))
}

fn exposure() -> Schema {
    schema(json!({"type": "number", "description": "Percent of the value"}))
}

fn amount() -> Schema {
    schema(
        json!({"type": "string", "pattern": "^[0-9]+$", "description": "Integer amount in base units, as a string of digits"}),
    )
}

fn reasons() -> Schema {
    schema(
        json!({"type": "array", "items": {"type": "object"}, "description": "Why: each rule, band or category behind the decision"}),
    )
}

/// Displays a normalised address the way a person expects (EIP-55 on Ethereum).
fn display(network: Network, normalized: &str) -> String {
    Address::parse(network, normalized).map(|a| a.display()).unwrap_or_else(|_| normalized.to_owned())
}

/// One category's strongest exposure across the analyzers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryShare {
    #[schema(schema_with = category)]
    pub category: RiskCategory,
    #[schema(schema_with = exposure)]
    pub exposure: Exposure,
    pub direct: bool,
}

/// One finding of one analyzer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Finding {
    #[schema(schema_with = category)]
    pub category: RiskCategory,
    #[schema(schema_with = exposure)]
    pub exposure: Exposure,
    pub direct: bool,
    /// The vendor's own code for it, if it sent one.
    pub vendor_code: Option<String>,
    pub label: Option<String>,
}

/// One analyzer's own result within a screening: what it said, how long it took, and where
/// it came from (a fresh call or the cache).
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyzerSummary {
    pub name: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    #[schema(schema_with = report_status)]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = nullable_band)]
    pub band: Option<RiskBand>,
    /// The vendor's own band (absent for a score-only analyzer), level and score as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_score: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_reference: Option<String>,
    pub categories: Vec<Finding>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sanctions_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    pub cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AnalyzerSummary {
    fn of(network: Network, r: &RiskReport) -> AnalyzerSummary {
        AnalyzerSummary {
            name: r.analyzer.to_string(),
            address: display(network, &r.address),
            txid: r.txid.clone(),
            status: match r.status {
                ReportStatus::Completed => "completed",
                ReportStatus::Failed { .. } => "failed",
            },
            risk_score: r.score.map(|s| s.as_f64()),
            band: r.band,
            vendor_level: r.vendor.as_ref().and_then(|v| v.level.clone()),
            vendor_score: r.vendor.as_ref().and_then(|v| v.raw_score.clone()),
            vendor_reference: r.vendor.as_ref().and_then(|v| v.reference.clone()),
            categories: r
                .categories
                .iter()
                .map(|f| Finding {
                    category: f.category,
                    exposure: f.exposure,
                    direct: f.direct,
                    vendor_code: f.vendor_code.clone(),
                    label: f.label.as_deref().map(str::to_owned),
                })
                .collect(),
            sanctions_only: r.sanctions_only,
            latency_ms: r.latency_ms,
            cached: r.cached,
            error: match &r.status {
                ReportStatus::Failed { error } => Some(error.clone()),
                ReportStatus::Completed => None,
            },
        }
    }
}

/// A screening and its decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Screening {
    pub id: Uuid,
    #[schema(schema_with = network)]
    pub network: Network,
    pub address: String,
    #[schema(schema_with = score)]
    pub risk_score: RiskScore,
    #[schema(schema_with = band)]
    pub band: RiskBand,
    #[schema(schema_with = action)]
    pub decision: Action,
    pub requires_kyc: bool,
    pub categories: Vec<CategoryShare>,
    pub analyzers: Vec<AnalyzerSummary>,
    #[schema(schema_with = reasons)]
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
    pub explanation: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&ScreeningRecord> for Screening {
    fn from(s: &ScreeningRecord) -> Screening {
        Screening {
            id: s.id,
            network: s.network,
            address: display(s.network, &s.address),
            risk_score: s.decision.score,
            band: s.decision.band,
            decision: s.decision.action,
            requires_kyc: s.decision.requires_kyc,
            categories: s
                .decision
                .categories
                .iter()
                .map(|c| CategoryShare { category: c.category, exposure: c.exposure, direct: c.direct })
                .collect(),
            analyzers: s.reports.iter().map(|r| AnalyzerSummary::of(s.network, r)).collect(),
            reasons: s.decision.reasons.clone(),
            policy_version: s.policy_version,
            explanation: s.decision.explanation(),
            created_at: rfc3339(s.created_at_ms),
        }
    }
}

/// What the customer pays.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayLeg {
    #[schema(schema_with = network)]
    pub network: Network,
    #[schema(schema_with = asset)]
    pub asset: Asset,
    #[schema(schema_with = amount)]
    pub amount: Amount,
}

/// What the customer receives, and where.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiveLeg {
    #[schema(schema_with = network)]
    pub network: Network,
    #[schema(schema_with = asset)]
    pub asset: Asset,
    #[schema(schema_with = amount)]
    pub amount: Amount,
    pub address: String,
}

/// Where the customer pays: the order's one-time deposit address.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositAddress {
    #[schema(schema_with = network)]
    pub network: Network,
    #[schema(schema_with = asset)]
    pub asset: Asset,
    pub address: String,
}

/// An order without what happened to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: Uuid,
    pub number: i64,
    pub external_id: Option<String>,
    #[schema(schema_with = order_status)]
    pub status: OrderStatus,
    pub pay: PayLeg,
    pub receive: ReceiveLeg,
    pub deposit: DepositAddress,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&OrderRecord> for OrderSummary {
    fn from(o: &OrderRecord) -> OrderSummary {
        OrderSummary {
            id: o.id,
            number: o.number,
            external_id: o.external_id.clone(),
            status: o.status,
            pay: PayLeg { network: o.pay_network, asset: o.pay_asset, amount: o.pay_amount },
            receive: ReceiveLeg {
                network: o.receive_network,
                asset: o.receive_asset,
                amount: o.receive_amount,
                address: display(o.receive_network, &o.receive_address),
            },
            deposit: DepositAddress {
                network: o.pay_network,
                asset: o.pay_asset,
                address: display(o.pay_network, &o.deposit_address),
            },
            created_at: rfc3339(o.created_at_ms),
            updated_at: rfc3339(o.updated_at_ms),
        }
    }
}

/// A page of orders, the newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of cases, the newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<Case>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Cuts `items` (fetched one more than `limit`) to a page and says where the next one starts.
pub fn page<T, B>(
    mut items: Vec<T>,
    limit: i64,
    number: impl Fn(&T) -> i64,
    body: impl Fn(&T) -> B,
) -> (Vec<B>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(|i| number(i).to_string()) } else { None };
    (items.iter().map(body).collect(), next)
}

/// A deadline a case runs on.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDeadline {
    #[schema(schema_with = deadline_kind)]
    pub kind: DeadlineKind,
    #[schema(format = DateTime)]
    pub due_at: String,
}

/// A case officers work on.
#[derive(Debug, Serialize, ToSchema)]
pub struct Case {
    pub id: Uuid,
    pub number: i64,
    #[schema(schema_with = case_status)]
    pub status: CaseStatus,
    /// The decision that opened it.
    #[schema(schema_with = action)]
    pub opened_because: Action,
    #[schema(schema_with = reasons)]
    pub reasons: Vec<Reason>,
    #[schema(format = DateTime)]
    pub opened_at: String,
    pub deadline: CaseDeadline,
    pub assignee: Option<String>,
    pub escalated: bool,
}

impl From<&CaseRecord> for Case {
    fn from(c: &CaseRecord) -> Case {
        Case {
            id: c.id,
            number: c.number,
            status: c.status,
            opened_because: c.action,
            reasons: c.reasons.clone(),
            opened_at: rfc3339(c.opened_at_ms),
            deadline: CaseDeadline { kind: c.deadline_kind, due_at: rfc3339(c.due_at_ms) },
            assignee: c.assignee.clone(),
            escalated: c.escalated,
        }
    }
}

/// A deadline an open case of the order runs on.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenDeadline {
    #[schema(schema_with = deadline_kind)]
    pub kind: DeadlineKind,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub case_id: Uuid,
}

/// A deposit as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositFields {
    pub id: Uuid,
    pub order_id: Uuid,
    #[schema(schema_with = network)]
    pub network: Network,
    #[schema(schema_with = asset)]
    pub asset: Asset,
    pub address: String,
    pub txid: String,
    pub index: u32,
    #[schema(schema_with = amount)]
    pub amount: Amount,
    pub sources: Vec<String>,
    pub confirmations: Option<u32>,
    pub screening_id: Uuid,
    #[schema(format = DateTime)]
    pub received_at: String,
}

impl From<&DepositRecord> for DepositFields {
    fn from(d: &DepositRecord) -> DepositFields {
        DepositFields {
            id: d.id,
            order_id: d.order_id,
            network: d.network,
            asset: d.asset,
            address: display(d.network, &d.address),
            txid: d.txid.clone(),
            index: d.index,
            amount: d.amount,
            sources: d.sources.iter().map(|s| display(d.network, s)).collect(),
            confirmations: d.confirmations,
            screening_id: d.screening_id,
            received_at: rfc3339(d.received_at_ms),
        }
    }
}

/// An order with its deposits, the screenings that decided them, its cases and their open
/// deadlines; `GET /orders/{id}` adds the requests to the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    #[serde(flatten)]
    pub order: OrderSummary,
    pub deposits: Vec<DepositFields>,
    pub screenings: Vec<Screening>,
    pub cases: Vec<Case>,
    pub deadlines: Vec<OpenDeadline>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<Vec<CustomerRequestBody>>,
}

impl Order {
    /// A new order: nothing has happened to it yet.
    pub fn new(o: &OrderRecord) -> Order {
        Order {
            order: o.into(),
            deposits: vec![],
            screenings: vec![],
            cases: vec![],
            deadlines: vec![],
            requests: None,
        }
    }

    pub fn view(v: &OrderView, requests: &[CustomerRequest]) -> Order {
        Order {
            order: (&v.order).into(),
            deposits: v.deposits.iter().map(Into::into).collect(),
            screenings: v.screenings.iter().map(Into::into).collect(),
            cases: v.cases.iter().map(Into::into).collect(),
            deadlines: v
                .cases
                .iter()
                .filter(|c| c.status == CaseStatus::Open)
                .map(|c| OpenDeadline { kind: c.deadline_kind, due_at: rfc3339(c.due_at_ms), case_id: c.id })
                .collect(),
            requests: Some(requests.iter().map(Into::into).collect()),
        }
    }
}

/// The order a deposit went to, and where it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositOrder {
    pub id: Uuid,
    pub number: i64,
    #[schema(schema_with = order_status)]
    pub status: OrderStatus,
}

/// A reported deposit, screened and decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deposit {
    #[serde(flatten)]
    pub deposit: DepositFields,
    pub screening: Screening,
    pub order: DepositOrder,
    pub case: Option<Case>,
    /// False when the same transfer was reported before.
    pub created: bool,
}

impl From<&DepositOutcome> for Deposit {
    fn from(o: &DepositOutcome) -> Deposit {
        Deposit {
            deposit: (&o.deposit).into(),
            screening: (&o.screening).into(),
            order: DepositOrder { id: o.order.id, number: o.order.number, status: o.order.status },
            case: o.case.as_ref().map(Into::into),
            created: o.created,
        }
    }
}

/// A payout asked for: the order, the destination's screening, and the case if one opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutRequested {
    pub order: OrderSummary,
    pub screening: Screening,
    pub case: Option<Case>,
}

/// An officer's decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    pub id: Uuid,
    pub case_id: Uuid,
    pub order_id: Uuid,
    #[schema(schema_with = decision_kind)]
    pub decision: DecisionKind,
    #[schema(schema_with = decision_status)]
    pub status: DecisionStatus,
    /// `{}`, or a refund's plan.
    #[schema(value_type = Object)]
    pub params: DecisionParams,
    pub requested_by: String,
    pub approved_by: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
}

impl From<&DecisionRecord> for Decision {
    fn from(d: &DecisionRecord) -> Decision {
        Decision {
            id: d.id,
            case_id: d.case_id,
            order_id: d.order_id,
            decision: d.kind,
            status: d.status,
            params: d.params.clone(),
            requested_by: d.requested_by.clone(),
            approved_by: d.approved_by.clone(),
            created_at: rfc3339(d.created_at_ms),
            decided_at: d.decided_at_ms.map(rfc3339),
        }
    }
}

/// A request to the customer as the customer and the integrator see it (the answer itself is
/// not returned).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CustomerRequest)]
pub struct CustomerRequestBody {
    pub id: Uuid,
    pub case_id: Uuid,
    pub order_id: Uuid,
    #[schema(schema_with = request_kind)]
    pub kind: RequestKind,
    #[schema(schema_with = reply_status)]
    pub status: ReplyStatus,
    pub message: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[schema(format = DateTime)]
    pub answered_at: Option<String>,
    /// Whether the customer answered, or an API key on their behalf.
    #[schema(schema_with = answered_by)]
    pub answered_by: Option<&'static str>,
    #[schema(format = DateTime)]
    pub review_due_at: Option<String>,
    pub overdue: bool,
}

fn answered_by() -> Schema {
    names(["customer", "api_key"], true)
}

impl From<&CustomerRequest> for CustomerRequestBody {
    fn from(r: &CustomerRequest) -> CustomerRequestBody {
        CustomerRequestBody {
            id: r.id,
            case_id: r.case_id,
            order_id: r.order_id,
            kind: r.kind,
            status: r.status,
            message: r.message.clone(),
            created_at: rfc3339(r.created_at_ms),
            due_at: rfc3339(r.due_at_ms),
            answered_at: r.answered_at_ms.map(rfc3339),
            answered_by: r
                .answered_by
                .as_deref()
                .map(|_| if r.answered_by_customer() { "customer" } else { "api_key" }),
            review_due_at: r.review_due_at_ms.map(rfc3339),
            overdue: r.escalation > 0,
        }
    }
}

/// A case with its evidence (the screenings of its order), its requests and its decisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseFile {
    #[serde(flatten)]
    pub case: Case,
    pub evidence: Vec<Screening>,
    pub requests: Vec<CustomerRequestBody>,
    pub decisions: Vec<Decision>,
}

impl From<&custos_app::queries::CaseFile> for CaseFile {
    fn from(f: &custos_app::queries::CaseFile) -> CaseFile {
        CaseFile {
            case: (&f.case).into(),
            evidence: f.screenings().iter().map(Into::into).collect(),
            requests: f.requests.iter().map(Into::into).collect(),
            decisions: f.decisions.iter().map(Into::into).collect(),
        }
    }
}

/// A card by its ends; the number is never stored or returned (KYC-4).
#[derive(Debug, Serialize, ToSchema)]
pub struct Card {
    pub id: Uuid,
    pub first6: String,
    pub last4: String,
    #[schema(schema_with = card_brand)]
    pub brand: custos_domain::kyc::CardBrand,
    pub order_id: Option<Uuid>,
    #[schema(schema_with = card_state)]
    pub state: CardState,
    #[schema(schema_with = holder_check)]
    pub holder_check: HolderCheck,
    pub created_at_ms: i64,
}

/// A card registered for an order, and whether it opened a review case (another customer's
/// card, or a holder who is not the verified customer).
#[derive(Debug, Serialize, ToSchema)]
pub struct CardRegistered {
    pub card: Card,
    pub case_opened: bool,
}

impl CardRegistered {
    pub fn new(c: &CardRecord, case_opened: bool) -> CardRegistered {
        let card = Card {
            id: c.id,
            first6: c.first6.clone(),
            last4: c.last4.clone(),
            brand: c.brand,
            order_id: c.order_id,
            state: c.state,
            holder_check: c.holder_check,
            created_at_ms: c.created_at_ms,
        };
        CardRegistered { card, case_opened }
    }
}

/// A refund to one of the deposit's sources (REF-2..REF-4).
#[derive(Debug, Serialize, ToSchema)]
pub struct Refund {
    pub id: Uuid,
    pub order_id: Uuid,
    pub deposit_id: Uuid,
    pub decision_id: Uuid,
    #[schema(schema_with = network)]
    pub network: Network,
    #[schema(schema_with = asset)]
    pub asset: Asset,
    pub to_address: String,
    #[schema(schema_with = amount)]
    pub amount: Amount,
    #[schema(schema_with = amount)]
    pub network_fee: Amount,
    #[schema(schema_with = refund_status)]
    pub status: RefundStatus,
    pub txid: Option<String>,
    pub created_at_ms: i64,
    pub due_at_ms: i64,
}

impl From<&RefundRecord> for Refund {
    fn from(r: &RefundRecord) -> Refund {
        Refund {
            id: r.id,
            order_id: r.order_id,
            deposit_id: r.deposit_id,
            decision_id: r.decision_id,
            network: r.network,
            asset: r.asset,
            to_address: r.to_address.clone(),
            amount: r.amount,
            network_fee: r.network_fee,
            status: r.status,
            txid: r.txid.clone(),
            created_at_ms: r.created_at_ms,
            due_at_ms: r.due_at_ms,
        }
    }
}

/// A webhook event in the outbox, with its delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(schema_with = delivery_status)]
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Exactly what is POSTed: {id, type, created_at, data}.
    #[schema(value_type = Object)]
    pub body: Value,
}

impl From<&OutboxEvent> for WebhookEvent {
    fn from(e: &OutboxEvent) -> WebhookEvent {
        WebhookEvent {
            id: e.id,
            event_type: e.event_type.clone(),
            status: e.status,
            attempts: e.attempts,
            next_attempt_at: (e.status == DeliveryStatus::Pending).then(|| rfc3339(e.next_attempt_at_ms)),
            last_error: e.last_error.clone(),
            created_at: rfc3339(e.created_at_ms),
            body: serde_json::from_str(&e.body()).unwrap_or(Value::Null),
        }
    }
}

/// Every response body of the API with its schema, by name: the OpenAPI document's
/// `components.schemas` take them from here.
pub fn schemas() -> Vec<(String, utoipa::openapi::RefOr<Schema>)> {
    let mut all = Vec::new();
    fn add<T: ToSchema>(all: &mut Vec<(String, utoipa::openapi::RefOr<Schema>)>) {
        all.push((T::name().into_owned(), T::schema()));
        T::schemas(all);
    }
    add::<Screening>(&mut all);
    add::<Order>(&mut all);
    add::<Deposit>(&mut all);
    add::<PayoutRequested>(&mut all);
    add::<CaseFile>(&mut all);
    add::<Case>(&mut all);
    add::<OrderList>(&mut all);
    add::<CaseList>(&mut all);
    add::<Decision>(&mut all);
    add::<CustomerRequestBody>(&mut all);
    add::<CardRegistered>(&mut all);
    add::<Refund>(&mut all);
    add::<WebhookEvent>(&mut all);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.dedup_by(|a, b| a.0 == b.0);
    all
}
