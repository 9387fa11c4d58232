//! The webhook events: every `type` the operator's receiver can get, with its `data`.
//!
//! The store writes a [`WebhookEvent`] to the outbox in the transaction of the change it reports;
//! the deliverer sends it as `{id, type, created_at, data}`. [`CATALOGUE`] describes each type
//! (when it fires, its fields); docs/webhooks.md and the OpenAPI document's `webhooks` are
//! generated from it, and a test holds it against the types.

use crate::model::DeadlineKind;
use custos_domain::policy::Action;
use custos_domain::OrderStatus;
use serde::Serialize;
use uuid::Uuid;

/// One event for the webhook receiver. Its data holds ids, statuses and codes, never personal
/// data (PD-3).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data")]
pub enum WebhookEvent {
    #[serde(rename = "order.created")]
    OrderCreated(OrderCreated),
    #[serde(rename = "deposit.screened")]
    DepositScreened(DepositScreened),
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged(OrderChanged),
    #[serde(rename = "order.updated")]
    OrderUpdated(OrderChanged),
    #[serde(rename = "case.opened")]
    CaseOpened(CaseOpened),
    #[serde(rename = "case.assigned")]
    CaseAssigned(CaseChange<Assigned>),
    #[serde(rename = "case.noted")]
    CaseNoted(CaseChange<Noted>),
    #[serde(rename = "case.escalated")]
    CaseEscalated(CaseChange<NoDetails>),
    #[serde(rename = "case.closed")]
    CaseClosed(CaseChange<NoDetails>),
    #[serde(rename = "case.deadline_extended")]
    CaseDeadlineExtended(CaseChange<DeadlineExtended>),
    #[serde(rename = "alert.case_overdue")]
    CaseOverdue(Overdue),
    #[serde(rename = "alert.refund_overdue")]
    RefundOverdue(Overdue),
    #[serde(rename = "alert.kyc_failed")]
    KycFailed(KycFailed),
    #[serde(rename = "alert.kyc_overdue")]
    KycOverdue(KycOverdue),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderCreated {
    pub order_id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepositScreened {
    pub order_id: Uuid,
    pub number: i64,
    pub deposit_id: Uuid,
    pub status: OrderStatus,
    pub previous_status: OrderStatus,
    pub decision: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderChanged {
    pub order_id: Uuid,
    pub number: i64,
    pub status: OrderStatus,
    pub previous_status: OrderStatus,
    /// The lifecycle events applied, in order.
    pub events: Vec<custos_domain::order::OrderEvent>,
    /// What the change carries: ids, codes, transaction ids (no personal data).
    pub details: serde_json::Value,
    pub case_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseOpened {
    pub case_id: Uuid,
    pub number: i64,
    pub order_id: Uuid,
    pub action: Action,
    pub deadline: Deadline,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadline {
    pub kind: DeadlineKind,
    pub due_at_ms: i64,
}

/// An officer's work on a case, with what it changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseChange<D> {
    pub case_id: Uuid,
    pub details: D,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assigned {
    pub assignee: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Noted {
    /// The note's id; its text is personal data and stays in Custos.
    pub note_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoDetails {}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineExtended {
    pub due_at_ms: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdue {
    pub id: Uuid,
    /// `case` or `refund`.
    pub entity: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KycFailed {
    pub verification_id: Uuid,
    /// The provider's rejection labels (codes, no personal data).
    pub labels: Vec<String>,
}

/// A KYC deadline passed: of an identity verification (SEC-15), or of a request to the
/// customer, which escalates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KycOverdue {
    Verification { verification_id: Uuid },
    Request { request_id: Uuid, escalation: i64, customer: Option<CustomerStanding> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerStanding {
    pub id: Uuid,
    pub status: crate::model::CustomerStatus,
}

impl WebhookEvent {
    /// The `type` the receiver sees.
    pub fn event_type(&self) -> &'static str {
        match self {
            WebhookEvent::OrderCreated(_) => "order.created",
            WebhookEvent::DepositScreened(_) => "deposit.screened",
            WebhookEvent::OrderStatusChanged(_) => "order.status_changed",
            WebhookEvent::OrderUpdated(_) => "order.updated",
            WebhookEvent::CaseOpened(_) => "case.opened",
            WebhookEvent::CaseAssigned(_) => "case.assigned",
            WebhookEvent::CaseNoted(_) => "case.noted",
            WebhookEvent::CaseEscalated(_) => "case.escalated",
            WebhookEvent::CaseClosed(_) => "case.closed",
            WebhookEvent::CaseDeadlineExtended(_) => "case.deadline_extended",
            WebhookEvent::CaseOverdue(_) => "alert.case_overdue",
            WebhookEvent::RefundOverdue(_) => "alert.refund_overdue",
            WebhookEvent::KycFailed(_) => "alert.kyc_failed",
            WebhookEvent::KycOverdue(_) => "alert.kyc_overdue",
        }
    }

    /// The `data`, as a JSON value.
    pub fn data(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("events serialise");
        value["data"].take()
    }

    /// The `data` as stored in the outbox: compact JSON with its keys in alphabetical order.
    pub fn data_json(&self) -> String {
        self.data().to_string()
    }
}

/// A field of an event's data, for the catalogue. Nested fields are written `outer.inner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventField {
    pub name: &'static str,
    /// A JSON Schema type (`string`, `integer`, `array`, `object`, with `|null` when it may be
    /// null), or `order_status` (one of [`OrderStatus::ALL`]) or `decision` (one of
    /// [`Action::ALL`]).
    pub schema: &'static str,
    /// `uuid` for ids, else "".
    pub format: &'static str,
    pub about: &'static str,
}

/// One event type of the public webhook contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    pub event_type: &'static str,
    pub when: &'static str,
    pub fields: &'static [EventField],
}

const fn field(name: &'static str, schema: &'static str, about: &'static str) -> EventField {
    EventField { name, schema, format: "", about }
}

const fn id(name: &'static str, about: &'static str) -> EventField {
    EventField { name, schema: "string", format: "uuid", about }
}

const ORDER_CHANGE: &[EventField] = &[
    id("order_id", "the order"),
    field("number", "integer", "the order's number, as officers see it"),
    field("status", "order_status", "the order's status now"),
    field("previous_status", "order_status", "the status before the change"),
    field("events", "array", "the lifecycle events applied, in order"),
    field("details", "object", "what the change carries: ids, codes, transaction ids"),
    EventField { name: "case_id", schema: "string|null", format: "uuid", about: "the case the change opened" },
];

/// Every event type, in the order of an order's life.
pub const CATALOGUE: &[EventSpec] = &[
    EventSpec {
        event_type: "order.created",
        when: "an order was created and has its deposit address",
        fields: &[
            id("order_id", "the order"),
            field("number", "integer", "the order's number, as officers see it"),
            field("status", "order_status", "awaiting_deposit"),
        ],
    },
    EventSpec {
        event_type: "deposit.screened",
        when: "a deposit to an order's address was screened and the policy decided",
        fields: &[
            id("order_id", "the order"),
            field("number", "integer", "the order's number"),
            id("deposit_id", "the deposit"),
            field("status", "order_status", "the order's status now"),
            field("previous_status", "order_status", "the status before the deposit"),
            field("decision", "decision", "the policy's decision"),
        ],
    },
    EventSpec {
        event_type: "order.status_changed",
        when: "an order moved to another status (a decision, a refund, an answer, a payout, expiry)",
        fields: ORDER_CHANGE,
    },
    EventSpec {
        event_type: "order.updated",
        when: "something happened to an order that left its status as it was (a request opened, a \
               document uploaded)",
        fields: ORDER_CHANGE,
    },
    EventSpec {
        event_type: "case.opened",
        when: "a case opened for officers, with its deadline",
        fields: &[
            id("case_id", "the case"),
            field("number", "integer", "the case's number"),
            id("order_id", "the order it is about"),
            field("action", "decision", "the decision that opened it"),
            field("deadline", "object", "what the case waits for, and until when"),
            field("deadline.kind", "string", "kyc (the customer must complete KYC) or review (an officer must)"),
            field("deadline.due_at_ms", "integer", "the deadline, in Unix milliseconds"),
        ],
    },
    EventSpec {
        event_type: "case.assigned",
        when: "a case was assigned to an officer",
        fields: &[
            id("case_id", "the case"),
            field("details", "object", ""),
            field("details.assignee", "string", "the officer's id"),
        ],
    },
    EventSpec {
        event_type: "case.noted",
        when: "an officer added a note to a case (its text stays in Custos)",
        fields: &[id("case_id", "the case"), field("details", "object", ""), id("details.note_id", "the note")],
    },
    EventSpec {
        event_type: "case.escalated",
        when: "a case was raised to the MLRO",
        fields: &[id("case_id", "the case"), field("details", "object", "empty")],
    },
    EventSpec {
        event_type: "case.closed",
        when: "a case was closed by an officer",
        fields: &[id("case_id", "the case"), field("details", "object", "empty")],
    },
    EventSpec {
        event_type: "case.deadline_extended",
        when: "an officer extended a case's deadline for more analysis (SLA-2)",
        fields: &[
            id("case_id", "the case"),
            field("details", "object", ""),
            field("details.due_at_ms", "integer", "the new deadline, in Unix milliseconds"),
            field("details.reason", "string", "why, as the officer wrote it"),
        ],
    },
    EventSpec {
        event_type: "alert.case_overdue",
        when: "an open case passed its deadline (once per deadline)",
        fields: &[id("id", "the case"), field("entity", "string", "case")],
    },
    EventSpec {
        event_type: "alert.refund_overdue",
        when: "a refund was not sent by its due time (REF-4)",
        fields: &[id("id", "the refund"), field("entity", "string", "refund")],
    },
    EventSpec {
        event_type: "alert.kyc_failed",
        when: "an identity verification was finally rejected; the customer is suspended (SEC-16)",
        fields: &[
            id("verification_id", "the verification"),
            field("labels", "array", "the provider's rejection labels"),
        ],
    },
    EventSpec {
        event_type: "alert.kyc_overdue",
        when: "a KYC deadline passed: of a verification (the customer is suspended, SEC-15; \
               `verification_id`), or of a request to the customer, which escalates (`request_id`)",
        fields: &[
            EventField {
                name: "verification_id",
                schema: "string",
                format: "uuid",
                about: "the verification (the first form)",
            },
            EventField { name: "request_id", schema: "string", format: "uuid", about: "the request (the second form)" },
            field("escalation", "integer", "the request's escalation level"),
            field("customer", "object|null", "the customer whose status changed, if it did"),
            id("customer.id", "the customer"),
            field("customer.status", "string", "their new status"),
        ],
    },
];

/// docs/webhooks.md, generated from [`CATALOGUE`].
pub fn catalogue_markdown() -> String {
    let mut md = String::from(
        "# Webhook events\n\n\
         Generated from `app::events::CATALOGUE` (`UPDATE_SNAPSHOTS=1 cargo nextest run -E \
         'test(webhook_catalogue)'` rewrites it); the OpenAPI document's `webhooks` section says the \
         same. Every change is written to the outbox in its own transaction and delivered at least \
         once, as a `POST` of `{id, type, created_at, data}` signed with `Custos-Signature` \
         (README). `id` is stable across retries: deduplicate by it. Data holds ids, statuses and \
         codes, never personal data.\n\n",
    );
    let statuses: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    let decisions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    md.push_str(&format!(
        "An *order status* is one of {}. A *decision* is one of {}.\n\n",
        code_list(&statuses),
        code_list(&decisions)
    ));
    md.push_str("| type | fires when |\n|---|---|\n");
    for spec in CATALOGUE {
        md.push_str(&format!("| [`{0}`](#{1}) | {2} |\n", spec.event_type, anchor(spec.event_type), spec.when));
    }
    for spec in CATALOGUE {
        md.push_str(&format!(
            "\n## {}\n\n{}.\n\n| field | type | meaning |\n|---|---|---|\n",
            spec.event_type,
            capitalised(spec.when)
        ));
        for f in spec.fields {
            let ty = match (f.schema, f.format) {
                ("order_status", _) => "order status".to_owned(),
                (schema, "") => schema.to_owned(),
                (schema, format) => format!("{schema} ({format})"),
            };
            md.push_str(&format!("| `{}` | {ty} | {} |\n", f.name, f.about));
        }
    }
    md
}

fn code_list(items: &[&str]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

fn anchor(event_type: &str) -> String {
    event_type.replace('.', "")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// One event of every type (and both forms of `alert.kyc_overdue`).
    fn examples() -> Vec<WebhookEvent> {
        let id = Uuid::nil();
        let change = OrderChanged {
            order_id: id,
            number: 100_001,
            status: OrderStatus::OnHoldAwaitingCustomer,
            previous_status: OrderStatus::Screening,
            events: vec![],
            details: serde_json::json!({}),
            case_id: Some(id),
        };
        vec![
            WebhookEvent::OrderCreated(OrderCreated { order_id: id, number: 1, status: OrderStatus::AwaitingDeposit }),
            WebhookEvent::DepositScreened(DepositScreened {
                order_id: id,
                number: 1,
                deposit_id: id,
                status: OrderStatus::Accepted,
                previous_status: OrderStatus::AwaitingDeposit,
                decision: Action::Proceed,
            }),
            WebhookEvent::OrderStatusChanged(change.clone()),
            WebhookEvent::OrderUpdated(change),
            WebhookEvent::CaseOpened(CaseOpened {
                case_id: id,
                number: 1,
                order_id: id,
                action: Action::Hold,
                deadline: Deadline { kind: DeadlineKind::Kyc, due_at_ms: 0 },
            }),
            WebhookEvent::CaseAssigned(CaseChange { case_id: id, details: Assigned { assignee: "a".into() } }),
            WebhookEvent::CaseNoted(CaseChange { case_id: id, details: Noted { note_id: id } }),
            WebhookEvent::CaseEscalated(CaseChange { case_id: id, details: NoDetails {} }),
            WebhookEvent::CaseClosed(CaseChange { case_id: id, details: NoDetails {} }),
            WebhookEvent::CaseDeadlineExtended(CaseChange {
                case_id: id,
                details: DeadlineExtended { due_at_ms: 0, reason: "r".into() },
            }),
            WebhookEvent::CaseOverdue(Overdue { id, entity: "case" }),
            WebhookEvent::RefundOverdue(Overdue { id, entity: "refund" }),
            WebhookEvent::KycFailed(KycFailed { verification_id: id, labels: vec![] }),
            WebhookEvent::KycOverdue(KycOverdue::Verification { verification_id: id }),
            WebhookEvent::KycOverdue(KycOverdue::Request {
                request_id: id,
                escalation: 1,
                customer: Some(CustomerStanding { id, status: crate::model::CustomerStatus::Restricted }),
            }),
        ]
    }

    fn field_names(prefix: &str, v: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let Some(map) = v.as_object() {
            for (k, inner) in map {
                let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                field_names(&name, inner, out);
                out.insert(name);
            }
        }
    }

    #[test]
    fn webhook_catalogue_lists_every_event_type_with_exactly_its_fields() {
        let mut seen = BTreeSet::new();
        for spec in CATALOGUE {
            let mut fields = BTreeSet::new();
            for e in examples().iter().filter(|e| e.event_type() == spec.event_type) {
                let v = serde_json::to_value(e).unwrap();
                assert_eq!(v["type"], spec.event_type, "the serde name and event_type() agree");
                field_names("", &v["data"], &mut fields);
            }
            assert!(!fields.is_empty(), "{} has no example", spec.event_type);
            let listed: BTreeSet<String> = spec.fields.iter().map(|f| f.name.to_owned()).collect();
            assert_eq!(fields, listed, "{}: the catalogue's fields and the type's differ", spec.event_type);
            assert!(seen.insert(spec.event_type), "{} twice", spec.event_type);
        }
        for e in examples() {
            assert!(seen.contains(e.event_type()), "{} is not in the catalogue", e.event_type());
        }
    }

    #[test]
    fn webhook_catalogue_docs_are_generated_from_the_types() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/webhooks.md");
        let generated = catalogue_markdown();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(written == generated, "docs/webhooks.md is stale: run with UPDATE_SNAPSHOTS=1");
    }

    #[test]
    fn stored_data_keeps_the_keys_in_alphabetical_order() {
        let e = WebhookEvent::OrderCreated(OrderCreated {
            order_id: Uuid::nil(),
            number: 7,
            status: OrderStatus::AwaitingDeposit,
        });
        assert_eq!(
            e.data_json(),
            r#"{"number":7,"order_id":"00000000-0000-0000-0000-000000000000","status":"awaiting_deposit"}"#
        );
    }
}
