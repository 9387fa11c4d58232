//! The label index: normalised address → the labels attached to it.

use custos_app::model::StoredLabel;
use custos_domain::{Network, RiskCategory};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;

/// The key of an address in the index: a 128-bit fingerprint of its normalised form, made of two
/// independent 64-bit hashes. With half a million labelled addresses, two distinct addresses
/// share a fingerprint with a probability near 10^-27; in exchange a lookup touches no string
/// and the index holds no per-address allocation.
fn fingerprint(address: &str) -> u128 {
    let mut a = FxHasher::default();
    a.write(address.as_bytes());
    let mut b = DefaultHasher::new();
    b.write(address.as_bytes());
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// One label as kept in memory (strings interned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelHit {
    pub category: RiskCategory,
    pub confidence: u8,
    /// Index into [`LabelIndex::text`].
    pub label: u32,
    /// Index into [`LabelIndex::sources`].
    pub source: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub name: Arc<str>,
    pub imported_at_ms: i64,
}

/// Most addresses carry one label; a few carry several.
#[derive(Debug, Clone)]
enum Hits {
    One(LabelHit),
    Many(Box<[LabelHit]>),
}

#[derive(Debug, Default)]
pub struct LabelIndex {
    by_network: [FxHashMap<u128, Hits>; 3],
    texts: Vec<Arc<str>>,
    sources: Vec<SourceInfo>,
    labels: usize,
}

fn slot(n: Network) -> usize {
    match n {
        Network::Bitcoin => 0,
        Network::Ethereum => 1,
        Network::Tron => 2,
    }
}

impl LabelIndex {
    /// The labels of a normalised address.
    pub fn lookup(&self, network: Network, address: &str) -> &[LabelHit] {
        match self.by_network[slot(network)].get(&fingerprint(address)) {
            Some(Hits::One(h)) => std::slice::from_ref(h),
            Some(Hits::Many(hs)) => hs,
            None => &[],
        }
    }

    pub fn text(&self, id: u32) -> &Arc<str> {
        &self.texts[id as usize]
    }

    pub fn source(&self, id: u32) -> &SourceInfo {
        &self.sources[id as usize]
    }

    /// Number of distinct labelled addresses.
    pub fn addresses(&self) -> usize {
        self.by_network.iter().map(|m| m.len()).sum()
    }

    /// Number of labels.
    pub fn labels(&self) -> usize {
        self.labels
    }
}

/// Builds a [`LabelIndex`] from stored labels, interning repeated strings.
#[derive(Default)]
pub struct LabelIndexBuilder {
    index: LabelIndex,
    text_ids: FxHashMap<Box<str>, u32>,
    source_ids: FxHashMap<String, u32>,
}

impl LabelIndexBuilder {
    pub fn add(&mut self, l: StoredLabel) {
        let source = match self.source_ids.get(&l.source) {
            Some(&id) => id,
            None => {
                let id = self.index.sources.len() as u32;
                self.index
                    .sources
                    .push(SourceInfo { name: l.source.as_str().into(), imported_at_ms: l.imported_at_ms });
                self.source_ids.insert(l.source, id);
                id
            }
        };
        let label = match self.text_ids.get(l.record.label.as_str()) {
            Some(&id) => id,
            None => {
                let id = self.index.texts.len() as u32;
                let text: Arc<str> = l.record.label.as_str().into();
                self.index.texts.push(text);
                self.text_ids.insert(l.record.label.into_boxed_str(), id);
                id
            }
        };
        let hit = LabelHit { category: l.record.category, confidence: l.record.confidence, label, source };
        let map = &mut self.index.by_network[slot(l.record.network)];
        let key = fingerprint(&l.record.address);
        match map.get_mut(&key) {
            None => {
                map.insert(key, Hits::One(hit));
            }
            Some(Hits::One(first)) => {
                if *first != hit {
                    let first = *first;
                    map.insert(key, Hits::Many(vec![first, hit].into_boxed_slice()));
                }
            }
            Some(Hits::Many(hs)) => {
                if !hs.contains(&hit) {
                    let mut v = hs.to_vec();
                    v.push(hit);
                    *hs = v.into_boxed_slice();
                }
            }
        }
        self.index.labels += 1;
    }

    pub fn build(mut self) -> LabelIndex {
        for m in &mut self.index.by_network {
            m.shrink_to_fit();
        }
        self.index.texts.shrink_to_fit();
        self.index
    }
}
