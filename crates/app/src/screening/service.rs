//! The screening service: screens addresses and transfers with every analyzer, applies the
//! policy, keeps the vendors' raw answers only encrypted, and screens recent deposits again
//! when the labels change (MON-1).

use super::{Occasion, ScreenRequest, Screener};
use crate::context::Context;
use crate::effects::{Effect, OrderEventWrite};
use crate::error::AppError;
use crate::model::*;
use crate::queries::Queries;
use crate::repos::OrderRepo;
use custos_crypto::Aad;
use custos_domain::order::OrderEvent;
use custos_domain::{Address, Policy};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

pub struct Screening {
    screener: Screener,
    policy: Policy,
    policy_version: i64,
    orders: Arc<dyn OrderRepo>,
    queries: Arc<Queries>,
    cx: Context,
}

impl Screening {
    pub fn new(
        screener: Screener,
        policy: Policy,
        policy_version: i64,
        orders: Arc<dyn OrderRepo>,
        queries: Arc<Queries>,
        cx: Context,
    ) -> Screening {
        Screening { screener, policy, policy_version, orders, queries, cx }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn policy_version(&self) -> i64 {
        self.policy_version
    }

    /// PRE-1: screens one address with every analyzer, decides, and records the screening.
    pub async fn screen_address(&self, address: &Address, actor: &str) -> Result<ScreeningRecord, AppError> {
        let screening = self.evaluate(Occasion::Address, address, std::slice::from_ref(address)).await;
        self.orders.insert_screening(&screening, actor).await?;
        Ok(screening)
    }

    /// Screens addresses and decides without recording (the CLI's `screen` and the benchmark).
    pub async fn evaluate(&self, occasion: Occasion, subject: &Address, addresses: &[Address]) -> ScreeningRecord {
        self.evaluate_request(ScreenRequest { occasion, addresses, transfer: None }, subject).await
    }

    /// The analyzers' metrics (calls, errors, latency, cost, cache hits, breaker state).
    pub fn analyzer_metrics(&self) -> Vec<crate::screening::AnalyzerMetrics> {
        self.screener.metrics()
    }

    pub(crate) async fn evaluate_request(&self, request: ScreenRequest<'_>, subject: &Address) -> ScreeningRecord {
        let id = Uuid::now_v7();
        let mut reports = self.screener.screen(request).await;
        // The vendors' raw answers are evidence: kept, but only encrypted.
        for (i, report) in reports.iter_mut().enumerate() {
            if let Some(vendor) = report.vendor.as_mut() {
                if let Some(raw) = vendor.raw_payload.take() {
                    let column = format!("evidence:{i}");
                    let row = id.to_string();
                    vendor.evidence =
                        Some(self.cx.cipher.encrypt(&raw, Aad { table: "screenings", column: &column, row: &row }));
                }
            }
        }
        let decision = self.policy.decide(&reports);
        let kind = match request.occasion {
            Occasion::Address => ScreeningKind::Address,
            Occasion::Deposit | Occasion::Rescreen => ScreeningKind::Deposit,
            Occasion::Payout | Occasion::Refund => ScreeningKind::Payout,
        };
        ScreeningRecord {
            id,
            kind,
            network: subject.network(),
            address: subject.as_str().to_owned(),
            order_id: None,
            deposit_id: None,
            decision,
            reports,
            policy_version: self.policy_version,
            created_at_ms: self.cx.now_ms(),
        }
    }

    /// MON-1: screens again the deposits of the last `window_ms` (after the labels changed).
    /// A deposit whose decision is now more severe gets a new screening and a review case, and
    /// its order is escalated where the lifecycle allows. Returns the number flagged.
    pub async fn rescreen_recent(&self, window_ms: i64) -> Result<usize, AppError> {
        let now = self.cx.now_ms();
        let mut flagged = 0;
        for deposit in self.orders.deposits_since(now - window_ms).await? {
            // Compared with the most severe screening on record for the deposit, so that a
            // deposit is flagged once per worsening, not at every pass.
            let view = self.queries.order(deposit.order_id).await?;
            let Some(worst) =
                view.screenings.iter().filter(|s| s.deposit_id == Some(deposit.id)).map(|s| s.decision.action).max()
            else {
                continue;
            };
            let mut addresses = Vec::with_capacity(deposit.sources.len() + 1);
            for raw in deposit.sources.iter().chain(std::iter::once(&deposit.address)) {
                if let Ok(a) = Address::parse(deposit.network, raw) {
                    if !addresses.contains(&a) {
                        addresses.push(a);
                    }
                }
            }
            let Some(subject) = addresses.last().cloned() else { continue };
            let mut screening = self.evaluate(Occasion::Rescreen, &subject, &addresses).await;
            let action = screening.decision.action;
            if action <= worst {
                continue;
            }
            screening.order_id = Some(deposit.order_id);
            screening.deposit_id = Some(deposit.id);
            let status = view.order.status;
            let events = match status.apply(OrderEvent::Screened(action)) {
                Ok(next) if next != status => vec![OrderEvent::Screened(action)],
                _ => vec![],
            };
            let case = CaseRecord::open(
                deposit.order_id,
                Some(deposit.id),
                action,
                screening.decision.reasons.clone(),
                DeadlineKind::Review,
                now,
                now + self.cx.deadlines.review_ms,
            );
            let write = OrderEventWrite {
                data: json!({"rescreened_deposit": deposit.id, "previous_decision": worst, "decision": action}),
                effects: vec![Effect::RecordScreening(screening), Effect::OpenCase(case)],
                ..OrderEventWrite::new(deposit.order_id, events, "system", now)
            };
            self.orders.apply_order_events(&write).await?;
            flagged += 1;
        }
        Ok(flagged)
    }
}
