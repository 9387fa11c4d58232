//! The policy engine: a pure, deterministic function from risk reports to a decision with its
//! reasons and a human-readable explanation (RISK-2, RISK-3, FLOW-1 steps 2–3).

use crate::risk::{BandEdges, Exposure, ReportStatus, RiskBand, RiskReport, RiskScore};
use crate::taxonomy::{RiskCategory, Tier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// What happens to an operation. Ordered by severity: the decision is the most severe action
/// any rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Continue the exchange.
    Proceed,
    /// An officer looks at it (case, review deadline).
    Review,
    /// Suspend and ask the customer for KYC / Source of Funds (case, KYC deadline).
    Hold,
    /// Refuse: funds are never paid out; KYC is required.
    Reject,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Proceed, Action::Review, Action::Hold, Action::Reject];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Proceed => "proceed",
            Action::Review => "review",
            Action::Hold => "hold",
            Action::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// RISK-2: high and critical require KYC.
    pub fn requires_kyc(self) -> bool {
        matches!(self, Action::Hold | Action::Reject)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The action per band (RISK-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BandActions {
    pub low: Action,
    pub medium: Action,
    pub high: Action,
    pub critical: Action,
}

impl Default for BandActions {
    fn default() -> Self {
        BandActions { low: Action::Proceed, medium: Action::Review, high: Action::Hold, critical: Action::Reject }
    }
}

impl BandActions {
    pub fn for_band(&self, band: RiskBand) -> Action {
        match band {
            RiskBand::Low => self.low,
            RiskBand::Medium => self.medium,
            RiskBand::High => self.high,
            RiskBand::Critical => self.critical,
        }
    }
}

/// What a category triggers (RISK-3). Direct exposure (the address itself is in the category)
/// triggers `direct` at any share; indirect exposure triggers `indirect` from `indirect_min_percent`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    pub direct: Action,
    pub indirect: Action,
    #[serde(rename = "indirect_min_percent")]
    pub indirect_min: Exposure,
}

impl CategoryRule {
    fn new(direct: Action, indirect: Action, indirect_min_percent: f64) -> Self {
        CategoryRule { direct, indirect, indirect_min: Exposure::from_percent(indirect_min_percent) }
    }

    fn action_for(&self, exposure: Exposure, direct: bool) -> Action {
        if direct && exposure > Exposure::default() {
            self.direct
        } else if !direct && exposure >= self.indirect_min && exposure > Exposure::default() {
            self.indirect
        } else {
            Action::Proceed
        }
    }
}

/// The whole screening policy. `Policy::default()` is DESIGN.md's "Policy defaults".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub bands: BandEdges,
    pub band_actions: BandActions,
    /// Rules per category; categories without a rule trigger nothing.
    pub categories: BTreeMap<RiskCategory, CategoryRule>,
    /// What an analyzer failure yields (fail closed: at least `review`).
    pub analyzer_failure: Action,
    /// Analyzers whose bands lie more than this many bands apart disagree (0–3).
    pub disagreement_margin_bands: u8,
    /// What a disagreement yields (at least `review`: an officer sees both verdicts).
    pub analyzer_disagreement: Action,
}

impl Default for Policy {
    fn default() -> Self {
        use RiskCategory as C;
        let mut categories = BTreeMap::new();
        for &c in RiskCategory::ALL {
            let rule = match c {
                _ if RiskCategory::STOP.contains(&c) => CategoryRule::new(Action::Reject, Action::Hold, 1.0),
                C::Gambling => CategoryRule::new(Action::Hold, Action::Hold, 5.0),
                _ if c.tier() == Tier::Seed => CategoryRule::new(Action::Hold, Action::Hold, 1.0),
                C::Atm => CategoryRule::new(Action::Review, Action::Review, 20.0),
                C::HighRiskExchange | C::P2pExchangeUnlicensed => {
                    CategoryRule::new(Action::Review, Action::Review, 50.0)
                }
                C::PrivacyProtocol => CategoryRule::new(Action::Review, Action::Review, 1.0),
                // Vendor codes we cannot map are shown to an officer, never dropped.
                C::Unmapped => CategoryRule::new(Action::Review, Action::Review, 0.01),
                _ => continue,
            };
            categories.insert(c, rule);
        }
        Policy {
            bands: BandEdges::default(),
            band_actions: BandActions::default(),
            categories,
            analyzer_failure: Action::Review,
            disagreement_margin_bands: 1,
            analyzer_disagreement: Action::Review,
        }
    }
}

