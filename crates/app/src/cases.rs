//! Cases and decisions: an officer's work on a case, the decision (four-eyes where the policy
//! asks for it) and its execution, and the refund it plans (REF-2, REF-3).

use crate::accounts::records::AccountKind;
use crate::accounts::Authenticated;
use crate::context::Context;
use crate::effects::{Effect, OrderEventWrite};
use crate::error::{AppError, ErrorCode};
use crate::model::*;
use crate::queries::Queries;
use crate::repos::{CaseRepo, OrderRepo, RequestRepo, Store};
use crate::screening::{Occasion, Screening};
use custos_crypto::{sha256_hex, Aad};
use custos_domain::access::Permission;
use custos_domain::decision::{ApprovalRefusal, Approver, Rationale};
use custos_domain::order::OrderEvent;
use custos_domain::policy::{Action, Reason};
use custos_domain::status::{CaseStatus, DecisionStatus, RefundStatus};
use custos_domain::{Address, Amount};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The repositories cases and decisions need.
pub struct CaseRepos {
    pub orders: Arc<dyn OrderRepo>,
    pub cases: Arc<dyn CaseRepo>,
    pub requests: Arc<dyn RequestRepo>,
}

impl CaseRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> CaseRepos {
        CaseRepos { orders: store.clone(), cases: store.clone(), requests: store.clone() }
    }
}

/// A case an officer may still act on.
pub(crate) async fn open_case(queries: &Queries, id: Uuid) -> Result<CaseRecord, AppError> {
    let case = queries.case(id).await?;
    if case.status != CaseStatus::Open {
        return Err(AppError::conflict(ErrorCode::CaseClosed, format!("case {} is {}", case.number, case.status)));
    }
    Ok(case)
}

/// What an executed decision does to the order.
fn decision_event(kind: DecisionKind) -> OrderEvent {
    match kind {
        DecisionKind::Release => OrderEvent::Released,
        DecisionKind::Refund => OrderEvent::RefundApproved,
        DecisionKind::Freeze => OrderEvent::Frozen,
    }
}

/// Opens a review case on an order for rules found outside a screening (a shared card, a
/// reorganisation), leaving its status as it is; `rules` are (rule, detail).
pub(crate) async fn open_rule_case(
    orders: &dyn OrderRepo,
    cx: &Context,
    order_id: Uuid,
    deposit_id: Option<Uuid>,
    rules: Vec<(&str, String)>,
    data: serde_json::Value,
    actor: &str,
) -> Result<(), AppError> {
    let now = cx.now_ms();
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
        now + cx.deadlines.review_ms,
    );
    let write = OrderEventWrite {
        data,
        effects: vec![Effect::OpenCase(case)],
        ..OrderEventWrite::new(order_id, vec![], actor, now)
    };
    orders.apply_order_events(&write).await?;
    Ok(())
}

/// Cases and decisions.
pub struct Cases {
    repos: CaseRepos,
    screening: Arc<Screening>,
    queries: Arc<Queries>,
    cx: Context,
}

impl Cases {
    pub fn new(repos: CaseRepos, screening: Arc<Screening>, queries: Arc<Queries>, cx: Context) -> Cases {
        Cases { repos, screening, queries, cx }
    }

    /// An officer decides on an open case. Freezing acts at once. A release acts at once for a
    /// review case, but a release of a held or rejected (high or critical) deposit and every
    /// refund wait for a second officer (four-eyes, `approve_decision`).
    pub async fn decide(
        &self,
        case_id: Uuid,
        request: DecisionRequest,
        rationale: &Rationale,
        actor: &str,
    ) -> Result<DecisionRecord, AppError> {
        let case = open_case(&self.queries, case_id).await?;
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
            .apply(decision_event(kind))
            .map_err(|e| AppError::conflict(ErrorCode::IllegalTransition, e.to_string()))?;
        let now = self.cx.now_ms();
        let id = Uuid::now_v7();
        let decision = DecisionRecord {
            id,
            case_id,
            order_id: order.id,
            kind,
            status: DecisionStatus::Pending,
            params,
            requested_by: actor.to_owned(),
            approved_by: None,
            created_at_ms: now,
            decided_at_ms: None,
            rationale_enc: Some(self.cx.cipher.encrypt(rationale.as_str(), rationale_aad(&id.to_string()))),
        };
        let four_eyes = kind.needs_second_officer(case.action);
        if four_eyes && ActorKind::of(actor) != ActorKind::Staff {
            return Err(AppError::forbidden(
                ErrorCode::FourEyesNeedsStaff,
                "a refund, or a release of held or rejected funds, is decided by a named officer in the \
                 back-office and approved by another: an API key cannot make it",
            ));
        }
        self.repos.cases.insert_decision(&decision, &sha256_hex(rationale.as_str().as_bytes())).await?;
        if four_eyes {
            return Ok(decision);
        }
        self.execute(decision, actor).await
    }

