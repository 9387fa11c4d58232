//! The audit entries (and webhook events) of the writes outside an order's events: what each
//! such change records is decided here, beside [`crate::effects`] for the order's writes; the
//! store writes them in the change's transaction.

use crate::events::{self, WebhookEvent};
use crate::model::*;
use custos_domain::audit::AuditEvent;
use custos_domain::kyc::Step;
use custos_domain::Network;
use serde_json::json;
use uuid::Uuid;

/// What the deadline job alerts as overdue, once each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue {
    Case,
    Refund,
}

/// An overdue case or refund: its audit entry and the officers' alert.
pub fn overdue(what: Overdue, id: Uuid) -> (AuditEvent, WebhookEvent) {
    let (action, entity, alert): (_, _, fn(events::Overdue) -> WebhookEvent) = match what {
        Overdue::Case => ("case.overdue", "case", WebhookEvent::CaseOverdue),
        Overdue::Refund => ("refund.overdue", "refund", WebhookEvent::RefundOverdue),
    };
    (AuditEvent::new("system", action, entity, id, json!({})), alert(events::Overdue { id, entity }))
}

/// An officer's work on a case: its webhook event, and the audit entry with the same details.
pub fn case_action(case_id: Uuid, action: &CaseAction, actor: &str) -> (AuditEvent, WebhookEvent) {
    let change = |details| events::CaseChange { case_id, details };
    let webhook = match action {
        CaseAction::Assign { assignee } => {
            WebhookEvent::CaseAssigned(change(events::Assigned { assignee: assignee.clone() }))
        }
        CaseAction::Note { id, .. } => {
            WebhookEvent::CaseNoted(events::CaseChange { case_id, details: events::Noted { note_id: *id } })
        }
        CaseAction::Escalate => {
            WebhookEvent::CaseEscalated(events::CaseChange { case_id, details: events::NoDetails {} })
        }
        CaseAction::Close => WebhookEvent::CaseClosed(events::CaseChange { case_id, details: events::NoDetails {} }),
        CaseAction::Extend { due_at_ms, reason } => WebhookEvent::CaseDeadlineExtended(events::CaseChange {
            case_id,
            details: events::DeadlineExtended { due_at_ms: *due_at_ms, reason: reason.clone() },
        }),
    };
    let audit = AuditEvent::new(actor, webhook.event_type(), "case", case_id, webhook.data()["details"].take());
    (audit, webhook)
}

pub fn decision_requested(d: &DecisionRecord, rationale_sha256: &str) -> AuditEvent {
    AuditEvent::new(
        &d.requested_by,
        "decision.requested",
        "decision",
        d.id,
        json!({"case_id": d.case_id, "kind": d.kind, "rationale_sha256": rationale_sha256}),
    )
}

pub fn verification_requested(actor: &str, v: &VerificationRecord) -> AuditEvent {
    AuditEvent::new(actor, "kyc.requested", "verification", v.id, json!({"level": v.level, "provider": v.provider}))
}

/// A verification past its deadline suspends the customer (SEC-15): the entry and the alert.
pub fn verification_overdue(v: &VerificationRecord) -> (AuditEvent, WebhookEvent) {
    let audit =
        AuditEvent::new("system", "kyc.overdue_suspended", "verification", v.id, json!({"due_at_ms": v.due_at_ms}));
    (audit, WebhookEvent::KycOverdue(events::KycOverdue::Verification { verification_id: v.id }))
}

pub fn verification_file_submitted(actor: &str, f: &VerificationFile) -> AuditEvent {
    AuditEvent::new(
        actor,
        "kyc.document_submitted",
        "verification",
        f.verification_id,
        json!({"file": f.id, "step": f.step.as_str(), "kind": f.document_kind, "sha256": f.sha256}),
    )
}

/// A review ended: the documents of `steps` (all, if none are named) are deleted.
pub fn verification_files_deleted(actor: &str, verification_id: Uuid, steps: Option<&[Step]>) -> AuditEvent {
    let steps: Option<Vec<&str>> = steps.map(|s| s.iter().map(|s| s.as_str()).collect());
    AuditEvent::new(actor, "kyc.documents_deleted", "verification", verification_id, json!({"steps": steps}))
}