/// Why a policy is refused: each names the setting to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Bands(#[from] crate::risk::BandEdgesError),
    #[error("analyzer_failure must be review, hold or reject: a failed check never proceeds")]
    AnalyzerFailureProceeds,
    #[error("analyzer_disagreement must be review, hold or reject")]
    DisagreementProceeds,
    #[error("disagreement_margin_bands must be 0–3 (there are four bands)")]
    DisagreementMargin,
    #[error(
        "policy.categories.{0}.direct must be hold or reject: direct {0} exposure must at least hold the operation"
    )]
    StopCategoryBelowHold(RiskCategory),
    #[error(
        "policy.band_actions.{0} = \"proceed\": RISK-2 lets only the medium band proceed (use review, hold or reject)"
    )]
    HighBandProceeds(&'static str),
    #[error(
        "policy.categories.{0}.direct = \"proceed\": direct {0} exposure is a RISK-3 category and must at least go to review"
    )]
    ListedCategoryProceeds(RiskCategory),
}

impl Policy {
    /// Checks the policy is usable and fails closed.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.bands.validate()?;
        if self.analyzer_failure < Action::Review {
            return Err(PolicyError::AnalyzerFailureProceeds);
        }
        if self.analyzer_disagreement < Action::Review {
            return Err(PolicyError::DisagreementProceeds);
        }
        if self.disagreement_margin_bands > 3 {
            return Err(PolicyError::DisagreementMargin);
        }
        for c in RiskCategory::STOP {
            if self.categories.get(&c).is_none_or(|r| r.direct < Action::Hold) {
                return Err(PolicyError::StopCategoryBelowHold(c));
            }
        }
        // RISK-2: only the medium band may proceed; high suspends, critical rejects.
        for (band, action) in [("high", self.band_actions.high), ("critical", self.band_actions.critical)] {
            if action == Action::Proceed {
                return Err(PolicyError::HighBandProceeds(band));
            }
        }
        // RISK-3: direct exposure to a listed category is never waved through.
        for c in RiskCategory::ALL.iter().filter(|c| c.tier() == Tier::Seed) {
            if self.categories.get(c).is_some_and(|r| r.direct == Action::Proceed) {
                return Err(PolicyError::ListedCategoryProceeds(*c));
            }
        }
        Ok(())
    }

    /// Replaces the rules of the categories named in `overrides`, keeping the others.
    pub fn with_category_overrides(mut self, overrides: BTreeMap<RiskCategory, CategoryRule>) -> Self {
        self.categories.extend(overrides);
        self
    }

    /// A stable fingerprint of the policy's content: a change of policy is a new version.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("policy serialises");
        hex_lower(&Sha256::digest(canonical))
    }

    /// Decides from every report gathered for an operation (all analyzers, all addresses and
    /// transfers). Conservative: the worst band wins, any category rule of any analyzer applies,
    /// a failure or an answer without a verdict fails closed, and analyzers that disagree by
    /// more than the margin send the operation to review.
    pub fn decide(&self, reports: &[RiskReport]) -> Decision {
        let mut reasons = Vec::new();
        let mut score = RiskScore::MIN;
        let mut worst: Option<(RiskBand, RiskScore, &RiskReport)> = None;
        let mut summary: BTreeMap<RiskCategory, CategorySummary> = BTreeMap::new();
        // The worst band each analyzer gave, for the disagreement check.
        let mut per_analyzer: Vec<(&RiskReport, RiskBand)> = Vec::new();

        for report in reports {
            match &report.status {
                ReportStatus::Failed { error } => reasons.push(Reason::AnalyzerFailed {
                    action: self.analyzer_failure,
                    analyzer: report.analyzer.clone(),
                    address: report.address.clone(),
                    error: error.clone(),
                }),
                ReportStatus::Completed => match report.effective_band(&self.bands) {
                    Some(band) => {
                        let s = report.score.unwrap_or_else(|| self.bands.floor(band)).max(self.bands.floor(band));
                        score = score.max(s);
                        if worst.is_none_or(|(b, ws, _)| (band, s) > (b, ws)) {
                            worst = Some((band, s, report));
                        }
                        if !report.sanctions_only {
                            match per_analyzer.iter_mut().find(|(r, _)| r.analyzer == report.analyzer) {
                                Some(entry) if entry.1 < band => *entry = (report, band),
                                Some(_) => {}
                                None => per_analyzer.push((report, band)),
                            }
                        }
                    }
                    None if report.sanctions_only => {}
                    None => reasons.push(Reason::AnalyzerFailed {
                        action: self.analyzer_failure,
                        analyzer: report.analyzer.clone(),
                        address: report.address.clone(),
                        error: match report.vendor.as_ref().and_then(|v| v.level.as_deref()) {
                            Some(level) => format!("the analyzer could not rate it (level \"{level}\")"),
                            None => "the analyzer answered without a risk level or score".into(),
                        },
                    }),
                },
            }
            for f in &report.categories {
                let entry = summary.entry(f.category).or_insert(CategorySummary {
                    category: f.category,
                    exposure: f.exposure,
                    direct: f.direct,
                });
                entry.exposure = entry.exposure.max(f.exposure);
                entry.direct |= f.direct;
                let action =
                    self.categories.get(&f.category).map_or(Action::Proceed, |r| r.action_for(f.exposure, f.direct));
                if action > Action::Proceed {
                    reasons.push(Reason::Category {
                        action,
                        category: f.category,
                        exposure: f.exposure,
                        direct: f.direct,
                        analyzer: report.analyzer.clone(),
                        address: report.address.clone(),
                        label: f.label.clone(),
                        source: f.source.clone(),
                    });
                }
            }
        }

        let band = worst.map_or(RiskBand::Low, |(b, _, _)| b);
        if let Some((band, band_score, r)) = worst {
            reasons.push(Reason::Band {
                action: self.band_actions.for_band(band),
                band,
                score: band_score,
                analyzer: r.analyzer.clone(),
                address: r.address.clone(),
            });
        }
        let high = per_analyzer.iter().max_by_key(|(_, b)| *b);
        let low = per_analyzer.iter().min_by_key(|(_, b)| *b);
        if let (Some(&(hr, hb)), Some(&(lr, lb))) = (high, low) {
            if hb.rank() - lb.rank() > self.disagreement_margin_bands {
                reasons.push(Reason::Disagreement {
                    action: self.analyzer_disagreement,
                    higher: AnalyzerVerdict { analyzer: hr.analyzer.clone(), band: hb, address: hr.address.clone() },
                    lower: AnalyzerVerdict { analyzer: lr.analyzer.clone(), band: lb, address: lr.address.clone() },
                    margin: self.disagreement_margin_bands,
                });
            }
        }
        if reports.is_empty() {
            reasons.push(Reason::NoVerdict { action: self.analyzer_failure });
        }
        let action = reasons.iter().map(Reason::action).max().unwrap_or(Action::Proceed);
        // Most severe first, so the explanation leads with what decided.
        reasons.sort_by_key(|r| std::cmp::Reverse(r.action()));
        let categories: Vec<CategorySummary> = summary.into_values().collect();
        let addresses_checked =
            reports.iter().enumerate().filter(|(i, r)| !reports[..*i].iter().any(|p| p.address == r.address)).count();
        let mut analyzers: Vec<Cow<'static, str>> = Vec::with_capacity(1);
        for r in reports {
            if !analyzers.contains(&r.analyzer) {
                analyzers.push(r.analyzer.clone());
            }
        }
        Decision {
            action,
            band,
            score,
            categories,
            requires_kyc: action.requires_kyc(),
            reasons,
            addresses_checked: addresses_checked as u32,
            analyzers,
        }
    }
}

