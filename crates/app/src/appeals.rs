//! Appeals: a customer contests a decision taken after a detected violation (a hold, a
//! rejection, a refund, a freeze, or their account's suspension); an officer answers within the
//! review deadline (SLA-2), and for a suspension may reinstate the account. Both texts are
//! encrypted; an officer's reading is audited. SEC-17: only a customer who passed KYC appeals.

use crate::accounts::mails::Letter;
use crate::accounts::Accounts;
use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::model::{AppealRecord, CustomerStatus, OrderRecord, StandingAppealRecord};
use crate::ports::StoreError;
use crate::repos::*;
use custos_crypto::Aad;
use custos_domain::OrderStatus;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// Longest appeal or answer.
pub const MAX_TEXT: usize = 5000;

fn aad<'a>(column: &'a str, row: &'a str) -> Aad<'a> {
    Aad { table: "appeals", column, row }
}

/// Whether an order's status is the result of a decision that can be appealed.
pub fn appealable(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::OnHoldAwaitingCustomer
            | OrderStatus::UnderReview
            | OrderStatus::Rejected
            | OrderStatus::RefundPending
            | OrderStatus::Refunded
            | OrderStatus::Frozen
    )
}

fn text(s: &str, what: &str) -> Result<String, AppError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(AppError::invalid(ErrorCode::InvalidField, format!("{what}: 1 to {MAX_TEXT} characters")));
    }
    Ok(t.to_owned())
}

/// The repositories the appeals need.
pub struct AppealRepos {
    pub appeals: Arc<dyn AppealRepo>,
    pub standing: Arc<dyn StandingRepo>,
    pub orders: Arc<dyn OrderRepo>,
    pub verifications: Arc<dyn VerificationRepo>,
}

impl AppealRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> AppealRepos {
        AppealRepos {
            appeals: store.clone(),
            standing: store.clone(),
            orders: store.clone(),
            verifications: store.clone(),
        }
    }
}

/// Appeals of an order's outcome and of a customer's standing.
pub struct Appeals {
    repos: AppealRepos,
    /// Tells customers their appeal was answered.
    accounts: Arc<Accounts>,
    /// The review deadline (SLA-2) answers an appeal too.
    cx: Context,
}

impl Appeals {
    pub fn new(repos: AppealRepos, accounts: Arc<Accounts>, cx: Context) -> Appeals {
        Appeals { repos, accounts, cx }
    }

    async fn order(&self, id: Uuid) -> Result<OrderRecord, AppError> {
        Ok(crate::queries::order(self.repos.orders.as_ref(), id).await?.order)
    }

    async fn kyc_passed(&self, email_index: &str) -> Result<bool, AppError> {
        crate::kyc::kyc_passed(self.repos.verifications.as_ref(), email_index).await
    }

    /// An officer read a text: an audit event.
    async fn audit_reading(&self, actor: &str, entity_type: &str, id: Uuid) -> Result<(), AppError> {
        self.cx.audit(actor, "personal_data.viewed", entity_type, &id.to_string(), json!({"field": "text"})).await
    }

    /// The customer appeals the decision on `order_id`.
    pub async fn appeal(&self, order_id: Uuid, appeal: &str, actor: &str) -> Result<AppealRecord, AppError> {
        let order = self.order(order_id).await?;
        if !appealable(order.status) {
            return Err(AppError::conflict(
                ErrorCode::NotAppealable,
                format!(
                    "order {} is {}: only a hold, a rejection, a refund or a freeze can be appealed",
                    order.number,
                    order.status.as_str()
                ),
            ));
        }
        // SEC-17: passing KYC comes first.
        let passed = match &order.customer_email_index {
            Some(index) => self.kyc_passed(index).await?,
            None => false,
        };
        if !passed {
            return Err(AppError::conflict(
                ErrorCode::KycRequired,
                "an appeal needs a passed identity verification (SEC-17): complete the verification first",
            ));
        }
        let appeal = text(appeal, "appeal")?;
        let now = self.cx.now_ms();
        let id = Uuid::now_v7();
        let record = AppealRecord {
            id,
            order_id,
            status: custos_domain::status::ReplyStatus::Open,
            text_enc: self
                .cx
                .sealer_for(order.customer_email_index.as_deref())
                .await?
                .seal_str(&appeal, aad("text", &id.to_string())),
            outcome_enc: None,
            created_at_ms: now,
            due_at_ms: now + self.cx.deadlines.review_ms,
            answered_by: None,
            answered_at_ms: None,
        };
        match self.repos.appeals.insert_appeal(&record, actor).await {
            Err(StoreError::Conflict(_)) => {
                Err(AppError::conflict(ErrorCode::AppealOpen, "this order's appeal is still being reviewed"))
            }
            other => other.map(|_| record).map_err(AppError::from),
        }
    }

    pub async fn appeals_of_order(&self, order_id: Uuid) -> Result<Vec<AppealRecord>, AppError> {
        Ok(self.repos.appeals.appeals_of_order(order_id).await?)
    }

    pub async fn open_appeals(&self) -> Result<Vec<AppealRecord>, AppError> {
        Ok(self.repos.appeals.open_appeals(500).await?)
    }

    /// The appeal's text and outcome, for the customer who wrote it.
    pub fn appeal_texts(&self, a: &AppealRecord) -> (String, Option<String>) {
        self.open_texts("appeals", a.id, &a.text_enc, a.outcome_enc.as_deref())
    }

    /// An appeal's text and answer, decrypted (empty when they can no longer be read).
    fn open_texts(&self, table: &str, id: Uuid, text: &str, outcome: Option<&str>) -> (String, Option<String>) {
        let row = id.to_string();
        let open =
            |enc: &str, column: &str| self.cx.cipher.decrypt(enc, Aad { table, column, row: &row }).unwrap_or_default();
        (open(text, "text"), outcome.map(|o| open(o, "outcome")))
    }

