//! Monitoring rules beside the analyzers (MON-1): patterns across deposits that no single
//! screening sees. A hit sends the deposit to review with the rule as its typed reason.

use crate::error::AppError;
use crate::model::{NewDeposit, OrderRecord};
use crate::repos::{CaseRepo, OrderRepo};
use custos_domain::risk::RiskReport;
use custos_domain::taxonomy::Tier;
use custos_domain::{Amount, Asset};
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 86_400_000;

/// The rules and their thresholds (`[monitoring]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringRules {
    /// More deposits than this by one customer within 24 h.
    pub max_deposits_per_customer_24h: Option<u32>,
    /// More than this value of one asset by one customer within 24 h.
    pub max_value_per_customer_24h: BTreeMap<Asset, Amount>,
    /// Structuring: `structuring_count` deposits within 7 days each just under the threshold
    /// (within `structuring_margin_percent` below it).
    pub structuring_thresholds: BTreeMap<Asset, Amount>,
    pub structuring_margin_percent: u32,
    pub structuring_count: u32,
    /// One source address funding this many different customers within 30 days. Sources an
    /// analyzer attributes to a service (an exchange's hot wallet) do not count.
    pub shared_source_customers: Option<u32>,
    /// A customer who already has an open case elsewhere.
    pub flag_customers_under_investigation: bool,
}

impl Default for MonitoringRules {
    fn default() -> Self {
        MonitoringRules {
            max_deposits_per_customer_24h: Some(10),
            max_value_per_customer_24h: BTreeMap::new(),
            structuring_thresholds: BTreeMap::new(),
            structuring_margin_percent: 10,
            structuring_count: 3,
            shared_source_customers: Some(3),
            flag_customers_under_investigation: true,
        }
    }
}

/// A rule that fired, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHit {
    pub rule: &'static str,
    pub detail: String,
}

impl MonitoringRules {
    /// The rules `deposit` (not yet stored) to `order` sets off.
    pub async fn check(
        &self,
        orders: &dyn OrderRepo,
        cases: &dyn CaseRepo,
        order: &OrderRecord,
        deposit: &NewDeposit,
        reports: &[RiskReport],
        now_ms: i64,
    ) -> Result<Vec<RuleHit>, AppError> {
        let mut hits = Vec::new();
        if let Some(customer) = &order.customer_email_index {
            let week = orders.customer_deposits(customer, now_ms - 7 * DAY_MS).await?;
            let day: Vec<_> = week.iter().filter(|d| d.received_at_ms >= now_ms - DAY_MS).collect();
            if let Some(max) = self.max_deposits_per_customer_24h {
                let n = day.len() + 1;
                if n > max as usize {
                    hits.push(RuleHit {
                        rule: "velocity",
                        detail: format!("{n} deposits by this customer within 24 h (limit {max})"),
                    });
                }
            }
            if let Some(max) = self.max_value_per_customer_24h.get(&deposit.asset) {
                let same_asset = day.iter().filter(|d| d.asset == deposit.asset).map(|d| d.amount);
                let total = Amount::saturating_sum(same_asset.chain([deposit.amount])).0;
                if total > max.0 {
                    hits.push(RuleHit {
                        rule: "value",
                        detail: format!(
                            "{total} {} base units by this customer within 24 h (limit {})",
                            deposit.asset, max.0
                        ),
                    });
                }
            }
            if let Some(threshold) = self.structuring_thresholds.get(&deposit.asset) {
                let margin = u128::from(self.structuring_margin_percent.min(100));
                let below = threshold.0.checked_mul(margin).map_or(threshold.0 / 100 * margin, |m| m / 100);
                let floor = threshold.0 - below;
                let just_under = |a: Amount| a.0 >= floor && a.0 < threshold.0;
                let n = week.iter().filter(|d| d.asset == deposit.asset && just_under(d.amount)).count()
                    + usize::from(just_under(deposit.amount));
                if just_under(deposit.amount) && n >= self.structuring_count as usize {
                    hits.push(RuleHit {
                        rule: "structuring",
                        detail: format!(
                            "{n} deposits within 7 days just under the threshold of {} {}",
                            threshold.0, deposit.asset
                        ),
                    });
                }
            }
            if self.flag_customers_under_investigation {
                let open = cases.open_cases_of_customer(customer, order.id).await?;
                if open > 0 {
                    hits.push(RuleHit {
                        rule: "customer_under_investigation",
                        detail: format!("this customer has {open} open case(s) on other orders"),
                    });
                }
            }
        }
        if let Some(max) = self.shared_source_customers {
            for source in &deposit.sources {
                let is_service = reports.iter().any(|r| {
                    *r.address == *source.as_str()
                        && r.categories.iter().any(|c| {
                            c.category.tier() == Tier::Benign
                                && c.category != custos_domain::RiskCategory::PersonalWallet
                        })
                });
                if is_service {
                    continue;
                }
                let funded = orders.orders_funded_by(deposit.network, source.as_str(), now_ms - 30 * DAY_MS).await?;
                let mut customers: BTreeSet<String> = funded
                    .iter()
                    .filter(|(id, _)| *id != order.id)
                    .map(|(id, email)| email.clone().unwrap_or_else(|| id.to_string()))
                    .collect();
                customers.insert(order.customer_email_index.clone().unwrap_or_else(|| order.id.to_string()));
                if customers.len() >= max as usize {
                    hits.push(RuleHit {
                        rule: "shared_source",
                        detail: format!(
                            "{source} funded {} different customers within 30 days (limit {max})",
                            customers.len()
                        ),
                    });
                }
            }
        }
        Ok(hits)
    }
}
