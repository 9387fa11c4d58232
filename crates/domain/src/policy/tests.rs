//! The policy engine against RISK-2 (bands), RISK-3 (categories) and fail-closed.

use super::*;
use crate::address::Address;
use crate::network::Network;
use crate::risk::{CategoryFinding, ReportStatus};

const ADDR: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";

fn addr() -> Address {
    Address::parse(Network::Bitcoin, ADDR).unwrap()
}

fn scored(p: f64) -> RiskReport {
    RiskReport::completed("builtin", &addr(), RiskScore::from_percent(p).unwrap(), vec![])
}

fn finding(category: RiskCategory, exposure: f64, direct: bool) -> CategoryFinding {
    CategoryFinding {
        category,
        exposure: Exposure::from_percent(exposure),
        direct,
        label: Some("Example label".into()),
        source: Some("ofac-sdn".into()),
        vendor_code: None,
        confidence: Some(60),
    }
}

fn with(score: f64, findings: Vec<CategoryFinding>) -> RiskReport {
    RiskReport::completed("builtin", &addr(), RiskScore::from_percent(score).unwrap(), findings)
}

#[test]
fn risk_2_bands_map_to_actions_at_their_edges() {
    let p = Policy::default();
    for (score, band, action) in [
        (0.0, RiskBand::Low, Action::Proceed),
        (24.99, RiskBand::Low, Action::Proceed),
        (25.0, RiskBand::Medium, Action::Review),
        (49.99, RiskBand::Medium, Action::Review),
        (50.0, RiskBand::High, Action::Hold),
        (74.99, RiskBand::High, Action::Hold),
        (75.0, RiskBand::Critical, Action::Reject),
        (100.0, RiskBand::Critical, Action::Reject),
    ] {
        let d = p.decide(&[scored(score)]);
        assert_eq!((d.band, d.action), (band, action), "score {score}");
        assert_eq!(d.requires_kyc, action >= Action::Hold, "RISK-2: high and critical require KYC");
    }
}

#[test]
fn risk_2_medium_can_be_configured_to_proceed() {
    let mut p = Policy::default();
    p.band_actions.medium = Action::Proceed;
    assert_eq!(p.decide(&[scored(30.0)]).action, Action::Proceed);
}

// Issue 13, item 12: high = "proceed", critical = "proceed" or direct scam = "proceed" used to
// start. RISK-2 lets only medium proceed.
#[test]
fn fix_12_risk_2_only_medium_may_proceed_and_the_setting_is_named() {
    let mut p = Policy::default();
    p.band_actions.medium = Action::Proceed;
    assert!(p.validate().is_ok());
    for band in ["high", "critical"] {
        let mut p = Policy::default();
        match band {
            "high" => p.band_actions.high = Action::Proceed,
            _ => p.band_actions.critical = Action::Proceed,
        }
        let err = p.validate().unwrap_err();
        assert!(err.to_string().contains(&format!("policy.band_actions.{band}")), "{err}");
    }
    for &c in RiskCategory::ALL.iter().filter(|c| c.tier() == Tier::Seed) {
        let mut p = Policy::default();
        p.categories.get_mut(&c).unwrap().direct = Action::Proceed;
        let err = p.validate().unwrap_err();
        assert!(err.to_string().contains(&format!("policy.categories.{c}.direct")), "{c}: {err}");
        p.categories.get_mut(&c).unwrap().direct = Action::Review;
        if !RiskCategory::STOP.contains(&c) {
            assert!(p.validate().is_ok(), "{c}: review is allowed");
        }
    }
}

#[test]
fn risk_3_stop_categories_reject_whatever_the_score() {
    let p = Policy::default();
    for c in RiskCategory::STOP {
        let d = p.decide(&[with(0.0, vec![finding(c, 100.0, true)])]);
        assert_eq!(d.action, Action::Reject, "{c}");
        assert_eq!(d.band, RiskBand::Low, "the score stays what the analyzer said");
        // Any direct exposure, however small.
        let d = p.decide(&[with(0.0, vec![finding(c, 0.01, true)])]);
        assert_eq!(d.action, Action::Reject, "{c}");
    }
}

#[test]
fn risk_3_other_seed_categories_hold() {
    let p = Policy::default();
    for &c in RiskCategory::ALL.iter().filter(|c| c.is_seed() && !RiskCategory::STOP.contains(c)) {
        let d = p.decide(&[with(10.0, vec![finding(c, 100.0, true)])]);
        assert_eq!(d.action, Action::Hold, "{c}");
        assert!(d.requires_kyc);
    }
}