    /// The appeal's texts for an officer: the reading is an audit event.
    pub async fn read_appeal(&self, a: &AppealRecord, actor: &str) -> Result<(String, Option<String>), AppError> {
        self.audit_reading(actor, "appeal", a.id).await?;
        Ok(self.appeal_texts(a))
    }

    /// An officer answers an appeal; the customer is told by e-mail.
    pub async fn answer_appeal(&self, id: Uuid, outcome: &str, actor: &str) -> Result<(), AppError> {
        let outcome = text(outcome, "answer")?;
        let appeal = self
            .repos
            .appeals
            .get_appeal(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::AppealNotFound, format!("no appeal {id}")))?;
        let order = self.order(appeal.order_id).await?;
        let sealed = self
            .cx
            .sealer_for(order.customer_email_index.as_deref())
            .await?
            .seal_str(&outcome, aad("outcome", &id.to_string()));
        if !self.repos.appeals.answer_appeal(id, &sealed, actor, self.cx.now_ms()).await? {
            return Err(AppError::conflict(ErrorCode::AppealAnswered, "this appeal has been answered already"));
        }
        if let Some(index) = &order.customer_email_index {
            let letter = Letter::AppealAnswered { order_number: order.number, order_id: order.id };
            if let Err(e) = self.accounts.notify_customer(index, &letter).await {
                tracing::warn!(error = %e, appeal = %id, "could not e-mail the customer about an appeal");
            }
        }
        Ok(())
    }

    /// The customer appeals their account's suspension or restriction (SEC-17: after KYC).
    pub async fn appeal_standing(
        &self,
        email_index: &str,
        appeal: &str,
        actor: &str,
    ) -> Result<StandingAppealRecord, AppError> {
        match self.repos.standing.customer_status(email_index).await? {
            Some((_, CustomerStatus::Suspended | CustomerStatus::Restricted)) => {}
            _ => {
                return Err(AppError::conflict(ErrorCode::NotAppealable, "the account is not suspended or restricted"))
            }
        }
        if !self.kyc_passed(email_index).await? {
            return Err(AppError::conflict(
                ErrorCode::KycRequired,
                "an appeal needs a passed identity verification (SEC-17): complete the verification first",
            ));
        }
        let appeal = text(appeal, "appeal")?;
        let now = self.cx.now_ms();
        let id = Uuid::now_v7();
        let row = id.to_string();
        let record = StandingAppealRecord {
            id,
            email_index: email_index.to_owned(),
            status: custos_domain::status::ReplyStatus::Open,
            text_enc: self.cx.sealer_for(Some(email_index)).await?.seal_str(&appeal, standing_aad("text", &row)),
            outcome_enc: None,
            reinstated: false,
            created_at_ms: now,
            due_at_ms: now + self.cx.deadlines.review_ms,
            answered_by: None,
            answered_at_ms: None,
        };
        match self.repos.standing.insert_standing_appeal(&record, actor).await {
            Err(StoreError::Conflict(m)) => Err(AppError::conflict(ErrorCode::AppealOpen, m)),
            other => other.map(|_| record).map_err(AppError::from),
        }
    }

    pub async fn standing_appeals_of(&self, email_index: &str) -> Result<Vec<StandingAppealRecord>, AppError> {
        Ok(self.repos.standing.standing_appeals_of(email_index).await?)
    }

    pub async fn open_standing_appeals(&self) -> Result<Vec<StandingAppealRecord>, AppError> {
        Ok(self.repos.standing.open_standing_appeals(500).await?)
    }

    /// A standing appeal's text and answer, for the customer who wrote it.
    pub fn standing_appeal_texts(&self, a: &StandingAppealRecord) -> (String, Option<String>) {
        self.open_texts("standing_appeals", a.id, &a.text_enc, a.outcome_enc.as_deref())
    }

    /// A standing appeal's texts for an officer: the reading is an audit event.
    pub async fn read_standing_appeal(
        &self,
        a: &StandingAppealRecord,
        actor: &str,
    ) -> Result<(String, Option<String>), AppError> {
        self.audit_reading(actor, "standing_appeal", a.id).await?;
        Ok(self.standing_appeal_texts(a))
    }

    /// An officer answers a standing appeal, reinstating the account or not; the customer is
    /// told by e-mail.
    pub async fn answer_standing_appeal(
        &self,
        id: Uuid,
        outcome: &str,
        reinstate: bool,
        actor: &str,
    ) -> Result<(), AppError> {
        let outcome = text(outcome, "answer")?;
        let appeal = self
            .repos
            .standing
            .get_standing_appeal(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::AppealNotFound, format!("no appeal {id}")))?;
        let sealed = self
            .cx
            .sealer_for(Some(&appeal.email_index))
            .await?
            .seal_str(&outcome, standing_aad("outcome", &id.to_string()));
        if !self.repos.standing.answer_standing_appeal(&appeal, &sealed, reinstate, actor, self.cx.now_ms()).await? {
            return Err(AppError::conflict(ErrorCode::AppealAnswered, "this appeal has been answered already"));
        }
        let letter = Letter::StandingAppealAnswered { reinstated: reinstate };
        if let Err(e) = self.accounts.notify_customer(&appeal.email_index, &letter).await {
            tracing::warn!(error = %e, appeal = %id, "could not e-mail the customer about an appeal");
        }
        Ok(())
    }
}

fn standing_aad<'a>(column: &'a str, row: &'a str) -> Aad<'a> {
    Aad { table: "standing_appeals", column, row }
}
