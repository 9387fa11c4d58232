//! Read models: what the pages and the API show, read through only the repositories each needs.
//! Nothing here writes; the pages and the API handlers read through this service and never
//! through a repository.

use crate::accounts::records::{AccountKind, AccountRecord};
use crate::error::{AppError, ErrorCode};
use crate::model::*;
use crate::repos::*;
use custos_crypto::{Aad, FieldCipher};
use custos_domain::audit::AuditEntry;
use custos_domain::{Network, RiskCategory};
use std::sync::Arc;
use uuid::Uuid;

/// A case with everything an officer, or the API's `GET /cases/{id}`, reads about it.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub case: CaseRecord,
    /// The order, with its deposits, screenings (the evidence) and cases.
    pub order: OrderView,
    /// The requests this case sent the customer, their messages opened.
    pub requests: Vec<CustomerRequest>,
    pub decisions: Vec<DecisionRecord>,
}

impl CaseFile {
    pub fn screenings(&self) -> &[ScreeningRecord] {
        &self.order.screenings
    }
}

/// A page of the audit log, oldest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `before` of the page of older entries, if there are any.
    pub older: Option<i64>,
}

/// What a chain watcher keeps of one network.
#[derive(Debug, Clone)]
pub struct ChainWatch {
    pub newest_block: Option<u64>,
    /// The latest transfers to our addresses, newest first.
    pub transfers: Vec<WatchedTransfer>,
}

/// An order with its deposits, screenings and cases; not found is an error.
pub(crate) async fn order(orders: &dyn OrderRepo, id: Uuid) -> Result<OrderView, AppError> {
    orders.get_order(id).await?.ok_or_else(|| AppError::not_found(ErrorCode::OrderNotFound, format!("no order {id}")))
}

/// The repositories the read models need.
pub struct QueryRepos {
    pub orders: Arc<dyn OrderRepo>,
    pub cases: Arc<dyn CaseRepo>,
    pub requests: Arc<dyn RequestRepo>,
    pub appeals: Arc<dyn AppealRepo>,
    pub standing: Arc<dyn StandingRepo>,
    pub accounts: Arc<dyn AccountRepo>,
    pub cards: Arc<dyn CardRepo>,
    pub audit: Arc<dyn AuditRepo>,
    pub chain: Arc<dyn ChainRepo>,
}

impl QueryRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> QueryRepos {
        QueryRepos {
            orders: store.clone(),
            cases: store.clone(),
            requests: store.clone(),
            appeals: store.clone(),
            standing: store.clone(),
            accounts: store.clone(),
            cards: store.clone(),
            audit: store.clone(),
            chain: store.clone(),
        }
    }
}

pub struct Queries {
    repos: QueryRepos,
    /// Opens request messages sealed with the customer's data key.
    cipher: FieldCipher,
}

impl Queries {
    pub fn new(repos: QueryRepos, cipher: FieldCipher) -> Queries {
        Queries { repos, cipher }
    }

    pub async fn order(&self, id: Uuid) -> Result<OrderView, AppError> {
        order(self.repos.orders.as_ref(), id).await
    }

