//! Typed effects: what a write use case asks the store to do beside moving the order, and the
//! audit entry and webhook event each change leaves. The store applies them in the change's
//! transaction and keeps only the locking and the SQL.

use crate::events::{self, WebhookEvent};
use crate::model::ScreeningRecord;
use crate::model::{CaseRecord, CustomerRequest, DepositRecord, DocumentRecord, OrderRecord, RefundRecord};
use custos_domain::audit::AuditEvent;
use custos_domain::order::OrderEvent;
use custos_domain::OrderStatus;
use serde_json::json;
use uuid::Uuid;

/// One change that goes with an order's events, in the same transaction.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Records a screening (the evidence of a decision).
    RecordScreening(ScreeningRecord),
    /// Opens a case; the store numbers it.
    OpenCase(CaseRecord),
    /// Executes a pending decision, once: a second approval finds nothing to execute.
    ExecuteDecision { decision_id: Uuid, approver: String },
    /// Creates the refund an executed decision plans.
    CreateRefund(RefundRecord),
    /// Marks a refund as sent with its transaction.
    RefundSent { refund_id: Uuid, txid: String },
    /// Closes a case.
    CloseCase(Uuid),
    /// Opens a request to the customer (its message sealed).
    OpenRequest(CustomerRequest),
    /// Records the customer's answer to a request, sealed, with the review's due time.
    AnswerRequest { request_id: Uuid, answer_enc: String, review_due_at_ms: i64 },
    /// Stores a document sent with an answer, its content sealed.
    AddDocument { document: DocumentRecord, content_enc: String },
}

impl Effect {
    /// The audit entry the effect leaves when `actor` causes it. A case's entry is
    /// [`case_opened`]'s, once the store has numbered it.
    pub fn audit(&self, actor: &str) -> AuditEvent {
        match self {
            Effect::RecordScreening(s) => screening_completed(actor, s),
            Effect::OpenCase(c) => case_opened_entry(c),
            Effect::ExecuteDecision { decision_id, approver } => {
                AuditEvent::new(actor, "decision.executed", "decision", decision_id, json!({"approved_by": approver}))
            }
            Effect::CreateRefund(r) => AuditEvent::new(
                actor,
                "refund.created",
                "refund",
                r.id,
                json!({"order_id": r.order_id, "deposit_id": r.deposit_id, "amount": r.amount,
                       "network_fee": r.network_fee, "due_at_ms": r.due_at_ms}),
            ),
            Effect::RefundSent { refund_id, txid } => {
                AuditEvent::new(actor, "refund.sent", "refund", refund_id, json!({"txid": txid}))
            }
            Effect::CloseCase(c) => AuditEvent::new(actor, "case.closed", "case", c, json!({})),
            Effect::OpenRequest(r) => AuditEvent::new(
                actor,
                "request.opened",
                "customer_request",
                r.id,
                json!({"case_id": r.case_id, "kind": r.kind, "due_at_ms": r.due_at_ms}),
            ),
            Effect::AnswerRequest { request_id, review_due_at_ms, .. } => AuditEvent::new(
                actor,
                "request.answered",
                "customer_request",
                request_id,
                json!({"review_due_at_ms": review_due_at_ms}),
            ),
            Effect::AddDocument { document: d, .. } => AuditEvent::new(
                actor,
                "document.uploaded",
                "request_document",
                d.id,
                json!({"request_id": d.request_id, "content_type": d.content_type, "size_bytes": d.size_bytes,
                       "sha256": d.sha256}),
            ),
        }
    }
}

/// Events applied to one order in one transaction, with the effects that go with them.
#[derive(Debug, Clone)]
pub struct OrderEventWrite {
    pub order_id: Uuid,
    /// Applied in order; the first that the lifecycle refuses aborts the whole write.
    pub events: Vec<custos_domain::order::OrderEvent>,
    pub actor: String,
    pub at_ms: i64,
    /// Details for the audit entry and the webhook (ids, codes, txids; no personal data).
    pub data: serde_json::Value,
    /// What the write does beside moving the order, in this order.
    pub effects: Vec<Effect>,
}

impl OrderEventWrite {
    pub fn new(order_id: Uuid, events: Vec<custos_domain::order::OrderEvent>, actor: &str, at_ms: i64) -> Self {
        OrderEventWrite {
            order_id,
            events,
            actor: actor.to_owned(),
            at_ms,
            data: serde_json::Value::Null,
            effects: Vec::new(),
        }
    }

    /// The case the write opens, if it opens one.
    pub fn opened_case(&self) -> Option<&CaseRecord> {
        self.effects.iter().find_map(|e| match e {
            Effect::OpenCase(c) => Some(c),
            _ => None,
        })
    }
}

