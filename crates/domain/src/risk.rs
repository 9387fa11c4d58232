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

    /// Edges must rise strictly: 0 < medium < high < critical <= 100.
    pub fn validate(&self) -> Result<(), String> {
        if RiskScore::MIN < self.medium_from
            && self.medium_from < self.high_from
            && self.high_from < self.critical_from
            && self.critical_from <= RiskScore::MAX
        {
            Ok(())
        } else {
            Err(format!(
                "band edges must rise strictly within 0–100, got medium {} / high {} / critical {}",
                self.medium_from, self.high_from, self.critical_from
            ))
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

/// What one analyzer says about one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    /// The analyzer's name (usually static, so no allocation per screening).
    pub analyzer: Cow<'static, str>,
    pub network: crate::network::Network,
    /// Normalised address.
    pub address: Arc<str>,
    #[serde(flatten)]
    pub status: ReportStatus,
    /// Normalised 0–100 score, when the analyzer gives or implies one.
    pub score: Option<RiskScore>,
    pub categories: Vec<CategoryFinding>,
}

impl RiskReport {
    pub fn completed(
        analyzer: impl Into<Cow<'static, str>>,
        address: &Address,
        score: RiskScore,
        categories: Vec<CategoryFinding>,
    ) -> Self {
        RiskReport {
            analyzer: analyzer.into(),
            network: address.network(),
            address: address.shared(),
            status: ReportStatus::Completed,
            score: Some(score),
            categories,
        }
    }

    pub fn failed(analyzer: impl Into<Cow<'static, str>>, address: &Address, error: impl Into<String>) -> Self {
        RiskReport {
            analyzer: analyzer.into(),
            network: address.network(),
            address: address.shared(),
            status: ReportStatus::Failed { error: error.into() },
            score: None,
            categories: Vec::new(),
        }
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
    fn band_edges_must_rise() {
        assert!(BandEdges::default().validate().is_ok());
        let bad = BandEdges { medium_from: RiskScore(5000), ..BandEdges::default() };
        assert!(bad.validate().is_err());
    }
}
