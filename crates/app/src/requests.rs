//! Requests to the customer: KYC, Source of Funds or more information, with a deadline
//! (SEC-15); the customer's answer and documents, sealed with their data key; an officer's
//! reading of them, audited.

use crate::accounts::mails::Letter;
use crate::accounts::Accounts;
use crate::context::Context;
use crate::effects::{Effect, OrderEventWrite};
use crate::error::{AppError, ErrorCode};
use crate::model::*;
use crate::queries::Queries;
use crate::repos::{OrderRepo, RequestRepo, Store};
use custos_crypto::Aad;
use custos_domain::order::OrderEvent;
use custos_domain::status::ReplyStatus;
use custos_domain::OrderStatus;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The repositories requests need.
pub struct RequestRepos {
    pub orders: Arc<dyn OrderRepo>,
    pub requests: Arc<dyn RequestRepo>,
}

impl RequestRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> RequestRepos {
        RequestRepos { orders: store.clone(), requests: store.clone() }
    }
}

/// Requests to the customer and their answers.
pub struct Requests {
    repos: RequestRepos,
    queries: Arc<Queries>,
    /// Tells customers a request waits for them.
    accounts: Arc<Accounts>,
    /// The integration mode in which API keys may answer on the customer's behalf.
    answers_by_key: bool,
    cx: Context,
}

impl Requests {
    pub fn new(
        repos: RequestRepos,
        queries: Arc<Queries>,
        accounts: Arc<Accounts>,
        answers_by_key: bool,
        cx: Context,
    ) -> Requests {
        Requests { repos, queries, accounts, answers_by_key, cx }
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
        let case = crate::cases::open_case(&self.queries, case_id).await?;
        custos_domain::text::check_text("message", message, 2000)
            .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e))?;
        let message = message.trim();
        let order = self.queries.order(case.order_id).await?.order;
        let message = match kind {
            // The Source-of-Funds questionnaire: the order's amount, the origin of the funds,
            // supporting documents; then the officer's own words.
            RequestKind::SourceOfFunds => format!(
                "Source of Funds for order {} ({}). 1) Where do these funds come from \
                 (salary, savings, sale of assets, business income, other)? 2) Please attach supporting \
                 documents (bank statement, payslip, sale contract). {message}",
                order.number,
                order.pay_amount.in_whole_units(order.pay_asset, custos_domain::network::NumberStyle::ENGLISH)
            ),
            _ => message.to_owned(),
        };
        let now = self.cx.now_ms();
        let id = Uuid::now_v7();
        let row = id.to_string();
        let sealer = self.cx.sealer_for(order.customer_email_index.as_deref()).await?;
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
            due_at_ms: now + self.cx.deadlines.kyc_ms,
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
            effects: vec![Effect::OpenRequest(stored)],
            ..OrderEventWrite::new(order.id, events, actor, now)
        };
        self.repos.orders.apply_order_events(&write).await?;
        if let Some(index) = &order.customer_email_index {
            // The request stands whether or not the mail goes out; the cabinet shows it too.
            let letter =
                Letter::RequestOpened { order_number: order.number, order_id: order.id, due_at_ms: request.due_at_ms };
            if let Err(e) = self.accounts.notify_customer(index, &letter).await {
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
            .repos
            .requests
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
        let now = self.cx.now_ms();
        let review_due = now + self.cx.deadlines.review_ms;
        let row = id.to_string();
        let sealer = self.cx.sealer_for(order.customer_email_index.as_deref()).await?;
        let sealed = sealer.seal_str(answer, Aad { table: "customer_requests", column: "answer", row: &row });
        let events = match order.status {
            OrderStatus::OnHoldAwaitingCustomer | OrderStatus::Rejected => vec![OrderEvent::CustomerAnswered],
            _ => vec![],
        };
        let documents = crate::documents::seal(&sealer, id, files, now)?;
        let write = OrderEventWrite {
            data: json!({"request_id": id, "review_due_at_ms": review_due, "documents": documents.len()}),
            effects: std::iter::once(Effect::AnswerRequest {
                request_id: id,
                answer_enc: sealed,
                review_due_at_ms: review_due,
            })
            .chain(documents.into_iter().map(|(document, content_enc)| Effect::AddDocument { document, content_enc }))
            .collect(),
            ..OrderEventWrite::new(order.id, events, actor, now)
        };
        self.repos.orders.apply_order_events(&write).await?;
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
        let Some(sealed) = self.repos.requests.request_answer(id).await? else { return Ok(None) };
        let row = id.to_string();
        let aad = Aad { table: "customer_requests", column: "answer", row: &row };
        let answer = self.cx.open_for(actor, &sealed, aad, "customer_request", json!({"field": "answer"})).await?;
        let answer = String::from_utf8(answer).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Some(answer))
    }

    /// The documents of a request (names still encrypted).
    pub async fn documents_of_request(&self, request_id: Uuid) -> Result<Vec<DocumentRecord>, AppError> {
        Ok(self.repos.requests.documents_of_request(request_id).await?)
    }

    /// A document's name as officers see and download it: cleaned of invisible and control
    /// characters, with the extension of its sniffed type.
    pub fn document_name(&self, d: &DocumentRecord) -> String {
        let row = d.id.to_string();
        let stored = self
            .cx
            .cipher
            .decrypt(&d.file_name_enc, crate::documents::aad("file_name", &row))
            .unwrap_or_else(|_| "document".into());
        crate::documents::display_name(&stored, &d.content_type)
    }

    /// A document's content for an officer; each opening is an audit event.
    pub async fn open_document(&self, id: Uuid, actor: &str) -> Result<(DocumentRecord, Vec<u8>), AppError> {
        let (record, sealed) = self
            .repos
            .requests
            .document(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::DocumentNotFound, format!("no document {id}")))?;
        let row = id.to_string();
        let aad = crate::documents::aad("content", &row);
        let bytes = self.cx.open_for(actor, &sealed, aad, "request_document", json!({"sha256": record.sha256})).await?;
        Ok((record, bytes))
    }
}
