//! Risk scores, bands and the normalised report an analyzer returns for one address.

use crate::address::Address;
use crate::taxonomy::RiskCategory;
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A risk score on the 0–100 scale, kept exactly in hundredths (0..=10000) so that band edges
/// such as 24.99 and 25 compare without floating-point doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize)]
#[serde(try_from = "f64")]
pub struct RiskScore(u16);

impl RiskScore {
    pub const MIN: RiskScore = RiskScore(0);
    pub const MAX: RiskScore = RiskScore(10_000);

    /// From hundredths of a point; values above 100.00 are clamped.
    pub fn from_hundredths(h: u32) -> RiskScore {
        RiskScore(h.min(10_000) as u16)
    }

    /// From a 0–100 number, rounded to hundredths; `None` for NaN or out of range.
    pub fn from_percent(p: f64) -> Option<RiskScore> {
        if !(0.0..=100.0).contains(&p) {
            return None;
        }
        Some(RiskScore((p * 100.0).round() as u16))
    }

    pub fn hundredths(self) -> u16 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl TryFrom<f64> for RiskScore {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        RiskScore::from_percent(v).ok_or_else(|| format!("risk score {v} is outside 0–100"))
    }
}

impl Serialize for RiskScore {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl fmt::Display for RiskScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The band of a score (RISK-2). Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    Low,
    Medium,
    High,
    Critical,
}

impl RiskBand {
    pub const ALL: [RiskBand; 4] = [RiskBand::Low, RiskBand::Medium, RiskBand::High, RiskBand::Critical];

    /// 0 for low … 3 for critical: how many bands apart two verdicts are.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// A vendor's own risk level (taxonomy.md §11). `none` is the low band (the check found
    /// nothing); `severe` is our critical band; `undefined`, `unknown` and anything else is no
    /// verdict at all (`None`), which the policy never reads as low.
    pub fn from_vendor_level(level: &str) -> Option<RiskBand> {
        match level.trim().to_ascii_lowercase().as_str() {
            "none" | "low" | "lowrisk" => Some(RiskBand::Low),
            "medium" | "moderate" => Some(RiskBand::Medium),
            "high" | "highrisk" => Some(RiskBand::High),
            "severe" | "critical" => Some(RiskBand::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiskBand::Low => "low",
            RiskBand::Medium => "medium",
            RiskBand::High => "high",
            RiskBand::Critical => "critical",
        }
    }
}

impl fmt::Display for RiskBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the bands start. An edge belongs to the **higher** band: with the defaults, 25.00 is
/// medium and 24.99 is low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandEdges {
    pub medium_from: RiskScore,
    pub high_from: RiskScore,
    pub critical_from: RiskScore,
}

impl Default for BandEdges {
    fn default() -> Self {
        BandEdges { medium_from: RiskScore(2_500), high_from: RiskScore(5_000), critical_from: RiskScore(7_500) }
    }
}

/// Band edges that do not rise strictly within 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "band edges must rise strictly within 0–100, got medium {} / high {} / critical {}",
    .0.medium_from,
    .0.high_from,
    .0.critical_from
)]
pub struct BandEdgesError(pub BandEdges);

impl BandEdges {
    pub fn band(&self, score: RiskScore) -> RiskBand {
        if score >= self.critical_from {
            RiskBand::Critical
        } else if score >= self.high_from {
            RiskBand::High
        } else if score >= self.medium_from {
            RiskBand::Medium
        } else {
            RiskBand::Low
        }
    }

    /// The lowest score of a band: the score a vendor verdict without a number implies
    /// (taxonomy.md §11, "band → configured score mapping").
    pub fn floor(&self, band: RiskBand) -> RiskScore {
        match band {
            RiskBand::Low => RiskScore::MIN,
            RiskBand::Medium => self.medium_from,
            RiskBand::High => self.high_from,
            RiskBand::Critical => self.critical_from,
        }
    }

    /// Edges must rise strictly: 0 < medium < high < critical <= 100.
    pub fn validate(&self) -> Result<(), BandEdgesError> {
        if RiskScore::MIN < self.medium_from
            && self.medium_from < self.high_from
            && self.high_from < self.critical_from
            && self.critical_from <= RiskScore::MAX
        {
            Ok(())
        } else {
            Err(BandEdgesError(*self))
        }
    }
}

/// Share of the funds linked to a category, in hundredths of a percent (0..=10000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Exposure(u16);

impl Exposure {
    pub const FULL: Exposure = Exposure(10_000);

    pub fn from_hundredths(h: u32) -> Exposure {
        Exposure(h.min(10_000) as u16)
    }

    pub fn from_percent(p: f64) -> Exposure {
        Exposure((p.clamp(0.0, 100.0) * 100.0).round() as u16)
    }

    pub fn hundredths(self) -> u16 {
        self.0
    }

    pub fn as_percent(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl Serialize for Exposure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_percent())
    }
}

impl<'de> Deserialize<'de> for Exposure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Exposure::from_percent(f64::deserialize(d)?))
    }
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(100) {
            write!(f, "{}%", self.0 / 100)
        } else {
            write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
        }
    }
}

/// One category an analyzer found for an address, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryFinding {
    pub category: RiskCategory,
    pub exposure: Exposure,
    /// The address itself belongs to the category (not merely received funds from it).
    pub direct: bool,
    /// The label or entity name, e.g. "OFAC SDN: Lazarus Group" (shared, not copied, per hit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// Where the attribution comes from: a label source, or the vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Arc<str>>,
    /// The vendor's own code, kept so that nothing is lost in mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_code: Option<String>,
    /// Confidence of the attribution, 0–100, when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
}

