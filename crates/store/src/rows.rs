//! Conversions between rows and records.

use crate::script::{LiteRow, OutRow, Value};
use custos_app::model::*;
use custos_app::StoreError;
use custos_domain::{Amount, OrderStatus};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;
use uuid::Uuid;

pub(crate) fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("stored {what} is unreadable: {e}"))
}

/// Column access shared by sqlx rows and the SQLite writer's rows.
pub(crate) trait Columns {
    fn int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: &str) -> Result<Option<String>, StoreError>;
}

impl Columns for AnyRow {
    fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(col).map_err(|e| bad(col, e))
    }
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get(col).map_err(|e| bad(col, e))
    }
}

impl Columns for LiteRow {
    fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.value(col)? {
            Value::Int(i) => Ok(*i),
            Value::Text(None) => Ok(None),
            Value::Text(Some(t)) => Err(bad(col, format!("expected a number, found {t:?}"))),
        }
    }
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.value(col)? {
            Value::Text(t) => Ok(t.clone()),
            Value::Int(None) => Ok(None),
            Value::Int(Some(i)) => Err(bad(col, format!("expected text, found {i}"))),
        }
    }
}

impl LiteRow {
    fn value(&self, col: &str) -> Result<&Value, StoreError> {
        self.names.iter().position(|n| n == col).map(|i| &self.values[i]).ok_or_else(|| bad(col, "no such column"))
    }
}

impl Columns for OutRow {
    fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self {
            OutRow::Any(r) => r.int(col),
            OutRow::Lite(r) => r.int(col),
        }
    }
    fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self {
            OutRow::Any(r) => r.text(col),
            OutRow::Lite(r) => r.text(col),
        }
    }
}

/// A value of a column, through [`Columns`].
pub(crate) trait FromColumn: Sized {
    fn from_column(row: &impl Columns, col: &str) -> Result<Self, StoreError>;
}

impl FromColumn for i64 {
    fn from_column(row: &impl Columns, col: &str) -> Result<Self, StoreError> {
        row.int(col)?.ok_or_else(|| bad(col, "unexpected NULL"))
    }
}

impl FromColumn for Option<i64> {
    fn from_column(row: &impl Columns, col: &str) -> Result<Self, StoreError> {
        row.int(col)
    }
}

impl FromColumn for String {
    fn from_column(row: &impl Columns, col: &str) -> Result<Self, StoreError> {
        row.text(col)?.ok_or_else(|| bad(col, "unexpected NULL"))
    }
}

impl FromColumn for Option<String> {
    fn from_column(row: &impl Columns, col: &str) -> Result<Self, StoreError> {
        row.text(col)
    }
}

pub(crate) fn get<T: FromColumn>(row: &impl Columns, col: &str) -> Result<T, StoreError> {
    T::from_column(row, col)
}

pub(crate) fn parse<T: FromStr>(row: &impl Columns, col: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    get::<String>(row, col)?.parse().map_err(|e| bad(col, e))
}

pub(crate) fn uuid(row: &impl Columns, col: &str) -> Result<Uuid, StoreError> {
    parse(row, col)
}

pub(crate) fn opt_uuid(row: &impl Columns, col: &str) -> Result<Option<Uuid>, StoreError> {
    get::<Option<String>>(row, col)?.map(|s| s.parse().map_err(|e| bad(col, e))).transpose()
}

fn amount(row: &impl Columns, col: &str) -> Result<Amount, StoreError> {
    Amount::parse(&get::<String>(row, col)?).map_err(|e| bad(col, e))
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &impl Columns, col: &str) -> Result<T, StoreError> {
    serde_json::from_str(&get::<String>(row, col)?).map_err(|e| bad(col, e))
}

pub(crate) const ORDER_COLUMNS: &str = "id, number, external_id, status, pay_network, pay_asset, pay_amount, \
    receive_network, receive_asset, receive_amount, receive_address, deposit_address, deposit_index, \
    customer_email_enc, customer_email_index, created_at_ms, updated_at_ms";

