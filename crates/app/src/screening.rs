//! Runs every configured analyzer over a set of addresses, failing closed on timeouts.

use crate::ports::Analyzer;
use custos_domain::risk::RiskReport;
use custos_domain::Address;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Screener {
    analyzers: Vec<Arc<dyn Analyzer>>,
    timeout: Duration,
}

impl Screener {
    pub fn new(analyzers: Vec<Arc<dyn Analyzer>>, timeout: Duration) -> Self {
        Screener { analyzers, timeout }
    }

    pub fn analyzer_names(&self) -> Vec<String> {
        self.analyzers.iter().map(|a| a.name().to_owned()).collect()
    }

    /// One report per analyzer per address. An analyzer that does not answer within the
    /// timeout yields a failed report (which the policy treats as at least `review`).
    pub async fn screen(&self, addresses: &[Address]) -> Vec<RiskReport> {
        let mut reports = Vec::with_capacity(addresses.len() * self.analyzers.len());
        for address in addresses {
            for analyzer in &self.analyzers {
                let report = match tokio::time::timeout(self.timeout, analyzer.screen(address)).await {
                    Ok(r) => r,
                    Err(_) => RiskReport::failed(
                        analyzer.name().to_owned(),
                        address,
                        format!("no answer within {} s", self.timeout.as_secs_f64()),
                    ),
                };
                reports.push(report);
            }
        }
        reports
    }
}