/// Whether an analyzer produced a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReportStatus {
    Completed,
    /// Timed out, errored or answered something unusable: never a reason to proceed.
    Failed {
        error: String,
    },
}

/// What a vendor answered, beside the normalised verdict: kept so an officer and an auditor can
/// see exactly what the vendor said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VendorDetail {
    /// The vendor's own level as sent (`moderate`, `Severe`, `undefined`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// The vendor's own score as sent (BitOK 0–1, CoinKYT a decimal string); never compared
    /// across vendors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_score: Option<String>,
    /// The vendor's id of the check (BitOK transfer id, Chainalysis externalId, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The vendor's raw answers, encrypted at rest (an envelope of the field cipher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// The raw answers in clear, between the adapter and the encryption; never stored or sent.
    #[serde(skip)]
    pub raw_payload: Option<String>,
}

/// What one analyzer says about one address or one transfer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    /// The analyzer's name (usually static, so no allocation per screening).
    pub analyzer: Cow<'static, str>,
    pub network: crate::network::Network,
    /// Normalised address (for a transfer: our side of it, the deposit or payout address).
    pub address: Arc<str>,
    /// The transaction, when a transfer was screened rather than an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    #[serde(flatten)]
    pub status: ReportStatus,
    /// Normalised 0–100 score, when the analyzer gives one.
    pub score: Option<RiskScore>,
    /// The analyzer's own band, when it gives one; it wins over the score's band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<RiskBand>,
    pub categories: Vec<CategoryFinding>,
    /// The analyzer only screens sanctions lists: no match is no verdict on other risks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sanctions_only: bool,
    /// How long the analyzer took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Served from the result cache (no new call to the vendor).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorDetail>,
}

impl RiskReport {
    pub fn completed(
        analyzer: impl Into<Cow<'static, str>>,
        address: &Address,
        score: RiskScore,
        categories: Vec<CategoryFinding>,
    ) -> Self {
        RiskReport { score: Some(score), categories, ..RiskReport::new(analyzer, address, ReportStatus::Completed) }
    }

    /// A report with no verdict yet, to be filled in by an adapter.
    pub fn new(analyzer: impl Into<Cow<'static, str>>, address: &Address, status: ReportStatus) -> Self {
        RiskReport {
            analyzer: analyzer.into(),
            network: address.network(),
            address: address.shared(),
            txid: None,
            status,
            score: None,
            band: None,
            categories: Vec::new(),
            sanctions_only: false,
            latency_ms: None,
            cached: false,
            vendor: None,
        }
    }

    pub fn is_completed(&self) -> bool {
        self.status == ReportStatus::Completed
    }

    /// The band this report stands for: the vendor's own, else the score's; `None` when it
    /// gives neither (no verdict).
    pub fn effective_band(&self, edges: &BandEdges) -> Option<RiskBand> {
        self.band.or_else(|| self.score.map(|s| edges.band(s)))
    }

    pub fn failed(analyzer: impl Into<Cow<'static, str>>, address: &Address, error: impl Into<String>) -> Self {
        RiskReport::new(analyzer, address, ReportStatus::Failed { error: error.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(p: f64) -> RiskBand {
        BandEdges::default().band(RiskScore::from_percent(p).unwrap())
    }

    #[test]
    fn risk_2_band_edges_belong_to_the_higher_band() {
        assert_eq!(band(0.0), RiskBand::Low);
        assert_eq!(band(24.99), RiskBand::Low);
        assert_eq!(band(25.0), RiskBand::Medium);
        assert_eq!(band(49.99), RiskBand::Medium);
        assert_eq!(band(50.0), RiskBand::High);
        assert_eq!(band(74.99), RiskBand::High);
        assert_eq!(band(75.0), RiskBand::Critical);
        assert_eq!(band(100.0), RiskBand::Critical);
    }

    #[test]
    fn scores_are_exact_hundredths_and_refuse_out_of_range() {
        assert_eq!(RiskScore::from_percent(24.99).unwrap().hundredths(), 2499);
        assert_eq!(RiskScore::from_percent(24.999).unwrap().hundredths(), 2500);
        assert!(RiskScore::from_percent(-0.01).is_none());
        assert!(RiskScore::from_percent(100.01).is_none());
        assert!(RiskScore::from_percent(f64::NAN).is_none());
        assert_eq!(RiskScore::from_percent(7.5).unwrap().to_string(), "7.50");
        assert_eq!(serde_json::to_string(&RiskScore::from_percent(24.99).unwrap()).unwrap(), "24.99");
    }

    #[test]
    fn vendor_levels_map_to_bands_and_undefined_is_no_verdict() {
        for (level, band) in [
            ("none", Some(RiskBand::Low)),
            ("LOW", Some(RiskBand::Low)),
            ("moderate", Some(RiskBand::Medium)),
            ("Medium", Some(RiskBand::Medium)),
            ("HIGH", Some(RiskBand::High)),
            ("Severe", Some(RiskBand::Critical)),
            ("undefined", None),
            ("Unknown", None),
            ("", None),
            ("catastrophic", None),
        ] {
            assert_eq!(RiskBand::from_vendor_level(level), band, "{level}");
        }
    }

    #[test]
    fn band_edges_must_rise() {
        assert!(BandEdges::default().validate().is_ok());
        let bad = BandEdges { medium_from: RiskScore(5000), ..BandEdges::default() };
        assert!(bad.validate().is_err());
    }
}