pub(crate) fn order(row: &impl Columns) -> Result<OrderRecord, StoreError> {
    Ok(OrderRecord {
        id: uuid(row, "id")?,
        number: get(row, "number")?,
        external_id: get(row, "external_id")?,
        status: parse::<OrderStatus>(row, "status")?,
        pay_network: parse(row, "pay_network")?,
        pay_asset: parse(row, "pay_asset")?,
        pay_amount: amount(row, "pay_amount")?,
        receive_network: parse(row, "receive_network")?,
        receive_asset: parse(row, "receive_asset")?,
        receive_amount: amount(row, "receive_amount")?,
        receive_address: get(row, "receive_address")?,
        deposit_address: get(row, "deposit_address")?,
        deposit_index: get::<i64>(row, "deposit_index")? as u32,
        has_customer_email: get::<Option<String>>(row, "customer_email_enc")?.is_some(),
        customer_email_index: get(row, "customer_email_index")?,
        created_at_ms: get(row, "created_at_ms")?,
        updated_at_ms: get(row, "updated_at_ms")?,
    })
}

pub(crate) const DEPOSIT_COLUMNS: &str =
    "id, order_id, network, asset, address, txid, output_index, amount, sources, confirmations, screening_id, received_at_ms";

pub(crate) fn deposit(row: &impl Columns) -> Result<DepositRecord, StoreError> {
    Ok(DepositRecord {
        id: uuid(row, "id")?,
        order_id: uuid(row, "order_id")?,
        network: parse(row, "network")?,
        asset: parse(row, "asset")?,
        address: get(row, "address")?,
        txid: get(row, "txid")?,
        index: get::<i64>(row, "output_index")? as u32,
        amount: amount(row, "amount")?,
        sources: json(row, "sources")?,
        confirmations: get::<Option<i64>>(row, "confirmations")?.map(|c| c as u32),
        screening_id: uuid(row, "screening_id")?,
        received_at_ms: get(row, "received_at_ms")?,
    })
}

pub(crate) const SCREENING_COLUMNS: &str =
    "id, kind, network, address, order_id, deposit_id, decision, reports, policy_version, created_at_ms";