/// The retention job deleted documents of decided reviews (PD-3).
pub fn verification_files_purged(ids: &[String]) -> AuditEvent {
    AuditEvent::new("system", "kyc.documents_purged", "verification_file", "retention", json!({"files": ids}))
}

/// A request past its deadline escalates, restricting or suspending the customer (SEC-14,
/// SEC-15): the entries and the alert.
pub fn request_overdue(
    id: Uuid,
    level: i64,
    customer: Option<(Uuid, CustomerStatus)>,
) -> (Vec<AuditEvent>, WebhookEvent) {
    let mut audit =
        vec![AuditEvent::new("system", "request.overdue", "customer_request", id, json!({"escalation": level}))];
    if let Some((customer_id, status)) = customer {
        audit.push(AuditEvent::new(
            "system",
            "customer.status_changed",
            "customer",
            customer_id,
            json!({"status": status}),
        ));
    }
    let alert = WebhookEvent::KycOverdue(events::KycOverdue::Request {
        request_id: id,
        escalation: level,
        customer: customer.map(|(id, status)| events::CustomerStanding { id, status }),
    });
    (audit, alert)
}

/// A credited deposit whose block a reorganisation replaced.
pub fn deposit_reverted(network: Network, t: &WatchedTransfer) -> AuditEvent {
    AuditEvent::new(
        "system:watcher",
        "deposit.reverted",
        "deposit",
        t.deposit_id.map(|d| d.to_string()).unwrap_or_default(),
        json!({"network": network.as_str(), "txid": t.txid, "block": t.block_number}),
    )
}

pub fn deposit_swept(actor: &str, deposit_id: Uuid, txid: &str) -> AuditEvent {
    AuditEvent::new(actor, "deposit.swept", "deposit", deposit_id, json!({"txid": txid}))
}

pub fn appeal_opened(actor: &str, a: &AppealRecord) -> AuditEvent {
    AuditEvent::new(actor, "appeal.opened", "appeal", a.id, json!({"order_id": a.order_id, "due_at_ms": a.due_at_ms}))
}

pub fn appeal_answered(actor: &str, id: Uuid) -> AuditEvent {
    AuditEvent::new(actor, "appeal.answered", "appeal", id, json!({}))
}

pub fn standing_appeal_opened(actor: &str, a: &StandingAppealRecord) -> AuditEvent {
    AuditEvent::new(actor, "standing_appeal.opened", "standing_appeal", a.id, json!({"due_at_ms": a.due_at_ms}))
}

pub fn standing_appeal_answered(actor: &str, a: &StandingAppealRecord, reinstated: bool) -> AuditEvent {
    AuditEvent::new(actor, "standing_appeal.answered", "standing_appeal", a.id, json!({"reinstated": reinstated}))
}

/// A card by its ends (never its number) and how its holder compared (KYC-4).
pub fn card_registered(actor: &str, c: &CardRecord) -> AuditEvent {
    AuditEvent::new(
        actor,
        "card.registered",
        "card",
        c.id,
        json!({"first6": c.first6, "last4": c.last4, "holder_check": c.holder_check}),
    )
}

pub fn api_key_created(actor: &str, key: &ApiKeyRecord, scopes: &[&str]) -> AuditEvent {
    AuditEvent::new(actor, "api_key.created", "api_key", key.id, json!({"name": key.name, "scopes": scopes}))
}

pub fn api_key_revoked(actor: &str, id: Uuid) -> AuditEvent {
    AuditEvent::new(actor, "api_key.revoked", "api_key", id, json!({}))
}

pub fn labels_imported(source: &LabelSource, labels: usize) -> AuditEvent {
    AuditEvent::new(
        "cli",
        "labels.imported",
        "label_source",
        &source.name,
        json!({"kind": source.kind, "labels": labels}),
    )
}

pub fn webhook_replayed(actor: &str, id: Uuid) -> AuditEvent {
    AuditEvent::new(actor, "webhook.replayed", "outbox", id, json!({}))
}

pub fn policy_version_created(version: i64, fingerprint: &str) -> AuditEvent {
    AuditEvent::new("system", "policy.version_created", "policy_version", version, json!({"fingerprint": fingerprint}))
}
