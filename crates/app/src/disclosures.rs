//! The register of authority requests (DISC-1): law enforcement, courts, the FIU, payment
//! systems and crypto platforms asking for what customers supplied. Restricted records: whoever
//! lacks the disclosure permissions is told there is no such thing (not found), never "forbidden".
//! Who asks and the scope are sealed; each change is audited once, in its transaction.

use crate::accounts::Authenticated;
use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::model::{AuthorityRequestRecord, LegalHoldRecord};
use crate::repos::{AuthorityRequestChange, DisclosureRepo, HoldRepo, Store};
use custos_crypto::bundle::BagFile;
use custos_crypto::Aad;
use custos_domain::access::Permission;
use custos_domain::audit::AuditEvent;
use custos_domain::disclosure::{Approval, AuthorityKind, Details, DisclosureState, Verification};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The entity type of authority requests in the audit log: restricted like the requests.
pub const ENTITY: &str = "authority_request";

/// The longest free texts of a request.
const NAME_MAX: usize = 200;
const BASIS_MAX: usize = 1_000;

/// How long before its due time an open request reminds the MLRO.
pub const REMIND_BEFORE_MS: i64 = 24 * 3_600_000;

/// A request as registered by a member of staff.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuthorityRequest {
    pub kind: AuthorityKind,
    pub details: Details,
    pub received_at_ms: i64,
    pub due_at_ms: i64,
    pub emergency: bool,
    pub freeze_requested: bool,
    pub non_disclosure_until_ms: Option<i64>,
}

/// A request with its sealed part opened, for those who may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorityRequest {
    pub record: AuthorityRequestRecord,
    pub details: Details,
}

/// The entity type of legal holds in the audit log: restricted like the register.
pub const HOLD_ENTITY: &str = "legal_hold";

/// Whether an audit entry's entity is restricted to those who see the register.
pub fn is_restricted(entity_type: &str) -> bool {
    entity_type == ENTITY || entity_type == HOLD_ENTITY
}

fn hold_aad<'a>(column: &'a str, id: &'a str) -> Aad<'a> {
    Aad { table: "legal_holds", column, row: id }
}

fn aad(id: &str) -> Aad<'_> {
    Aad { table: "authority_requests", column: "details", row: id }
}

/// There is no such request, as far as `who` can tell.
fn hidden() -> AppError {
    AppError::not_found(ErrorCode::NotFound, "no such page")
}

fn text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    custos_domain::text::check_text(field, value, max)
        .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e.to_string()))?;
    Ok(value.trim().to_owned())
}

/// A disclosure bundle: the files of its bag and the SHA-256 that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub number: i64,
    pub files: Vec<BagFile>,
    pub sha256: String,
}

/// The orders and deposits of a production as two CSV files.
fn production_csv(p: &Production) -> Result<(Vec<u8>, Vec<u8>), AppError> {
    let fail = |e: csv::Error| AppError::Internal(e.to_string());
    let mut orders = csv::Writer::from_writer(Vec::new());
    let mut deposits = csv::Writer::from_writer(Vec::new());
    orders
        .write_record([
            "customer",
            "number",
            "external_id",
            "status",
            "created_at",
            "pays",
            "receives",
            "deposit_address",
            "receive_address",
        ])
        .map_err(fail)?;
    deposits.write_record(["order", "txid", "index", "amount", "sources", "received_at"]).map_err(fail)?;
    let named = p.customers.iter().flat_map(|c| c.orders.iter().map(move |o| (c.email.as_str(), o)));
    let by_chain = p.orders_by_address_or_transaction.iter().map(|o| ("", o));
    for (customer, o) in named.chain(by_chain) {
        let number = o.number.to_string();
        let fields = [
            customer,
            &number,
            o.external_id.as_deref().unwrap_or(""),
            &o.status,
            &o.created_at,
            &o.pays,
            &o.receives,
            &o.deposit_address,
            &o.receive_address,
        ];
        orders.write_record(fields).map_err(fail)?;
        for d in &o.deposits {
            let index = d.index.to_string();
            let sources = d.sources.join(";");
            deposits.write_record([&number, &d.txid, &index, &d.amount, &sources, &d.received_at]).map_err(fail)?;
        }
    }
    let done = |w: csv::Writer<Vec<u8>>| w.into_inner().map_err(|e| AppError::Internal(e.to_string()));
    Ok((done(orders)?, done(deposits)?))
}