/// The audit entry of a screening.
pub fn screening_completed(actor: &str, s: &ScreeningRecord) -> AuditEvent {
    AuditEvent::new(
        actor,
        "screening.completed",
        "screening",
        s.id,
        json!({
            "kind": s.kind.as_str(),
            "order_id": s.order_id,
            "deposit_id": s.deposit_id,
            "action": s.decision.action,
            "band": s.decision.band,
            "score": s.decision.score,
            "categories": s.decision.categories.iter().map(|c| c.category).collect::<Vec<_>>(),
            "policy_version": s.policy_version,
        }),
    )
}

/// A numbered case opened: its audit entry.
fn case_opened_entry(c: &CaseRecord) -> AuditEvent {
    AuditEvent::new(
        "system",
        "case.opened",
        "case",
        c.id,
        json!({"number": c.number, "order_id": c.order_id, "action": c.action,
               "deadline": c.deadline_kind.as_str(), "due_at_ms": c.due_at_ms}),
    )
}

/// A numbered case opened: its audit entry and its webhook event.
pub fn case_opened(c: &CaseRecord) -> (AuditEvent, WebhookEvent) {
    let webhook = WebhookEvent::CaseOpened(events::CaseOpened {
        case_id: c.id,
        number: c.number,
        order_id: c.order_id,
        action: c.action,
        deadline: events::Deadline { kind: c.deadline_kind, due_at_ms: c.due_at_ms },
    });
    (case_opened_entry(c), webhook)
}

/// An order created: its audit entry and its webhook event.
pub fn order_created(
    actor: &str,
    order: &OrderRecord,
    deposit_index: u32,
    key_fingerprint: &str,
) -> (AuditEvent, WebhookEvent) {
    let audit = AuditEvent::new(
        actor,
        "order.created",
        "order",
        order.id,
        json!({"number": order.number, "pay_network": order.pay_network, "pay_asset": order.pay_asset,
               "deposit_index": deposit_index, "key_fingerprint": key_fingerprint}),
    );
    let webhook = WebhookEvent::OrderCreated(events::OrderCreated {
        order_id: order.id,
        number: order.number,
        status: order.status,
    });
    (audit, webhook)
}

/// A deposit recorded and screened, moving the order from `previous`: its audit entries (the
/// screening's is [`screening_completed`]) and its webhook event.
pub fn deposit_screened(
    actor: &str,
    d: &DepositRecord,
    s: &ScreeningRecord,
    order: &OrderRecord,
    previous: OrderStatus,
) -> (Vec<AuditEvent>, WebhookEvent) {
    let mut audit = vec![
        AuditEvent::new(
            actor,
            "deposit.received",
            "deposit",
            d.id,
            json!({"order_id": d.order_id, "network": d.network, "asset": d.asset, "txid": d.txid,
                   "index": d.index, "amount": d.amount, "sources": d.sources.len()}),
        ),
        screening_completed(actor, s),
    ];
    if order.status != previous {
        audit.push(AuditEvent::new(
            "system",
            "order.status_changed",
            "order",
            order.id,
            json!({"from": previous, "to": order.status, "deposit_id": d.id}),
        ));
    }
    let webhook = WebhookEvent::DepositScreened(events::DepositScreened {
        order_id: order.id,
        number: order.number,
        deposit_id: d.id,
        status: order.status,
        previous_status: previous,
        decision: s.decision.action,
    });
    (audit, webhook)
}

/// The order's own entry and webhook event for a write that applied `events` (moving it from
/// `previous`, or leaving its status), with the write's `details` and the case it opened.
pub fn order_changed(
    actor: &str,
    order: &OrderRecord,
    previous: OrderStatus,
    events: &[OrderEvent],
    details: &serde_json::Value,
    case_id: Option<Uuid>,
) -> (AuditEvent, WebhookEvent) {
    let moved = order.status != previous;
    let action = if moved { "order.status_changed" } else { "order.updated" };
    let audit = AuditEvent::new(
        actor,
        action,
        "order",
        order.id,
        json!({"from": previous, "to": order.status, "events": events, "details": details}),
    );
    let changed = events::OrderChanged {
        order_id: order.id,
        number: order.number,
        status: order.status,
        previous_status: previous,
        events: events.to_vec(),
        details: details.clone(),
        case_id,
    };
    let webhook = if moved { WebhookEvent::OrderStatusChanged(changed) } else { WebhookEvent::OrderUpdated(changed) };
    (audit, webhook)
}