#[test]
fn risk_3_indirect_exposure_has_thresholds() {
    let p = Policy::default();
    let gambling = |e| p.decide(&[with(0.0, vec![finding(RiskCategory::Gambling, e, false)])]).action;
    assert_eq!(gambling(4.99), Action::Proceed);
    assert_eq!(gambling(5.0), Action::Hold);
    let mixing = |e| p.decide(&[with(0.0, vec![finding(RiskCategory::MixingService, e, false)])]).action;
    assert_eq!(mixing(0.99), Action::Proceed);
    assert_eq!(mixing(1.0), Action::Hold);
}

#[test]
fn benign_categories_do_not_change_the_decision() {
    let p = Policy::default();
    let d = p.decide(&[with(5.0, vec![finding(RiskCategory::Exchange, 100.0, true)])]);
    assert_eq!(d.action, Action::Proceed);
    assert_eq!(d.categories.len(), 1);
}

#[test]
fn fail_closed_an_analyzer_failure_never_proceeds() {
    let p = Policy::default();
    let failed = RiskReport::failed("bitok", &addr(), "timed out after 10 s");
    let d = p.decide(&[scored(0.0), failed]);
    assert_eq!(d.action, Action::Review);
    assert!(d.explanation().contains("bitok"), "{}", d.explanation());
    assert_eq!(p.decide(&[]).action, Action::Review, "no verdict at all fails closed");
    let lax = Policy { analyzer_failure: Action::Proceed, ..Policy::default() };
    assert!(lax.validate().is_err());
}

#[test]
fn the_most_severe_rule_wins() {
    let p = Policy::default();
    let d = p.decide(&[
        with(60.0, vec![finding(RiskCategory::Gambling, 100.0, true)]),
        with(10.0, vec![finding(RiskCategory::Sanctions, 100.0, true)]),
    ]);
    assert_eq!(d.action, Action::Reject);
    assert_eq!(d.score, RiskScore::from_percent(60.0).unwrap());
    assert!(matches!(d.reasons[0], Reason::Category { category: RiskCategory::Sanctions, .. }));
}

#[test]
fn the_explanation_names_categories_labels_sources_and_analyzers() {
    let p = Policy::default();
    let d = p.decide(&[with(100.0, vec![finding(RiskCategory::Sanctions, 100.0, true)])]);
    assert!(d.explanation().starts_with("reject because: sanctions exposure 100% (direct)"), "{}", d.explanation());
    for needle in ["Example label", "ofac-sdn", "builtin", ADDR, "KYC is required"] {
        assert!(d.explanation().contains(needle), "{needle} missing from {}", d.explanation());
    }
    let clean = p.decide(&[scored(0.0)]);
    assert!(clean.explanation().starts_with("proceed: risk score 0.00 (low band)"), "{}", clean.explanation());
}

#[test]
fn decisions_are_deterministic_and_policies_are_fingerprinted() {
    let p = Policy::default();
    let reports = [with(60.0, vec![finding(RiskCategory::Scam, 3.0, false)]), scored(10.0)];
    assert_eq!(p.decide(&reports), p.decide(&reports));
    assert_eq!(p.fingerprint(), Policy::default().fingerprint());
    let mut changed = Policy::default();
    changed.band_actions.medium = Action::Proceed;
    assert_ne!(changed.fingerprint(), p.fingerprint());
    assert!(p.validate().is_ok());
}

#[test]
fn policies_read_from_toml_overrides_merge_with_defaults() {
    let overrides: BTreeMap<RiskCategory, CategoryRule> = serde_json::from_value(serde_json::json!({
        "gambling": { "direct": "review", "indirect": "review", "indirect_min_percent": 10.0 }
    }))
    .unwrap();
    let p = Policy::default().with_category_overrides(overrides);
    assert_eq!(p.categories[&RiskCategory::Gambling].direct, Action::Review);
    assert_eq!(p.categories[&RiskCategory::Sanctions].direct, Action::Reject);
}

#[test]
fn mon_1_a_rule_hit_raises_the_decision_and_is_explained() {
    let mut d = Policy::default().decide(&[scored(0.0)]);
    assert_eq!(d.action, Action::Proceed);
    d.add_rule_hit("velocity", "11 deposits in 24 h (limit 10)".into(), Action::Review);
    assert_eq!(d.action, Action::Review);
    assert!(d.explanation().contains("monitoring rule velocity: 11 deposits in 24 h"), "{}", d.explanation());
    let mut held = Policy::default().decide(&[scored(60.0)]);
    held.add_rule_hit("velocity", "x".into(), Action::Review);
    assert_eq!(held.action, Action::Hold, "a rule never lowers a decision");
}

