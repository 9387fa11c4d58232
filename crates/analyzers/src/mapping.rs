//! Vendor category codes → our taxonomy, from the shared mapping tables (`taxonomy.md`). A code
//! missing from the tables maps to `unmapped` and keeps its raw code, so an officer sees it.

use custos_domain::RiskCategory;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A copy of `shared/vendor-apis/taxonomy_mapping.json`.
const TABLES: &str = include_str!("../../../testdata/taxonomy_mapping.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    Bitok,
    Coinkyt,
    Chainalysis,
}

impl Vendor {
    fn key(self) -> &'static str {
        match self {
            Vendor::Bitok => "bitok",
            Vendor::Coinkyt => "coinkyt",
            Vendor::Chainalysis => "chainalysis",
        }
    }
}

#[derive(Deserialize)]
struct Row {
    vendor_code: String,
    category: String,
    #[serde(default)]
    id: Option<i64>,
}

#[derive(Deserialize)]
struct File {
    vendors: HashMap<String, Vec<Row>>,
}

#[derive(Default)]
struct Table {
    by_code: HashMap<String, RiskCategory>,
    by_id: HashMap<i64, RiskCategory>,
}

fn tables() -> &'static HashMap<Vendor, Table> {
    static TABLES_PARSED: OnceLock<HashMap<Vendor, Table>> = OnceLock::new();
    TABLES_PARSED.get_or_init(|| {
        let file: File = serde_json::from_str(TABLES).expect("the bundled mapping tables parse");
        [Vendor::Bitok, Vendor::Coinkyt, Vendor::Chainalysis]
            .into_iter()
            .map(|v| {
                let mut t = Table::default();
                for row in file.vendors.get(v.key()).map(Vec::as_slice).unwrap_or_default() {
                    let category: RiskCategory = row.category.parse().expect("mapping names a known category");
                    t.by_code.insert(normalize(v, &row.vendor_code), category);
                    if let Some(id) = row.id {
                        t.by_id.insert(id, category);
                    }
                }
                (v, t)
            })
            .collect()
    })
}

/// BitOK and CoinKYT codes match exactly; Chainalysis names case-insensitively with whitespace
/// collapsed.
fn normalize(vendor: Vendor, code: &str) -> String {
    match vendor {
        Vendor::Chainalysis => code.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        _ => code.trim().to_owned(),
    }
}

/// Our category for a vendor code (and numeric id, for Chainalysis); `Unmapped` when unknown.
pub fn category(vendor: Vendor, code: &str, id: Option<i64>) -> RiskCategory {
    let t = &tables()[&vendor];
    id.and_then(|id| t.by_id.get(&id))
        .or_else(|| t.by_code.get(&normalize(vendor, code)))
        .copied()
        .unwrap_or(RiskCategory::Unmapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_shared_tables_maps_and_new_codes_are_unmapped() {
        assert_eq!(category(Vendor::Bitok, "exchange_sanctioned_us", None), RiskCategory::Sanctions);
        assert_eq!(category(Vendor::Bitok, "mixer", None), RiskCategory::MixingService);
        assert_eq!(category(Vendor::Bitok, "undefined", None), RiskCategory::Unknown);
        assert_eq!(category(Vendor::Coinkyt, "SCAM_CRYPTO_EXCHANGE", None), RiskCategory::FraudulentExchange);
        assert_eq!(category(Vendor::Coinkyt, "UNKNOWN_OWNER", None), RiskCategory::Unknown);
        assert_eq!(category(Vendor::Chainalysis, "ignored", Some(3)), RiskCategory::Sanctions);
        assert_eq!(category(Vendor::Chainalysis, "No  KYC Exchange", None), RiskCategory::HighRiskExchange);
        assert_eq!(category(Vendor::Chainalysis, "high risk exchange", None), RiskCategory::HighRiskExchange);
        for v in [Vendor::Bitok, Vendor::Coinkyt, Vendor::Chainalysis] {
            assert_eq!(category(v, "quantum_laundromat", None), RiskCategory::Unmapped);
        }
        assert_eq!(tables()[&Vendor::Bitok].by_code.len(), 43);
        assert_eq!(tables()[&Vendor::Coinkyt].by_code.len(), 35);
    }
}