pub(crate) fn screening(row: &impl Columns) -> Result<ScreeningRecord, StoreError> {
    let kind = match get::<String>(row, "kind")?.as_str() {
        "address" => ScreeningKind::Address,
        "deposit" => ScreeningKind::Deposit,
        "payout" => ScreeningKind::Payout,
        other => return Err(bad("screening kind", other)),
    };
    Ok(ScreeningRecord {
        id: uuid(row, "id")?,
        kind,
        network: parse(row, "network")?,
        address: get(row, "address")?,
        order_id: opt_uuid(row, "order_id")?,
        deposit_id: opt_uuid(row, "deposit_id")?,
        decision: json(row, "decision")?,
        reports: json(row, "reports")?,
        policy_version: get(row, "policy_version")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}

pub(crate) const CASE_COLUMNS: &str =
    "id, number, order_id, deposit_id, action, status, reasons, deadline_kind, opened_at_ms, due_at_ms, assignee, escalated";

pub(crate) fn case(row: &impl Columns) -> Result<CaseRecord, StoreError> {
    let deadline_kind = match get::<String>(row, "deadline_kind")?.as_str() {
        "kyc" => DeadlineKind::Kyc,
        "review" => DeadlineKind::Review,
        other => return Err(bad("deadline kind", other)),
    };
    Ok(CaseRecord {
        id: uuid(row, "id")?,
        number: get(row, "number")?,
        order_id: uuid(row, "order_id")?,
        deposit_id: opt_uuid(row, "deposit_id")?,
        action: serde_json::from_value(serde_json::Value::String(get(row, "action")?)).map_err(|e| bad("action", e))?,
        status: parse(row, "status")?,
        reasons: json(row, "reasons")?,
        deadline_kind,
        opened_at_ms: get(row, "opened_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
        assignee: get(row, "assignee")?,
        escalated: get::<i64>(row, "escalated")? != 0,
    })
}

pub(crate) fn api_key(row: &impl Columns) -> Result<ApiKeyRecord, StoreError> {
    let scopes: Vec<String> = json(row, "scopes")?;
    Ok(ApiKeyRecord {
        id: uuid(row, "id")?,
        name: get(row, "name")?,
        scopes: scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        created_at_ms: get(row, "created_at_ms")?,
        revoked: get::<Option<i64>>(row, "revoked_at_ms")?.is_some(),
    })
}

pub(crate) const OUTBOX_COLUMNS: &str =
    "id, event_type, payload, created_at_ms, attempts, status, next_attempt_at_ms, last_error";

pub(crate) fn outbox(row: &impl Columns) -> Result<OutboxEvent, StoreError> {
    let status = match get::<String>(row, "status")?.as_str() {
        "pending" => DeliveryStatus::Pending,
        "delivered" => DeliveryStatus::Delivered,
        "dead" => DeliveryStatus::Dead,
        other => return Err(bad("delivery status", other)),
    };
    Ok(OutboxEvent {
        id: uuid(row, "id")?,
        event_type: get(row, "event_type")?,
        payload: get(row, "payload")?,
        created_at_ms: get(row, "created_at_ms")?,
        attempts: get::<i64>(row, "attempts")?.clamp(0, i64::from(u32::MAX)) as u32,
        status,
        next_attempt_at_ms: get(row, "next_attempt_at_ms")?,
        last_error: get(row, "last_error")?,
    })
}

pub(crate) const DECISION_COLUMNS: &str =
    "id, case_id, order_id, kind, status, params, requested_by, approved_by, created_at_ms, decided_at_ms, \
     rationale_enc";

pub(crate) fn decision(row: &impl Columns) -> Result<DecisionRecord, StoreError> {
    let kind = match get::<String>(row, "kind")?.as_str() {
        "release" => DecisionKind::Release,
        "refund" => DecisionKind::Refund,
        "freeze" => DecisionKind::Freeze,
        other => return Err(bad("decision kind", other)),
    };
    Ok(DecisionRecord {
        id: uuid(row, "id")?,
        case_id: uuid(row, "case_id")?,
        order_id: uuid(row, "order_id")?,
        kind,
        status: parse(row, "status")?,
        params: json(row, "params")?,
        requested_by: get(row, "requested_by")?,
        approved_by: get(row, "approved_by")?,
        created_at_ms: get(row, "created_at_ms")?,
        decided_at_ms: get(row, "decided_at_ms")?,
        rationale_enc: get(row, "rationale_enc")?,
    })
}

pub(crate) const REFUND_COLUMNS: &str = "id, order_id, deposit_id, decision_id, network, asset, to_address, amount, \
    network_fee, status, txid, created_at_ms, due_at_ms";

pub(crate) fn refund(row: &impl Columns) -> Result<RefundRecord, StoreError> {
    Ok(RefundRecord {
        id: uuid(row, "id")?,
        order_id: uuid(row, "order_id")?,
        deposit_id: uuid(row, "deposit_id")?,
        decision_id: uuid(row, "decision_id")?,
        network: parse(row, "network")?,
        asset: parse(row, "asset")?,
        to_address: get(row, "to_address")?,
        amount: amount(row, "amount")?,
        network_fee: amount(row, "network_fee")?,
        status: parse(row, "status")?,
        txid: get(row, "txid")?,
        created_at_ms: get(row, "created_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
    })
}

pub(crate) const REQUEST_COLUMNS: &str =
    "id, case_id, order_id, customer_id, kind, status, message, message_enc, requested_by, \
    created_at_ms, due_at_ms, answered_at_ms, answered_by, review_due_at_ms, escalation";

pub(crate) fn request(row: &impl Columns) -> Result<CustomerRequest, StoreError> {
    let kind = get::<String>(row, "kind")?;
    Ok(CustomerRequest {
        id: uuid(row, "id")?,
        case_id: uuid(row, "case_id")?,
        order_id: uuid(row, "order_id")?,
        customer_id: opt_uuid(row, "customer_id")?,
        kind: RequestKind::parse(&kind).ok_or_else(|| bad("request kind", &kind))?,
        status: parse(row, "status")?,
        message: get(row, "message")?,
        sealed_message: get(row, "message_enc")?,
        requested_by: get(row, "requested_by")?,
        created_at_ms: get(row, "created_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
        answered_at_ms: get(row, "answered_at_ms")?,
        answered_by: get(row, "answered_by")?,
        review_due_at_ms: get(row, "review_due_at_ms")?,
        escalation: get(row, "escalation")?,
    })
}

pub(crate) const DOCUMENT_COLUMNS: &str =
    "id, request_id, file_name_enc, content_type, size_bytes, sha256, created_at_ms";

pub(crate) fn document(row: &impl Columns) -> Result<DocumentRecord, StoreError> {
    Ok(DocumentRecord {
        id: uuid(row, "id")?,
        request_id: uuid(row, "request_id")?,
        file_name_enc: get(row, "file_name_enc")?,
        content_type: get(row, "content_type")?,
        size_bytes: get(row, "size_bytes")?,
        sha256: get(row, "sha256")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}

pub(crate) const APPEAL_COLUMNS: &str =
    "id, order_id, status, text_enc, outcome_enc, created_at_ms, due_at_ms, answered_by, answered_at_ms";

pub(crate) fn appeal(row: &impl Columns) -> Result<AppealRecord, StoreError> {
    Ok(AppealRecord {
        id: uuid(row, "id")?,
        order_id: uuid(row, "order_id")?,
        status: parse(row, "status")?,
        text_enc: get(row, "text_enc")?,
        outcome_enc: get(row, "outcome_enc")?,
        created_at_ms: get(row, "created_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
        answered_by: get(row, "answered_by")?,
        answered_at_ms: get(row, "answered_at_ms")?,
    })
}

pub(crate) fn audit_entry(r: &impl Columns) -> Result<custos_domain::audit::AuditEntry, StoreError> {
    Ok(custos_domain::audit::AuditEntry {
        seq: get(r, "seq")?,
        at_ms: get(r, "at_ms")?,
        actor: get(r, "actor")?,
        action: get(r, "action")?,
        entity_type: get(r, "entity_type")?,
        entity_id: get(r, "entity_id")?,
        data: get(r, "data")?,
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
    })
}

pub(crate) const VERIFICATION_COLUMNS: &str = "id, email_index, customer_ref, order_id, level, provider, state, \
    applicant_id, reject_labels, comment_enc, last_event_at, created_at_ms, updated_at_ms, due_at_ms, identity_name_hash";

pub(crate) fn verification(row: &impl Columns) -> Result<VerificationRecord, StoreError> {
    let state: String = get(row, "state")?;
    let state =
        custos_domain::kyc::VerificationState::parse(&state).ok_or_else(|| bad("verification state", &state))?;
    let order: Option<String> = get(row, "order_id")?;
    Ok(VerificationRecord {
        id: uuid(row, "id")?,
        email_index: get(row, "email_index")?,
        customer_ref: get(row, "customer_ref")?,
        order_id: order.map(|o| o.parse().map_err(|e| bad("order_id", e))).transpose()?,
        level: get(row, "level")?,
        provider: get(row, "provider")?,
        state,
        applicant_id: get(row, "applicant_id")?,
        reject_labels: json(row, "reject_labels")?,
        comment_enc: get(row, "comment_enc")?,
        last_event_at: get(row, "last_event_at")?,
        created_at_ms: get(row, "created_at_ms")?,
        updated_at_ms: get(row, "updated_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
        identity_name_hash: get(row, "identity_name_hash")?,
    })
}

pub(crate) const STANDING_APPEAL_COLUMNS: &str = "id, email_index, status, text_enc, outcome_enc, reinstated, \
    created_at_ms, due_at_ms, answered_by, answered_at_ms";

pub(crate) fn standing_appeal(row: &impl Columns) -> Result<custos_app::model::StandingAppealRecord, StoreError> {
    Ok(custos_app::model::StandingAppealRecord {
        id: uuid(row, "id")?,
        email_index: get(row, "email_index")?,
        status: parse(row, "status")?,
        text_enc: get(row, "text_enc")?,
        outcome_enc: get(row, "outcome_enc")?,
        reinstated: get::<i64>(row, "reinstated")? != 0,
        created_at_ms: get(row, "created_at_ms")?,
        due_at_ms: get(row, "due_at_ms")?,
        answered_by: get(row, "answered_by")?,
        answered_at_ms: get(row, "answered_at_ms")?,
    })
}

pub(crate) fn card(row: &impl Columns) -> Result<CardRecord, StoreError> {
    let brand: String = get(row, "brand")?;
    let order: Option<String> = get(row, "order_id")?;
    Ok(CardRecord {
        id: uuid(row, "id")?,
        email_index: get(row, "email_index")?,
        first6: get(row, "first6")?,
        last4: get(row, "last4")?,
        brand: custos_domain::kyc::CardBrand::parse(&brand).ok_or_else(|| bad("card brand", &brand))?,
        order_id: order.map(|o| o.parse().map_err(|e| bad("order_id", e))).transpose()?,
        state: parse(row, "state")?,
        holder_check: parse(row, "holder_check")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}

pub(crate) fn verification_file(row: &impl Columns) -> Result<VerificationFile, StoreError> {
    let step: String = get(row, "step")?;
    let step = custos_domain::kyc::Step::parse(&step).ok_or_else(|| bad("step", &step))?;
    Ok(VerificationFile {
        id: uuid(row, "id")?,
        verification_id: uuid(row, "verification_id")?,
        step,
        content_type: get(row, "content_type")?,
        size_bytes: get(row, "size_bytes")?,
        sha256: get(row, "sha256")?,
        issued_on: get(row, "issued_on")?,
        document_kind: get(row, "document_kind")?,
        created_at_ms: get(row, "created_at_ms")?,
    })
}