fn vendor(name: &'static str, band: Option<RiskBand>, level: &str, findings: Vec<CategoryFinding>) -> RiskReport {
    let mut r = RiskReport::new(name, &addr(), ReportStatus::Completed);
    r.band = band;
    r.categories = findings;
    r.vendor = Some(crate::risk::VendorDetail { level: Some(level.into()), ..Default::default() });
    r
}

#[test]
fn risk_1_worst_band_of_all_analyzers_wins() {
    let p = Policy::default();
    let d = p.decide(&[scored(10.0), vendor("bitok", Some(RiskBand::High), "high", vec![])]);
    assert_eq!((d.band, d.action), (RiskBand::High, Action::Hold));
    // A vendor band without a number implies its band's floor, so score and band agree.
    assert_eq!(d.score, RiskScore::from_percent(50.0).unwrap());
    assert!(d.explanation().contains("from analyzer bitok"), "{}", d.explanation());
}

#[test]
fn risk_1_vendor_band_wins_over_its_own_score() {
    let mut r = vendor("bitok", Some(RiskBand::Critical), "severe", vec![]);
    r.score = RiskScore::from_percent(12.0); // BitOK's 0.12 with level severe: the level decides
    let d = Policy::default().decide(&[r]);
    assert_eq!((d.band, d.action), (RiskBand::Critical, Action::Reject));
}

#[test]
fn risk_3_a_stop_category_from_one_analyzer_rejects_although_another_says_low() {
    let d = Policy::default().decide(&[
        vendor("coinkyt", Some(RiskBand::Low), "low", vec![]),
        vendor("bitok", Some(RiskBand::Low), "low", vec![finding(RiskCategory::Sanctions, 100.0, true)]),
    ]);
    assert_eq!(d.action, Action::Reject);
    assert!(d.explanation().contains("sanctions exposure 100% (direct)"), "{}", d.explanation());
}

#[test]
fn risk_1_analyzers_that_disagree_beyond_the_margin_send_to_review_with_both_verdicts() {
    let mut p = Policy::default();
    p.band_actions.high = Action::Proceed; // so only the disagreement can stop it
    let reports =
        [vendor("bitok", Some(RiskBand::Low), "low", vec![]), vendor("coinkyt", Some(RiskBand::High), "high", vec![])];
    let d = p.decide(&reports);
    assert_eq!(d.action, Action::Review);
    let e = d.explanation();
    assert!(e.contains("coinkyt says high") && e.contains("bitok says low"), "{e}");
    // One band apart is within the default margin.
    let close = [
        vendor("bitok", Some(RiskBand::Low), "low", vec![]),
        vendor("coinkyt", Some(RiskBand::Medium), "moderate", vec![]),
    ];
    assert!(!p.decide(&close).reasons.iter().any(|r| matches!(r, Reason::Disagreement { .. })));
    // A margin of zero makes any difference a disagreement.
    p.disagreement_margin_bands = 0;
    p.band_actions.medium = Action::Proceed;
    assert_eq!(p.decide(&close).action, Action::Review);
}

#[test]
fn fail_closed_an_answer_without_level_or_score_is_no_verdict() {
    let d = Policy::default().decide(&[vendor("bitok", None, "undefined", vec![])]);
    assert_eq!(d.action, Action::Review);
    assert!(d.explanation().contains("could not rate it (level \"undefined\")"), "{}", d.explanation());
}

#[test]
fn a_sanctions_only_no_match_neither_decides_nor_disagrees() {
    let mut none = vendor("chainalysis-sanctions", None, "", vec![]);
    none.sanctions_only = true;
    let d = Policy::default().decide(&[scored(80.0), none.clone()]);
    assert_eq!(d.action, Action::Reject);
    assert!(!d.reasons.iter().any(|r| matches!(r, Reason::Disagreement { .. } | Reason::AnalyzerFailed { .. })));
    let d = Policy::default().decide(&[scored(0.0), none]);
    assert_eq!(d.action, Action::Proceed);
}

#[test]
fn policy_refuses_a_lenient_disagreement_action() {
    let p = Policy { analyzer_disagreement: Action::Proceed, ..Policy::default() };
    assert!(p.validate().is_err());
    let p = Policy { disagreement_margin_bands: 4, ..Policy::default() };
    assert!(p.validate().is_err());
}