    pub async fn case(&self, id: Uuid) -> Result<CaseRecord, AppError> {
        self.repos
            .cases
            .get_case(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::CaseNotFound, format!("no case {id}")))
    }

    /// A case with its order, evidence, requests and decisions.
    pub async fn case_file(&self, id: Uuid) -> Result<CaseFile, AppError> {
        let case = self.case(id).await?;
        let (order, requests, decisions) =
            tokio::try_join!(self.order(case.order_id), self.requests_of_order(case.order_id), async {
                Ok::<_, AppError>(self.repos.cases.decisions_of_case(id).await?)
            },)?;
        let requests = requests.into_iter().filter(|r| r.case_id == id).collect();
        Ok(CaseFile { case, order, requests, decisions })
    }

    /// Cases matching `filter`, the earliest deadline first.
    pub async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRecord>, AppError> {
        Ok(self.repos.cases.list_cases(filter).await?)
    }

    /// Orders for the API's list, the newest first.
    pub async fn list_orders(&self, query: &OrderListQuery) -> Result<Vec<OrderRecord>, AppError> {
        Ok(self.repos.orders.list_orders(query).await?)
    }

    /// A page of the case queue.
    pub async fn queue(&self, query: &QueueQuery) -> Result<QueuePage, AppError> {
        Ok(self.repos.cases.queue(query).await?)
    }

    /// Open cases per queue at `now_ms`.
    pub async fn queue_counts(&self, now_ms: i64) -> Result<QueueCounts, AppError> {
        Ok(self.repos.cases.queue_counts(now_ms).await?)
    }

    /// The overview of the last `days` UTC days up to `now_ms`.
    pub async fn case_figures(&self, now_ms: i64, days: i64) -> Result<CaseFigures, AppError> {
        use custos_domain::figures::{daily_flow, timeliness, window_start};
        let since = window_start(now_ms, days);
        let (raw, open) =
            tokio::try_join!(self.repos.cases.case_figures(since, now_ms), self.repos.cases.queue_counts(now_ms))?;
        let mut by_category = std::collections::BTreeMap::<RiskCategory, i64>::new();
        for (categories, n) in &raw.open_categories {
            for c in categories {
                *by_category.entry(*c).or_default() += n;
            }
        }
        let mut open_by_category: Vec<_> = by_category.into_iter().collect();
        open_by_category.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(CaseFigures {
            open,
            open_by_category,
            days: daily_flow(&raw.opened_per_day, &raw.closed_per_day, now_ms, days),
            timeliness: timeliness(&raw.closed, since),
            overdue_requests: raw.overdue_requests,
            overdue_refunds: raw.overdue_refunds,
        })
    }

    /// The queue's search box, read: a number is a case's or an order's; an e-mail is looked up
    /// by its blind index (the e-mail itself is never stored in the clear); an address of any
    /// network by its normalised form; a transaction id (64 hex digits) in lower case; anything
    /// else, an external order id, as typed. `None` for an empty box.
    pub fn queue_search(&self, text: &str) -> Option<QueueSearch> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let digits = text.trim_start_matches('№').trim();
        if !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return digits.parse().ok().map(QueueSearch::Number);
        }
        if text.contains('@') {
            if let Ok(email) = crate::accounts::normalise_email(text) {
                return Some(QueueSearch::EmailIndex(self.cipher.blind_index("customer_email", &email)));
            }
        }
        if let Some(a) = Network::ALL.into_iter().find_map(|n| custos_domain::Address::parse(n, text).ok()) {
            return Some(QueueSearch::Text(a.as_str().to_owned()));
        }
        let hex = text.strip_prefix("0x").unwrap_or(text);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(QueueSearch::Text(text.to_ascii_lowercase()));
        }
        Some(QueueSearch::Text(text.to_owned()))
    }

    pub async fn decision(&self, id: Uuid) -> Result<Option<DecisionRecord>, AppError> {
        Ok(self.repos.cases.get_decision(id).await?)
    }

    /// The requests of an order, their messages opened.
    pub async fn requests_of_order(&self, order_id: Uuid) -> Result<Vec<CustomerRequest>, AppError> {
        Ok(self.repos.requests.requests_of_order(order_id).await?.into_iter().map(|r| self.opened(r)).collect())
    }

    /// A request, its message opened.
    pub async fn request(&self, id: Uuid) -> Result<Option<CustomerRequest>, AppError> {
        Ok(self.repos.requests.get_request(id).await?.map(|r| self.opened(r)))
    }

    /// A request as the store keeps it, with its sealed message opened (an erased customer's
    /// message can no longer be read and shows as empty).
    pub(crate) fn opened(&self, mut r: CustomerRequest) -> CustomerRequest {
        if let Some(sealed) = r.sealed_message.take() {
            let row = r.id.to_string();
            r.message = self
                .cipher
                .decrypt(&sealed, Aad { table: "customer_requests", column: "message", row: &row })
                .unwrap_or_default();
        }
        r
    }

    pub async fn appeal(&self, id: Uuid) -> Result<Option<AppealRecord>, AppError> {
        Ok(self.repos.appeals.get_appeal(id).await?)
    }

    pub async fn standing_appeal(&self, id: Uuid) -> Result<Option<StandingAppealRecord>, AppError> {
        Ok(self.repos.standing.get_standing_appeal(id).await?)
    }

    /// A customer's account (never a staff account).
    pub async fn customer(&self, id: Uuid) -> Result<Option<AccountRecord>, AppError> {
        Ok(self.repos.accounts.get_account(id).await?.filter(|a| a.kind == AccountKind::Customer))
    }

    /// The customer with this e-mail blind index.
    pub async fn customer_by_index(&self, email_index: &str) -> Result<Option<AccountRecord>, AppError> {
        Ok(self.repos.accounts.find_account(AccountKind::Customer, email_index).await?)
    }

    /// Every customer account, oldest first.
    pub async fn customers(&self) -> Result<Vec<AccountRecord>, AppError> {
        Ok(self.repos.accounts.list_accounts(AccountKind::Customer).await?)
    }

    /// The customer's standing; `None` for one never restricted (active).
    pub async fn customer_status(&self, email_index: &str) -> Result<Option<CustomerStatus>, AppError> {
        Ok(self.repos.standing.customer_status(email_index).await?.map(|(_, status)| status))
    }

    /// A customer's orders, newest first.
    pub async fn orders_of_customer(&self, email_index: &str, limit: i64) -> Result<Vec<OrderRecord>, AppError> {
        Ok(self.repos.orders.orders_of_customer(email_index, limit).await?)
    }

    /// A customer's cards, newest first.
    pub async fn cards_of(&self, email_index: &str) -> Result<Vec<CardRecord>, AppError> {
        Ok(self.repos.cards.cards_of(email_index).await?)
    }

    /// The audit entries about any of `entities`, oldest first.
    pub async fn timeline(&self, entities: &[String], limit: i64) -> Result<Vec<AuditEntry>, AppError> {
        Ok(self.repos.audit.audit_of(entities, limit).await?)
    }

    /// The `size` entries before sequence number `before` (the newest ones without it).
    pub async fn audit_page(&self, before: Option<i64>, size: i64) -> Result<AuditPage, AppError> {
        let head = self.repos.audit.audit_head().await?.map_or(0, |(seq, _)| seq);
        let last = before.map_or(head, |b| b.min(head + 1) - 1).max(0);
        let first = (last - size).max(0);
        let entries = self.repos.audit.audit_entries(first, last - first).await?;
        Ok(AuditPage { entries, older: (first > 0).then_some(first + 1) })
    }

    /// The audit chain's head: its last entry's sequence number and hash.
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, AppError> {
        Ok(self.repos.audit.audit_head().await?)
    }

    /// Up to `limit` entries after sequence number `after`, oldest first (for exports).
    pub async fn audit_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
        Ok(self.repos.audit.audit_entries(after, limit).await?)
    }

    /// What the watcher of `network` keeps: its newest block and the latest `limit` transfers.
    pub async fn chain_watch(&self, network: Network, limit: i64) -> Result<ChainWatch, AppError> {
        let (head, transfers) =
            tokio::try_join!(self.repos.chain.chain_head(network), self.repos.chain.chain_transfers(network, limit))?;
        Ok(ChainWatch { newest_block: head.map(|(number, _)| number), transfers })
    }
}
