//! The built-in analyzer: looks an address up in the label index.
//!
//! A labelled address is directly exposed (100 %) to its categories. Its score is the score of
//! its most severe category's tier: the three stop categories 100, the other RISK-3 categories 70
//! (high), elevated categories 40 and unmapped codes 30 (medium), benign ones 0. An address
//! with no label scores 0: the lists are snapshots, so "no label" is not "clean", which is why the
//! vendors' analyzers run beside this one.

use crate::index::LabelIndex;
use async_trait::async_trait;
use custos_app::ports::Analyzer;
use custos_domain::risk::{CategoryFinding, Exposure, RiskReport, RiskScore};
use custos_domain::taxonomy::Tier;
use custos_domain::{Address, RiskCategory};
use std::sync::{Arc, RwLock};

pub const NAME: &str = "builtin";

/// The score the built-in analyzer gives a directly labelled address of this category.
pub fn category_score(c: RiskCategory) -> RiskScore {
    let percent = match c.tier() {
        _ if RiskCategory::STOP.contains(&c) => 100,
        Tier::Seed => 70,
        Tier::Elevated => 40,
        _ if c == RiskCategory::Unmapped => 30,
        _ => 0,
    };
    RiskScore::from_hundredths(percent * 100)
}

pub struct BuiltinAnalyzer {
    index: RwLock<Arc<LabelIndex>>,
}

impl BuiltinAnalyzer {
    pub fn new(index: LabelIndex) -> Self {
        BuiltinAnalyzer { index: RwLock::new(Arc::new(index)) }
    }

    /// Swaps in a freshly loaded index (after an import).
    pub fn replace(&self, index: LabelIndex) {
        *self.index.write().expect("not poisoned") = Arc::new(index);
    }

    pub fn index(&self) -> Arc<LabelIndex> {
        self.index.read().expect("not poisoned").clone()
    }

    /// Screens synchronously: one hash lookup.
    pub fn screen_now(&self, address: &Address) -> RiskReport {
        let index = self.index();
        screen_with(&index, address)
    }
}

/// The report for `address` from `index`.
pub fn screen_with(index: &LabelIndex, address: &Address) -> RiskReport {
    let hits = index.lookup(address.network(), address.as_str());
    let mut score = RiskScore::MIN;
    let mut findings = Vec::with_capacity(hits.len());
    for h in hits {
        score = score.max(category_score(h.category));
        let source = index.source(h.source);
        findings.push(CategoryFinding {
            category: h.category,
            exposure: Exposure::FULL,
            direct: true,
            label: Some(index.text(h.label).clone()),
            source: Some(source.name.clone()),
            vendor_code: None,
            confidence: Some(h.confidence),
        });
    }
    RiskReport::completed(NAME, address, score, findings)
}

#[async_trait]
impl Analyzer for BuiltinAnalyzer {
    fn name(&self) -> &str {
        NAME
    }

    async fn screen(&self, address: &Address) -> RiskReport {
        self.screen_now(address)
    }
}