/// A legal hold with its reasons opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub record: LegalHoldRecord,
    pub reason: String,
    pub release_reason: Option<String>,
}

/// What a request's production hands over: only what its scope covers (customers named, the
/// period, the categories chosen). Amounts in whole units with the asset, times in UTC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Production {
    pub request_number: i64,
    pub produced_at: String,
    /// The period covered, as asked (`from` inclusive, `to` exclusive), if any.
    pub from: Option<String>,
    pub to: Option<String>,
    pub categories: Vec<custos_domain::disclosure::DataCategory>,
    pub customers: Vec<ProducedCustomer>,
    /// With the transactions category: the orders the addresses and transactions named touch
    /// (as the deposit address, a source, a deposit's transaction), created in the period; who
    /// the customer is, only where the scope names them above.
    pub orders_by_address_or_transaction: Vec<ProducedOrder>,
}

/// One customer named in the scope, with what the categories cover.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProducedCustomer {
    pub email: String,
    /// With the account category: the account, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<ProducedAccount>,
    /// With the transactions category: the orders created in the period, their deposits
    /// received in it.
    pub orders: Vec<ProducedOrder>,
    /// With the KYC category: the verifications asked for in the period and how they ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verifications: Vec<ProducedVerification>,
    /// With the communications category: the requests to the customer made in the period, on
    /// the orders of the period, and their answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<ProducedRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProducedVerification {
    pub level: String,
    pub provider: String,
    pub state: String,
    pub requested_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProducedRequest {
    pub order: i64,
    pub kind: String,
    pub asked_at: String,
    pub message: String,
    pub answered_at: Option<String>,
    pub answer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProducedAccount {
    pub registered_at: String,
    pub language: String,
    pub email_confirmed: bool,
    pub two_factor: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProducedOrder {
    pub number: i64,
    pub external_id: Option<String>,
    pub status: String,
    pub created_at: String,
    pub pays: String,
    pub receives: String,
    pub deposit_address: String,
    pub receive_address: String,
    pub deposits: Vec<ProducedDeposit>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProducedDeposit {
    pub txid: String,
    pub index: u32,
    pub amount: String,
    pub sources: Vec<String>,
    pub received_at: String,
}

pub struct Disclosures {
    repo: Arc<dyn DisclosureRepo>,
    holds: Arc<dyn HoldRepo>,
    requests: Arc<dyn crate::repos::RequestRepo>,
    verifications: Arc<dyn crate::repos::VerificationRepo>,
    queries: Arc<crate::queries::Queries>,
    cx: Context,
}

impl Disclosures {
    pub fn new(store: &Arc<dyn Store>, queries: Arc<crate::queries::Queries>, cx: Context) -> Disclosures {
        Disclosures {
            repo: store.clone(),
            holds: store.clone(),
            requests: store.clone(),
            verifications: store.clone(),
            queries,
            cx,
        }
    }

    /// The public key (hex) this installation signs bundles with: for whoever receives them.
    pub fn bundle_public_key(&self) -> String {
        self.cx.cipher.bundle_public_keys().remove(0)
    }

    /// Whether `who` may see the register at all.
    pub fn visible_to(who: &Authenticated) -> bool {
        who.can(Permission::DisclosuresManage)
    }

    fn guard(who: &Authenticated, permission: Permission) -> Result<(), AppError> {
        if who.can(Permission::DisclosuresManage) && who.can(permission) {
            Ok(())
        } else {
            Err(hidden())
        }
    }

    /// Registers a request received from an authority.
    pub async fn register(&self, who: &Authenticated, new: NewAuthorityRequest) -> Result<AuthorityRequest, AppError> {
        Self::guard(who, Permission::DisclosuresManage)?;
        let mut details = new.details;
        details.authority = text("authority", &details.authority, NAME_MAX)?;
        details.legal_basis = text("legal basis", &details.legal_basis, BASIS_MAX)?;
        details.document_ref = text("document reference", &details.document_ref, NAME_MAX)?;
        details.scope.check().map_err(|e| AppError::invalid(ErrorCode::InvalidScope, e.to_string()))?;
        if new.due_at_ms < new.received_at_ms {
            return Err(AppError::invalid(ErrorCode::InvalidField, "due: not before the request was received"));
        }
        let now = self.cx.now_ms();
        let id = Uuid::now_v7();
        let sealed = serde_json::to_string(&details).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut record = AuthorityRequestRecord {
            id,
            number: 0,
            kind: new.kind,
            state: DisclosureState::Received,
            emergency: new.emergency,
            freeze_requested: new.freeze_requested,
            received_at_ms: new.received_at_ms,
            due_at_ms: new.due_at_ms,
            non_disclosure_until_ms: new.non_disclosure_until_ms,
            details_enc: self.cx.cipher.encrypt(&sealed, aad(&id.to_string())),
            verification: None,
            approvals: Vec::new(),
            pending_outcome: None,
            created_by: who.actor(),
            created_at_ms: now,
            reminded_at_ms: None,
            overdue_alerted_at_ms: None,
            bundle_sha256: None,
        };
        let event = AuditEvent::new(
            who.actor(),
            "disclosure.registered",
            ENTITY,
            id,
            json!({"kind": new.kind.as_str(), "emergency": new.emergency, "due_at_ms": new.due_at_ms}),
        );
        record.number = self.repo.insert_authority_request(&record, &event).await?;
        Ok(AuthorityRequest { record, details })
    }

    fn open(&self, record: AuthorityRequestRecord) -> Result<AuthorityRequest, AppError> {
        let text = self
            .cx
            .cipher
            .decrypt(&record.details_enc, aad(&record.id.to_string()))
            .map_err(|e| AppError::Internal(format!("authority request {}: {e}", record.id)))?;
        let details = serde_json::from_str(&text).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(AuthorityRequest { record, details })
    }

    /// The register, newest first.
    pub async fn list(&self, who: &Authenticated) -> Result<Vec<AuthorityRequest>, AppError> {
        Self::guard(who, Permission::DisclosuresManage)?;
        self.repo.authority_requests(500).await?.into_iter().map(|r| self.open(r)).collect()
    }

    pub async fn get(&self, who: &Authenticated, id: Uuid) -> Result<AuthorityRequest, AppError> {
        Self::guard(who, Permission::DisclosuresManage)?;
        let record = self.repo.authority_request(id).await?.ok_or_else(hidden)?;
        self.open(record)
    }

    /// Records how the requester was verified, and moves the request on to legal review.
    pub async fn verify(
        &self,
        who: &Authenticated,
        id: Uuid,
        channel: &str,
        method: &str,
    ) -> Result<AuthorityRequest, AppError> {
        let current = self.get(who, id).await?.record;
        let verification = Verification {
            channel: text("channel", channel, NAME_MAX)?,
            method: text("method", method, BASIS_MAX)?,
            verified_by: who.actor(),
            verified_at_ms: self.cx.now_ms(),
        };
        let to = self.legal(&current, DisclosureState::LegalReview)?;
        let change = AuthorityRequestChange { verification: Some(verification.clone()), ..self.change(&current, to) };
        let events = [
            AuditEvent::new(
                who.actor(),
                "disclosure.verified",
                ENTITY,
                id,
                json!({"channel": verification.channel, "method": verification.method}),
            ),
            moved(who, &current, to),
        ];
        self.apply(who, id, &change, &events).await
    }

    /// Moves a request on: received → verifying, a rejection from legal review, production,
    /// closing. Approvals go through [`Self::approve`], verification through [`Self::verify`].
    pub async fn advance(
        &self,
        who: &Authenticated,
        id: Uuid,
        to: DisclosureState,
    ) -> Result<AuthorityRequest, AppError> {
        let current = self.get(who, id).await?.record;
        if to.needs_approvers() {
            return Err(AppError::conflict(
                ErrorCode::IllegalTransition,
                "an approval takes two approvers: approve it",
            ));
        }
        if to == DisclosureState::LegalReview {
            return Err(AppError::conflict(
                ErrorCode::IllegalTransition,
                "record how the requester was verified: that moves it to legal review",
            ));
        }
        let to = self.legal(&current, to)?;
        self.apply(who, id, &self.change(&current, to), &[moved(who, &current, to)]).await
    }

    /// One approver's approval, in full or in part; the second different approver (neither the
    /// one who registered it) decides the request.
    pub async fn approve(
        &self,
        who: &Authenticated,
        id: Uuid,
        outcome: DisclosureState,
    ) -> Result<AuthorityRequest, AppError> {
        Self::guard(who, Permission::DisclosuresApprove)?;
        if !who.stepped_up {
            return Err(AppError::forbidden(
                ErrorCode::StepUpRequired,
                "enter your code again to approve a disclosure",
            ));
        }
        let current = self.get(who, id).await?.record;
        let approval = Approval {
            state: current.state,
            verified: current.verification.is_some(),
            creator: &current.created_by,
            approvers: &current.approvals,
            pending: current.pending_outcome,
        };
        let decided = approval
            .check(&who.actor(), outcome)
            .map_err(|e| AppError::conflict(ErrorCode::FourEyes, e.to_string()))?;
        let mut approvals = current.approvals.clone();
        approvals.push(who.actor());
        let to = decided.unwrap_or(current.state);
        let change = AuthorityRequestChange {
            approvals: approvals.clone(),
            pending_outcome: Some(outcome),
            ..self.change(&current, to)
        };
        let mut events = vec![AuditEvent::new(
            who.actor(),
            "disclosure.approved",
            ENTITY,
            id,
            json!({"outcome": outcome.as_str(), "approvals": approvals.len()}),
        )];
        if decided.is_some() {
            events.push(moved(who, &current, to));
        }
        self.apply(who, id, &change, &events).await
    }

    /// The records an approved request covers, and nothing else: only the customers it names,
    /// only their orders created and deposits received in its period, only the categories it
    /// asks for (account, orders and deposits, verifications, requests and answers); and the
    /// orders the addresses and transactions it names touch in that period. Audited with the
    /// counts (never the data); each answer opened is audited too.
    pub async fn produce(&self, who: &Authenticated, id: Uuid) -> Result<Production, AppError> {
        use custos_domain::disclosure::DataCategory;
        let request = self.get(who, id).await?;
        let state = request.record.state;
        if !matches!(state, DisclosureState::Approved | DisclosureState::PartlyApproved | DisclosureState::Produced) {
            return Err(AppError::conflict(
                ErrorCode::IllegalTransition,
                format!("a request is produced once approved; this one is {state}"),
            ));
        }
        let scope = &request.details.scope;
        let time = custos_domain::time::rfc3339;
        let mut customers = Vec::new();
        let mut orders_out = 0;
        for email in &scope.customers {
            let normalized = email.trim().to_lowercase();
            let index = self.cx.cipher.blind_index("customer_email", &normalized);
            let account = if scope.categories.contains(&DataCategory::Account) {
                self.queries.customer_by_index(&index).await?.map(|a| ProducedAccount {
                    registered_at: time(a.created_at_ms),
                    language: a.locale,
                    email_confirmed: a.email_confirmed,
                    two_factor: a.mfa_enabled,
                })
            } else {
                None
            };
            let mut orders = Vec::new();
            if scope.categories.contains(&DataCategory::Transactions) {
                for o in self.queries.orders_of_customer(&index, 100_000).await? {
                    if scope.covers(o.created_at_ms) {
                        orders.push(self.produced_order(o.id, scope).await?.1);
                    }
                }
            }
            orders_out += orders.len();
            let verifications = if scope.categories.contains(&DataCategory::Kyc) {
                self.verifications
                    .verifications_of(&index)
                    .await?
                    .into_iter()
                    .filter(|v| scope.covers(v.created_at_ms))
                    .map(|v| ProducedVerification {
                        level: v.level,
                        provider: v.provider,
                        state: v.state.as_str().to_owned(),
                        requested_at: time(v.created_at_ms),
                        updated_at: time(v.updated_at_ms),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let requests = if scope.categories.contains(&DataCategory::Communications) {
                self.communications(who, &index, scope).await?
            } else {
                Vec::new()
            };
            customers.push(ProducedCustomer { email: normalized, account, orders, verifications, requests });
        }
        let mut by_chain = Vec::new();
        if scope.categories.contains(&DataCategory::Transactions) {
            let mut ids = Vec::new();
            for text in scope.addresses.iter().chain(&scope.txids) {
                if let Some(crate::model::QueueSearch::Text(value)) = self.queries.queue_search(text) {
                    ids.extend(self.repo.orders_touching(&value).await?);
                }
            }
            ids.sort();
            ids.dedup();
            for id in ids {
                let (created, order) = self.produced_order(id, scope).await?;
                if scope.covers(created) {
                    by_chain.push(order);
                }
            }
        }
        orders_out += by_chain.len();
        let now = self.cx.now_ms();
        let counts = json!({"customers": customers.len(), "orders": orders_out});
        self.cx.audit(&who.actor(), "disclosure.records_produced", ENTITY, &id.to_string(), counts).await?;
        Ok(Production {
            request_number: request.record.number,
            produced_at: time(now),
            from: scope.from_ms.map(time),
            to: scope.to_ms.map(time),
            categories: scope.categories.clone(),
            customers,
            orders_by_address_or_transaction: by_chain,
        })
    }

    /// The requests to a customer in the period, with their answers: each answer is opened with
    /// the customer's data key, and each opening audited (`personal_data.viewed`).
    async fn communications(
        &self,
        who: &Authenticated,
        index: &str,
        scope: &custos_domain::disclosure::Scope,
    ) -> Result<Vec<ProducedRequest>, AppError> {
        let time = custos_domain::time::rfc3339;
        let mut out = Vec::new();
        for o in self.queries.orders_of_customer(index, 100_000).await? {
            for r in self.queries.requests_of_order(o.id).await? {
                if !scope.covers(r.created_at_ms) {
                    continue;
                }
                let answer = match self.requests.request_answer(r.id).await? {
                    Some(sealed) => {
                        let row = r.id.to_string();
                        let aad = Aad { table: "customer_requests", column: "answer", row: &row };
                        let data = json!({"field": "answer", "for": "authority_request"});
                        let bytes = self.cx.open_for(&who.actor(), &sealed, aad, "customer_request", data).await?;
                        Some(String::from_utf8_lossy(&bytes).into_owned())
                    }
                    None => None,
                };
                out.push(ProducedRequest {
                    order: o.number,
                    kind: r.kind.as_str().to_owned(),
                    asked_at: time(r.created_at_ms),
                    message: r.message,
                    answered_at: r.answered_at_ms.map(time),
                    answer,
                });
            }
        }
        Ok(out)
    }

    /// The disclosure bundle of an approved request: a BagIt bag of the records in scope (JSON,
    /// and CSV of the orders and deposits) whose tag manifest is signed with the installation's
    /// bundle key; its bag-info names the request, the time, the Custos version and the audit
    /// chain's head. The request is then produced, the bag's SHA-256 kept on it and in the log.
    pub async fn bundle(&self, who: &Authenticated, id: Uuid) -> Result<Bundle, AppError> {
        let production = self.produce(who, id).await?;
        let current = self.get(who, id).await?.record;
        let json = serde_json::to_vec_pretty(&production).map_err(|e| AppError::Internal(e.to_string()))?;
        let (orders, deposits) = production_csv(&production)?;
        let payload = vec![
            BagFile { path: "records.json".into(), bytes: json },
            BagFile { path: "orders.csv".into(), bytes: orders },
            BagFile { path: "deposits.csv".into(), bytes: deposits },
        ];
        let head = self.queries.audit_head().await?.map(|(_, hash)| hash).unwrap_or_default();
        let info = [
            ("Source-Organization", "Custos".to_owned()),
            ("External-Identifier", id.to_string()),
            ("External-Description", format!("authority request {}", production.request_number)),
            ("Bagging-Date", production.produced_at[..10].to_owned()),
            ("Bagging-Time", production.produced_at.clone()),
            ("Custos-Version", env!("CARGO_PKG_VERSION").to_owned()),
            ("Audit-Chain-Head", head),
        ];
        let (files, sha256) = custos_crypto::bundle::make_bag(payload, &info, &self.cx.cipher.bundle_signing_key());
        let mut events = vec![AuditEvent::new(
            who.actor(),
            "disclosure.bundle_produced",
            ENTITY,
            id,
            json!({"sha256": sha256, "files": files.len()}),
        )];
        if current.state != DisclosureState::Produced {
            events.push(moved(who, &current, DisclosureState::Produced));
        }
        if !self.repo.record_bundle(id, &sha256, &events, self.cx.now_ms()).await? {
            return Err(AppError::conflict(ErrorCode::Conflict, "the request changed meanwhile: look at it again"));
        }
        Ok(Bundle { number: production.request_number, files, sha256 })
    }

    /// An order as produced, with when it was created: its deposits received in the period.
    async fn produced_order(
        &self,
        id: Uuid,
        scope: &custos_domain::disclosure::Scope,
    ) -> Result<(i64, ProducedOrder), AppError> {
        use custos_domain::network::NumberStyle;
        let time = custos_domain::time::rfc3339;
        let view = self.queries.order(id).await?;
        let o = view.order;
        let deposits = view
            .deposits
            .iter()
            .filter(|d| scope.covers(d.received_at_ms))
            .map(|d| ProducedDeposit {
                txid: d.txid.clone(),
                index: d.index,
                amount: d.amount.in_whole_units(d.asset, NumberStyle::PLAIN),
                sources: d.sources.clone(),
                received_at: time(d.received_at_ms),
            })
            .collect();
        let produced = ProducedOrder {
            number: o.number,
            external_id: o.external_id.clone(),
            status: o.status.as_str().to_owned(),
            created_at: time(o.created_at_ms),
            pays: o.pay_amount.in_whole_units(o.pay_asset, NumberStyle::PLAIN),
            receives: o.receive_amount.in_whole_units(o.receive_asset, NumberStyle::PLAIN),
            deposit_address: o.deposit_address,
            receive_address: o.receive_address,
            deposits,
        };
        Ok((o.created_at_ms, produced))
    }

    /// Places a legal hold over a customer (by e-mail), with a reason: until it is released,
    /// nothing of theirs is erased, crypto-shredded or deleted by the retention job.
    pub async fn place_hold(&self, who: &Authenticated, email: &str, reason: &str) -> Result<LegalHold, AppError> {
        Self::guard(who, Permission::DisclosuresManage)?;
        let email = email.trim().to_lowercase();
        if !custos_domain::text::is_email(&email) {
            return Err(AppError::invalid(ErrorCode::InvalidEmail, "customer: an e-mail address"));
        }
        let reason = text("reason", reason, BASIS_MAX)?;
        let id = Uuid::now_v7();
        let now = self.cx.now_ms();
        let record = LegalHoldRecord {
            id,
            email_index: self.cx.cipher.blind_index("customer_email", &email),
            customer_masked: custos_domain::access::mask_email(&email),
            reason_enc: self.cx.cipher.encrypt(&reason, hold_aad("reason", &id.to_string())),
            created_by: who.actor(),
            created_at_ms: now,
            released_by: None,
            released_at_ms: None,
            release_reason_enc: None,
        };
        let event = AuditEvent::new(who.actor(), "legal_hold.placed", HOLD_ENTITY, id, json!({}));
        self.holds.insert_hold(&record, &event).await?;
        Ok(LegalHold { record, reason, release_reason: None })
    }

    /// Releases a hold, with a reason; released holds stay listed.
    pub async fn release_hold(&self, who: &Authenticated, id: Uuid, reason: &str) -> Result<(), AppError> {
        Self::guard(who, Permission::DisclosuresManage)?;
        let reason = text("reason", reason, BASIS_MAX)?;
        let sealed = self.cx.cipher.encrypt(&reason, hold_aad("release_reason", &id.to_string()));
        let event = AuditEvent::new(who.actor(), "legal_hold.released", HOLD_ENTITY, id, json!({}));
        if self.holds.release_hold(id, &who.actor(), &sealed, &event, self.cx.now_ms()).await? {
            Ok(())
        } else {
            Err(AppError::conflict(ErrorCode::Conflict, "this hold is released already, or there is no such hold"))
        }
    }

    /// Every hold, the active ones first.
    pub async fn holds(&self, who: &Authenticated) -> Result<Vec<LegalHold>, AppError> {
        Self::guard(who, Permission::DisclosuresManage)?;
        let open = |column: &str, record: &LegalHoldRecord, sealed: &str| {
            self.cx
                .cipher
                .decrypt(sealed, hold_aad(column, &record.id.to_string()))
                .map_err(|e| AppError::Internal(format!("legal hold {}: {e}", record.id)))
        };
        let mut out = Vec::new();
        for record in self.holds.holds(1_000).await? {
            let reason = open("reason", &record, &record.reason_enc)?;
            let release_reason = match &record.release_reason_enc {
                Some(sealed) => Some(open("release_reason", &record, sealed)?),
                None => None,
            };
            out.push(LegalHold { record, reason, release_reason });
        }
        Ok(out)
    }

    /// The statutory clock: a reminder a day before an open request is due and an alert once it
    /// is overdue, each once, mailed to every member of staff who sees the register (never a
    /// webhook: nothing about a request leaves for the exchange's systems or a customer). Safe
    /// from several instances: each notice is claimed before it is sent. How many were sent.
    pub async fn run_clocks(&self, accounts: &crate::accounts::Accounts) -> Result<usize, AppError> {
        let now = self.cx.now_ms();
        let mut sent = 0;
        for r in self.repo.authority_requests_on_the_clock(now + REMIND_BEFORE_MS, now).await? {
            let overdue = r.due_at_ms <= now;
            let action = if overdue { "disclosure.overdue" } else { "disclosure.due_soon" };
            let event = AuditEvent::new("system", action, ENTITY, r.id, json!({"due_at_ms": r.due_at_ms}));
            // An overdue request that was never reminded is alerted only: the reminder is moot.
            if overdue && r.reminded_at_ms.is_none() {
                let skip =
                    AuditEvent::new("system", "disclosure.due_soon", ENTITY, r.id, json!({"due_at_ms": r.due_at_ms}));
                self.repo.claim_authority_clock(r.id, false, &skip, now).await?;
            }
            if !self.repo.claim_authority_clock(r.id, overdue, &event, now).await? {
                continue;
            }
            let letter = crate::accounts::mails::Letter::AuthorityRequestDue {
                number: r.number,
                id: r.id,
                due_at_ms: r.due_at_ms,
                overdue,
            };
            sent += accounts.notify_staff_with(Permission::DisclosuresManage, &letter).await?;
        }
        Ok(sent)
    }

    fn legal(&self, current: &AuthorityRequestRecord, to: DisclosureState) -> Result<DisclosureState, AppError> {
        current.state.move_to(to).map_err(|e| AppError::conflict(ErrorCode::IllegalTransition, e.to_string()))
    }

    fn change(&self, current: &AuthorityRequestRecord, to: DisclosureState) -> AuthorityRequestChange {
        AuthorityRequestChange {
            id: current.id,
            from: current.state,
            to,
            approvals_before: current.approvals.clone(),
            approvals: current.approvals.clone(),
            pending_outcome: current.pending_outcome,
            verification: None,
            at_ms: self.cx.now_ms(),
        }
    }

    async fn apply(
        &self,
        who: &Authenticated,
        id: Uuid,
        change: &AuthorityRequestChange,
        events: &[AuditEvent],
    ) -> Result<AuthorityRequest, AppError> {
        if !self.repo.change_authority_request(change, events).await? {
            return Err(AppError::conflict(
                ErrorCode::Conflict,
                "someone changed this request at the same time: look at it again",
            ));
        }
        self.get(who, id).await
    }
}

/// The audit entry of a move.
fn moved(who: &Authenticated, current: &AuthorityRequestRecord, to: DisclosureState) -> AuditEvent {
    AuditEvent::new(
        who.actor(),
        "disclosure.state_changed",
        ENTITY,
        current.id,
        json!({"from": current.state.as_str(), "to": to.as_str()}),
    )
}
