//! Runs the configured analyzers for one operation: which analyzers run when (always, above an
//! amount, as a second opinion), all of them at once, each behind its guard (time budget,
//! circuit breaker, cache). The policy then combines their reports conservatively.

mod guard;
mod service;
#[cfg(test)]
mod tests;

pub use guard::{AnalyzerMetrics, BreakerSettings, CallSettings, Guarded};
pub use service::Screening;

use crate::clock::Clock;
use crate::ports::{Analyzer, Transfer};
use custos_domain::risk::{BandEdges, RiskBand, RiskReport};
use custos_domain::{Address, Amount, Asset};
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Why a screening runs; an analyzer can be limited to some occasions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Occasion {
    /// PRE-1: a pre-check of an address.
    Address,
    /// RISK-1: a deposit arrived.
    Deposit,
    /// ADDR-4: a payout's destination.
    Payout,
    /// REF-2: a refund's destination.
    Refund,
    /// Deposits screened again after the label lists changed.
    Rescreen,
}

impl Occasion {
    pub const ALL: [Occasion; 5] =
        [Occasion::Address, Occasion::Deposit, Occasion::Payout, Occasion::Refund, Occasion::Rescreen];
}

/// Run this analyzer only after another one said at least this band (or failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondOpinion {
    pub after: String,
    pub band_at_least: RiskBand,
}

/// When an analyzer runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRule {
    pub occasions: Vec<Occasion>,
    /// Deposits below these amounts (per asset, base units) are not sent to it.
    pub min_amount: BTreeMap<Asset, Amount>,
    pub second_opinion: Option<SecondOpinion>,
}

impl Default for RunRule {
    fn default() -> Self {
        RunRule { occasions: Occasion::ALL.to_vec(), min_amount: BTreeMap::new(), second_opinion: None }
    }
}

/// What one operation asks the analyzers to look at.
#[derive(Debug, Clone, Copy)]
pub struct ScreenRequest<'a> {
    pub occasion: Occasion,
    /// The addresses to screen (a deposit's sources and the deposit address itself).
    pub addresses: &'a [Address],
    /// The transfer, for a deposit: analyzers that screen transfers check it instead of the
    /// addresses.
    pub transfer: Option<&'a Transfer>,
}

/// One configured analyzer: the guarded adapter and when it runs.
pub struct Slot {
    guarded: Guarded,
    rule: RunRule,
}

#[derive(Clone)]
pub struct Screener {
    slots: Arc<Vec<Slot>>,
    edges: BandEdges,
}

/// Why a list of analyzers cannot screen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenerError {
    #[error("analyzer \"{0}\" is configured twice")]
    Twice(String),
    #[error(
        "analyzer \"{name}\" is a second opinion after \"{after}\", which must be listed before it and run on its own"
    )]
    SecondOpinionFirst { name: String, after: String },
    #[error("no analyzer is configured")]
    NoAnalyzer,
}

impl Screener {
    /// The analyzers in order; a second opinion must name an analyzer listed before it.
    pub fn new(
        clock: Arc<dyn Clock>,
        analyzers: Vec<(Arc<dyn Analyzer>, CallSettings, RunRule)>,
    ) -> Result<Self, ScreenerError> {
        let mut slots: Vec<Slot> = Vec::with_capacity(analyzers.len());
        for (analyzer, settings, rule) in analyzers {
            let name = analyzer.name().to_owned();
            if slots.iter().any(|s| s.guarded.name() == name) {
                return Err(ScreenerError::Twice(name));
            }
            if let Some(so) = &rule.second_opinion {
                if !slots.iter().any(|s| s.guarded.name() == so.after && s.rule.second_opinion.is_none()) {
                    return Err(ScreenerError::SecondOpinionFirst { name, after: so.after.clone() });
                }
            }
            slots.push(Slot { guarded: Guarded::new(analyzer, settings, clock.clone()), rule });
        }
        if slots.is_empty() {
            return Err(ScreenerError::NoAnalyzer);
        }
        Ok(Screener { slots: Arc::new(slots), edges: BandEdges::default() })
    }

    /// Only the given analyzers, each with one timeout and no cache (tests, simple setups).
    pub fn simple(clock: Arc<dyn Clock>, analyzers: Vec<Arc<dyn Analyzer>>, timeout: Duration) -> Self {
        let settings = CallSettings::uncached(timeout);
        let list = analyzers.into_iter().map(|a| (a, settings, RunRule::default())).collect();
        Screener::new(clock, list).expect("distinct analyzers")
    }

    /// The band edges used to read a second opinion's trigger (the policy's).
    pub fn with_band_edges(mut self, edges: BandEdges) -> Self {
        self.edges = edges;
        self
    }

    pub fn analyzer_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.guarded.name().to_owned()).collect()
    }

    pub fn metrics(&self) -> Vec<AnalyzerMetrics> {
        self.slots.iter().map(|s| s.guarded.metrics()).collect()
    }

    /// Every report of every analyzer that applies. Analyzers of one stage run at once; second
    /// opinions run after the analyzer they follow. A failure is a failed report (the policy
    /// fails closed on it), never a missing one.
    pub async fn screen(&self, request: ScreenRequest<'_>) -> Vec<RiskReport> {
        let applies = |rule: &RunRule| {
            rule.occasions.contains(&request.occasion)
                && match (request.transfer, rule.min_amount.is_empty()) {
                    (_, true) | (None, _) => true,
                    (Some(t), false) => rule.min_amount.get(&t.asset).is_none_or(|min| t.amount >= *min),
                }
        };
        let first: Vec<&Slot> =
            self.slots.iter().filter(|s| s.rule.second_opinion.is_none() && applies(&s.rule)).collect();
        let mut reports: Vec<RiskReport> =
            join_all(first.iter().map(|s| self.run(s, request))).await.into_iter().flatten().collect();
        let second: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| {
                s.rule.second_opinion.as_ref().is_some_and(|so| {
                    applies(&s.rule)
                        && reports.iter().filter(|r| r.analyzer == so.after.as_str()).any(|r| {
                            !r.is_completed() || r.effective_band(&self.edges).is_none_or(|b| b >= so.band_at_least)
                        })
                })
            })
            .collect();
        if !second.is_empty() {
            reports.extend(join_all(second.iter().map(|s| self.run(s, request))).await.into_iter().flatten());
        }
        reports
    }

    async fn run(&self, slot: &Slot, request: ScreenRequest<'_>) -> Vec<RiskReport> {
        let g = &slot.guarded;
        match request.transfer {
            Some(t) if g.screens_transfers() => vec![g.screen_transfer(t).await],
            _ => join_all(request.addresses.iter().map(|a| g.screen_address(a))).await,
        }
    }
}
