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

    async fn screen_address(&self, address: &Address) -> RiskReport {
        self.screen_now(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LabelIndexBuilder;
    use custos_app::model::{LabelRecord, StoredLabel};
    use custos_domain::Network;

    fn index(labels: &[(Network, &str, RiskCategory)]) -> LabelIndex {
        let mut b = LabelIndexBuilder::default();
        for (network, raw, category) in labels {
            let address = Address::parse(*network, raw).unwrap().as_str().to_owned();
            b.add(StoredLabel {
                source: "test".into(),
                imported_at_ms: 0,
                record: LabelRecord {
                    network: *network,
                    address,
                    category: *category,
                    label: "l".into(),
                    confidence: 50,
                },
            });
        }
        b.build()
    }

    #[test]
    fn matching_is_normalised_per_network() {
        let idx = index(&[
            (Network::Ethereum, "0x8589427373D6D84E98730D7795D8f6f8731FDA16", RiskCategory::Sanctions),
            (Network::Bitcoin, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", RiskCategory::Scam),
            (Network::Tron, "TDvr6Jpwfp1wDiV7PhaB19YMsMHRSXmY7p", RiskCategory::Gambling),
        ]);
        let hit = |n, a: &str| !screen_with(&idx, &Address::parse(n, a).unwrap()).categories.is_empty();
        // Ethereum: any case, checksummed or not.
        assert!(hit(Network::Ethereum, "0x8589427373d6d84e98730d7795d8f6f8731fda16"));
        assert!(hit(Network::Ethereum, "0x8589427373D6D84E98730D7795D8F6F8731FDA16"));
        // Bitcoin bech32: written in upper case, matched in lower case.
        assert!(hit(Network::Bitcoin, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"));
        // Base58 is exact, and networks do not mix.
        assert!(hit(Network::Tron, "TDvr6Jpwfp1wDiV7PhaB19YMsMHRSXmY7p"));
        assert!(!hit(Network::Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
    }

    #[test]
    fn scores_follow_the_most_severe_category() {
        let idx = index(&[
            (Network::Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", RiskCategory::Exchange),
            (Network::Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", RiskCategory::Sanctions),
        ]);
        let r = screen_with(&idx, &Address::parse(Network::Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2").unwrap());
        assert_eq!(r.score, Some(RiskScore::MAX));
        assert_eq!(r.categories.len(), 2);
        assert!(r.categories.iter().all(|c| c.direct && c.exposure == Exposure::FULL));
        assert_eq!(category_score(RiskCategory::Gambling), RiskScore::from_percent(70.0).unwrap());
        assert_eq!(category_score(RiskCategory::Atm), RiskScore::from_percent(40.0).unwrap());
    }
}