/// The strongest exposure to one category across all reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CategorySummary {
    pub category: RiskCategory,
    pub exposure: Exposure,
    pub direct: bool,
}

/// One reason behind a decision, typed so that it can be stored, filtered and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    Band {
        action: Action,
        band: RiskBand,
        score: RiskScore,
        analyzer: Cow<'static, str>,
        address: Arc<str>,
    },
    Category {
        action: Action,
        category: RiskCategory,
        exposure: Exposure,
        direct: bool,
        analyzer: Cow<'static, str>,
        address: Arc<str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<Arc<str>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Arc<str>>,
    },
    AnalyzerFailed {
        action: Action,
        analyzer: Cow<'static, str>,
        address: Arc<str>,
        error: String,
    },
    NoVerdict {
        action: Action,
    },
    /// Two analyzers' bands lie further apart than the policy's margin: an officer sees both.
    Disagreement {
        action: Action,
        higher: AnalyzerVerdict,
        lower: AnalyzerVerdict,
        margin: u8,
    },
    /// A monitoring rule beside the analyzers (MON-1).
    Rule {
        action: Action,
        rule: String,
        detail: String,
    },
}

impl Reason {
    pub fn action(&self) -> Action {
        match self {
            Reason::Band { action, .. }
            | Reason::Category { action, .. }
            | Reason::AnalyzerFailed { action, .. }
            | Reason::Rule { action, .. }
            | Reason::Disagreement { action, .. }
            | Reason::NoVerdict { action } => *action,
        }
    }