    /// Why the officer decided so, for the case page; `None` for a decision made before a
    /// rationale was required.
    pub fn rationale(&self, d: &DecisionRecord) -> Result<Option<String>, AppError> {
        let Some(sealed) = &d.rationale_enc else { return Ok(None) };
        let text = self
            .cx
            .cipher
            .decrypt(sealed, rationale_aad(&d.id.to_string()))
            .map_err(|e| AppError::Internal(format!("decision {}: the rationale cannot be opened: {e}", d.id)))?;
        Ok(Some(text))
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
            .repos
            .cases
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

    /// An officer's work on an open case: assign, note (stored encrypted), escalate, close.
    pub async fn case_action(
        &self,
        case_id: Uuid,
        action: CaseActionRequest,
        actor: &str,
    ) -> Result<CaseRecord, AppError> {
        let case = open_case(&self.queries, case_id).await?;
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
                    body_enc: self.cx.cipher.encrypt(&body, Aad { table: "case_notes", column: "body", row: &row }),
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
        self.repos.cases.case_action(case_id, &action, actor, self.cx.now_ms()).await?;
        self.queries.case(case_id).await
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
            .repos
            .orders
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
        let check = self.screening.evaluate(Occasion::Refund, &to, std::slice::from_ref(&to)).await;
        if let Some(c) = custos_domain::refund::never_refunded(&check.decision.categories) {
            return Err(AppError::conflict(
                ErrorCode::RefundRefused,
                format!("the refund destination now has {c} exposure: freeze and report instead"),
            ));
        }
        // REF-2: and only after the customer's KYC and Source of Funds have been answered on this
        // case, by the customer themselves (an answer an API key sent on their behalf is not theirs).
        let requests = self.repos.requests.requests_of_order(case.order_id).await?;
        let answered =
            |kind| requests.iter().any(|r| r.case_id == case.id && r.kind == kind && r.answered_by_customer());
        if let Some(kind) = custos_domain::refund::missing_answer(answered) {
            return Err(AppError::conflict(
                ErrorCode::KycSofRequired,
                format!("a refund needs the customer's answered {} request on this case first (REF-2)", kind.as_str()),
            ));
        }
        let now = self.cx.now_ms();
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
            due_at_ms: now + self.cx.deadlines.refund_ms,
        })
    }

    async fn execute(&self, decision: DecisionRecord, approver: &str) -> Result<DecisionRecord, AppError> {
        let now = self.cx.now_ms();
        let refund = match (decision.kind, &decision.params) {
            (DecisionKind::Refund, DecisionParams::Refund(planned)) => {
                // REF-4: due 24 h after the decision takes effect.
                Some(RefundRecord {
                    decision_id: decision.id,
                    created_at_ms: now,
                    due_at_ms: now + self.cx.deadlines.refund_ms,
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
            effects: [
                Some(Effect::ExecuteDecision { decision_id: decision.id, approver: approver.to_owned() }),
                refund.map(Effect::CreateRefund),
                Some(Effect::CloseCase(decision.case_id)),
            ]
            .into_iter()
            .flatten()
            .collect(),
            ..OrderEventWrite::new(decision.order_id, vec![decision_event(decision.kind)], approver, now)
        };
        self.repos.orders.apply_order_events(&write).await?;
        Ok(DecisionRecord {
            status: DecisionStatus::Executed,
            approved_by: Some(approver.to_owned()),
            decided_at_ms: Some(now),
            ..decision
        })
    }
}

fn rationale_aad(decision_id: &str) -> Aad<'_> {
    Aad { table: "decisions", column: "rationale", row: decision_id }
}
