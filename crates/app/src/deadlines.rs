//! The deadline job (invariant 7): what happens when a policy deadline passes. Safe to run at
//! any time and from any instance: each escalation, alert and expiry happens once.

use crate::context::Context;
use crate::effects::OrderEventWrite;
use crate::error::AppError;
use crate::model::*;
use crate::repos::{CaseRepo, OrderRepo, RequestRepo, Store, VerificationRepo};
use custos_domain::order::OrderEvent;
use std::sync::Arc;

pub use custos_domain::deadline::Deadlines;

/// What one run of the deadline job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineRun {
    /// KYC requests whose customer was restricted or suspended.
    pub requests_escalated: usize,
    /// Cases past their deadline, alerted once.
    pub cases_alerted: usize,
    /// Refunds not sent by their due time (REF-4), alerted once.
    pub refunds_alerted: usize,
    /// Verification documents of reviews already decided, deleted by the retention job (PD-3):
    /// normally none, as the decision deletes them.
    pub documents_purged: u64,
    /// Orders that expired without a deposit.
    pub orders_expired: usize,
}

/// The repositories the deadline job needs.
pub struct DeadlineRepos {
    pub orders: Arc<dyn OrderRepo>,
    pub cases: Arc<dyn CaseRepo>,
    pub requests: Arc<dyn RequestRepo>,
    pub verifications: Arc<dyn VerificationRepo>,
}

impl DeadlineRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> DeadlineRepos {
        DeadlineRepos {
            orders: store.clone(),
            cases: store.clone(),
            requests: store.clone(),
            verifications: store.clone(),
        }
    }
}

/// The deadline job.
pub struct DeadlineJob {
    repos: DeadlineRepos,
    cx: Context,
}

impl DeadlineJob {
    pub fn new(repos: DeadlineRepos, cx: Context) -> DeadlineJob {
        DeadlineJob { repos, cx }
    }

    /// The deadline job (SEC-14, SEC-15): a KYC request not answered in time restricts the
    /// customer, and `suspend_after` later suspends them; each step alerts the officers. Also
    /// alerts overdue cases and refunds, purges decided documents and expires orders.
    pub async fn enforce_deadlines(&self) -> Result<DeadlineRun, AppError> {
        let now = self.cx.now_ms();
        let mut escalated = 0;
        for (level, status, due_before) in [
            (2, CustomerStatus::Suspended, now - self.cx.deadlines.suspend_after_ms),
            (1, CustomerStatus::Restricted, now),
        ] {
            for r in self.repos.requests.overdue_requests(due_before, level).await? {
                self.repos.requests.escalate_request(r.id, level, r.customer_id.map(|c| (c, status)), now).await?;
                escalated += 1;
            }
        }
        // SEC-15: customers whose verification is past its deadline are suspended, once each.
        for v in self.repos.verifications.overdue_verifications(now).await? {
            if self.repos.verifications.suspend_for_overdue_verification(&v, now).await? {
                escalated += 1;
            }
        }
        // SLA-2, invariant 7: a case past its deadline alerts the officers, once.
        let cases_alerted = self.repos.cases.alert_overdue_cases(now).await?.len();
        let refunds_alerted = self.repos.cases.alert_overdue_refunds(now).await?.len();
        let documents_purged = self.repos.verifications.purge_decided_verification_files(now).await?;
        let mut orders_expired = 0;
        if let Some(expiry) = self.cx.deadlines.order_expiry_ms {
            for id in self.repos.orders.orders_awaiting_deposit_before(now - expiry).await? {
                let write = OrderEventWrite::new(id, vec![OrderEvent::Expired], "system", now);
                match self.repos.orders.apply_order_events(&write).await {
                    Ok(_) => orders_expired += 1,
                    // A deposit arrived meanwhile: the order no longer expires.
                    Err(crate::StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(DeadlineRun {
            requests_escalated: escalated,
            cases_alerted,
            refunds_alerted,
            documents_purged,
            orders_expired,
        })
    }
}