    /// One line a person reads.
    pub fn describe(&self) -> String {
        match self {
            Reason::Band { band, score, analyzer, address, .. } => {
                format!("risk score {score} ({band} band) for {address} from analyzer {analyzer}")
            }
            Reason::Category { category, exposure, direct, analyzer, address, label, source, .. } => {
                let how = if *direct { "direct" } else { "indirect" };
                let mut s =
                    format!("{} exposure {exposure} ({how}) at {address} via analyzer {analyzer}", category.as_str());
                if let Some(l) = label {
                    s.push_str(&format!(", label \"{l}\""));
                }
                if let Some(src) = source {
                    s.push_str(&format!(", source {src}"));
                }
                s
            }
            Reason::AnalyzerFailed { analyzer, address, error, .. } => {
                format!("analyzer {analyzer} gave no verdict for {address} ({error}); failing closed")
            }
            Reason::NoVerdict { .. } => "no analyzer produced a verdict; failing closed".into(),
            Reason::Rule { rule, detail, .. } => format!("monitoring rule {rule}: {detail}"),
            Reason::Disagreement { higher, lower, margin, .. } => format!(
                "analyzers disagree by more than {margin} band(s): {} says {} for {}, {} says {} for {}",
                higher.analyzer, higher.band, higher.address, lower.analyzer, lower.band, lower.address
            ),
        }
    }
}

/// One analyzer's band, as shown in a disagreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerVerdict {
    pub analyzer: Cow<'static, str>,
    pub band: RiskBand,
    pub address: Arc<str>,
}

/// The outcome of the policy for one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: Action,
    pub band: RiskBand,
    pub score: RiskScore,
    pub categories: Vec<CategorySummary>,
    pub requires_kyc: bool,
    pub reasons: Vec<Reason>,
    /// How many distinct addresses were checked, and by which analyzers.
    pub addresses_checked: u32,
    pub analyzers: Vec<Cow<'static, str>>,
}

impl Decision {
    /// Adds a monitoring rule's hit: a reason, and at least `action`.
    pub fn add_rule_hit(&mut self, rule: &str, detail: String, action: Action) {
        self.reasons.push(Reason::Rule { action, rule: rule.to_owned(), detail });
        self.reasons.sort_by_key(|r| std::cmp::Reverse(r.action()));
        if action > self.action {
            self.action = action;
            self.requires_kyc = action.requires_kyc();
        }
    }

    /// The human-readable explanation, derived from the decision when it is shown (it is not
    /// stored, so it can never disagree with the reasons).
    pub fn explanation(&self) -> String {
        explain(self)
    }
}

fn explain(d: &Decision) -> String {
    use std::fmt::Write;
    let (action, score, band, reasons, categories) = (d.action, d.score, d.band, &d.reasons, &d.categories);
    let mut out = String::with_capacity(192);
    if action == Action::Proceed {
        let _ = write!(
            out,
            "proceed: risk score {score} ({band} band) over {} address(es) checked by ",
            d.addresses_checked
        );
        push_joined(&mut out, d.analyzers.iter(), ", ");
    } else {
        let _ = write!(out, "{action} because: ");
        push_joined(&mut out, reasons.iter().filter(|r| r.action() == action).map(Reason::describe), "; ");
        if !matches!(reasons.first(), Some(Reason::Band { .. })) {
            let _ = write!(out, "; overall risk score {score} ({band} band)");
        }
    }
    if action.requires_kyc() {
        out.push_str("; KYC is required");
    }
    if categories.is_empty() {
        out.push_str("; no risk categories found");
    } else {
        out.push_str("; categories found: ");
        push_joined(&mut out, categories.iter().map(|c| c.category.as_str()), ", ");
    }
    out
}

fn push_joined<S: AsRef<str>>(out: &mut String, items: impl Iterator<Item = S>, separator: &str) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(item.as_ref());
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
